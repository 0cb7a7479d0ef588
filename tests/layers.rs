//! Layers only point down: no crate of the workspace has an import cycle between its files, nor
//! between its top-level modules.
//!
//! A cycle is how a house stops having floors: once `checkpoint` needs `execution` and
//! `execution` needs `checkpoint`, neither can be read, tested or replaced alone. This test reads
//! every crate's `src/` as text (no build, no dependency), finds what each file takes from the
//! others (`use crate::…`, `use super::…` and paths written inline), and fails naming the files
//! and the names that tie each cycle.
//!
//! What counts as an import: a `use` of a path into another file, or a `crate::`/`super::` path
//! in code. What does not: `mod` declarations, `pub use` re-exports (a module's face, not a
//! dependency), the crate root (`lib.rs`, `main.rs`: it only assembles the crate), comments, and
//! the `#[cfg(test)]` module at the end of a file (tests may look anywhere).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A crate's files by module path (`["checkpoint", "gate"]` for `checkpoint/gate.rs`).
struct Crate {
    files: BTreeMap<Vec<String>, PathBuf>,
}

impl Crate {
    fn read(src: &Path) -> Crate {
        let mut files = BTreeMap::new();
        let mut stack = vec![src.to_path_buf()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    files.insert(module_path(src, &path), path);
                }
            }
        }
        Crate { files }
    }

    /// The file `path` (segments after `crate::`) lives in: the longest prefix that is a file.
    fn file_of(&self, path: &[String]) -> Option<&Vec<String>> {
        (1..=path.len())
            .rev()
            .find_map(|n| self.files.get_key_value(&path[..n]).map(|(k, _)| k))
    }

    /// Each file's imports of the crate's other files, with the names that tie them.
    fn imports(&self) -> BTreeMap<Vec<String>, BTreeMap<Vec<String>, BTreeSet<String>>> {
        let mut graph = BTreeMap::new();
        for (module, path) in &self.files {
            let is_root = module.is_empty();
            let mut edges: BTreeMap<Vec<String>, BTreeSet<String>> = BTreeMap::new();
            if !is_root {
                let text = std::fs::read_to_string(path).unwrap();
                for used in paths_used(&code_of(&text)) {
                    let absolute = absolute(module, &used);
                    if let Some(file) = absolute.as_deref().and_then(|p| self.file_of(p)) {
                        if file != module && !file.is_empty() {
                            edges
                                .entry(file.clone())
                                .or_default()
                                .insert(used.join("::"));
                        }
                    }
                }
            }
            graph.insert(module.clone(), edges);
        }
        graph
    }
}

/// `src/a/b.rs` → `[a, b]`; `src/a/mod.rs` → `[a]`; `src/lib.rs` → `[]`.
fn module_path(src: &Path, file: &Path) -> Vec<String> {
    let relative = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

/// The text that is code: comments dropped, and the trailing `#[cfg(test)]` module cut off.
fn code_of(text: &str) -> String {
    let mut code = String::new();
    for line in text.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("#[cfg(test)]") {
            break;
        }
        if trimmed.starts_with("//") {
            continue;
        }
        code.push_str(line.split(" // ").next().unwrap_or(""));
        code.push('\n');
    }
    code
}

/// Every path the code names that starts at `crate`, `super` or `self`, with `use` trees
/// expanded (`use crate::{a::B, c}` → `crate::a::B`, `crate::c`); re-exports are left out.
fn paths_used(code: &str) -> Vec<Vec<String>> {
    let mut paths = Vec::new();
    let mut rest = code;
    while let Some(at) = find_statement_or_path(rest) {
        match at {
            Found::Use {
                keyword,
                start,
                end,
            } => {
                let before = rest[..keyword].trim_end();
                let is_reexport = before.ends_with("pub") || before.ends_with("pub(crate)");
                if !is_reexport {
                    expand(&use_tree(&rest[start..end]), &mut Vec::new(), &mut paths);
                }
                rest = &rest[end..];
            }
            Found::Path { start, end } => {
                paths.push(rest[start..end].split("::").map(String::from).collect());
                rest = &rest[end..];
            }
        }
    }
    paths
        .into_iter()
        .filter(|p| {
            matches!(
                p.first().map(String::as_str),
                Some("crate" | "super" | "self")
            )
        })
        .collect()
}

enum Found {
    /// A `use` statement: where its keyword is, and its tree, between `use ` and `;`.
    Use {
        keyword: usize,
        start: usize,
        end: usize,
    },
    /// A `crate::…` or `super::…` path written in code.
    Path { start: usize, end: usize },
}

