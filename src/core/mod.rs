//! Pure vocabulary and rules: no I/O, no async.

pub mod controls;
pub mod exit;
pub mod holds;
pub mod image;
pub mod inventory;
pub mod monitor;
pub mod notified;
pub mod outcomes;
pub mod policy;
pub mod recreate;
pub mod reference;
pub mod report;
pub mod retire;
pub mod rollback;
pub mod schedule;
pub mod secret;
pub mod skips;
pub mod space;
pub mod state;
pub mod tagcache;
pub mod time;
pub mod unattended;
pub mod update;
pub mod upgrade;
pub mod verdict;
pub mod versions;
