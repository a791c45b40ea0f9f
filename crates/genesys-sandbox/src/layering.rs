//! Checks that the sandbox's modules import one way: a module (its file and its folder) uses only
//! modules of a lower layer, never one of its own layer or above. The layers are the ones the
//! crate documentation names; test code (`#[cfg(test)] mod tests`, `tests.rs` files and the files
//! of a `tests/` folder) may use anything and is not read.

use std::fs;
use std::path::{Path, PathBuf};

/// The layers, bottom first.
const LAYERS: &[&[&str]] = &[
    &[
        "authorization",
        "config",
        "endpoint",
        "inspection",
        "json_body",
        "jwt",
        "records",
        "reply",
    ],
    &["fault", "oidc"],
    &["state"],
    &[
        "contacts",
        "deployments",
        "guests",
        "oauth",
        "oauth_clients",
        "web_tokens",
    ],
    &["routes", "server"],
];

/// Modules only tests compile.
const TEST_ONLY: &[&str] = &["layering", "test_support"];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The module's own file and every file under its folder, each with its depth below `src/`
/// (0 for `src/<module>.rs`), test files left out.
fn module_files(module: &str) -> Vec<(PathBuf, usize)> {
    let mut files = vec![(src_dir().join(format!("{module}.rs")), 0)];
    let mut folders = vec![(src_dir().join(module), 1)];
    while let Some((folder, depth)) = folders.pop() {
        let Ok(entries) = fs::read_dir(&folder) else { continue };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                folders.push((path, depth + 1));
            } else if path.extension().is_some_and(|ext| ext == "rs")
                && !path.ends_with("tests.rs")
                && !path.components().any(|part| part.as_os_str() == "tests")
            {
                files.push((path, depth));
            }
        }
    }
    files
}

/// The file's code without comments and without its trailing test module.
fn production_code(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let test_start = lines
        .windows(2)
        .position(|pair| pair[0].trim() == "#[cfg(test)]" && pair[1].trim_start().starts_with("mod tests"))
        .unwrap_or(lines.len());
    lines[..test_start]
        .iter()
        .filter(|line| !line.trim_start().starts_with("//"))
        .copied()
        .collect::<Vec<_>>()
        .join("\n")
}

fn leading_identifier(text: &str) -> &str {
    let end = text
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(text.len());
    &text[..end]
}

/// The names used right under the crate root: after `crate::`, or after as many `super::` as
/// lead from a file at `depth` to the root; `{a, b::c}` groups give each item's first name.
fn root_names(code: &str, depth: usize) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::").into_iter().chain(rest.find("super::")).min() {
        let before = rest[..at].chars().next_back();
        let mut path = &rest[at..];
        let mut supers = 0;
        let at_root = if let Some(after) = path.strip_prefix("crate::") {
            path = after;
            true
        } else {
            while let Some(after) = path.strip_prefix("super::") {
                path = after;
                supers += 1;
            }
            supers == depth + 1
        };
        let inside_a_path = before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':');
        if at_root && !inside_a_path {
            if let Some(group) = path.strip_prefix('{') {
                let mut nesting = 0;
                let mut item_start = true;
                for (i, c) in group.char_indices() {
                    match c {
                        '{' => nesting += 1,
                        '}' if nesting == 0 => break,
                        '}' => nesting -= 1,
                        ',' if nesting == 0 => item_start = true,
                        c if item_start && !c.is_whitespace() => {
                            names.push(leading_identifier(&group[i..]).to_owned());
                            item_start = false;
                        }
                        _ => {}
                    }
                }
            } else {
                names.push(leading_identifier(path).to_owned());
            }
        }
        rest = &rest[rest.len() - path.len()..];
    }
    names.retain(|name| !name.is_empty() && name != "self");
    names
}

/// Every `(module, used module)` pair of the production code, and every use that goes through
/// the crate root to something that is not a module.
fn imports() -> (Vec<(String, String)>, Vec<String>) {
    let mut edges = Vec::new();
    let mut problems = Vec::new();
    for module in LAYERS.iter().flat_map(|layer| layer.iter()) {
        for (path, depth) in module_files(module) {
            let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            for name in root_names(&production_code(&text), depth) {
                if layer_of(&name).is_none() {
                    problems.push(format!(
                        "{} uses crate::{name}, which is no module of a layer: import it from its module",
                        path.display()
                    ));
                } else if name != *module {
                    edges.push((module.to_string(), name));
                }
            }
        }
    }
    (edges, problems)
}

#[test]
fn every_module_of_the_crate_is_in_a_layer() {
    let lib = fs::read_to_string(src_dir().join("lib.rs")).unwrap();
    let declared = lib.lines().filter_map(|line| {
        let line = line.trim();
        let name = line.strip_prefix("pub mod ").or_else(|| line.strip_prefix("mod "))?;
        Some(name.strip_suffix(';')?.to_owned())
    });
    let unplaced: Vec<String> = declared
        .filter(|name| layer_of(name).is_none() && !TEST_ONLY.contains(&name.as_str()))
        .collect();
    assert!(unplaced.is_empty(), "modules in no layer: {unplaced:?}");
}

#[test]
fn modules_import_only_modules_of_lower_layers() {
    let (edges, problems) = imports();
    // The check reads what it should: dispatch uses the state and the handlers use replies.
    assert!(edges.contains(&("routes".into(), "state".into())), "{edges:?}");
    assert!(edges.contains(&("guests".into(), "reply".into())), "{edges:?}");
    let upward: Vec<String> = edges
        .iter()
        .filter(|(from, to)| layer_of(to) >= layer_of(from))
        .map(|(from, to)| {
            format!(
                "{from} (layer {:?}) uses {to} (layer {:?})",
                layer_of(from),
                layer_of(to)
            )
        })
        .collect();
    assert!(problems.is_empty(), "{problems:#?}");
    assert!(upward.is_empty(), "imports that do not go down: {upward:#?}");
}

#[test]
fn root_names_reads_single_paths_groups_and_nested_supers() {
    let code = "use super::reply;\nuse super::{contacts, state::{Shared, lock}};\nuse crate::jwt;\nsuper::super::x";
    assert_eq!(root_names(code, 0), ["reply", "contacts", "state", "jwt"]);
    assert_eq!(root_names(code, 1), ["jwt", "x"]);
}
