//! The layer rule, kept true by a scan of the sources:
//!
//! ```text
//! commands → services → settings → { registry, notify, engine, store, output } → core
//!                       (net under registry and notify; error under everything)
//! ```
//!
//! Every `crate::` path in a file must name a layer that file's layer may
//! use. Adapters never name each other, nothing names a layer above its own,
//! a command never names another command, no two modules name each other
//! in a circle, and core does no I/O.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The top-level module a file belongs to, from its path under `src/`.
fn layer_of(rel: &Path) -> String {
    let first = rel.components().next().unwrap().as_os_str().to_string_lossy().to_string();
    first.trim_end_matches(".rs").to_string()
}

/// What each layer may name besides itself.
fn allowed(layer: &str) -> Option<&'static [&'static str]> {
    const ADAPTER_BASE: &[&str] = &["core", "error"];
    const HTTP_ADAPTER: &[&str] = &["core", "error", "net"];
    Some(match layer {
        "main" | "run" => &[
            "cli", "commands", "server", "services", "settings", "registry", "notify", "mqtt", "engine",
            "store", "output", "net", "core", "error",
        ],
        // `server/` sits beside `commands/`: `freshen serve` starts it, and its
        // handlers are as thin as commands.
        "commands" => &[
            "cli", "server", "services", "settings", "registry", "notify", "mqtt", "engine", "store",
            "output", "net", "core", "error",
        ],
        "server" => &[
            "cli", "services", "settings", "registry", "notify", "mqtt", "engine", "store", "output", "net",
            "core", "error",
        ],
        "services" => {
            &["settings", "registry", "notify", "mqtt", "engine", "store", "output", "net", "core", "error"]
        }
        "settings" => &["cli", "registry", "notify", "engine", "store", "output", "net", "core", "error"],
        "registry" | "notify" => HTTP_ADAPTER,
        "engine" | "store" | "output" | "mqtt" => ADAPTER_BASE,
        "net" => &["error"],
        "cli" => &[],
        "core" => &["error"],
        "error" => &[],
        _ => return None,
    })
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The module path of a file: `src/core/state.rs` → `core::state`,
/// `src/registry/mod.rs` → `registry`.
fn module_of(rel: &Path) -> String {
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts.join("::")
}

/// Every `crate::a::b::…` path in the code (comments skipped), as the
/// segments after `crate::`.
fn crate_paths(source: &str) -> Vec<(usize, Vec<String>)> {
    let mut found = Vec::new();
    for (n, line) in source.lines().enumerate() {
        let code = match line.find("//") {
            Some(i) => &line[..i],
            None => line,
        };
        let mut rest = code;
        while let Some(i) = rest.find("crate::") {
            let before = rest[..i].chars().last();
            rest = &rest[i + "crate::".len()..];
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                continue;
            }
            let path: String =
                rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':').collect();
            let segments: Vec<String> =
                path.split("::").filter(|s| !s.is_empty()).map(str::to_string).collect();
            if !segments.is_empty() {
                found.push((n + 1, segments));
            }
        }
    }
    found
}

/// The longest prefix of `segments` that names a module of the crate.
fn target_module(segments: &[String], modules: &BTreeSet<String>) -> Option<String> {
    (1..=segments.len()).rev().map(|n| segments[..n].join("::")).find(|m| modules.contains(m))
}

/// What only I/O code says: core holds pure rules, so none of this may
/// appear there (its tests included).
const IO_IN_CORE: &[&str] = &[
    "std::fs",
    "std::env",
    "std::process",
    "std::io",
    "std::net::TcpStream",
    "SystemTime",
    "Instant::now",
    "tokio",
    "reqwest",
    "bollard",
    "async fn",
    ".await",
    "println!",
    "eprintln!",
    "tempfile",
];

struct Scan {
    violations: Vec<String>,
    cycle: Option<Vec<String>>,
}

fn scan(src: &Path) -> Scan {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    files.sort();
    let rels: Vec<PathBuf> = files.iter().map(|f| f.strip_prefix(src).unwrap().to_path_buf()).collect();
    let modules: BTreeSet<String> = rels.iter().map(|r| module_of(r)).collect();
    let mut violations = Vec::new();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (file, rel) in files.iter().zip(&rels) {
        let layer = layer_of(rel);
        let me = module_of(rel);
        let Some(may) = allowed(&layer) else {
            violations.push(format!(
                "{}: module '{layer}' belongs to no layer; add it to tests/layers.rs",
                rel.display()
            ));
            continue;
        };
        let source = std::fs::read_to_string(file).unwrap();
        if layer == "core" {
            for (n, line) in source.lines().enumerate() {
                let code = line.split("//").next().unwrap_or("");
                if let Some(word) = IO_IN_CORE.iter().find(|w| code.contains(*w)) {
                    violations.push(format!(
                        "{}:{}: core does no I/O, but names {word}",
                        rel.display(),
                        n + 1
                    ));
                }
            }
        }
        for (line, segments) in crate_paths(&source) {
            let target = &segments[0];
            if target != &layer && !may.contains(&target.as_str()) {
                violations.push(format!(
                    "{}:{line}: layer '{layer}' may not use crate::{}",
                    rel.display(),
                    segments.join("::")
                ));
            }
            // A command never uses another command; the shared parts live in services.
            if layer == "commands" && target == "commands" && segments.len() > 1 {
                let other = &segments[1];
                if modules.contains(&format!("commands::{other}")) && me != format!("commands::{other}") {
                    violations.push(format!(
                        "{}:{line}: a command may not use another command (crate::{})",
                        rel.display(),
                        segments.join("::")
                    ));
                }
            }
            if let Some(t) = target_module(&segments, &modules) {
                // A parent naming its own children (`pub mod`) is not a dependency.
                if t != me && !t.starts_with(&format!("{me}::")) {
                    graph.entry(me.clone()).or_default().insert(t);
                }
            }
        }
    }
    Scan { violations, cycle: find_cycle(&graph) }
}

