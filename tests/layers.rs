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

/// Every path in the code that names a module of the crate, as its
/// segments from the crate root, with its line: `crate::a::b`, and
/// `super::x` / `self::x` resolved against the module `me` of the file, in
/// `use` lines and in expressions alike (`super::skips::migrate(…)` is as
/// much a dependency as `use super::skips::migrate`). Brace groups are
/// expanded (`use super::{a::b, c}`), across lines too. Comments are
/// skipped. Code inside an inline `mod NAME { … }` (a file's `mod tests`)
/// sits one module deeper, so its `super::` is the file's own module.
fn crate_paths(source: &str, me: &str) -> Vec<(usize, Vec<String>)> {
    let code: String = source
        .lines()
        .map(|line| match line.find("//") {
            Some(i) => &line[..i],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n");
    // Top-level inline modules: from a line `mod NAME {` at column 0 to the
    // next line that is `}` alone (rustfmt indents everything between).
    let mut inline_mods = Vec::new();
    let mut offset = 0;
    let mut open: Option<usize> = None;
    for line in code.lines() {
        let t = line.trim_start_matches("pub ").trim_start_matches("pub(crate) ");
        if open.is_none() && t.starts_with("mod ") && t.trim_end().ends_with('{') {
            open = Some(offset);
        } else if line.trim_end() == "}" {
            if let Some(start) = open.take() {
                inline_mods.push(start..offset);
            }
        }
        offset += line.len() + 1;
    }
    let me_segments: Vec<String> = me.split("::").filter(|s| !s.is_empty()).map(str::to_string).collect();
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    let mut found = Vec::new();
    let bytes = code.as_bytes();
    let mut i = 0;
    while i < code.len() {
        let starts_word = i == 0 || !(ident(bytes[i - 1] as char) || bytes[i - 1] == b':');
        let root = ["crate::", "super::", "self::"].into_iter().find(|r| code[i..].starts_with(r));
        let Some(root) = root.filter(|_| starts_word) else {
            i += code[i..].chars().next().map_or(1, char::len_utf8);
            continue;
        };
        let line = code[..i].bytes().filter(|&b| b == b'\n').count() + 1;
        // Where the path starts from: the crate root, or this module (one
        // deeper inside an inline module), then up once per `super::`.
        let mut base: Vec<String> = match root {
            "crate::" => Vec::new(),
            _ => {
                let mut b = me_segments.clone();
                if inline_mods.iter().any(|m| m.contains(&i)) {
                    b.push("<inline>".into());
                }
                b
            }
        };
        let mut rest = &code[i..];
        if root != "crate::" {
            while let Some(r) = rest.strip_prefix("super::") {
                base.pop();
                rest = r;
            }
            if let Some(r) = rest.strip_prefix("self::") {
                rest = r;
            }
        } else {
            rest = &rest["crate::".len()..];
        }
        let consumed = code.len() - rest.len();
        let mut paths = Vec::new();
        let used = expand(rest, &mut Vec::new(), &mut paths);
        for tail in paths {
            let mut segments: Vec<String> = base.iter().filter(|s| *s != "<inline>").cloned().collect();
            if base.last().is_some_and(|s| s == "<inline>") && tail.is_empty() {
                continue;
            }
            segments.extend(tail);
            if !segments.is_empty() {
                found.push((line, segments));
            }
        }
        i = consumed + used.max(1);
    }
    found
}

/// The paths spelt at the start of `text`: `a::b::c` gives one, `a::{b,
/// c::d}` gives `a::b` and `a::c::d`. Returns how many bytes it read.
fn expand(text: &str, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) -> usize {
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    let mut pos = 0;
    let mut pushed = 0;
    loop {
        let word: String = text[pos..].chars().take_while(|c| ident(*c)).collect();
        if word.is_empty() {
            break;
        }
        prefix.push(word.clone());
        pushed += 1;
        pos += word.len();
        match text[pos..].strip_prefix("::") {
            Some(_) => pos += 2,
            None => break,
        }
    }
    if text[pos..].starts_with('{') {
        pos += 1;
        loop {
            let skipped = text[pos..].len() - text[pos..].trim_start_matches([' ', '\n', '\t', ',']).len();
            pos += skipped;
            if pos >= text.len() || text[pos..].starts_with('}') {
                pos += 1;
                break;
            }
            if text[pos..].starts_with("self") && !text[pos + 4..].starts_with(|c: char| ident(c)) {
                out.push(prefix.clone());
                pos += 4;
                continue;
            }
            let before = pos;
            pos += expand(&text[pos..], prefix, out);
            // `* ` or `x as y`: nothing more to read that names a module.
            let junk: usize =
                text[pos..].chars().take_while(|c| !matches!(c, ',' | '}')).map(char::len_utf8).sum();
            pos += junk;
            if pos == before {
                pos += 1;
            }
        }
    } else if pushed > 0 {
        out.push(prefix.clone());
    }
    prefix.truncate(prefix.len() - pushed);
    pos.min(text.len())
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
        for (line, segments) in crate_paths(&source, &me) {
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
                let own = format!("commands::{other}");
                // A command's own submodules (generate/*) are the same command.
                if modules.contains(&own) && me != own && !me.starts_with(&format!("{own}::")) {
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

    // A circle spelt only in expressions, through `super::` on one side and
    // a brace group on the other, is still a circle.
    let exprs = tempfile::tempdir().unwrap();
    copy_tree(&src_dir(), exprs.path());
    let append = |rel: &str, line: &str| {
        let path = exprs.path().join(rel);
        let mut text = std::fs::read_to_string(&path).unwrap();
        text.push_str(line);
        std::fs::write(&path, text).unwrap();
    };
    append("store/holds.rs", "\nfn sneaky() {\n    super::notified::touch();\n}\n");
    append(
        "store/notified.rs",
        "\n#[allow(unused_imports)]\nuse super::{\n    holds::{self},\n    Lock,\n};\n",
    );
    let circle = scan(exprs.path()).cycle.expect("a circle between store::holds and store::notified");
    assert!(
        circle.contains(&"store::holds".to_string()) && circle.contains(&"store::notified".to_string()),
        "{circle:?}"
    );
}

/// How paths resolve: `super::` climbs from the file's module (from its
/// inline test module, the file's module itself), brace groups expand.
#[test]
fn paths_resolve_super_self_and_brace_groups() {
    let src = "use super::{a::b, c};\nfn f() { super::super::d::e(); self::g::h(); }\n\
               #[cfg(test)]\nmod tests {\n    use super::*;\n    fn t() { super::k(); crate::x::y(); }\n}\n";
    let found: Vec<(usize, String)> =
        crate_paths(src, "store::state").into_iter().map(|(n, s)| (n, s.join("::"))).collect();
    assert_eq!(
        found,
        [
            (1, "store::a::b".to_string()),
            (1, "store::c".to_string()),
            (2, "d::e".to_string()),
            (2, "store::state::g::h".to_string()),
            (6, "store::state::k".to_string()),
            (6, "x::y".to_string()),
        ]
    );
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
