//! The version policy that applies to one image, as the config file's
//! `[images."…"]` sections resolve it.

use crate::core::versions::TagRules;

/// The version policy that applies to one image.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImagePolicy {
    pub rules: TagRules,
    pub hold: bool,
    /// The `[images."…"]` section it came from; None for the default.
    pub section: Option<String>,
    /// Seconds a new image must have before it is offered (0: at once),
    /// from the section, else the global `min_age`.
    pub min_age: u64,
    /// The section's `changelog` template.
    pub changelog: Option<String>,
}
