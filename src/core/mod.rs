//! Pure vocabulary and rules: no I/O, no async.

pub mod holds;
pub mod monitor;
pub mod notified;
pub mod recreate;
pub mod reference;
pub mod report;
pub mod retire;
pub mod schedule;
pub mod space;
pub mod state;
pub mod tagcache;
pub mod unattended;
pub mod verdict;
pub mod versions;
