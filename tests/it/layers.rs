//! The layer rule of ARCHITECTURE.md, enforced: every `crate::…`, `super::…` and
//! `self::…` path in `src/` is read, each module is mapped to its layer, and a use of
//! a layer the module may not use fails naming file:line. Modules must also form no
//! cycle: at every level of the module tree, sibling modules that use each other
//! (directly or around a loop) fail the test.
//!
//! The check is textual (like rust-analyzer's `tidy` tests): it reads `use` trees and
//! inline paths, not the compiler's name resolution, so a path is charged to the
//! longest module prefix it names.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layers, lowest first, each with the layers it may use besides itself.
/// `domain ← escalation ← store ← app ← {edge} ← startup ← cli`; config reads only
/// the domain, security (auth, tls, rate limits) reads config.
const LAYERS: &[(&str, &[&str])] = &[
    ("domain", &[]),
    ("config", &["domain"]),
    ("security", &["config", "domain"]),
    ("escalation", &["domain"]),
    ("store", &["escalation", "config", "domain"]),
    ("app", &["store", "escalation", "security", "config", "domain"]),
    ("edge", &["app", "store", "escalation", "security", "config", "domain"]),
    ("startup", &["edge", "app", "store", "escalation", "security", "config", "domain"]),
    ("cli", &["startup", "edge", "app", "store", "escalation", "security", "config", "domain"]),
];

/// Module (path prefix) → layer; the longest matching prefix wins.
const MODULES: &[(&str, &str)] = &[
    ("model", "domain"),
    ("outbox", "domain"),
    ("clock", "domain"),
    ("rejections", "domain"),
    ("mapping", "domain"),
    ("telemetry", "domain"),
    ("secret", "domain"),
    ("config", "config"),
    ("auth", "security"),
    ("tls", "security"),
    ("ratelimit", "security"),
    ("escalation", "escalation"),
    ("store", "store"),
    ("gateway", "app"),
    ("api", "edge"),
    ("dialects", "edge"),
    ("http", "edge"),
    ("server", "edge"),
    ("sync", "edge"),
    ("notify", "edge"),
    ("probe", "edge"),
    ("web", "edge"),
    ("startup", "startup"),
    ("cli", "cli"),
    ("commands", "cli"),
    ("demo", "cli"),
    ("", "cli"),
];

/// Dialect option types are plain configuration data: they sit in the config layer
/// although they live in the dialect's folder (`dialects/<name>/options.rs`). The
/// dialect identity itself is domain data (`model::dialect`).
fn layer_of(module: &str) -> &'static str {
    let segments: Vec<&str> = module.split("::").collect();
    if segments.first() == Some(&"dialects") && segments.len() >= 2 {
        let last = segments[segments.len() - 1];
        if last == "options" {
            return "config";
        }
    }
    MODULES
        .iter()
        .filter(|(prefix, _)| prefix.is_empty() || module == *prefix || module.starts_with(&format!("{prefix}::")))
        .max_by_key(|(prefix, _)| prefix.len())
        .map(|(_, layer)| *layer)
        .unwrap_or_else(|| panic!("module `{module}` has no layer: add it to MODULES in tests/layers.rs"))
}

fn may_use(from: &str, to: &str) -> bool {
    from == to || LAYERS.iter().any(|(l, allowed)| *l == from && allowed.contains(&to))
}

struct Use {
    file: PathBuf,
    line: usize,
    from: String,
    to: String,
}

fn rs_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rs_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `src/a/b.rs` and `src/a/b/mod.rs` → `a::b`; `src/lib.rs` → the root (`""`).
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).ok()?;
    let mut parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    let last = parts.pop()?;
    let stem = last.trim_end_matches(".rs");
    if parts.is_empty() && stem == "main" {
        return None; // the binary uses the library as `deskgate::`
    }
    if !(stem == "mod" || (parts.is_empty() && stem == "lib")) {
        parts.push(stem.to_owned());
    }
    Some(parts.join("::"))
}

