//! Layers only point down: in every crate of the workspace, no source file imports one that
//! imports it back (directly or round a loop), and the crate's top-level modules form an
//! acyclic graph.
//!
//! The check reads the `use` lines and the `crate::`/`super::`/`self::` paths of each file,
//! resolves them through the `mod` tree to the file that defines the item (following `pub use`
//! re-exports; a module re-exporting its own submodules' items does not depend on them), and
//! looks for strongly connected components. Doc comments and tests count as code only where they are code: comments are
//! skipped, `#[cfg(test)]` modules are not.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Cycles that exist today and are being removed; each is the sorted members of one strongly
/// connected component, as the failure message prints them. An entry that no longer matches a
/// cycle fails the test too, so that this list only shrinks.
const KNOWN_CYCLES: &[&str] = &[
    // `EpochGate` (checkpoint/gate.rs) needs the job context, which holds the coordinator; the
    // gate moves out of `checkpoint` into the checkpointed-operator core above `job`.
    "sluice-engine modules: checkpoint job",
    // The micro-batch layer's DStream, its pair operations and batches, and the CLI's run and
    // hashtags commands, are being untangled in their own areas.
    "sluice-minibatch files: batch.rs dstream.rs pairs.rs",
    "sluice-minibatch modules: batch dstream pairs",
    "sluice files: cli/hashtags.rs cli/run.rs",
];

