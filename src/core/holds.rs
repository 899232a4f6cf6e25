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
    /// Patterns of `[images."PATTERN"]` sections with `hold = true` in the
    /// config file: the same hold, set and lifted by editing the file.
    #[serde(skip)]
    pub config: Vec<String>,
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
        Holds { schema_version: SCHEMA_VERSION, holds: Vec::new(), config: Vec::new() }
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

    /// Whether a tag is held (by name, by a pattern, or by the config file).
    pub fn is_held(&self, r: &Reference) -> bool {
        self.holds.iter().chain(&self.config).any(|h| covers(h, r))
    }

    /// The stored hold that covers `r`, if any (the first in order).
    pub fn covering(&self, r: &Reference) -> Option<&str> {
        self.holds.iter().find(|h| covers(h, r)).map(String::as_str)
    }

    /// The config file's hold pattern that covers `r`, if any.
    pub fn covering_config(&self, r: &Reference) -> Option<&str> {
        self.config.iter().find(|h| covers(h, r)).map(String::as_str)
    }

    /// Removes the holds on single tags that a name or pattern hold
    /// `stored` covers (`unhold nginx` after `hold nginx:1.27`), and
    /// returns them.
    pub fn remove_covered(&mut self, stored: &str) -> Vec<String> {
        if !is_broad(stored) {
            return Vec::new();
        }
        let (gone, kept): (Vec<String>, Vec<String>) =
            std::mem::take(&mut self.holds).into_iter().partition(|h| {
                h != stored && !is_broad(h) && Reference::parse(h).is_ok_and(|r| covers(stored, &r))
            });
        self.holds = kept;
        gone
    }
}

/// Whether the stored hold `hold` covers the tag `r`.
pub fn covers(hold: &str, r: &Reference) -> bool {
    match Pattern::new(hold) {
        Ok(p) => p.matches(r) || hold == r.to_string(),
        Err(_) => false,
    }
}

/// A hold on more than one tag: a pattern, or a name without a tag.
pub fn is_broad(stored: &str) -> bool {
    stored.contains(['*', '?'])
        || Reference::parse(stored).is_ok_and(|r| r.tag.is_none() && r.digest.is_none())
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

        // A name covers its tags: unholding it lifts their holds; a tag
        // under a name hold names the hold that covers it.
        let mut h = Holds::default_new();
        h.add(normalise("db:1.2.3").unwrap());
        h.add(normalise("redis:7").unwrap());
        assert_eq!(
            h.remove_covered(&normalise("db").unwrap()),
            vec!["docker.io/library/db:1.2.3".to_string()]
        );
        assert_eq!(h.holds, vec!["docker.io/library/redis:7".to_string()]);
        assert!(h.remove_covered(&normalise("redis:7").unwrap()).is_empty());
        h.add(normalise("db").unwrap());
        assert_eq!(h.covering(&r("db:1.2.3")), Some("docker.io/library/db"));
        assert_eq!(display("docker.io/library/db"), "db");
        h.config.push("ghcr.io/org/*".into());
        assert!(h.is_held(&r("ghcr.io/org/app:1")));
        assert_eq!(h.covering(&r("ghcr.io/org/app:1")), None);
        assert_eq!(h.covering_config(&r("ghcr.io/org/app:1")), Some("ghcr.io/org/*"));
    }
}
