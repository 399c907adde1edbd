//! The libFuzzer entry point. One binary serves every target in `checks::TARGETS`; the
//! environment variable TALLY_FUZZ_TARGET names the one to run.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use tally_fuzz::{target, Target, TARGETS};

static SELECTED: OnceLock<&'static Target> = OnceLock::new();

fn selected_target() -> &'static Target {
    let name = std::env::var("TALLY_FUZZ_TARGET").unwrap_or_default();
    target(&name).unwrap_or_else(|| {
        let names: Vec<&str> = TARGETS.iter().map(|t| t.name).collect();
        eprintln!(
            "set TALLY_FUZZ_TARGET to one of: {} (got {name:?})",
            names.join(", ")
        );
        std::process::exit(2)
    })
}

fuzz_target!(
    init: {
        SELECTED.get_or_init(selected_target);
    },
    |data: &[u8]| {
        (SELECTED.get_or_init(selected_target).check)(data);
    }
);