#[test]
fn no_file_or_module_imports_one_that_imports_it_back() {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut found = BTreeMap::new();
    for (name, src) in crates(workspace) {
        let graph = Graph::of_crate(&src);
        for cycle in graph.cycles(|file| file.display().to_string()) {
            found.insert(format!("{name} files: {}", cycle.members), cycle.edges);
        }
        let modules = graph.modules();
        for cycle in modules.cycles(|module| module.display().to_string()) {
            found.insert(format!("{name} modules: {}", cycle.members), cycle.edges);
        }
    }
    let mut problems = Vec::new();
    for (cycle, edges) in &found {
        if !KNOWN_CYCLES.contains(&cycle.as_str()) {
            problems.push(format!(
                "import cycle {cycle}:\n    {}",
                edges.join("\n    ")
            ));
        }
    }
    for known in KNOWN_CYCLES {
        if !found.contains_key(*known) {
            problems.push(format!(
                "the cycle \"{known}\" is gone: remove it from KNOWN_CYCLES in {}",
                file!()
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_check_sees_a_cycle_through_a_re_export() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path();
    std::fs::create_dir(src.join("a")).unwrap();
    std::fs::write(src.join("lib.rs"), "pub mod a;\npub mod b;\n").unwrap();
    std::fs::write(
        src.join("a/mod.rs"),
        "//! use crate::b::B; in a comment\npub mod x;\npub use x::X;\n",
    )
    .unwrap();
    std::fs::write(
        src.join("a/x.rs"),
        "use crate::b::{self, B};\npub struct X;\n",
    )
    .unwrap();
    std::fs::write(
        src.join("b.rs"),
        "pub struct B(crate::a::X);\nconst S: &str = \"crate::c\";\n",
    )
    .unwrap();
    let graph = Graph::of_crate(src);
    let files: Vec<String> = graph
        .cycles(|file| file.display().to_string())
        .into_iter()
        .map(|c| c.members)
        .collect();
    assert_eq!(files, vec!["a/x.rs b.rs".to_string()]);
    let modules: Vec<String> = graph
        .modules()
        .cycles(|module| module.display().to_string())
        .into_iter()
        .map(|c| c.members)
        .collect();
    assert_eq!(modules, vec!["a b".to_string()]);
}

/// Every crate of the workspace: its package name and `src` directory.
fn crates(workspace: &Path) -> Vec<(String, PathBuf)> {
    let mut dirs = vec![workspace.to_path_buf()];
    let mut members: Vec<PathBuf> = std::fs::read_dir(workspace)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|dir| dir.join("Cargo.toml").is_file() && dir.join("src").is_dir())
        .collect();
    members.sort();
    dirs.extend(members);
    dirs.into_iter()
        .filter_map(|dir| {
            let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).ok()?;
            let name = manifest
                .lines()
                .skip_while(|line| line.trim() != "[package]")
                .find_map(|line| line.trim().strip_prefix("name"))?
                .trim_start_matches([' ', '='])
                .trim_matches(['"', ' '])
                .to_string();
            Some((name, dir.join("src")))
        })
        .collect()
}

/// A cycle: its members, sorted and space-separated, and the edges between them.
struct Cycle {
    members: String,
    edges: Vec<String>,
}

/// A directed graph of nodes of type `N`.
struct Deps<N> {
    edges: BTreeMap<N, BTreeSet<N>>,
}

impl<N: Ord + Clone> Deps<N> {
    /// The strongly connected components of more than one node (Tarjan's algorithm).
    fn cycles(&self, show: impl Fn(&N) -> String) -> Vec<Cycle> {
        let nodes: Vec<&N> = self
            .edges
            .iter()
            .flat_map(|(from, to)| std::iter::once(from).chain(to))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let index_of: BTreeMap<&N, usize> =
            nodes.iter().enumerate().map(|(i, n)| (*n, i)).collect();
        let next: Vec<Vec<usize>> = nodes
            .iter()
            .map(|n| {
                self.edges
                    .get(*n)
                    .into_iter()
                    .flatten()
                    .map(|m| index_of[m])
                    .collect()
            })
            .collect();
        let mut tarjan = Tarjan {
            next: &next,
            index: vec![None; nodes.len()],
            low: vec![0; nodes.len()],
            on_stack: vec![false; nodes.len()],
            stack: Vec::new(),
            counter: 0,
            components: Vec::new(),
        };
        for v in 0..nodes.len() {
            if tarjan.index[v].is_none() {
                tarjan.visit(v);
            }
        }
        let mut cycles: Vec<Cycle> = tarjan
            .components
            .into_iter()
            .filter(|c| c.len() > 1)
            .map(|component| {
                let mut members: Vec<String> = component.iter().map(|&i| show(nodes[i])).collect();
                members.sort();
                let inside: BTreeSet<usize> = component.iter().copied().collect();
                let mut edges: Vec<String> = component
                    .iter()
                    .flat_map(|&i| {
                        next[i]
                            .iter()
                            .filter(|j| inside.contains(j))
                            .map(move |&j| (i, j))
                    })
                    .map(|(i, j)| format!("{} -> {}", show(nodes[i]), show(nodes[j])))
                    .collect();
                edges.sort();
                Cycle {
                    members: members.join(" "),
                    edges,
                }
            })
            .collect();
        cycles.sort_by(|a, b| a.members.cmp(&b.members));
        cycles
    }
}

struct Tarjan<'a> {
    next: &'a [Vec<usize>],
    index: Vec<Option<usize>>,
    low: Vec<usize>,
    on_stack: Vec<bool>,
    stack: Vec<usize>,
    counter: usize,
    components: Vec<Vec<usize>>,
}

impl Tarjan<'_> {
    fn visit(&mut self, v: usize) {
        self.index[v] = Some(self.counter);
        self.low[v] = self.counter;
        self.counter += 1;
        self.stack.push(v);
        self.on_stack[v] = true;
        for &w in &self.next[v] {
            match self.index[w] {
                None => {
                    self.visit(w);
                    self.low[v] = self.low[v].min(self.low[w]);
                }
                Some(index) if self.on_stack[w] => self.low[v] = self.low[v].min(index),
                Some(_) => {}
            }
        }
        if Some(self.low[v]) == self.index[v] {
            let mut component = Vec::new();
            while let Some(w) = self.stack.pop() {
                self.on_stack[w] = false;
                component.push(w);
                if w == v {
                    break;
                }
            }
            self.components.push(component);
        }
    }
}

/// A module path from the crate root, e.g. `["checkpoint", "gate"]`.
type ModulePath = Vec<String>;