/// The text without comments and string literals (kept as blanks, lines preserved).
fn code_only(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            i += 2;
            while i < chars.len() && !(chars[i] == '*' && chars.get(i + 1) == Some(&'/')) {
                if chars[i] == '\n' {
                    out.push('\n');
                }
                i += 1;
            }
            i += 2;
        } else if c == 'r' && matches!(next, Some('"') | Some('#')) && !prev_is_ident(&chars, i) {
            // raw string r"…" / r#"…"#
            let mut j = i + 1;
            let mut hashes = 0;
            while chars.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if chars.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            j += 1;
            loop {
                if j >= chars.len() {
                    break;
                }
                if chars[j] == '"' && (0..hashes).all(|k| chars.get(j + 1 + k) == Some(&'#')) {
                    j += 1 + hashes;
                    break;
                }
                if chars[j] == '\n' {
                    out.push('\n');
                }
                j += 1;
            }
            out.push_str("\"\"");
            i = j;
        } else if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    i += 1;
                }
                if chars.get(i) == Some(&'\n') {
                    out.push('\n');
                }
                i += 1;
            }
            i += 1;
            out.push_str("\"\"");
        } else if c == '\'' {
            // a char literal ('x', '\n', '\''), or a lifetime ('a): copy lifetimes through
            if next == Some('\\') {
                let mut j = i + 2;
                while j < chars.len() && chars[j] != '\'' {
                    j += 1;
                }
                i = j + 1;
                out.push_str("' '");
            } else if chars.get(i + 2) == Some(&'\'') {
                i += 3;
                out.push_str("' '");
            } else {
                out.push(c);
                i += 1;
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn prev_is_ident(chars: &[char], i: usize) -> bool {
    i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_')
}

/// Expand a use tree (`a::{b, c::{d, e}}`) into its leaf paths.
fn expand(tree: &str) -> Vec<String> {
    // `a::B as C` → `a::B`: mark renames before dropping whitespace.
    let tree: String = tree.replace(" as ", "@").chars().filter(|c| !c.is_whitespace()).collect();
    let Some(open) = tree.find('{') else {
        return vec![tree.split('@').next().unwrap_or("").to_owned()];
    };
    let prefix = &tree[..open];
    let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
    let mut items = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push(&inner[start..]);
    items
        .into_iter()
        .filter(|s| !s.is_empty())
        .flat_map(|item| expand(item).into_iter().map(move |leaf| format!("{prefix}{leaf}")))
        .collect()
}

/// Resolve `crate::…`, `super::…`, `self::…` against the module that wrote it.
fn absolute(path: &str, module: &str, is_dir_module: bool) -> Option<Vec<String>> {
    let mut segs: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
    let mut base: Vec<String> =
        if module.is_empty() { Vec::new() } else { module.split("::").map(str::to_owned).collect() };
    let _ = is_dir_module;
    match segs.first().copied() {
        Some("crate") => {
            base.clear();
            segs.remove(0);
        }
        Some("super") => {
            while segs.first() == Some(&"super") {
                base.pop()?;
                segs.remove(0);
            }
        }
        Some("self") => {
            segs.remove(0);
        }
        _ => return None,
    }
    base.extend(segs.iter().map(|s| s.to_string()));
    Some(base)
}

/// The longest prefix of `path` that is a module of the crate.
fn target_module(path: &[String], modules: &BTreeSet<String>) -> String {
    for n in (0..=path.len()).rev() {
        let candidate = path[..n].join("::");
        if modules.contains(&candidate) {
            return candidate;
        }
    }
    String::new()
}

fn collect_uses(src: &Path) -> (Vec<Use>, BTreeSet<String>) {
    let mut files = Vec::new();
    rs_files(src, &mut files);
    files.sort();
    let modules: BTreeSet<String> = files.iter().filter_map(|f| module_of(src, f)).collect();
    let mut uses = Vec::new();
    for file in &files {
        let Some(module) = module_of(src, file) else { continue };
        let is_dir = file.file_name().is_some_and(|n| n == "mod.rs" || n == "lib.rs");
        let text = code_only(&std::fs::read_to_string(file).expect("read source"));
        let line_of = |offset: usize| text[..offset].matches('\n').count() + 1;
        let mut paths: Vec<(usize, String)> = Vec::new();
        // `use` trees (possibly over several lines).
        let mut rest = 0;
        while let Some(pos) = text[rest..].find("use ") {
            let at = rest + pos;
            rest = at + 4;
            if at > 0 && text[..at].chars().last().is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue;
            }
            let Some(end) = text[at..].find(';') else { break };
            let tree = &text[at + 4..at + end];
            let tree = tree.trim().trim_start_matches("::");
            if tree.starts_with("crate") || tree.starts_with("super") || tree.starts_with("self") {
                for leaf in expand(tree) {
                    paths.push((at, leaf));
                }
            }
        }
        // Inline paths: `crate::a::b`, `super::x`.
        for key in ["crate::", "super::"] {
            let mut from = 0;
            while let Some(pos) = text[from..].find(key) {
                let at = from + pos;
                from = at + key.len();
                if at > 0 && text[..at].chars().last().is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                    continue;
                }
                let path: String =
                    text[at..].chars().take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':').collect();
                // `crate::{…}` is a use tree, read above.
                if !path.ends_with("::") {
                    paths.push((at, path));
                }
            }
        }
        let inline = inline_modules(&text);
        for (at, path) in paths {
            // Inside `mod tests { … }`, `super` is the file's own module.
            let mut scope = module.clone();
            for (name, open, close) in &inline {
                if *open < at && at < *close {
                    scope = if scope.is_empty() { name.clone() } else { format!("{scope}::{name}") };
                }
            }
            let Some(abs) = absolute(&path, &scope, is_dir) else { continue };
            let to = target_module(&abs, &modules);
            uses.push(Use { file: file.clone(), line: line_of(at), from: module.clone(), to });
        }
    }
    (uses, modules)
}

