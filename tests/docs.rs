//! The documentation keeps up with the code: every JSON field freshen
//! prints is described in docs/json.md, the README stays a map (short, and
//! linking every reference page), and every relative link in the README
//! and docs/ leads to a file and heading that exist. (Config keys are
//! checked against the parser where freshen.conf(5) is generated:
//! `settings::keys`.)

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// The serialized field names of the structs named in `source` (`None`:
/// every struct that derives `Serialize`), honouring `rename` and leaving
/// out `flatten`ed and `skip`ped fields.
fn serialized_fields(source: &str, only: Option<&[&str]>) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let lines: Vec<&str> = source.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i].trim();
        let name = line
            .strip_prefix("pub struct ")
            .or_else(|| line.strip_prefix("struct "))
            .map(|rest| rest.split(|c: char| !c.is_alphanumeric() && c != '_').next().unwrap_or(""));
        let Some(name) = name.filter(|_| line.ends_with('{')) else {
            i += 1;
            continue;
        };
        let attrs: String = lines[..i]
            .iter()
            .rev()
            .take_while(|l| {
                let t = l.trim();
                t.starts_with("#[") || t.starts_with("///")
            })
            .copied()
            .collect();
        let wanted = match only {
            Some(names) => names.contains(&name),
            None => attrs.contains("Serialize"),
        };
        i += 1;
        let mut field_attrs = String::new();
        while i < lines.len() && lines[i].trim() != "}" {
            let t = lines[i].trim();
            if t.starts_with("#[") {
                field_attrs.push_str(t);
            } else if let Some((field, _)) =
                t.strip_prefix("pub ").unwrap_or(t).split_once(':').filter(|_| !t.starts_with("//"))
            {
                let field = field.trim();
                let renamed = field_attrs
                    .split("rename = \"")
                    .nth(1)
                    .and_then(|r| r.split('"').next())
                    .map(str::to_string);
                let hidden = field_attrs.contains("flatten") || field_attrs.contains("serde(skip)");
                if wanted && !hidden && field.chars().all(|c| c.is_alphanumeric() || c == '_') {
                    out.push((name.to_string(), renamed.unwrap_or_else(|| field.to_string())));
                }
                field_attrs.clear();
            }
            i += 1;
        }
    }
    out
}

/// Every field of freshen's JSON output: the views in `src/output/` (all
/// of them serialize to the documented JSON) and the core records they
/// embed as they are.
fn json_fields() -> Vec<(String, String)> {
    let mut fields = Vec::new();
    for entry in std::fs::read_dir(root().join("src/output")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "rs") {
            fields.extend(serialized_fields(&std::fs::read_to_string(&path).unwrap(), None));
        }
    }
    fields.extend(serialized_fields(&read("src/core/skips.rs"), Some(&["Skip"])));
    fields.extend(serialized_fields(&read("src/core/state.rs"), Some(&["RateLimit"])));
    fields
}

#[test]
fn every_json_field_is_documented() {
    let fields = json_fields();
    // The scan itself finds what it is for.
    for expected in [
        "schema_version",
        "candidate_tag",
        "tag_cooldown",
        "downtime_seconds",
        "tag_digest",
        "window_seconds",
    ] {
        assert!(fields.iter().any(|(_, f)| f == expected), "the scan lost {expected}: {fields:?}");
    }
    // The status document of `freshen serve` is described beside its
    // endpoints, in docs/serve.md; every other view in docs/json.md.
    let page = format!("{}{}", read("docs/json.md"), read("docs/serve.md"));
    let missing: Vec<String> = fields
        .iter()
        .filter(|(_, f)| !page.contains(&format!("`{f}`")) && !page.contains(&format!("\"{f}\"")))
        .map(|(s, f)| format!("{s}.{f}"))
        .collect();
    assert!(
        missing.is_empty(),
        "JSON fields not described in docs/json.md (or docs/serve.md): {}",
        missing.join(", ")
    );
}

/// A field added to a view without documenting it fails the test above:
/// the scan sees a new field in a copy of the source.
#[test]
fn the_json_scan_sees_a_new_field() {
    let source = read("src/output/upgrade_report.rs").replacen(
        "pub struct Failed {",
        "pub struct Failed {\n    pub brand_new_field: u32,",
        1,
    );
    let fields = serialized_fields(&source, None);
    assert!(fields.contains(&("Failed".to_string(), "brand_new_field".to_string())), "{fields:?}");
    assert!(!read("docs/json.md").contains("brand_new_field"));
}

#[test]
fn the_readme_is_a_short_map_that_links_every_reference_page() {
    let readme = read("README.md");
    let lines = readme.lines().count();
    assert!(lines < 400, "README.md has {lines} lines: move the detail to docs/ or the man pages");
    let mut pages: Vec<String> = std::fs::read_dir(root().join("docs"))
        .unwrap()
        .map(|e| format!("docs/{}", e.unwrap().file_name().to_string_lossy()))
        .filter(|p| p.ends_with(".md"))
        .collect();
    pages.extend(["man/freshen.1", "man/freshen.conf.5"].map(String::from));
    for page in pages {
        assert!(readme.contains(&format!("]({page}")), "README.md does not link {page}");
    }
}

/// GitHub's anchor for a heading.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

fn anchors(markdown: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut code = false;
    for line in markdown.lines() {
        if line.starts_with("```") {
            code = !code;
        } else if !code && line.starts_with('#') {
            out.insert(slug(line.trim_start_matches('#')));
        }
    }
    out
}

#[test]
fn every_relative_link_leads_somewhere() {
    let mut files = vec![PathBuf::from("README.md")];
    for e in std::fs::read_dir(root().join("docs")).unwrap() {
        let name = e.unwrap().file_name();
        // Only the pages hold links (not the screenshot or the schema).
        if Path::new(&name).extension().is_some_and(|x| x == "md") {
            files.push(Path::new("docs").join(name));
        }
    }
    let mut broken = Vec::new();
    for file in &files {
        let text = read(&file.to_string_lossy());
        for link in text.split("](").skip(1).filter_map(|rest| rest.split(')').next()) {
            if link.contains("://") || link.starts_with("mailto:") {
                continue;
            }
            let (path, anchor) = link.split_once('#').unwrap_or((link, ""));
            let target = if path.is_empty() {
                file.clone()
            } else {
                file.parent().unwrap_or(Path::new("")).join(path)
            };
            let full = root().join(&target);
            if !full.exists() {
                broken.push(format!("{}: {link} (no {})", file.display(), target.display()));
            } else if !anchor.is_empty()
                && !anchors(&std::fs::read_to_string(&full).unwrap()).contains(anchor)
            {
                broken.push(format!("{}: {link} (no heading #{anchor})", file.display()));
            }
        }
    }
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}