/// One source file: where it sits in the module tree, and what it says.
struct SourceFile {
    /// The crate root file (`lib.rs` or `main.rs`) whose tree it is in.
    root: PathBuf,
    module: ModulePath,
    code: String,
}

/// A `use` statement or an inline path, with the inline modules it sits in.
struct Reference {
    path: Vec<String>,
    inline: Vec<String>,
    re_export: bool,
    alias: Option<String>,
}

/// The files of one crate and the imports between them.
struct Graph {
    files: BTreeMap<PathBuf, SourceFile>,
    edges: BTreeMap<PathBuf, BTreeSet<PathBuf>>,
}

impl Graph {
    fn of_crate(src: &Path) -> Graph {
        let mut files = BTreeMap::new();
        for root in ["lib.rs", "main.rs"] {
            if src.join(root).is_file() {
                collect(
                    src,
                    Path::new(root),
                    Path::new(root),
                    Vec::new(),
                    &mut files,
                );
            }
        }
        let by_module: BTreeMap<(PathBuf, ModulePath), PathBuf> = files
            .iter()
            .map(|(file, f)| ((f.root.clone(), f.module.clone()), file.clone()))
            .collect();
        let references: BTreeMap<PathBuf, Vec<Reference>> = files
            .iter()
            .map(|(file, f)| (file.clone(), references(&f.code)))
            .collect();
        let resolver = Resolver {
            files: &files,
            by_module: &by_module,
            references: &references,
        };
        let mut edges: BTreeMap<PathBuf, BTreeSet<PathBuf>> = BTreeMap::new();
        for (file, refs) in &references {
            for reference in refs {
                let Some(target) = resolver.resolve(file, &reference.inline, &reference.path, 0)
                else {
                    continue;
                };
                // A module re-exporting its own submodules' items is their parent, not their
                // user; any other re-export depends on what it re-exports.
                let below = files[&target].module.starts_with(&files[file].module);
                if &target != file && !(reference.re_export && below) {
                    edges.entry(file.clone()).or_default().insert(target);
                }
            }
        }
        Graph { files, edges }
    }

    fn cycles(&self, show: impl Fn(&PathBuf) -> String) -> Vec<Cycle> {
        Deps {
            edges: self.edges.clone(),
        }
        .cycles(show)
    }

    /// The graph of the crate's top-level modules (root files left out).
    fn modules(&self) -> Deps<PathBuf> {
        let top = |file: &PathBuf| self.files[file].module.first().map(PathBuf::from);
        let mut edges: BTreeMap<PathBuf, BTreeSet<PathBuf>> = BTreeMap::new();
        for (from, targets) in &self.edges {
            for to in targets {
                if let (Some(a), Some(b)) = (top(from), top(to)) {
                    if a != b {
                        edges.entry(a).or_default().insert(b);
                    }
                }
            }
        }
        Deps { edges }
    }
}

/// Reads `file` (relative to `src`) and the files its `mod x;` lines declare.
fn collect(
    src: &Path,
    root: &Path,
    file: &Path,
    module: ModulePath,
    files: &mut BTreeMap<PathBuf, SourceFile>,
) {
    let Ok(text) = std::fs::read_to_string(src.join(file)) else {
        return;
    };
    let code = strip_comments_and_strings(&text);
    // A file's children live in its directory if it is a root or `mod.rs`, else in a
    // directory named after it.
    let name = file.file_name().unwrap().to_str().unwrap();
    let children_dir = if module.is_empty() || name == "mod.rs" {
        file.parent().unwrap().to_path_buf()
    } else {
        file.with_extension("")
    };
    for child in declared_modules(&code) {
        let flat = children_dir.join(format!("{child}.rs"));
        let nested = children_dir.join(&child).join("mod.rs");
        let child_file = if src.join(&flat).is_file() {
            flat
        } else {
            nested
        };
        let mut child_module = module.clone();
        child_module.push(child);
        collect(src, root, &child_file, child_module, files);
    }
    files.insert(
        file.to_path_buf(),
        SourceFile {
            root: root.to_path_buf(),
            module,
            code,
        },
    );
}

