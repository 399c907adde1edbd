//! The fuzz harness's library: tally's `domain` and `quality` modules, compiled from the
//! same source files as tally itself, and the checks the fuzz targets run on them.
//!
//! The two modules are plain rules and pure functions (no HTTP, no SQL), so they build
//! with a handful of crates. Building the harness against all of tally instead would
//! compile its ~340 crates again with coverage instrumentation, several minutes on CI.

// The checks name tally's modules `tally::...`, as they do in tally's own tests.
extern crate self as tally;

#[allow(dead_code)] // items that only tally's web and store layers use
#[path = "../../src/domain/mod.rs"]
pub mod domain;

#[allow(dead_code)]
#[path = "../../src/quality/mod.rs"]
pub mod quality;

pub mod checks;

pub use checks::{target, Target, TARGETS};
