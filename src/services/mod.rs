//! Workflows shared by commands; they return data and leave printing to commands.

pub mod check;
pub mod tag_refresh;
pub mod recreate;