fn find_statement_or_path(text: &str) -> Option<Found> {
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < text.len() {
        let boundary = i == 0 || !is_ident(bytes[i - 1] as char);
        if boundary && text[i..].starts_with("use ") {
            let start = i + 4;
            let end = start + text[start..].find(';')?;
            return Some(Found::Use {
                keyword: i,
                start,
                end,
            });
        }
        if boundary
            && bytes[i - usize::from(i > 0)] != b':'
            && (text[i..].starts_with("crate::") || text[i..].starts_with("super::"))
        {
            let end = i + text[i..]
                .find(|c: char| !(is_ident(c) || c == ':'))
                .unwrap_or(text.len() - i);
            let path = text[i..end].trim_end_matches(':');
            return Some(Found::Path {
                start: i,
                end: i + path.len(),
            });
        }
        i += text[i..].chars().next().map_or(1, char::len_utf8);
    }
    None
}

/// A `use` tree without whitespace or renames: `a::{b as c, d}` → `a::{b,d}`.
fn use_tree(statement: &str) -> String {
    let mut tree = String::new();
    let mut tokens = statement.split_whitespace();
    while let Some(token) = tokens.next() {
        if token == "as" {
            let alias = tokens.next().unwrap_or("");
            tree.push_str(alias.trim_start_matches(|c: char| c.is_alphanumeric() || c == '_'));
        } else {
            tree.push_str(token);
        }
    }
    tree
}

/// Expands one `use` tree (whitespace removed) into full paths, after `prefix`.
fn expand(tree: &str, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    if let Some(open) = tree.find('{') {
        let head = &tree[..open];
        let close = tree.rfind('}').filter(|&c| c > open).unwrap_or(tree.len());
        let inner = &tree[open + 1..close];
        let depth = prefix.len();
        prefix.extend(head.split("::").filter(|s| !s.is_empty()).map(String::from));
        for branch in split_top_level(inner) {
            expand(branch, prefix, out);
        }
        prefix.truncate(depth);
    } else {
        let mut full = prefix.clone();
        full.extend(
            tree.split("::")
                .filter(|s| !s.is_empty() && *s != "*" && *s != "self")
                .map(String::from),
        );
        if !full.is_empty() {
            out.push(full);
        }
    }
}

fn split_top_level(list: &str) -> Vec<&str> {
    let (mut parts, mut depth, mut start) = (Vec::new(), 0, 0);
    for (i, c) in list.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&list[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&list[start..]);
    parts.into_iter().filter(|p| !p.is_empty()).collect()
}

/// `used`, written in the file of `module`, as a path from the crate root.
///
/// `self` is the file's own module and `super` its parent, whether the file is `a/b.rs` or
/// `a/b/mod.rs`.
fn absolute(module: &[String], used: &[String]) -> Option<Vec<String>> {
    let mut base: Vec<String> = match used.first()?.as_str() {
        "crate" => Vec::new(),
        "self" | "super" => module.to_vec(),
        _ => return None,
    };
    let mut rest = &used[1..];
    if used[0] == "super" {
        base.pop()?;
    }
    while rest.first().is_some_and(|s| s == "super") {
        base.pop()?;
        rest = &rest[1..];
    }
    base.extend(rest.iter().cloned());
    Some(base)
}

