//! Workflows shared by commands; they return data and leave printing to commands.

pub mod check;
pub mod recreate;
pub mod tag_refresh;