struct Resolver<'a> {
    files: &'a BTreeMap<PathBuf, SourceFile>,
    by_module: &'a BTreeMap<(PathBuf, ModulePath), PathBuf>,
    references: &'a BTreeMap<PathBuf, Vec<Reference>>,
}

impl Resolver<'_> {
    /// The file that defines what `path`, written in `file` inside the inline modules
    /// `inline`, names; `None` for another crate's.
    fn resolve(
        &self,
        file: &Path,
        inline: &[String],
        path: &[String],
        depth: usize,
    ) -> Option<PathBuf> {
        let f = &self.files[file];
        let here: ModulePath = f.module.iter().chain(inline).cloned().collect();
        let module_file = |m: &ModulePath| self.by_module.get(&(f.root.clone(), m.clone()));
        let (mut full, rest): (ModulePath, &[String]) = match path.first()?.as_str() {
            "crate" => (Vec::new(), &path[1..]),
            "self" => (here.clone(), &path[1..]),
            "super" => {
                let supers = path.iter().take_while(|s| *s == "super").count();
                let base = here[..here.len().checked_sub(supers)?].to_vec();
                (base, &path[supers..])
            }
            first => {
                // Relative to the current module, if it has such a child; else another crate.
                let mut child = here.clone();
                child.push(first.to_string());
                module_file(&child)?;
                (here.clone(), path)
            }
        };
        full.extend(rest.iter().filter(|s| *s != "*" && *s != "self").cloned());
        // The longest prefix that is a module file; the rest names an item in it.
        let mut split = full.len();
        while module_file(&full[..split].to_vec()).is_none() {
            split = split.checked_sub(1)?;
        }
        let target = module_file(&full[..split].to_vec())?.clone();
        if let (Some(item), true) = (full.get(split), depth < 8) {
            for r in &self.references[&target] {
                let name = r.alias.as_ref().or(r.path.last());
                if r.re_export && r.inline.is_empty() && name == Some(item) {
                    let mut through = r.path.clone();
                    through.extend(full[split + 1..].iter().cloned());
                    return self
                        .resolve(&target, &[], &through, depth + 1)
                        .or(Some(target));
                }
            }
        }
        Some(target)
    }
}

/// The names of the `mod x;` declarations (not inline modules).
fn declared_modules(code: &str) -> Vec<String> {
    let tokens = tokenize(code);
    tokens
        .windows(3)
        .filter(|w| w[0] == "mod" && w[2] == ";")
        .map(|w| w[1].clone())
        .collect()
}

