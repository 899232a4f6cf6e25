//! Holds, like `apt-mark hold`: tags (or patterns of tags) that are never
//! upgraded and whose versions are never retired. Kept in their own small
//! file next to the state, so a damaged `state.json` can never lose them.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::core::reference::{Pattern, Reference};
use crate::error::{Error, Result};

pub const HOLDS_FILE: &str = "holds.json";
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Holds {
    #[serde(default = "schema_version")]
    pub schema_version: u32,
    /// Fully qualified references (`docker.io/library/nginx:latest`) or
    /// patterns as the user wrote them (`postgres:*`).
    #[serde(default)]
    pub holds: Vec<String>,
}

fn schema_version() -> u32 {
    SCHEMA_VERSION
}

pub fn holds_path(dir: &Path) -> PathBuf {
    dir.join(HOLDS_FILE)
}

/// What the user typed, in the form it is stored and compared in: a plain
/// reference is normalised (so `nginx:latest` and
/// `docker.io/library/nginx:latest` are one hold); a pattern stays as is.
pub fn normalise(input: &str) -> Result<String> {
    if input.contains(['*', '?']) {
        Pattern::new(input).map_err(|e| Error::BadReference { input: input.into(), detail: e })?;
        return Ok(input.to_string());
    }
    let r = Reference::parse(input).map_err(|e| Error::BadReference { input: input.into(), detail: e })?;
    if r.digest.is_some() {
        return Err(Error::BadReference {
            input: input.into(),
            detail: "a digest never moves, so there is nothing to hold: hold the tag instead".into(),
        });
    }
    Ok(r.to_string())
}

/// How a stored hold is shown: `nginx:latest` rather than the full form.
pub fn display(stored: &str) -> String {
    match Reference::parse(stored) {
        Ok(r) if !stored.contains(['*', '?']) => r.familiar(),
        _ => stored.to_string(),
    }
}

impl Holds {
    pub fn default_new() -> Holds {
        Holds { schema_version: SCHEMA_VERSION, holds: Vec::new() }
    }

    /// Adds a hold; false if it was already there.
    pub fn add(&mut self, stored: String) -> bool {
        if self.holds.contains(&stored) {
            return false;
        }
        self.holds.push(stored);
        self.holds.sort();
        true
    }

    /// Removes a hold; false if there was none.
    pub fn remove(&mut self, stored: &str) -> bool {
        let before = self.holds.len();
        self.holds.retain(|h| h != stored);
        self.holds.len() != before
    }

    /// Whether a tag is held (by name or by a pattern).
    pub fn is_held(&self, r: &Reference) -> bool {
        self.holds.iter().any(|h| match Pattern::new(h) {
            Ok(p) => p.matches(r) || h == &r.to_string(),
            Err(_) => false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_patterns() {
        assert_eq!(normalise("nginx:latest").unwrap(), "docker.io/library/nginx:latest");
        assert_eq!(normalise("postgres:*").unwrap(), "postgres:*");
        assert!(normalise("nginx@sha256:".to_string().as_str()).is_err());
        assert_eq!(display("docker.io/library/nginx:latest"), "nginx:latest");
        let mut h = Holds::default_new();
        assert!(h.add(normalise("nginx:latest").unwrap()));
        assert!(!h.add(normalise("docker.io/library/nginx:latest").unwrap()));
        assert!(h.add(normalise("postgres:*").unwrap()));
        let r = |s: &str| Reference::parse(s).unwrap();
        assert!(h.is_held(&r("nginx:latest")));
        assert!(!h.is_held(&r("nginx:1.27")));
        assert!(h.is_held(&r("postgres:16")));
        assert!(h.remove("postgres:*"));
        assert!(!h.is_held(&r("postgres:16")));
        assert!(!h.remove("postgres:*"));
    }
}