/// Inline modules (`mod name { … }`): name and the byte range of their body, outermost first.
fn inline_modules(text: &str) -> Vec<(String, usize, usize)> {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut from = 0;
    while let Some(pos) = text[from..].find("mod ") {
        let at = from + pos;
        from = at + 4;
        if at > 0 && (bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'_') {
            continue;
        }
        let rest = &text[at + 4..];
        let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
        let after = rest[name.len()..].trim_start();
        if name.is_empty() || !after.starts_with('{') {
            continue;
        }
        let open = at + 4 + rest.len() - after.len();
        let mut depth = 0usize;
        let mut close = text.len();
        for (i, c) in text[open..].char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        close = open + i;
                        break;
                    }
                }
                _ => {}
            }
        }
        out.push((name, open, close));
    }
    out
}

fn is_within(inner: &str, outer: &str) -> bool {
    outer.is_empty() || inner == outer || inner.starts_with(&format!("{outer}::"))
}

/// The edge between the two siblings under the modules' common ancestor, if neither
/// contains the other (a module's use of its own parent or child is not a dependency
/// between siblings).
///
/// A module whose layer differs from its sibling's (a dialect's `options.rs`, which
/// is configuration data inside the dialect's folder) counts as a node of its own,
/// `dialects[config]`: the folder groups by dialect, the layers by dependency.
fn sibling_edge(from: &str, to: &str) -> Option<(String, String)> {
    if is_within(from, to) || is_within(to, from) {
        return None;
    }
    let a: Vec<&str> = from.split("::").collect();
    let b: Vec<&str> = to.split("::").collect();
    let common = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let node = |full: &str, sibling: String| {
        let layer = layer_of(full);
        if layer == layer_of(&sibling) { sibling } else { format!("{sibling}[{layer}]") }
    };
    Some((node(from, a[..=common].join("::")), node(to, b[..=common].join("::"))))
}