/// One import circle between modules, if there is any.
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(node.to_string(), 1);
        stack.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            match state.get(next.as_str()).copied().unwrap_or(0) {
                1 => {
                    let start = stack.iter().position(|n| n == next).unwrap();
                    let mut circle = stack[start..].to_vec();
                    circle.push(next.clone());
                    return Some(circle);
                }
                0 => {
                    if let Some(c) = visit(next, graph, state, stack) {
                        return Some(c);
                    }
                }
                _ => {}
            }
        }
        stack.pop();
        state.insert(node.to_string(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for node in graph.keys() {
        if state.get(node.as_str()).copied().unwrap_or(0) == 0 {
            let mut stack = Vec::new();
            if let Some(c) = visit(node, graph, &mut state, &mut stack) {
                return Some(c);
            }
        }
    }
    None
}

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

#[test]
fn every_import_points_down_and_no_module_imports_in_a_circle() {
    let scan = scan(&src_dir());
    assert!(scan.violations.is_empty(), "imports against the layer rule:\n{}", scan.violations.join("\n"));
    if let Some(circle) = scan.cycle {
        panic!("import circle: {}", circle.join(" → "));
    }
}

/// The scan itself must catch what it is for: a copy of the sources with one
/// upward import, one import between adapters, one command using another,
/// I/O in core and one circle inside core each fail it.
#[test]
fn the_scan_catches_upward_imports_adapter_to_adapter_command_to_command_and_circles() {
    let copy = tempfile::tempdir().unwrap();
    copy_tree(&src_dir(), copy.path());
    let clean = scan(copy.path());
    assert!(clean.violations.is_empty() && clean.cycle.is_none(), "the copy starts clean");

    let add = |rel: &str, line: &str| {
        let path = copy.path().join(rel);
        let mut text = std::fs::read_to_string(&path).unwrap();
        text.push_str(line);
        std::fs::write(&path, text).unwrap();
    };
    add("core/verdict.rs", "\n#[allow(unused_imports)]\nuse crate::engine::Engine;\n");
    add("engine/mod.rs", "\n#[allow(unused_imports)]\nuse crate::registry::Registries;\n");
    add("commands/list.rs", "\n#[allow(unused_imports)]\nuse crate::commands::upgrade::upgrade;\n");
    add("output/mod.rs", "\n#[allow(unused_imports)]\nuse crate::services::check;\n");
    add("core/space.rs", "\nfn sneaky() -> bool {\n    std::fs::metadata(\"/\").is_ok()\n}\n");
    let broken = scan(copy.path());
    let joined = broken.violations.join("\n");
    for expected in [
        "core/verdict.rs:",
        "layer 'core' may not use crate::engine::Engine",
        "layer 'engine' may not use crate::registry::Registries",
        "a command may not use another command (crate::commands::upgrade::upgrade)",
        "layer 'output' may not use crate::services::check",
        "core/space.rs:",
        "core does no I/O, but names std::fs",
    ] {
        assert!(joined.contains(expected), "missing '{expected}' in:\n{joined}");
    }

    // Two core modules naming each other form a circle even though both stay in their layer.
    let fresh = tempfile::tempdir().unwrap();
    copy_tree(&src_dir(), fresh.path());
    let path = fresh.path().join("core/versions.rs");
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str("\n#[allow(unused_imports)]\nuse crate::core::retire::Rules;\n");
    std::fs::write(&path, text).unwrap();
    let circled = scan(fresh.path());
    assert!(circled.violations.is_empty(), "{:?}", circled.violations);
    let circle = circled.cycle.expect("a circle between core::versions and core::retire");
    assert!(circle.contains(&"core::versions".to_string()), "{circle:?}");
}

fn copy_tree(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let dest = to.join(path.file_name().unwrap());
        if path.is_dir() {
            std::fs::create_dir_all(&dest).unwrap();
            copy_tree(&path, &dest);
        } else {
            std::fs::copy(&path, &dest).unwrap();
        }
    }
}