/// The `use` statements and `crate::`/`super::`/`self::` paths of a file.
fn references(code: &str) -> Vec<Reference> {
    let tokens = tokenize(code);
    let mut found = Vec::new();
    // Inline modules (`mod tests { … }`) by the brace depth they close at.
    let mut inline: Vec<(String, usize)> = Vec::new();
    let mut depth = 0;
    let mut i = 0;
    while i < tokens.len() {
        let t = tokens[i].as_str();
        match t {
            "{" => depth += 1,
            "}" => {
                depth -= 1;
                if inline.last().is_some_and(|(_, d)| *d == depth) {
                    inline.pop();
                }
            }
            "mod" if tokens.get(i + 2).map(String::as_str) == Some("{") => {
                inline.push((tokens[i + 1].clone(), depth));
            }
            "use" => {
                let re_export = visibility_before(&tokens, i);
                let end = tokens[i..]
                    .iter()
                    .position(|t| t == ";")
                    .map_or(tokens.len(), |p| i + p);
                let names: Vec<String> = inline.iter().map(|(n, _)| n.clone()).collect();
                for (path, alias) in use_tree(&tokens[i + 1..end]) {
                    found.push(Reference {
                        path,
                        inline: names.clone(),
                        re_export,
                        alias,
                    });
                }
                i = end;
                continue;
            }
            "crate" | "super" | "self" if tokens.get(i + 1).map(String::as_str) == Some("::") => {
                let mut path = vec![t.to_string()];
                let mut j = i + 1;
                while tokens.get(j).map(String::as_str) == Some("::")
                    && tokens.get(j + 1).is_some_and(|s| is_ident(s))
                {
                    path.push(tokens[j + 1].clone());
                    j += 2;
                }
                found.push(Reference {
                    path,
                    inline: inline.iter().map(|(n, _)| n.clone()).collect(),
                    re_export: false,
                    alias: None,
                });
                i = j;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    found
}

/// Whether the `use` at `i` is `pub` (`pub`, `pub(crate)`, `pub(super)`, `pub(in …)`).
fn visibility_before(tokens: &[String], i: usize) -> bool {
    let mut j = i;
    if j > 0 && tokens[j - 1] == ")" {
        while j > 0 && tokens[j - 1] != "(" {
            j -= 1;
        }
        j = j.saturating_sub(1);
    }
    j > 0 && tokens[j - 1] == "pub"
}

/// The paths a use tree (`a::{b, c::{d as e, self}}`) imports, with their aliases.
fn use_tree(tokens: &[String]) -> Vec<(Vec<String>, Option<String>)> {
    fn tree(
        tokens: &[String],
        at: &mut usize,
        prefix: Vec<String>,
        out: &mut Vec<(Vec<String>, Option<String>)>,
    ) {
        let mut path = prefix;
        while *at < tokens.len() {
            match tokens[*at].as_str() {
                "::" => *at += 1,
                "{" => {
                    *at += 1;
                    while *at < tokens.len() && tokens[*at] != "}" {
                        tree(tokens, at, path.clone(), out);
                        if tokens.get(*at).map(String::as_str) == Some(",") {
                            *at += 1;
                        }
                    }
                    *at += 1;
                    return;
                }
                "," | "}" => break,
                "as" => {
                    let alias = tokens.get(*at + 1).cloned();
                    *at += 2;
                    out.push((path, alias));
                    return;
                }
                segment => {
                    path.push(segment.to_string());
                    *at += 1;
                }
            }
        }
        out.push((path, None));
    }
    let mut out = Vec::new();
    let mut at = 0;
    tree(tokens, &mut at, Vec::new(), &mut out);
    out
}

fn is_ident(s: &str) -> bool {
    s.chars()
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_')
}

/// Identifiers, `::`, and single punctuation characters.
fn tokenize(code: &str) -> Vec<String> {
    let chars: Vec<char> = code.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_alphanumeric() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            tokens.push(chars[start..i].iter().collect());
        } else if c == ':' && chars.get(i + 1) == Some(&':') {
            tokens.push("::".to_string());
            i += 2;
        } else {
            if !c.is_whitespace() {
                tokens.push(c.to_string());
            }
            i += 1;
        }
    }
    tokens
}

/// `code` with comments removed and string and character literals emptied.
fn strip_comments_and_strings(code: &str) -> String {
    let chars: Vec<char> = code.chars().collect();
    let mut out = String::with_capacity(code.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if c == 'r' && (next == Some('"') || next == Some('#')) && !prev_is_ident(&chars, i)
        {
            // A raw string: r"…" or r#"…"#.
            let hashes = chars[i + 1..].iter().take_while(|&&h| h == '#').count();
            if chars.get(i + 1 + hashes) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            i += 2 + hashes;
            while i < chars.len() {
                if chars[i] == '"'
                    && chars[i + 1..]
                        .iter()
                        .take(hashes)
                        .filter(|&&h| h == '#')
                        .count()
                        == hashes
                {
                    i += 1 + hashes;
                    break;
                }
                i += 1;
            }
            out.push_str("\"\"");
        } else if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("\"\"");
        } else if c == '\'' && (chars.get(i + 2) == Some(&'\'') || next == Some('\\')) {
            // A character literal ('x', '\n', '\u{..}'); a lifetime has no closing quote.
            i += 1;
            while i < chars.len() && chars[i] != '\'' {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("' '");
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
