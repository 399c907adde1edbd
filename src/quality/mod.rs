//! The statistics engine: agreement, consensus, rater quality and bias over a label matrix.
//!
//! Plain functions over plain data, no I/O beyond `Read`/`Write` in [`input`]. The flow is:
//! build a [`Dataset`] (from [`input::parse_labels_csv`] rows, the database, or
//! [`synth::generate`]), pick [`ReportOptions`], call [`build_report`], and serialize the
//! [`Report`] to JSON or render it with [`text::render_text`].
//!
//! Every figure that can be undefined is an `Option<f64>` with a sibling `<name>_reason`
//! field that says why it is missing; no figure is ever NaN or infinite.

mod agreement;
mod alpha;
mod bias;
mod bootstrap;
mod builder;
mod consensus;
mod consensus_summary;
pub mod csv_lines;
mod dataset;
mod dawid_skene;
mod drift;
mod figure;
mod groups;
mod guidelines;
mod homogeneity;
pub mod input;
mod kappa;
pub mod kinds;
pub(crate) mod memo;
mod paired;
mod pairs;
pub(crate) mod parallel;
mod raters;
mod reference;
mod report;
mod stats;
pub mod synth;
pub mod text;
mod warning;

pub use agreement::{Agreement, CategoryAgreement, PairKappa};
pub use alpha::{krippendorff_alpha, AlphaUnits};
pub use bias::{Bias, RaterDistribution, RaterLeniency};
pub use builder::{DatasetBuilder, ItemKey, KeyedLabel, RaterKey, ValueKey};
pub use consensus::{Adjudicated, ConsensusItem, ConsensusMethod};
pub use consensus_summary::ConsensusSummary;
pub(crate) use dataset::Interner;
pub use dataset::{Categories, Dataset, DatasetError, Label, LabelInput, LabelTime, Level};
pub use dawid_skene::DawidSkeneOptions;
pub use drift::RaterDrift;
pub use groups::{PoolPair, PoolSummary, SliceSummary};
pub use guidelines::{GuidelinePattern, GuidelineProblems, SuspectItem};
pub use kappa::{
    cohen_kappa, fleiss_kappa, fleiss_kappa_from_table, fleiss_kappa_generalised, Weights,
};
pub use raters::RaterQuality;
pub use report::{
    build_report, build_report_kept, DawidSkeneSummary, KeptConsensus, Report, ReportOptions,
    Thresholds,
};
pub use warning::Warning;