/// Strongly connected components with more than one module (Tarjan).
fn cycles(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct State<'a> {
        edges: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<String, usize>,
        low: BTreeMap<String, usize>,
        stack: Vec<String>,
        on_stack: BTreeSet<String>,
        next: usize,
        out: Vec<Vec<String>>,
    }
    fn visit(s: &mut State<'_>, v: &str) {
        s.index.insert(v.to_owned(), s.next);
        s.low.insert(v.to_owned(), s.next);
        s.next += 1;
        s.stack.push(v.to_owned());
        s.on_stack.insert(v.to_owned());
        let targets: Vec<String> = s.edges.get(v).map(|t| t.iter().cloned().collect()).unwrap_or_default();
        for w in targets {
            if !s.index.contains_key(&w) {
                visit(s, &w);
                let lw = s.low[&w];
                let lv = s.low[v];
                s.low.insert(v.to_owned(), lv.min(lw));
            } else if s.on_stack.contains(&w) {
                let iw = s.index[&w];
                let lv = s.low[v];
                s.low.insert(v.to_owned(), lv.min(iw));
            }
        }
        if s.low[v] == s.index[v] {
            let mut component = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(&w);
                let done = w == v;
                component.push(w);
                if done {
                    break;
                }
            }
            if component.len() > 1 {
                component.sort();
                s.out.push(component);
            }
        }
    }
    let mut s = State {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        next: 0,
        out: Vec::new(),
    };
    let nodes: BTreeSet<String> =
        edges.iter().flat_map(|(k, v)| std::iter::once(k.clone()).chain(v.iter().cloned())).collect();
    for n in nodes {
        if !s.index.contains_key(&n) {
            visit(&mut s, &n);
        }
    }
    s.out
}

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

#[test]
fn every_module_uses_only_the_layers_below_it() {
    let (uses, modules) = collect_uses(&src_dir());
    assert!(modules.len() > 40, "expected to read the crate's modules, read {}", modules.len());
    assert!(uses.len() > 200, "expected to read the crate's paths, read {}", uses.len());
    let mut violations = BTreeSet::new();
    for u in &uses {
        let (from, to) = (layer_of(&u.from), layer_of(&u.to));
        if !may_use(from, to) {
            violations.insert(format!(
                "{}:{}: `{}` ({from}) uses `{}` ({to})",
                u.file.strip_prefix(env!("CARGO_MANIFEST_DIR")).unwrap_or(&u.file).display(),
                u.line,
                u.from,
                u.to
            ));
        }
    }
    assert!(violations.is_empty(), "layer violations:\n{}", violations.into_iter().collect::<Vec<_>>().join("\n"));
}

#[test]
fn modules_form_no_cycle() {
    let (uses, _) = collect_uses(&src_dir());
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut witness: BTreeMap<(String, String), String> = BTreeMap::new();
    for u in &uses {
        if let Some((a, b)) = sibling_edge(&u.from, &u.to) {
            witness.entry((a.clone(), b.clone())).or_insert_with(|| {
                format!("{}:{}", u.file.strip_prefix(env!("CARGO_MANIFEST_DIR")).unwrap_or(&u.file).display(), u.line)
            });
            edges.entry(a).or_default().insert(b);
        }
    }
    let found = cycles(&edges);
    let report: Vec<String> = found
        .iter()
        .map(|c| {
            let members: BTreeSet<&String> = c.iter().collect();
            let uses: Vec<String> = witness
                .iter()
                .filter(|((a, b), _)| members.contains(a) && members.contains(b))
                .map(|((a, b), at)| format!("    {a} → {b} ({at})"))
                .collect();
            format!("  {}\n{}", c.join(" ↔ "), uses.join("\n"))
        })
        .collect();
    assert!(found.is_empty(), "{} module cycle(s):\n{}", found.len(), report.join("\n"));
}