/// The strongly connected components of more than one node (Tarjan's algorithm).
fn cycles<N: Ord + Clone>(graph: &BTreeMap<N, BTreeSet<N>>) -> Vec<Vec<N>> {
    struct State<N> {
        index: BTreeMap<N, usize>,
        low: BTreeMap<N, usize>,
        stack: Vec<N>,
        on_stack: BTreeSet<N>,
        found: Vec<Vec<N>>,
    }
    fn visit<N: Ord + Clone>(node: &N, graph: &BTreeMap<N, BTreeSet<N>>, s: &mut State<N>) {
        let i = s.index.len();
        s.index.insert(node.clone(), i);
        s.low.insert(node.clone(), i);
        s.stack.push(node.clone());
        s.on_stack.insert(node.clone());
        for next in graph.get(node).into_iter().flatten() {
            if !s.index.contains_key(next) {
                visit(next, graph, s);
                let low = s.low[node].min(s.low[next]);
                s.low.insert(node.clone(), low);
            } else if s.on_stack.contains(next) {
                let low = s.low[node].min(s.index[next]);
                s.low.insert(node.clone(), low);
            }
        }
        if s.low[node] == s.index[node] {
            let mut component = Vec::new();
            while let Some(top) = s.stack.pop() {
                s.on_stack.remove(&top);
                let done = &top == node;
                component.push(top);
                if done {
                    break;
                }
            }
            if component.len() > 1 {
                component.sort();
                s.found.push(component);
            }
        }
    }
    let mut state = State {
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for node in graph.keys() {
        if !state.index.contains_key(node) {
            visit(node, graph, &mut state);
        }
    }
    state.found
}

/// Every import cycle in the crate at `src`, between files and between top-level modules,
/// described with the names that tie it.
fn problems(src: &Path) -> Vec<String> {
    let krate = Crate::read(src);
    let imports = krate.imports();
    let name = |m: &Vec<String>| {
        krate.files[m]
            .strip_prefix(src)
            .unwrap()
            .display()
            .to_string()
    };
    let mut problems = Vec::new();

    let files: BTreeMap<_, BTreeSet<_>> = imports
        .iter()
        .map(|(m, edges)| (m.clone(), edges.keys().cloned().collect()))
        .collect();
    for cycle in cycles(&files) {
        let members: BTreeSet<_> = cycle.iter().collect();
        let ties: Vec<String> = cycle
            .iter()
            .flat_map(|from| {
                imports[from]
                    .iter()
                    .filter(|(to, _)| members.contains(to))
                    .map(move |(to, names)| {
                        let names: Vec<_> = names.iter().map(String::as_str).collect();
                        format!("{} -> {}: {}", name(from), name(to), names.join(", "))
                    })
            })
            .collect();
        problems.push(format!(
            "files import each other:\n    {}",
            ties.join("\n    ")
        ));
    }

    let top = |m: &Vec<String>| m.first().cloned().unwrap_or_default();
    let mut modules: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut why: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for (from, edges) in &imports {
        modules.entry(top(from)).or_default();
        for (to, names) in edges {
            if top(from) != top(to) {
                modules.entry(top(from)).or_default().insert(top(to));
                let tie = format!(
                    "{} ({})",
                    name(from),
                    names.iter().cloned().collect::<Vec<_>>().join(", ")
                );
                why.entry((top(from), top(to))).or_default().insert(tie);
            }
        }
    }
    for cycle in cycles(&modules) {
        let members: BTreeSet<_> = cycle.iter().collect();
        let ties: Vec<String> = why
            .iter()
            .filter(|((a, b), _)| members.contains(a) && members.contains(b))
            .map(|((a, b), files)| {
                let files: Vec<_> = files.iter().map(String::as_str).collect();
                format!("{a} -> {b}: {}", files.join("; "))
            })
            .collect();
        problems.push(format!(
            "modules import each other:\n    {}",
            ties.join("\n    ")
        ));
    }
    problems
}

/// The `src/` folders of the workspace's crates.
fn crate_sources() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut sources = vec![root.join("src")];
    for entry in std::fs::read_dir(root).unwrap() {
        let dir = entry.unwrap().path();
        if dir.join("Cargo.toml").is_file() && dir.join("src").is_dir() {
            sources.push(dir.join("src"));
        }
    }
    sources.sort();
    sources
}

#[test]
fn no_crate_has_an_import_cycle() {
    let sources = crate_sources();
    assert!(
        sources.len() >= 4,
        "expected the workspace's crates, found {sources:?}"
    );
    let mut report = String::new();
    for src in &sources {
        for problem in problems(src) {
            report.push_str(&format!("{}: {problem}\n", src.display()));
        }
    }
    assert!(
        report.is_empty(),
        "import cycles (layers must only point down):\n{report}"
    );
}

/// The check itself finds what it is for: a planted cycle, between files and between modules.
#[test]
fn a_planted_cycle_is_found_and_named() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path();
    std::fs::create_dir_all(src.join("a")).unwrap();
    std::fs::write(
        src.join("lib.rs"),
        "pub mod a;\npub mod b;\npub use a::One;\n",
    )
    .unwrap();
    std::fs::write(src.join("a/mod.rs"), "mod one;\npub use one::One;\n").unwrap();
    std::fs::write(
        src.join("a/one.rs"),
        "// use crate::b::Ignored; (a comment)\nuse crate::{b::{Two, self}, x};\npub struct One;\n",
    )
    .unwrap();
    std::fs::write(
        src.join("b.rs"),
        "pub struct Two;\nfn f() -> crate::a::one::One { crate::a::one::One }\n#[cfg(test)]\nmod tests { use crate::b::Two; }\n",
    )
    .unwrap();
    let found = problems(src);
    assert_eq!(found.len(), 2, "{found:#?}");
    assert!(
        found[0].contains("a/one.rs -> b.rs: crate::b, crate::b::Two"),
        "{found:#?}"
    );
    assert!(
        found[0].contains("b.rs -> a/one.rs: crate::a::one::One"),
        "{found:#?}"
    );
    assert!(found[1].contains("a -> b: a/one.rs"), "{found:#?}");

    // Without the way back, and with only a re-export and a test module pointing up, none.
    std::fs::write(
        src.join("b.rs"),
        "pub struct Two;\npub use crate::a::One;\n",
    )
    .unwrap();
    assert_eq!(problems(src), Vec::<String>::new());
}

#[test]
fn super_and_self_resolve_from_the_file_they_are_written_in() {
    let module = |s: &str| s.split('/').map(String::from).collect::<Vec<_>>();
    let path = |s: &str| s.split("::").map(String::from).collect::<Vec<_>>();
    assert_eq!(
        absolute(&module("checkpoint/gate"), &path("super::domain::Domain")),
        Some(module("checkpoint/domain/Domain"))
    );
    assert_eq!(
        absolute(&module("checkpoint"), &path("self::frame")),
        Some(module("checkpoint/frame"))
    );
    assert_eq!(
        absolute(&module("a/b/c"), &path("super::super::x")),
        Some(module("a/x"))
    );
}
