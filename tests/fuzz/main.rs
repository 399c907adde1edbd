//! Replays every saved fuzz input through its target's checks: the seed corpus in
//! `tests/fuzz/corpus/<target>/` and the inputs that once broke a check, kept in
//! `tests/fuzz/regressions/<target>/`. The libFuzzer harness (`.ci/security.sh`) runs the
//! same checks on inputs it makes up.

mod checks;
mod findings;

use std::fs;
use std::path::{Path, PathBuf};

fn inputs_in(folder: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(folder) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.expect("a readable folder entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

fn replay(kind: &str) -> usize {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz")
        .join(kind);
    let mut replayed = 0;
    for target in checks::TARGETS {
        for file in inputs_in(&root.join(target.name)) {
            let input = fs::read(&file).expect("a readable input");
            let outcome = std::panic::catch_unwind(|| (target.check)(&input));
            assert!(
                outcome.is_ok(),
                "{} fails on {}",
                target.name,
                file.display()
            );
            replayed += 1;
        }
    }
    replayed
}

#[test]
fn every_target_has_seeds_and_passes_on_them() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz/corpus");
    for target in checks::TARGETS {
        let seeds = inputs_in(&root.join(target.name));
        assert!(
            seeds.len() >= 3,
            "{} has {} seeds",
            target.name,
            seeds.len()
        );
    }
    assert!(replay("corpus") >= 3 * checks::TARGETS.len());
}

#[test]
fn inputs_that_once_broke_a_check_pass() {
    replay("regressions");
}

#[test]
fn target_names_are_unique_and_found() {
    for target in checks::TARGETS {
        assert!(std::ptr::eq(checks::target(target.name).unwrap(), target));
    }
    assert!(checks::target("no_such_target").is_none());
}