#[test]
fn the_reader_sees_use_trees_and_resolves_super() {
    assert_eq!(expand("crate::{a::{B, c}, d}"), vec!["crate::a::B", "crate::a::c", "crate::d"]);
    assert_eq!(expand("crate::a::B as C"), vec!["crate::a::B"]);
    assert_eq!(
        absolute("super::engine::Decision", "escalation::record", false).unwrap(),
        ["escalation", "engine", "Decision"]
    );
    assert_eq!(
        sibling_edge("escalation::record", "escalation::engine"),
        Some(("escalation::record".into(), "escalation::engine".into()))
    );
    assert_eq!(sibling_edge("escalation::record", "escalation"), None);
    assert_eq!(sibling_edge("gateway", "sync::plan"), Some(("gateway".into(), "sync".into())));
    assert_eq!(sibling_edge("config", "dialects::jira::options"), Some(("config".into(), "dialects[config]".into())));
    assert_eq!(layer_of("model::dialect"), "domain");
    assert_eq!(layer_of("dialects::jira::options"), "config");
    assert_eq!(layer_of("dialects::jira::api"), "edge");
    let mut edges = BTreeMap::new();
    edges.insert("a".to_owned(), BTreeSet::from(["b".to_owned()]));
    edges.insert("b".to_owned(), BTreeSet::from(["a".to_owned()]));
    edges.insert("c".to_owned(), BTreeSet::from(["a".to_owned()]));
    assert_eq!(cycles(&edges), vec![vec!["a".to_owned(), "b".to_owned()]]);
    assert!(!may_use("config", "security"));
    assert!(may_use("security", "config"));
    assert_eq!(code_only("let s = \"crate::x\"; // crate::y\nuse crate::z;"), "let s = \"\"; \nuse crate::z;");
}

/// Long files hide their structure; a file past this is split by what it owns.
const MAX_LINES: usize = 800;

#[test]
fn no_source_file_is_over_800_lines() {
    let mut files = Vec::new();
    rs_files(&src_dir(), &mut files);
    // The adapter crates' sources too (their `tests/` folders are tests).
    let adapters = Path::new(env!("CARGO_MANIFEST_DIR")).join("adapters");
    for krate in std::fs::read_dir(&adapters).expect("adapters/").flatten() {
        rs_files(&krate.path().join("src"), &mut files);
    }
    let long: Vec<String> = files
        .iter()
        .filter_map(|f| {
            let lines = std::fs::read_to_string(f).expect("read source").lines().count();
            (lines > MAX_LINES).then(|| format!("{}: {lines} lines", f.display()))
        })
        .collect();
    assert!(long.is_empty(), "files over {MAX_LINES} lines:\n{}", long.join("\n"));
}

/// The dialect folders are declared by the dialect list's macro, so `cargo fmt`
/// never reaches them: they are checked here instead.
#[test]
fn the_dialect_folders_are_formatted() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut roots: Vec<PathBuf> = std::fs::read_dir(root.join("src/dialects"))
        .expect("src/dialects")
        .flatten()
        .map(|e| e.path().join("mod.rs"))
        .filter(|p| p.exists())
        .collect();
    roots.sort();
    assert!(roots.len() >= 4, "every dialect has a folder with a mod.rs: {roots:?}");
    let rustfmt = std::env::var_os("RUSTFMT").unwrap_or_else(|| "rustfmt".into());
    let out = std::process::Command::new(rustfmt)
        .current_dir(root)
        .args(["--edition", "2024", "--check"])
        .args(&roots)
        .output()
        .expect("rustfmt runs (it comes with the toolchain, like cargo fmt)");
    assert!(
        out.status.success(),
        "the dialect folders are not formatted; run `rustfmt --edition 2024 src/dialects/*/mod.rs`:\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
