//! The fuzz harness (tests/fuzz) compiles src/domain and src/quality from their source files
//! with its own short list of crates. A crate those modules start to use must be added
//! there too, or the harness stops building, and that is only found late in CI's security
//! step. This check finds it in `cargo test`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The crate names (as Rust spells them, `-` as `_`) in a manifest's `[dependencies]`.
fn dependencies(manifest: &Path) -> BTreeSet<String> {
    let text = std::fs::read_to_string(manifest).expect("manifest");
    let mut names = BTreeSet::new();
    let mut in_dependencies = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            in_dependencies = line == "[dependencies]";
            continue;
        }
        if !in_dependencies || line.starts_with('#') {
            continue;
        }
        if let Some((name, _)) = line.split_once('=') {
            names.insert(name.trim().replace('-', "_"));
        }
    }
    names
}

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("source folder") {
        let path = entry.expect("folder entry").path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            found.push(path);
        }
    }
}

/// Whether `code` names `krate` as a path's first segment (`krate::...`), not as the tail
/// of another path (`other_krate::`, `x::krate::`).
fn names_crate(code: &str, krate: &str) -> bool {
    let needle = format!("{krate}::");
    code.match_indices(&needle).any(|(at, _)| {
        let before = code[..at].chars().next_back();
        !before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':')
    })
}

/// A source file without its comments and its test module (`#[cfg(test)] mod ...`, which
/// the project's files keep at their end): the harness compiles neither.
fn code_the_harness_builds(text: &str) -> String {
    let lines: Vec<&str> = text.lines().map(str::trim_start).collect();
    let end = lines
        .windows(2)
        .position(|pair| pair[0] == "#[cfg(test)]" && pair[1].starts_with("mod "))
        .unwrap_or(lines.len());
    lines[..end]
        .iter()
        .filter(|line| !line.starts_with("//"))
        .copied()
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_fuzz_harness_lists_every_crate_its_modules_use() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let tally = dependencies(&root.join("Cargo.toml"));
    let harness = dependencies(&root.join("tests/fuzz/Cargo.toml"));
    assert!(
        harness.contains("serde_json") && tally.contains("sqlx"),
        "the manifests were not read"
    );

    let mut files = Vec::new();
    for dir in ["src/domain", "src/quality"] {
        rust_files(&root.join(dir), &mut files);
    }
    let mut missing = BTreeSet::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("source file");
        let code = code_the_harness_builds(&text);
        for krate in tally.difference(&harness) {
            if names_crate(&code, krate) {
                let shown = file
                    .strip_prefix(root)
                    .unwrap_or(file)
                    .display()
                    .to_string();
                missing.insert(format!("{krate} (used in {shown})"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "add these crates to tests/fuzz/Cargo.toml's [dependencies]: {missing:?}"
    );
}

#[test]
fn a_crate_is_named_only_as_a_path_s_first_segment() {
    assert!(names_crate("use foldhash::HashMap;", "foldhash"));
    assert!(names_crate("index: foldhash::HashMap<u32>", "foldhash"));
    assert!(!names_crate("use rand_distr::Binomial;", "rand"));
    assert!(!names_crate("crate::time::now()", "time"));
    assert!(!names_crate("my_csv::Reader", "csv"));
}

#[test]
fn comments_and_the_test_module_are_not_read() {
    let file = "use csv::Reader;\n// sqlx::query is not used here\nfn f() {}\n\n#[cfg(test)]\nmod tests {\n    use reqwest::Client;\n}\n";
    let code = code_the_harness_builds(file);
    assert!(names_crate(&code, "csv"));
    assert!(!names_crate(&code, "sqlx"));
    assert!(!names_crate(&code, "reqwest"));
}
