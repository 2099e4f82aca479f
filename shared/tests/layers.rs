//! The architecture, checked by reading the sources: each layer depends only on those after
//! it (`http` → `auth` → `domain` → `store`), only `store/` builds or parses keys, function
//! crates never reach a backend or call the gate by hand, no import cycles between modules,
//! and no function longer than 60 lines.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root").to_path_buf()
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![];
    let Ok(entries) = fs::read_dir(dir) else { return out };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(rust_files(&p));
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
    out.sort();
    out
}

/// Source without `#[cfg(test)]` modules (tests may build anything) and comments.
fn code(p: &Path) -> String {
    let text = fs::read_to_string(p).expect("readable source");
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(i) => &text[..i],
        None => &text,
    };
    text.lines().filter(|l| !l.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n")
}

fn shared_src() -> PathBuf {
    root().join("shared/src")
}

fn violations(dir: &str, forbidden: &[&str]) -> Vec<String> {
    let mut v = vec![];
    for f in rust_files(&shared_src().join(dir)) {
        let c = code(&f);
        for bad in forbidden {
            if c.contains(bad) {
                v.push(format!("{} uses `{bad}`", f.display()));
            }
        }
    }
    v
}

#[test]
fn each_layer_depends_only_on_the_layers_after_it() {
    let mut v = violations(
        "domain",
        &["axum", "lambda_http", "crate::http", "crate::lambda", "crate::app", "crate::auth", "StatusCode"],
    );
    v.extend(violations(
        "store",
        &["axum", "crate::http", "crate::lambda", "crate::app", "crate::auth", "crate::domain"],
    ));
    v.extend(violations("auth", &["crate::http", "crate::lambda", "crate::app"]));
    v.extend(violations("http", &["crate::lambda"]));
    assert!(v.is_empty(), "layering violations:\n{}", v.join("\n"));
}

#[test]
fn only_the_store_builds_or_parses_keys() {
    let prefixes =
        ["WS#", "TE#", "MEMBER#", "TOKEN#", "USER#", "EMAIL#", "PROJECT#", "CLIENT#", "TAG#", "TEMONTH#", "AGG"];
    let mut dirs: Vec<PathBuf> = ["shared/src", "cli/src", "bench/src"].iter().map(|d| root().join(d)).collect();
    dirs.extend(fs::read_dir(root().join("functions")).expect("functions/").flatten().map(|e| e.path().join("src")));
    let mut v = vec![];
    for f in dirs.iter().flat_map(|d| rust_files(d)) {
        if f.starts_with(shared_src().join("store")) {
            continue;
        }
        let c = code(&f);
        for p in prefixes {
            if c.contains(&format!("\"{p}")) || c.contains(&format!("\"{{}}#{p}")) {
                v.push(format!("{} has a key literal {p}", f.display()));
            }
        }
    }
    assert!(v.is_empty(), "key strings outside shared/src/store:\n{}", v.join("\n"));
}

#[test]
fn function_crates_are_thin() {
    let mut v = vec![];
    for crate_dir in fs::read_dir(root().join("functions")).expect("functions/").flatten() {
        for f in rust_files(&crate_dir.path().join("src")) {
            let c = code(&f);
            for bad in
                ["store::dynamo", "store::sqlite", "DynamoStore", "SqliteStore", "authorize(", "store::keys", "Write::"]
            {
                if c.contains(bad) {
                    v.push(format!("{} uses `{bad}`", f.display()));
                }
            }
        }
    }
    assert!(v.is_empty(), "function crates must only extract, call the domain and respond:\n{}", v.join("\n"));
}

/// `shared/src/a/b.rs` → `a::b`; `a/mod.rs` → `a`; `app.rs` → `app`.
fn module_of(f: &Path) -> String {
    let rel = f.strip_prefix(shared_src()).expect("under shared/src").with_extension("");
    let parts: Vec<String> = rel.iter().map(|s| s.to_string_lossy().into_owned()).filter(|s| s != "mod").collect();
    parts.join("::")
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let files = rust_files(&shared_src());
    let modules: BTreeSet<String> = files.iter().map(|f| module_of(f)).collect();
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in &files {
        let me = module_of(f);
        let c = code(f).replace("crate::ApiError", "crate::domain::error::ApiError");
        let deps = g.entry(me.clone()).or_default();
        for (i, _) in c.match_indices("crate::") {
            let path: String =
                c[i + 7..].chars().take_while(|ch| ch.is_alphanumeric() || *ch == '_' || *ch == ':').collect();
            let segs: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
            // The longest prefix that names a module.
            let target = (1..=segs.len().min(2)).rev().map(|n| segs[..n].join("::")).find(|m| modules.contains(m));
            if let Some(t) = target {
                if t != me && !me.starts_with(&format!("{t}::")) {
                    deps.insert(t);
                }
            }
        }
    }
    g
}

#[test]
fn no_import_cycles_between_modules() {
    let g = graph();
    fn visit(
        n: &str,
        g: &BTreeMap<String, BTreeSet<String>>,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = stack.iter().position(|s| s == n) {
            return Some(stack[i..].to_vec());
        }
        if done.contains(n) {
            return None;
        }
        stack.push(n.to_string());
        for d in g.get(n).into_iter().flatten() {
            if let Some(c) = visit(d, g, stack, done) {
                return Some(c);
            }
        }
        stack.pop();
        done.insert(n.to_string());
        None
    }
    let mut done = BTreeSet::new();
    for n in g.keys() {
        if let Some(cycle) = visit(n, &g, &mut vec![], &mut done) {
            panic!("import cycle: {}", cycle.join(" → "));
        }
    }
}

/// `(file, first line, length)` of every function body longer than `max` lines.
fn long_functions(max: usize) -> Vec<(String, usize, usize)> {
    let mut dirs = vec![shared_src()];
    dirs.extend(fs::read_dir(root().join("functions")).expect("functions/").flatten().map(|e| e.path().join("src")));
    let mut out = vec![];
    for f in dirs.iter().flat_map(|d| rust_files(d)) {
        let text = fs::read_to_string(&f).expect("readable");
        let lines: Vec<&str> = text.lines().collect();
        for (i, l) in lines.iter().enumerate() {
            let t = l.trim_start();
            let is_fn = ["fn ", "pub fn ", "async fn ", "pub async fn ", "pub(crate) fn ", "pub(crate) async fn "]
                .iter()
                .any(|p| t.starts_with(p));
            if !is_fn || l.trim_end().ends_with(';') {
                continue;
            }
            let indent = l.len() - t.len();
            let close = format!("{}}}", " ".repeat(indent));
            if let Some(end) = lines[i + 1..].iter().position(|x| x.starts_with(&close) && x.trim() == "}") {
                if end + 2 > max {
                    out.push((f.display().to_string(), i + 1, end + 2));
                }
            }
        }
    }
    out
}

#[test]
fn no_function_is_longer_than_60_lines() {
    let long = long_functions(60);
    assert!(long.is_empty(), "functions over 60 lines (file, line, length): {long:#?}");
}
