//! The layout docs/architecture.md describes is the code's: every module is named there, no
//! module imports from a layer above its own, and no two modules of a folder import each
//! other (directly or round a loop). The layers are read from the document's
//! "Layers, lowest first:" line, so the text and this test cannot drift apart.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const DOC: &str = "docs/architecture.md";

fn top() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every .rs file under src/ as (module path, source text): `observe/doctor/mod.rs` is
/// `observe::doctor`, `main.rs` is `main`.
fn modules() -> BTreeMap<String, String> {
    fn walk(dir: &Path, base: &Path, out: &mut BTreeMap<String, String>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, base, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                let rel = p.strip_prefix(base).unwrap().with_extension("");
                let mut parts: Vec<String> = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                if parts.last().is_some_and(|l| l == "mod") {
                    parts.pop();
                }
                out.insert(parts.join("::"), std::fs::read_to_string(&p).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(&top().join("src"), &top().join("src"), &mut out);
    out
}

/// The module paths a source names: `crate::a::b::Item` gives the longest known module
/// prefix (`a::b`), `crate::{a, b::c}` each of its members, `super::x` the sibling `x` (or
/// the parent). Macros exported at the crate root (`crate::bail!`) belong to `error`.
fn references(module: &str, text: &str, known: &BTreeSet<String>) -> BTreeSet<String> {
    let parent: Vec<&str> = {
        let mut p: Vec<&str> = module.split("::").collect();
        p.pop();
        p
    };
    let resolve = |path: &[&str]| -> Option<String> {
        (1..=path.len())
            .rev()
            .map(|n| path[..n].join("::"))
            .find(|p| known.contains(p))
    };
    // comments name modules in links and prose; only code imports
    let code: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let text = code.as_str();
    let mut out = BTreeSet::new();
    let mut add = |base: &[&str], rest: &str| {
        // rest: what follows `crate::` / `super::`, possibly a `{...}` group
        let rest = rest.trim_start();
        let items: Vec<String> = if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            group[..end]
                .split(',')
                .map(|s| s.trim().to_string())
                .collect()
        } else {
            vec![
                rest.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                    .next()
                    .unwrap_or("")
                    .to_string(),
            ]
        };
        for item in items {
            let mut path: Vec<&str> = base.to_vec();
            path.extend(item.split("::").filter(|s| !s.is_empty() && *s != "self"));
            if path.first() == Some(&"bail") {
                out.insert("error".to_string());
            } else if let Some(m) = resolve(&path) {
                out.insert(m);
            }
        }
    };
    for (i, _) in text.match_indices("crate::") {
        add(&[], &text[i + "crate::".len()..]);
    }
    for (i, _) in text.match_indices("super::") {
        // super:: inside a `mod tests` block names the file's own module
        let before = &text[..i];
        let in_tests = before
            .rfind("mod tests")
            .is_some_and(|t| before[..t].contains("#[cfg(test)]"));
        let base: Vec<&str> = if in_tests {
            module.split("::").collect()
        } else {
            parent.clone()
        };
        add(&base, &text[i + "super::".len()..]);
    }
    out.remove(module);
    out
}

fn doc() -> String {
    std::fs::read_to_string(top().join(DOC)).unwrap()
}

/// The layers, lowest first, from the document.
fn layers() -> Vec<String> {
    let d = doc();
    let line = d
        .lines()
        .find(|l| l.starts_with("Layers, lowest first:"))
        .expect("docs/architecture.md has a 'Layers, lowest first:' line");
    line.split('`')
        .skip(1)
        .step_by(2)
        .map(|s| s.trim_end_matches('/').to_string())
        .collect()
}

#[test]
fn every_module_is_named_in_the_architecture_document() {
    let d = doc();
    let mut missing = Vec::new();
    for m in modules().keys() {
        let parts: Vec<&str> = m.split("::").collect();
        // a folder's modules are named in its row as `name.rs` (nested: `sub/name.rs`)
        let named = if parts.len() == 1 {
            d.contains(&format!("`{}.rs`", parts[0])) || d.contains(&format!("`{}/`", parts[0]))
        } else {
            let row = d
                .lines()
                .find(|l| l.starts_with(&format!("| `{}/` |", parts[0])))
                .unwrap_or("");
            let rest = parts[1..].join("/");
            row.contains(&format!("`{rest}.rs`")) || row.contains(&format!("`{rest}/`"))
        };
        if !named {
            missing.push(m.clone());
        }
    }
    assert!(missing.is_empty(), "{DOC} does not name: {missing:?}");
}

#[test]
fn no_module_imports_from_a_layer_above_its_own() {
    let order = layers();
    let rank = |m: &str| {
        let top = m.split("::").next().unwrap();
        order.iter().position(|l| l == top)
    };
    let mods = modules();
    let known: BTreeSet<String> = mods.keys().cloned().collect();
    let mut bad = Vec::new();
    for (m, text) in &mods {
        let Some(mine) = rank(m) else {
            bad.push(format!("{m}: its folder is not in the layers line"));
            continue;
        };
        for r in references(m, text, &known) {
            if rank(&r).is_some_and(|theirs| theirs > mine) {
                bad.push(format!("{m} imports {r}"));
            }
        }
    }
    assert!(
        bad.is_empty(),
        "imports against the layers of {DOC}: {bad:#?}"
    );
}

#[test]
fn no_modules_import_each_other() {
    let mods = modules();
    let known: BTreeSet<String> = mods.keys().cloned().collect();
    // edges between modules where neither contains the other (a folder's mod.rs and its
    // files share types both ways by design)
    let nested =
        |a: &str, b: &str| a.starts_with(&format!("{b}::")) || b.starts_with(&format!("{a}::"));
    let graph: BTreeMap<String, BTreeSet<String>> = mods
        .iter()
        .map(|(m, t)| {
            let refs = references(m, t, &known)
                .into_iter()
                .filter(|r| !nested(m, r))
                .collect();
            (m.clone(), refs)
        })
        .collect();
    // depth-first search for a cycle
    fn visit(
        m: &str,
        g: &BTreeMap<String, BTreeSet<String>>,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = stack.iter().position(|s| s == m) {
            let mut cycle = stack[i..].to_vec();
            cycle.push(m.to_string());
            return Some(cycle);
        }
        if done.contains(m) {
            return None;
        }
        stack.push(m.to_string());
        for r in g.get(m).into_iter().flatten() {
            if let Some(c) = visit(r, g, stack, done) {
                return Some(c);
            }
        }
        stack.pop();
        done.insert(m.to_string());
        None
    }
    let mut done = BTreeSet::new();
    for m in graph.keys() {
        if let Some(cycle) = visit(m, &graph, &mut Vec::new(), &mut done) {
            panic!("modules import each other: {}", cycle.join(" -> "));
        }
    }
}

#[test]
fn the_checker_sees_what_it_must() {
    let known: BTreeSet<String> = [
        "observe",
        "observe::trace",
        "observe::events",
        "config",
        "error",
    ]
    .map(String::from)
    .into();
    let text = "use crate::{config::Config, error};\nuse super::trace::Boot;\nfn f() { crate::bail!(\"x\") }\n#[cfg(test)]\nmod tests {\n    use super::*;\n}\n";
    let refs = references("observe::events", text, &known);
    assert_eq!(
        refs,
        ["config", "error", "observe::trace"]
            .map(String::from)
            .into()
    );
}
