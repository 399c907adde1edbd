//! What the fuzz targets check on every input. Shared by the libFuzzer harness
//! (`tests/fuzz/Cargo.toml`, whose library this is) and by `cargo test`, which replays every
//! saved input (`tests/fuzz/main.rs`).
//!
//! A check calls one of tally's parsers with an input and panics when a property that must
//! hold for every input is broken; the parser panicking on its own counts as well.

pub mod feedback;
pub mod fields;
pub mod import;
pub mod labels;
pub mod links;
pub mod media;
pub mod project;

/// One fuzz target: its name (also the name of its corpus and regression folders) and the
/// check it runs on one input.
pub struct Target {
    pub name: &'static str,
    pub check: fn(&[u8]),
}

/// Every target, in the order CI runs them.
pub static TARGETS: &[Target] = &[
    Target {
        name: "import_json",
        check: import::json_array,
    },
    Target {
        name: "import_ndjson",
        check: import::ndjson,
    },
    Target {
        name: "import_csv",
        check: import::csv,
    },
    Target {
        name: "import_label_studio",
        check: import::label_studio,
    },
    Target {
        name: "label_value",
        check: labels::text_value,
    },
    Target {
        name: "label_json",
        check: labels::json_value,
    },
    Target {
        name: "feedback_body",
        check: feedback::body,
    },
    Target {
        name: "signed_link",
        check: links::signed_link,
    },
    Target {
        name: "media_image",
        check: media::image,
    },
    Target {
        name: "media_zip",
        check: media::zip,
    },
];

/// The target of that name.
pub fn target(name: &str) -> Option<&'static Target> {
    TARGETS.iter().find(|t| t.name == name)
}
