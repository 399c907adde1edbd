//! The raw material of a project's quality report: every human label in long form, gold
//! answers and item data. The statistics happen in `crate::quality`, away from SQL.

use std::sync::{Arc, Mutex};

use futures::TryStreamExt;
use serde_json::{Map, Value};
use sqlx::types::Json;

use super::gate::QUALIFICATION_TOTAL_SQL;
pub use super::kept_input::InputSource;
use super::kept_input::{Behind, InputVersion, Lookup};
use super::projects::REAL_ITEMS;
use super::{on_pool, pg_copy, side_items, sqlite_read, Store};
use crate::domain::policy::Pool;
use crate::domain::report::{labels_of_item, FinalLabel, LabelRecord, ReportInput, SharedText};
use crate::error::Result;

/// Whether item `i`'s generalist labels are complete (and it is not gold): its count of
/// generalist labels goes into the saving of dynamic overlap.
macro_rules! settled {
    () => {
        "(i.need_generalist = 0 AND i.label_count > 0 AND NOT i.is_gold)"
    };
}

/// An input at a version, with what it covers.
type Extended = (InputVersion, ReportInput, Coverage);

/// An item as a report reads it: its known answer, pre-label and (when asked) data, with
/// its labels in the order they were given.
struct ItemRow {
    id: i64,
    external_id: Option<String>,
    gold: Option<String>,
    data: Option<Json<Map<String, Value>>>,
    prediction: Option<String>,
    /// Whether the item's generalist labels are complete (and it is not gold): its count
    /// of generalist labels goes into the saving of dynamic overlap.
    settled: bool,
    /// Filled from the labels' own read.
    labels: Vec<ReportLabel>,
}

/// One label as a report reads it; the rater's pseudonym is looked up by id once per rater.
struct ReportLabel {
    /// Orders an item's labels as they were given.
    id: i64,
    rater_id: i64,
    pool: Pool,
    /// Shared with the other labels of the read that have the same value.
    value: SharedText,
    duration_ms: Option<i64>,
    created_at: i64,
    guideline_version: Option<i64>,
    prediction_shown: Option<bool>,
}

/// A pool as the labels' `pool` column names it, read by either driver.
impl rusqlite::types::FromSql for Pool {
    fn column_result(value: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
        Pool::parse(value.as_str()?).map_err(|e| rusqlite::types::FromSqlError::Other(Box::new(e)))
    }
}

impl sqlx::Type<sqlx::Postgres> for Pool {
    fn type_info() -> sqlx::postgres::PgTypeInfo {
        <&str as sqlx::Type<sqlx::Postgres>>::type_info()
    }

    fn compatible(ty: &sqlx::postgres::PgTypeInfo) -> bool {
        <&str as sqlx::Type<sqlx::Postgres>>::compatible(ty)
    }
}

impl<'r> sqlx::Decode<'r, sqlx::Postgres> for Pool {
    fn decode(value: sqlx::postgres::PgValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        Ok(Pool::parse(
            <&str as sqlx::Decode<sqlx::Postgres>>::decode(value)?,
        )?)
    }
}

/// The label in a row of [`report_labels_sql`], each column taken by position with
/// `row.$get` (the driver's getter); its value is its own until shared.
macro_rules! report_label {
    ($row:ident . $get:ident) => {
        ReportLabel {
            id: $row.$get(8)?,
            rater_id: $row.$get(1)?,
            pool: $row.$get(2)?,
            value: SharedText::from({
                let value: String = $row.$get(3)?;
                value
            }),
            duration_ms: $row.$get(4)?,
            created_at: $row.$get(5)?,
            guideline_version: $row.$get(6)?,
            prediction_shown: $row.$get(7)?,
        }
    };
}

/// The condition that keeps every `stride`-th item by id: none for every item. The stride
/// is written into the statement, since a modulus by a parameter left PostgreSQL guessing
/// how many rows it keeps (it scanned the whole table in parallel and sorted it).
fn every_nth(column: &str, stride: i64) -> String {
    if stride > 1 {
        format!(" AND {column} % {stride} = 0")
    } else {
        String::new()
    }
}

/// The labels a report reads, by item (one pass over the `labels_project` index on either
/// backend, where gathering each item's labels as JSON cost the database twice the work and
/// tally a parse). An item's labels are put in the order they were given as it is taken:
/// ordered by id in the statement too, PostgreSQL sorted each item's labels after the
/// index scan, which doubled its time. `$1` project, `$2` and `$3` the first and last item
/// id.
fn report_labels_sql(stride: i64) -> String {
    labels_select(stride, PARAMETERS)
}

/// The placeholders of a read's project and first and last item id.
const PARAMETERS: (&str, &str, &str) = ("$1", "$2", "$3");

/// The labels' statement with `project`, `first` and `last` for the project and the first
/// and last item id.
fn labels_select(stride: i64, (project, first, last): (&str, &str, &str)) -> String {
    format!(
        "SELECT item_id, rater_id, pool, value, duration_ms, created_at,
            guideline_version, prediction_shown, id
        FROM labels WHERE project_id = {project}{} AND item_id BETWEEN {first} AND {last}
        ORDER BY item_id",
        every_nth("item_id", stride)
    )
}

/// The items a report reads, in id order, with their data or not; each `stride`-th only.
fn items_select(stride: i64, data: ItemData, (project, first, last): (&str, &str, &str)) -> String {
    format!(
        "SELECT i.id, i.external_id, i.gold, {} AS data, i.prediction, {} AS settled
         FROM items i WHERE i.project_id = {project} AND NOT i.is_qualification{}
             AND i.id BETWEEN {first} AND {last} ORDER BY i.id",
        match data {
            ItemData::Read => "i.data",
            ItemData::Skipped => "NULL",
        },
        settled!(),
        every_nth("i.id", stride),
    )
}

/// Which of a project's items a report's input takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reading {
    /// Every item, for a report; on SQLite the file is mapped for the read.
    Whole,
    /// Every n-th item by id, for an export's card. Beside the export, whose memory is held
    /// to 100 MB, the SQLite file is not mapped: its pages count in the export's resident
    /// memory (mapped, a million-label export peaked at 220 to 250 MB instead of 70).
    Sample(i64),
}

impl Reading {
    fn stride(self) -> i64 {
        match self {
            Reading::Whole => 1,
            Reading::Sample(stride) => stride,
        }
    }

    fn mapping(self) -> sqlite_read::Mapping {
        match self {
            Reading::Whole => sqlite_read::Mapping::File,
            Reading::Sample(_) => sqlite_read::Mapping::None,
        }
    }
}

/// What one read of a part of a project's items takes: the project, which items, whether
/// their data, and the first and last item id.
#[derive(Debug, Clone, Copy)]
struct ItemsRead {
    project_id: i64,
    reading: Reading,
    data: ItemData,
    ids: (i64, i64),
}

impl ItemsRead {
    /// `select` with the read's project and ids written in, to copy out in binary
    /// ([`pg_copy`]): `COPY` takes no parameters.
    fn copy_sql(&self, select: impl FnOnce((&str, &str, &str)) -> String) -> String {
        let project = self.project_id.to_string();
        let (first, last) = (self.ids.0.to_string(), self.ids.1.to_string());
        let select = select((&project, &first, &last));
        format!("COPY ({select}) TO STDOUT (FORMAT binary)")
    }
}

/// Hands `each` the rows of `N` fields that `copy_sql` copies out on `conn`, as they come.
async fn copy_rows<const N: usize>(
    conn: &mut sqlx::PgConnection,
    copy_sql: &str,
    mut each: impl FnMut(&[pg_copy::Field<'_>; N]) -> sqlx::Result<()>,
) -> sqlx::Result<()> {
    let mut chunks = conn.copy_out_raw(copy_sql).await?;
    let mut rows = pg_copy::BinaryRows::<N>::default();
    while let Some(chunk) = chunks.try_next().await? {
        rows.feed(&chunk, &mut each)?;
    }
    rows.finish()
}

/// The item in a row of [`items_select`], copied out.
fn item_of_copied(f: &[pg_copy::Field<'_>; 6]) -> sqlx::Result<ItemRow> {
    use pg_copy::{bool, int8, optional_jsonb, optional_text};
    Ok(ItemRow {
        id: int8(f[0])?,
        external_id: optional_text(f[1])?.map(str::to_owned),
        gold: optional_text(f[2])?.map(str::to_owned),
        data: optional_jsonb(f[3])?.map(Json),
        prediction: optional_text(f[4])?.map(str::to_owned),
        settled: bool(f[5])?,
        labels: Vec::new(),
    })
}

/// The item id and label in a row of [`labels_select`], copied out; its value shared
/// through `values`.
fn label_of_copied(
    f: &[pg_copy::Field<'_>; 9],
    values: &mut SharedStrings,
) -> sqlx::Result<(i64, ReportLabel)> {
    use pg_copy::{int8, optional_bool, optional_int8, text};
    let label = ReportLabel {
        id: int8(f[8])?,
        rater_id: int8(f[1])?,
        pool: Pool::parse(text(f[2])?).map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
        value: values.share(text(f[3])?),
        duration_ms: optional_int8(f[4])?,
        created_at: int8(f[5])?,
        guideline_version: optional_int8(f[6])?,
        prediction_shown: optional_bool(f[7])?,
    };
    Ok((int8(f[0])?, label))
}

/// A report's items in id order, each given its labels as the labels come in item order.
/// An item is complete, and handed on with its labels in the order they were given, once a
/// label of a later item comes; labels of items not among them (qualification answers) are
/// skipped.
struct ItemsWithLabels<I: Iterator<Item = ItemRow>> {
    items: I,
    current: Option<ItemRow>,
    /// Every label that came, skipped ones included.
    read: LabelsRead,
    /// The skipped ones by item.
    left_out: foldhash::HashMap<i64, i64>,
}

impl<I: Iterator<Item = ItemRow>> ItemsWithLabels<I> {
    fn new(mut items: I) -> Self {
        let current = items.next();
        ItemsWithLabels {
            items,
            current,
            read: LabelsRead::default(),
            left_out: foldhash::HashMap::default(),
        }
    }

    fn label(&mut self, (item_id, label): (i64, ReportLabel), done: &mut impl FnMut(ItemRow)) {
        self.read.add(label.id);
        while let Some(complete) = self.current.take_if(|item| item.id < item_id) {
            done(in_given_order(complete));
            self.current = self.items.next();
        }
        match self.current.as_mut().filter(|item| item.id == item_id) {
            Some(item) => item.labels.push(label),
            None => *self.left_out.entry(item_id).or_default() += 1,
        }
    }

    /// Hands on the items left and tells which labels came and which were left out.
    fn finish(
        mut self,
        done: &mut impl FnMut(ItemRow),
    ) -> (LabelsRead, foldhash::HashMap<i64, i64>) {
        while let Some(complete) = self.current.take() {
            done(in_given_order(complete));
            self.current = self.items.next();
        }
        (self.read, self.left_out)
    }
}

/// Which of a project's labels a read took: how many, and the last by id. Each label it
/// took was committed, and the triggers move the data's version when a label is edited or
/// removed; so when the project holds as many labels up to `last_id` as the read took, it
/// holds exactly those, as they were read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct LabelsRead {
    pub(super) labels: i64,
    pub(super) last_id: i64,
}

impl LabelsRead {
    fn add(&mut self, id: i64) {
        self.labels += 1;
        self.last_id = self.last_id.max(id);
    }

    fn and(self, other: LabelsRead) -> LabelsRead {
        LabelsRead {
            labels: self.labels + other.labels,
            last_id: self.last_id.max(other.last_id),
        }
    }
}

/// What a kept report input holds of the project beside the input itself, for reading
/// later labels onto it: which labels it took (qualification answers included, though
/// the input leaves them out) and the names its labels share.
#[derive(Default)]
pub struct Coverage {
    pub(super) read: LabelsRead,
    pub(super) names: SharedNames,
    /// How many labels the read took of each item it leaves out (qualification
    /// questions), by item id: a changed item's labels are counted against what was taken.
    pub(super) left_out: foldhash::HashMap<i64, i64>,
}

impl Coverage {
    /// A copy of the labels read and the names known, without the labels whose rater is
    /// still to be looked up (none, once a read is done).
    pub(super) fn names_and_read(&self) -> Coverage {
        Coverage {
            read: self.read,
            names: SharedNames {
                missing: Vec::new(),
                ..self.names.clone()
            },
            left_out: self.left_out.clone(),
        }
    }
}

impl std::fmt::Debug for Coverage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Coverage")
            .field("read", &self.read)
            .finish()
    }
}

/// The item with its labels in the order they were given (by id; most come in that order).
fn in_given_order(mut item: ItemRow) -> ItemRow {
    item.labels.sort_by_key(|label| label.id);
    item
}

/// How many labels project `$1` holds, from the tallies that triggers keep per rater in the
/// same transaction as each label (counting the labels themselves took 30 ms at 500,000).
const PROJECT_LABELS: &str =
    "(SELECT CAST(coalesce(sum(labels), 0) AS BIGINT) FROM rater_tallies WHERE project_id = $1)";

/// The gold and qualification items of project `$1`, counted through their own index
/// (a subquery).
pub(super) const SIDE_ITEMS: &str =
    concat!("(SELECT count(*) FROM items WHERE ", side_items!(), ")");

/// The report generation that changes every project's reports read move (a pseudonym;
/// migration `report_generation`).
pub const SHARED_GENERATION: &str = "(SELECT value FROM report_generation WHERE id = 1)";

/// Project `$1`'s own report generation, which its own changes move (migrations
/// `project_report_generation` and `report_changes`).
pub const OWN_GENERATION: &str =
    "coalesce((SELECT value FROM project_report_generation WHERE project_id = $1), 0)";

/// The statement that reads a project's [`InputVersion`] (`$1` the project), as a
/// [`VersionRow`].
fn report_input_version_sql() -> String {
    format!(
        "SELECT {SHARED_GENERATION}, {OWN_GENERATION},
            (SELECT revision FROM projects WHERE id = $1), {PROJECT_LABELS},
            {REAL_ITEMS} + {SIDE_ITEMS}"
    )
}

/// A project's [`InputVersion`] in the order [`report_input_version_sql`] reads it.
type VersionRow = (i64, i64, Option<i64>, i64, i64);

fn version_of((shared, generation, revision, labels, items): VersionRow) -> InputVersion {
    InputVersion {
        shared,
        generation,
        revision,
        labels,
        items,
    }
}

/// Labels with what a report needs of their item and rater, as a [`LaterLabel`]: the
/// select list and joins of [`LATER_LABELS_SQL`] and [`CHANGED_LABELS_SQL`].
macro_rules! labels_with_items {
    () => {
        concat!(
            "SELECT l.item_id, l.rater_id, l.pool, l.value, l.duration_ms, l.created_at,
                l.guideline_version, l.prediction_shown, l.id, i.external_id, i.is_qualification, ",
            settled!(),
            ", u.pseudonym
            FROM labels l JOIN items i ON i.id = l.item_id JOIN users u ON u.id = l.rater_id"
        )
    };
}

/// The labels of project `$1` after label `$2`, by item and in the order given. They are
/// found by id (the primary key): the project's index (kept out by the `+`) would walk
/// every label of the project.
const LATER_LABELS_SQL: &str = concat!(
    labels_with_items!(),
    " WHERE +l.project_id = $1 AND l.id > $2 ORDER BY l.item_id, l.id"
);

/// The items of project `$1` that changes after its generation `$2` were for, as logged
/// by the triggers (migration `report_changes`).
macro_rules! changed_since {
    () => {
        "SELECT item_id FROM report_changes WHERE project_id = $1 AND generation > $2"
    };
}

/// The final labels of project `$1`, as [`AdjudicationRow`]s.
macro_rules! adjudications_select {
    () => {
        "SELECT a.item_id, a.value, u.pseudonym, a.reason
        FROM adjudications a JOIN users u ON u.id = a.reviewer_id WHERE a.project_id = $1"
    };
}

/// Items changed at most that are read again onto an input; more, and everything is read.
/// The triggers on PostgreSQL log item 0 for a statement over more than 1,000 items.
const MAX_CHANGED_ITEMS: usize = 1000;

/// The items changed since generation `$2` of project `$1`, by id; `$3` at most.
const CHANGED_IDS_SQL: &str = concat!(changed_since!(), " ORDER BY item_id LIMIT $3");

/// Those of them still in the project, as a [`ChangedItem`].
const CHANGED_ITEMS_SQL: &str = concat!(
    "SELECT i.id, i.is_qualification, ",
    settled!(),
    ", i.gold, i.prediction FROM items i WHERE i.project_id = $1 AND i.id IN (",
    changed_since!(),
    ") ORDER BY i.id"
);

/// Their labels, by item and in the order given, as [`LaterLabel`]s.
const CHANGED_LABELS_SQL: &str = concat!(
    labels_with_items!(),
    " WHERE l.project_id = $1 AND l.item_id IN (",
    changed_since!(),
    ") ORDER BY l.item_id, l.id"
);

/// Their final labels.
const CHANGED_ADJUDICATIONS_SQL: &str = concat!(
    adjudications_select!(),
    " AND a.item_id IN (",
    changed_since!(),
    ")"
);

/// The settled items of project `$1` (qualification questions left out), by id: a
/// settings edit may change which are.
const SETTLED_ITEMS_SQL: &str = concat!(
    "SELECT i.id FROM items i WHERE i.project_id = $1 AND NOT i.is_qualification AND ",
    settled!(),
    " ORDER BY i.id"
);

/// An item's final label as read: item id, value, the reviewer's pseudonym and the reason.
type AdjudicationRow = (i64, String, String, String);

/// Puts the final labels read into a report's input, each in place of any it held.
fn take_adjudications(input: &mut ReportInput, rows: Vec<AdjudicationRow>) {
    for (item_id, value, reviewer, reason) in rows {
        let last = FinalLabel {
            value,
            reviewer,
            reason,
        };
        input.adjudications.insert(item_id, last);
    }
}

/// What came to a project since an input was read, as one state of the database: the
/// version now, the labels after the input's last, and the items changed since the
/// input's generation (`None` when too many to read again).
struct News {
    version: InputVersion,
    later: Vec<LaterLabel>,
    changed: Option<ChangedItems>,
    /// Every settled item, when the project's settings were edited since.
    settled: Option<Vec<i64>>,
}

/// The items that a project's changes since a generation were for, as they are now.
#[derive(Default)]
struct ChangedItems {
    /// Every item logged, by id.
    ids: Vec<i64>,
    /// Those still in the project, by id.
    items: Vec<ChangedItem>,
    /// Their labels, by item and in the order given.
    labels: Vec<LaterLabel>,
    adjudications: Vec<AdjudicationRow>,
    /// How many qualification questions the project has now.
    qualification_items: i64,
}

/// A changed item as a report reads it now: id, whether a qualification question, whether
/// settled, known answer and pre-label.
type ChangedItem = (i64, bool, bool, Option<String>, Option<String>);

/// Whether the changed items logged are too many to read again: more than
/// [`MAX_CHANGED_ITEMS`], or item 0, which the triggers log for a statement over more.
fn too_many(ids: &[i64]) -> bool {
    ids.len() > MAX_CHANGED_ITEMS || ids.contains(&0)
}

/// What bringing an input up to date read besides the labels given since.
#[derive(Debug, Clone, Copy)]
struct Caught {
    /// Items changed (their rows, labels and final labels, or every item's settled state).
    items_changed: bool,
    /// The settings were edited: every item's settled state was read.
    settings_edited: bool,
}

impl Caught {
    /// Where an input caught up came from, kept or `stored`.
    fn source(self, stored: bool) -> InputSource {
        match (self.items_changed, stored) {
            (true, false) => InputSource::ChangedItems,
            (false, false) => InputSource::LaterLabels,
            (true, true) => InputSource::StoredChangedItems,
            (false, true) => InputSource::StoredLaterLabels,
        }
    }
}

/// [`News`] for an input, sorted out: the labels after the input's last on items that did
/// not change, the changed items, and what the project holds once they are read onto the
/// input, counted from what the input took. A count that is not the project's means the
/// input missed something (a label committed late), and everything is read instead.
struct Catching {
    later: Vec<LaterLabel>,
    changed: ChangedItems,
    changed_set: foldhash::HashSet<i64>,
    /// Every settled item, when the settings were edited since.
    settled: Option<Vec<i64>>,
    /// What the input took of the changed items (left-out labels included).
    held_changed: i64,
    labels_now: i64,
    items_now: i64,
}

impl Catching {
    fn up(
        input: &ReportInput,
        coverage: &Coverage,
        (later, changed, settled): (Vec<LaterLabel>, ChangedItems, Option<Vec<i64>>),
        earlier: InputVersion,
    ) -> Catching {
        let changed_set: foldhash::HashSet<i64> = changed.ids.iter().copied().collect();
        let held_changed: i64 = (changed.ids.iter())
            .map(|id| {
                let left_out = coverage.left_out.get(id).copied().unwrap_or(0);
                input.labels_of(*id).len() as i64 + left_out
            })
            .sum();
        let later: Vec<LaterLabel> = (later.into_iter())
            .filter(|label| !changed_set.contains(&label.item_id))
            .collect();
        let read_now = (changed.labels.len() + later.len()) as i64;
        let removed = changed.ids.len().saturating_sub(changed.items.len()) as i64;
        Catching {
            labels_now: coverage.read.labels - held_changed + read_now,
            items_now: earlier.items - removed,
            later,
            changed,
            changed_set,
            settled,
            held_changed,
        }
    }

    /// What the catching up reads besides the labels given since.
    fn caught(&self) -> Caught {
        Caught {
            items_changed: !self.changed_set.is_empty() || self.settled.is_some(),
            settings_edited: self.settled.is_some(),
        }
    }

    /// Reads the news onto `input` and `coverage`, the project now holding `items` items.
    /// A changed item's labels are put in place of those held only when they differ
    /// ([`relabelled_items`]): after an adjudication alone, the engine's dataset and
    /// consensus made for the input serve the next report as they are.
    fn apply(self, input: &mut ReportInput, coverage: &mut Coverage, items: i64) {
        let Catching {
            mut later,
            changed,
            changed_set,
            settled: settled_now,
            held_changed,
            ..
        } = self;
        if !changed_set.is_empty() {
            input.items = items - changed.qualification_items;
            coverage.read.labels -= held_changed;
            coverage.left_out.retain(|id, _| !changed_set.contains(id));
        }
        let mut settled_items = Vec::new();
        let mut gold_now = foldhash::HashMap::default();
        let mut predictions = Vec::new();
        for (id, is_qualification, settled, gold, prediction) in changed.items {
            if is_qualification {
                continue;
            }
            if let Some(gold) = gold {
                gold_now.insert(id, gold);
            }
            if let Some(prediction) = prediction {
                predictions.push((id, prediction));
            }
            if settled {
                settled_items.push(id);
            }
        }
        later.extend(changed.labels);
        later.sort_by_key(|label| (label.item_id, label.label.id));
        let mut settled = Vec::new();
        let mut records = Vec::with_capacity(later.len());
        for label in later {
            coverage.read.add(label.label.id);
            if label.item.is_qualification {
                *coverage.left_out.entry(label.item_id).or_default() += 1;
                continue;
            }
            if settled.last().map(|&(id, _)| id) != Some(label.item_id) {
                settled.push((label.item_id, label.item.settled));
            }
            records.push(coverage.names.later_record(label));
        }
        if !changed_set.is_empty() {
            let relabelled = relabelled_items(input, &changed_set, &records, &gold_now);
            input.forget_item_facts(&changed_set);
            records
                .retain(|r| !changed_set.contains(&r.item_id) || relabelled.contains(&r.item_id));
            if !relabelled.is_empty() {
                // The engine's dataset made may be patched rather than made again (and
                // then continued with labels on new items, added below).
                let (edited, others) = std::mem::take(&mut records)
                    .into_iter()
                    .partition(|r| relabelled.contains(&r.item_id));
                input.relabel_items(&relabelled, edited);
                records = others;
            }
        }
        input.gold.extend(gold_now);
        input.predictions.extend(predictions);
        take_adjudications(input, changed.adjudications);
        input.add_later_labels(records);
        for (item_id, is_settled) in settled {
            input.set_settled(item_id, is_settled);
        }
        for item_id in settled_items {
            input.set_settled(item_id, true);
        }
        if let Some(settled_now) = settled_now {
            input.settle_only(&settled_now);
        }
    }
}

/// The changed items whose labels or known answer differ from those `input` holds, given
/// `records`, the labels read now (by item, in the order given), and `gold_now`, the known
/// answers. The others changed in nothing that the engine's dataset is made of (a final
/// label, a pre-label), so their labels stay and so does what was prepared from them.
fn relabelled_items(
    input: &ReportInput,
    changed: &foldhash::HashSet<i64>,
    records: &[LabelRecord],
    gold_now: &foldhash::HashMap<i64, String>,
) -> foldhash::HashSet<i64> {
    (changed.iter().copied())
        .filter(|&id| {
            input.labels_of(id) != labels_of_item(records, id)
                || input.gold.get(&id) != gold_now.get(&id)
        })
        .collect()
}

/// A row of [`LATER_LABELS_SQL`].
struct LaterLabel {
    item_id: i64,
    label: ReportLabel,
    item: LaterItem,
    pseudonym: String,
}

/// What a report holds of a later label's item, as it is now.
struct LaterItem {
    external_id: Option<String>,
    is_qualification: bool,
    settled: bool,
}

/// A row of [`LATER_LABELS_SQL`], each column taken by position with `row.$get`.
macro_rules! later_label {
    ($row:ident . $get:ident) => {
        LaterLabel {
            item_id: $row.$get(0)?,
            label: report_label!($row.$get),
            item: LaterItem {
                external_id: $row.$get(9)?,
                is_qualification: $row.$get(10)?,
                settled: $row.$get(11)?,
            },
            pseudonym: $row.$get(12)?,
        }
    };
}

impl<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> for LaterLabel {
    fn from_row(row: &'r sqlx::postgres::PgRow) -> sqlx::Result<Self> {
        use sqlx::Row;
        Ok(later_label!(row.try_get))
    }
}

/// How many changed items a read asks for: one more than it reads again.
const CHANGED_IDS_LIMIT: i64 = MAX_CHANGED_ITEMS as i64 + 1;

/// The items that project `project_id`'s changes after its `generation` were for, on
/// SQLite; `None` when too many.
fn changed_items_sqlite(
    conn: &rusqlite::Connection,
    project_id: i64,
    generation: i64,
) -> rusqlite::Result<Option<ChangedItems>> {
    let query = (project_id, generation);
    let ids = (conn.prepare(CHANGED_IDS_SQL)?)
        .query_map((project_id, generation, CHANGED_IDS_LIMIT), |row| {
            row.get(0)
        })?
        .collect::<rusqlite::Result<Vec<i64>>>()?;
    if too_many(&ids) {
        return Ok(None);
    }
    let items = (conn.prepare(CHANGED_ITEMS_SQL)?)
        .query_map(query, |row| {
            Ok((
                row.get(0)?,
                row.get(1)?,
                row.get(2)?,
                row.get(3)?,
                row.get(4)?,
            ))
        })?
        .collect::<rusqlite::Result<_>>()?;
    let labels = (conn.prepare(CHANGED_LABELS_SQL)?)
        .query_map(query, |row| Ok(later_label!(row.get)))?
        .collect::<rusqlite::Result<_>>()?;
    let adjudications = (conn.prepare(CHANGED_ADJUDICATIONS_SQL)?)
        .query_map(query, |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    let qualification_items =
        conn.query_row(QUALIFICATION_TOTAL_SQL, [project_id], |row| row.get(0))?;
    Ok(Some(ChangedItems {
        ids,
        items,
        labels,
        adjudications,
        qualification_items,
    }))
}

/// [`changed_items_sqlite`] on PostgreSQL, in the transaction `tx`.
async fn changed_items_postgres(
    tx: &mut sqlx::PgConnection,
    project_id: i64,
    generation: i64,
) -> sqlx::Result<Option<ChangedItems>> {
    let ids: Vec<i64> = sqlx::query_scalar(CHANGED_IDS_SQL)
        .bind(project_id)
        .bind(generation)
        .bind(CHANGED_IDS_LIMIT)
        .fetch_all(&mut *tx)
        .await?;
    if too_many(&ids) {
        return Ok(None);
    }
    let since = (project_id, generation);
    let items = changed_rows(&mut *tx, CHANGED_ITEMS_SQL, since).await?;
    let labels = changed_rows(&mut *tx, CHANGED_LABELS_SQL, since).await?;
    let adjudications = changed_rows(&mut *tx, CHANGED_ADJUDICATIONS_SQL, since).await?;
    let qualification_items = sqlx::query_scalar(QUALIFICATION_TOTAL_SQL)
        .bind(project_id)
        .fetch_one(&mut *tx)
        .await?;
    Ok(Some(ChangedItems {
        ids,
        items,
        labels,
        adjudications,
        qualification_items,
    }))
}

/// The rows of `sql`, one of the statements over the items changed since (`$1` the project,
/// `$2` the generation), on PostgreSQL.
async fn changed_rows<T>(
    conn: &mut sqlx::PgConnection,
    sql: &str,
    (project_id, generation): (i64, i64),
) -> sqlx::Result<Vec<T>>
where
    T: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> + Send + Unpin,
{
    let query = sqlx::query_as(sql).bind(project_id).bind(generation);
    query.fetch_all(conn).await
}

/// Whether a report reads its items' data: only slicing by a data field needs it, and on
/// a big project the data is most of what the read holds in memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemData {
    Read,
    Skipped,
}

impl Store {
    /// Reads a project's labels (qualification answers left out), gold and, when asked,
    /// item data; or hands out the input this process read last, when nothing it holds
    /// has changed since (see [`super::kept_input`]).
    pub async fn report_input(&self, project_id: i64, data: ItemData) -> Result<Arc<ReportInput>> {
        let kept = &self.caches().report_input;
        let reading = kept.reading().await;
        // Read before the input, so that a change committed while the input is read makes
        // the next request's version differ, never the input miss a change of its version;
        // and after waiting for another read, which may have kept this very version.
        let version = self.report_input_version(project_id).await?;
        if data == ItemData::Read || !kept.keeps(version.labels) {
            drop(reading);
            let (input, _) = self
                .report_input_every(project_id, Reading::Whole, data, version.labels)
                .await?;
            return Ok(Arc::new(input));
        }
        let extended = match kept.get(project_id, version) {
            Lookup::Current(input) => {
                kept.count(InputSource::Kept);
                return Ok(input);
            }
            Lookup::Behind(behind) => (self.brought_up_to_date(project_id, *behind).await?)
                .map(|(extended, caught)| (extended, caught, caught.source(false))),
            Lookup::Missing => self.stored_input_at(project_id, version).await?,
        };
        let (version, input, coverage, source, settings_edited) = match extended {
            Some(((version, input, coverage), caught, source)) => {
                (version, input, coverage, source, caught.settings_edited)
            }
            None => {
                let (input, coverage) = self
                    .report_input_every(project_id, Reading::Whole, data, version.labels)
                    .await?;
                (version, input, coverage, InputSource::Read, false)
            }
        };
        let input = Arc::new(input);
        // Counted first, so that whoever sees the input kept sees it counted.
        kept.count(source);
        kept.keep(project_id, version, input.clone(), coverage);
        // An input caught up with a settings edit is stored as one read whole is: every
        // later process would otherwise read every item's settled state again.
        if source == InputSource::Read || settings_edited {
            self.store_input(project_id, version.labels);
        }
        Ok(input)
    }

    /// The input stored for the project (see [`super::stored_input`]) when it is of
    /// `version`, or of an earlier one that labels were added to since, which are read onto
    /// it.
    async fn stored_input_at(
        &self,
        project_id: i64,
        version: InputVersion,
    ) -> Result<Option<(Extended, Caught, InputSource)>> {
        let usable = |stored: &InputVersion| *stored == version || version.follows(stored);
        let Some(stored) = self.stored_input(project_id, usable).await? else {
            return Ok(None);
        };
        if stored.version == version {
            let extended = (version, stored.input, stored.coverage);
            let caught = Caught {
                items_changed: false,
                settings_edited: false,
            };
            return Ok(Some((extended, caught, InputSource::Stored)));
        }
        let behind = Behind {
            version: stored.version,
            input: Arc::new(stored.input),
            coverage: stored.coverage,
        };
        let extended = self.brought_up_to_date(project_id, behind).await?;
        Ok(extended.map(|(extended, caught)| (extended, caught, caught.source(true))))
    }

    /// The version of the report input this process keeps for the project, if it keeps one.
    pub fn kept_report_input_version(&self, project_id: i64) -> Option<InputVersion> {
        self.caches().report_input.version_of(project_id)
    }

    /// How many report inputs this process had from `source` since it started (inputs of
    /// projects too big to keep, or read with item data, not counted).
    pub fn report_inputs_served(&self, source: InputSource) -> u64 {
        self.caches().report_input.served(source)
    }

    /// Waits until no report input is being read and keeps any from being read until the
    /// guard is dropped: the reports asked for meanwhile wait, as they wait for one another.
    pub async fn pause_report_reads(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.caches().report_input.reading().await
    }

    /// Whether this process keeps a report input at `version` (a bigger project's is read
    /// for each report and let go).
    pub fn keeps_report_input(&self, version: &InputVersion) -> bool {
        self.caches().report_input.keeps(version.labels)
    }

    /// Keeps (and stores) report inputs of at most `labels` labels; for tests.
    pub fn keep_report_inputs_up_to(&self, labels: i64) {
        self.caches().report_input.set_keep_up_to(labels);
    }

    /// Stores report inputs read whole in the database from `labels` labels on (see
    /// [`super::stored_input`]).
    pub fn store_report_inputs_from(&self, labels: i64) {
        self.caches().report_input.set_store_from(labels);
    }

    /// A kept input with the labels given and the items changed since read onto it, the
    /// version that makes it exact, and what was read besides labels; `None` when the project
    /// changed otherwise meanwhile, or too many items changed, or a label given before the
    /// input's last was committed after it was read (on PostgreSQL ids are taken in one
    /// order and committed in another), so that reading all is needed.
    async fn brought_up_to_date(
        &self,
        project_id: i64,
        behind: Behind,
    ) -> Result<Option<(Extended, Caught)>> {
        let Behind {
            version: earlier,
            input,
            coverage,
        } = behind;
        let news = (self.news_since(project_id, earlier, coverage.read.last_id)).await?;
        let Some(changed) = news.changed.filter(|_| news.version.follows(&earlier)) else {
            return Ok(None);
        };
        let catching = Catching::up(
            &input,
            &coverage,
            (news.later, changed, news.settled),
            earlier,
        );
        if catching.labels_now != news.version.labels || catching.items_now != news.version.items {
            return Ok(None);
        }
        let caught = catching.caught();
        // Taken out of the store, the input is this request's alone unless a report made
        // from it is still running.
        let mut input = Arc::try_unwrap(input).unwrap_or_else(|shared| (*shared).clone());
        let mut coverage = coverage;
        catching.apply(&mut input, &mut coverage, news.version.items);
        Ok(Some(((news.version, input, coverage), caught)))
    }

    /// What came to project `project_id` since an input read at version `earlier` whose
    /// last label was `last_id` (see [`News`]), as one state of the database.
    async fn news_since(
        &self,
        project_id: i64,
        earlier: InputVersion,
        last_id: i64,
    ) -> Result<News> {
        let generation = earlier.generation;
        let version_sql = report_input_version_sql();
        match self {
            Store::Sqlite(backend) => {
                let few_rows = sqlite_read::Mapping::None;
                sqlite_read::read(backend.bulk_reads(), few_rows, move |conn| {
                    let version = conn.query_row(&version_sql, [project_id], |row| {
                        Ok(version_of((
                            row.get(0)?,
                            row.get(1)?,
                            row.get(2)?,
                            row.get(3)?,
                            row.get(4)?,
                        )))
                    })?;
                    let later = conn
                        .prepare(LATER_LABELS_SQL)?
                        .query_map((project_id, last_id), |row| Ok(later_label!(row.get)))?
                        .collect::<rusqlite::Result<Vec<_>>>()?;
                    let changed = match version.generation == generation {
                        true => Some(ChangedItems::default()),
                        false => changed_items_sqlite(conn, project_id, generation)?,
                    };
                    let settled = match version.revision == earlier.revision {
                        true => None,
                        false => Some(
                            (conn.prepare(SETTLED_ITEMS_SQL)?)
                                .query_map([project_id], |row| row.get(0))?
                                .collect::<rusqlite::Result<_>>()?,
                        ),
                    };
                    Ok(News {
                        version,
                        later,
                        changed,
                        settled,
                    })
                })
                .await
            }
            Store::Postgres(backend) => {
                let mut tx = snapshot(&backend.pool).await?;
                let row: VersionRow = sqlx::query_as(&version_sql)
                    .bind(project_id)
                    .fetch_one(&mut *tx)
                    .await?;
                let version = version_of(row);
                let later: Vec<LaterLabel> = sqlx::query_as(LATER_LABELS_SQL)
                    .bind(project_id)
                    .bind(last_id)
                    .fetch_all(&mut *tx)
                    .await?;
                let changed = match version.generation == generation {
                    true => Some(ChangedItems::default()),
                    false => changed_items_postgres(&mut tx, project_id, generation).await?,
                };
                let settled = match version.revision == earlier.revision {
                    true => None,
                    false => Some(
                        sqlx::query_scalar(SETTLED_ITEMS_SQL)
                            .bind(project_id)
                            .fetch_all(&mut *tx)
                            .await?,
                    ),
                };
                tx.commit().await?;
                Ok(News {
                    version,
                    later,
                    changed,
                    settled,
                })
            }
        }
    }

    /// What a project's report input depends on, in one statement: see [`InputVersion`].
    pub async fn report_input_version(&self, project_id: i64) -> Result<InputVersion> {
        let sql = report_input_version_sql();
        let row: VersionRow = on_pool!(self, pool => {
            sqlx::query_as(&sql).bind(project_id).fetch_one(pool).await?
        });
        Ok(version_of(row))
    }

    async fn label_total(&self, project_id: i64) -> Result<i64> {
        let sql = format!("SELECT {PROJECT_LABELS}");
        Ok(on_pool!(self, pool => {
            sqlx::query_scalar(&sql).bind(project_id).fetch_one(pool).await?
        }))
    }

    /// The labels a report of at most about `max_labels` labels reads: every item when
    /// the project has no more, else every n-th item by id (n chosen to fit), with all of
    /// its labels. Returns the input and n.
    pub async fn report_input_sample(
        &self,
        project_id: i64,
        max_labels: i64,
    ) -> Result<(ReportInput, i64)> {
        let total = self.label_total(project_id).await?;
        let stride = if total <= max_labels.max(1) {
            1
        } else {
            (total + max_labels - 1) / max_labels.max(1)
        };
        let (input, _) = self
            .report_input_every(
                project_id,
                Reading::Sample(stride),
                ItemData::Skipped,
                total / stride,
            )
            .await?;
        Ok((input, stride))
    }

    /// The report's input over the items `reading` takes, room made for about
    /// `expected_labels` labels, and the labels it took.
    async fn report_input_every(
        &self,
        project_id: i64,
        reading: Reading,
        data: ItemData,
        expected_labels: i64,
    ) -> Result<(ReportInput, Coverage)> {
        let raters_sql =
            "SELECT u.id, u.pseudonym FROM rater_tallies t JOIN users u ON u.id = t.rater_id
            WHERE t.project_id = $1";
        let adjudications_sql = format!(
            concat!(adjudications_select!(), "{}"),
            every_nth("a.item_id", reading.stride())
        );
        let mut coverage = Coverage::default();
        let raters: Vec<(i64, String)> = on_pool!(self, pool => {
            sqlx::query_as(raters_sql).bind(project_id).fetch_all(pool).await?
        });
        coverage.names.known.extend(
            raters
                .into_iter()
                .map(|(id, pseudonym)| (id, SharedText::from(pseudonym))),
        );
        let ids: (Option<i64>, Option<i64>) = on_pool!(self, pool => {
            sqlx::query_as("SELECT min(id), max(id) FROM items WHERE project_id = $1")
                .bind(project_id).fetch_one(pool).await?
        });
        let ids = (ids.0.unwrap_or(0), ids.1.unwrap_or(-1));
        // Two workers take parts of the items in turn, side by side on two connections
        // (each in a read transaction of its own) so that the reading uses both cores.
        let parts = Arc::new(Parts::new(
            ids,
            usize::try_from(expected_labels).unwrap_or(0),
        ));
        // Each worker is a task of its own: on PostgreSQL the rows are decoded on the async
        // runtime, and two futures of one task would be decoded on one core.
        let worker = |names: SharedNames| {
            let (store, parts) = (self.clone(), parts.clone());
            let read = ItemsRead {
                project_id,
                reading,
                data,
                ids,
            };
            tokio::spawn(async move { store.take_parts(read, parts, names).await })
        };
        // The second worker's pseudonyms are copies of their own: each label takes its
        // rater's pseudonym, and two cores counting references to the same ones would pass
        // their counts back and forth.
        let own_names = coverage.names.with_own_pseudonyms();
        let (one, other) = tokio::try_join!(
            worker(std::mem::take(&mut coverage.names)),
            worker(own_names)
        )?;
        let ((mut taken, names), (other, _)) = (one?, other?);
        taken.extend(other);
        let (mut input, mut coverage) = join_parts(taken, names);
        let names = &mut coverage.names;
        let adjudications: Vec<AdjudicationRow> = on_pool!(self, pool => {
            for (index, rater_id) in std::mem::take(&mut names.missing) {
                input.labels[index].rater = match names.known.get(&rater_id) {
                    Some(pseudonym) => pseudonym.clone(),
                    None => {
                        let pseudonym: String = sqlx::query_scalar("SELECT pseudonym FROM users WHERE id = $1")
                            .bind(rater_id).fetch_one(pool).await?;
                        let pseudonym = SharedText::from(pseudonym);
                        names.known.insert(rater_id, pseudonym.clone());
                        pseudonym
                    }
                };
            }
            sqlx::query_as(&adjudications_sql).bind(project_id).fetch_all(pool).await?
        });
        take_adjudications(&mut input, adjudications);
        Ok((input, coverage))
    }

    /// One worker of a read: takes parts from `parts` until none is left, each part's
    /// items with their labels in the order they were given, into an input of its own as
    /// they come (holding every label first and converting after would keep each label
    /// twice at the peak). The worker's parts are read in one read transaction; `names`
    /// are the worker's own, given back.
    async fn take_parts(
        &self,
        read: ItemsRead,
        parts: Arc<Parts>,
        mut names: SharedNames,
    ) -> Result<(Vec<Part>, SharedNames)> {
        let mut taken = Vec::new();
        match self {
            Store::Sqlite(backend) => {
                let items_sql = items_select(read.reading.stride(), read.data, PARAMETERS);
                let sql = (items_sql, report_labels_sql(read.reading.stride()));
                sqlite_read::read(backend.bulk_reads(), read.reading.mapping(), move |conn| {
                    while let Some(ids) = parts.take() {
                        let mut part = Part::new(ids, parts.room(ids));
                        let mut values = std::mem::take(&mut names.values);
                        let mut done = |item| take_item(&mut part.input, &mut names, item);
                        let query = (read.project_id, ids.0, ids.1);
                        (part.read, part.left_out) = read_items_sqlite(
                            conn,
                            (&sql.0, &sql.1),
                            query,
                            &mut values,
                            &mut done,
                        )?;
                        names.values = values;
                        part.missing = std::mem::take(&mut names.missing);
                        taken.push(part);
                    }
                    Ok((taken, names))
                })
                .await
            }
            Store::Postgres(backend) => {
                // One state of the database for the items and their labels, as on SQLite:
                // an item's settled state must be that of the labels read with it.
                let mut tx = snapshot(&backend.pool).await?;
                while let Some(ids) = parts.take() {
                    let read = ItemsRead { ids, ..read };
                    let mut part = Part::new(ids, parts.room(ids));
                    let mut items = Vec::new();
                    let items_sql =
                        read.copy_sql(|at| items_select(read.reading.stride(), read.data, at));
                    copy_rows(&mut tx, &items_sql, |row| {
                        items.push(item_of_copied(row)?);
                        Ok(())
                    })
                    .await?;
                    let mut merged = ItemsWithLabels::new(items.into_iter());
                    let mut values = std::mem::take(&mut names.values);
                    let mut done = |item| take_item(&mut part.input, &mut names, item);
                    let labels_sql = read.copy_sql(|at| labels_select(read.reading.stride(), at));
                    copy_rows(&mut tx, &labels_sql, |row| {
                        merged.label(label_of_copied(row, &mut values)?, &mut done);
                        Ok(())
                    })
                    .await?;
                    (part.read, part.left_out) = merged.finish(&mut done);
                    names.values = values;
                    part.missing = std::mem::take(&mut names.missing);
                    taken.push(part);
                }
                tx.commit().await?;
                Ok((taken, names))
            }
        }
    }
}

/// The ranges of item ids that a read's workers take in turn, in id order: each a quarter
/// of the ids left, and at least a sixty-fourth of all. A worker that finds none left waits
/// for the other's last part, so the last parts are small; and a project labelled in order,
/// whose labels lie on its first items, still has them read by both workers (split in two
/// halves by id, its upper half could hold none).
struct Parts {
    /// The first id not yet taken.
    next: Mutex<i64>,
    ids: (i64, i64),
    /// How many ids there are (at least one).
    span: i64,
    expected_labels: usize,
}

impl Parts {
    fn new(ids: (i64, i64), expected_labels: usize) -> Self {
        Parts {
            next: Mutex::new(ids.0),
            ids,
            span: (ids.1 - ids.0).saturating_add(1).max(1),
            expected_labels,
        }
    }

    /// The next range, first and last id; `None` once every id is taken.
    fn take(&self) -> Option<(i64, i64)> {
        // A panic while holding the lock leaves a plain number behind: still usable.
        let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
        let first = *next;
        if first > self.ids.1 {
            return None;
        }
        let left = self.ids.1 - first + 1;
        let floor = (self.span / 64).max(1);
        let last = first + (left / 4).max(floor).min(left) - 1;
        *next = last + 1;
        Some((first, last))
    }

    /// Labels to make room for in the part of `ids`: the first part, which the others
    /// join, all of them; another its share by ids, with slack (room not written to costs
    /// no memory, and labels written since the count still fit).
    fn room(&self, ids: (i64, i64)) -> usize {
        let all = self.expected_labels + self.expected_labels / 64;
        if ids.0 == self.ids.0 {
            return all;
        }
        let share = (ids.1 - ids.0 + 1) as f64 / self.span as f64;
        ((all as f64 * share * 1.25) as usize).min(all)
    }
}

/// The items of one range of ids, read into an input of their own, with what the read
/// took of them.
struct Part {
    first_id: i64,
    input: ReportInput,
    read: LabelsRead,
    left_out: foldhash::HashMap<i64, i64>,
    /// The labels, by index in `input`, whose raters were unknown when they were read.
    missing: Vec<(usize, i64)>,
}

impl Part {
    fn new(ids: (i64, i64), room: usize) -> Self {
        let mut input = ReportInput::default();
        input.labels.reserve(room);
        Part {
            first_id: ids.0,
            input,
            read: LabelsRead::default(),
            left_out: foldhash::HashMap::default(),
            missing: Vec::new(),
        }
    }
}

/// A read-only PostgreSQL transaction that sees one state of the database throughout, as
/// a SQLite read transaction does.
async fn snapshot(pool: &sqlx::PgPool) -> Result<sqlx::Transaction<'_, sqlx::Postgres>> {
    let mut tx = pool.begin().await?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(&mut *tx)
        .await?;
    Ok(tx)
}

/// The names a report's labels share: raters' pseudonyms by user id, read once per report,
/// and stored values. A rater whose first label in the project came after that read is
/// looked up once the items are read (`missing` holds the indices of such labels in the
/// input).
#[derive(Default, Clone)]
pub(super) struct SharedNames {
    pub(super) known: foldhash::HashMap<i64, SharedText>,
    missing: Vec<(usize, i64)>,
    pub(super) values: SharedStrings,
}

/// Strings that many labels repeat, each held once: a project's labels repeat a handful of
/// stored values, each of which would otherwise take an allocation per label. A read shares
/// them as it decodes each row, from the database's own bytes.
#[derive(Default, Clone)]
pub(super) struct SharedStrings(foldhash::HashSet<SharedText>);

/// Distinct strings shared at most: free text or spans hardly repeat, and are not worth it.
const MAX_SHARED_STRINGS: usize = 4096;

impl SharedStrings {
    /// `text`, shared with the labels before it that have the same.
    fn share(&mut self, text: &str) -> SharedText {
        if let Some(shared) = self.0.get(text) {
            return shared.clone();
        }
        let shared = SharedText::from(text);
        self.keep(shared.clone());
        shared
    }

    /// Shares `text` with the labels after it, while there is room.
    pub(super) fn keep(&mut self, text: SharedText) {
        if self.0.len() < MAX_SHARED_STRINGS {
            self.0.insert(text);
        }
    }
}

impl SharedNames {
    /// A copy whose pseudonyms are new strings, shared with nothing.
    fn with_own_pseudonyms(&self) -> SharedNames {
        SharedNames {
            known: (self.known.iter())
                .map(|(&id, pseudonym)| (id, SharedText::from(&**pseudonym)))
                .collect(),
            ..self.clone()
        }
    }

    /// A label of item `item_id` as the report holds it, to sit at `index` in the input.
    fn record(
        &mut self,
        item_id: i64,
        external_id: &Option<SharedText>,
        label: ReportLabel,
        index: usize,
    ) -> LabelRecord {
        LabelRecord {
            item_id,
            external_id: external_id.clone(),
            rater: self.of(label.rater_id, index),
            pool: label.pool,
            value: label.value,
            duration_ms: label.duration_ms.map(held_duration),
            created_at: label.created_at,
            prediction_shown: label.prediction_shown,
            guideline_version: label.guideline_version.map(held_version),
        }
    }

    /// A label read after an input was, as the report holds it; its rater's pseudonym
    /// came with it.
    fn later_record(&mut self, mut later: LaterLabel) -> LabelRecord {
        later.label.value = self.values.share(&later.label.value);
        let rater_id = later.label.rater_id;
        self.known
            .entry(rater_id)
            .or_insert_with(|| SharedText::from(later.pseudonym));
        let external_id = later.item.external_id.map(SharedText::from);
        self.record(later.item_id, &external_id, later.label, 0)
    }

    /// The pseudonym of the rater of the label that will sit at `index`, or an empty string
    /// (noted as missing) until it is looked up.
    fn of(&mut self, rater_id: i64, index: usize) -> SharedText {
        match self.known.get(&rater_id) {
            Some(pseudonym) => pseudonym.clone(),
            None => {
                self.missing.push((index, rater_id));
                SharedText::from("")
            }
        }
    }
}

/// The report's input of the items read in parts, joined in id order so the labels stay
/// in item order, with what the read took; `names` are those the labels share.
fn join_parts(mut parts: Vec<Part>, names: SharedNames) -> (ReportInput, Coverage) {
    parts.sort_unstable_by_key(|part| part.first_id);
    let mut coverage = Coverage {
        names,
        ..Coverage::default()
    };
    let mut input = ReportInput::default();
    for part in parts {
        let Part {
            input: part_input,
            read,
            left_out,
            missing,
            first_id: _,
        } = part;
        let ReportInput {
            labels,
            gold,
            predictions,
            data,
            settled_generalist,
            items,
            adjudications,
            prepared: _,
        } = part_input;
        let offset = input.labels.len();
        coverage.names.missing.extend(
            missing
                .into_iter()
                .map(|(index, rater_id)| (index + offset, rater_id)),
        );
        coverage.read = coverage.read.and(read);
        coverage.left_out.extend(left_out);
        // The first part made room for every label: the others move into it.
        if input.labels.is_empty() && labels.capacity() > input.labels.capacity() {
            input.labels = labels;
        } else {
            input.labels.extend(labels);
        }
        input.gold.extend(gold);
        input.predictions.extend(predictions);
        input.data.extend(data);
        input.settled_generalist.extend(settled_generalist);
        input.items += items;
        input.adjudications.extend(adjudications);
    }
    (input, coverage)
}

/// Adds an item's labels, gold answer, pre-label and data to a report's input.
fn take_item(input: &mut ReportInput, names: &mut SharedNames, item: ItemRow) {
    input.items += 1;
    let first = input.labels.len();
    let external_id: Option<SharedText> = item.external_id.map(SharedText::from);
    let labels = item.labels.len();
    input.labels.extend(
        item.labels
            .into_iter()
            .enumerate()
            .map(|(n, label)| names.record(item.id, &external_id, label, first + n)),
    );
    if item.settled {
        input.settle_last_item(item.id, labels);
    }
    if let Some(gold) = item.gold {
        input.gold.insert(item.id, gold);
    }
    if let Some(prediction) = item.prediction {
        input.predictions.insert(item.id, prediction);
    }
    if let Some(data) = item.data {
        input.data.insert(item.id, data.0);
    }
}

/// A label's duration as a report holds it: no label takes 49 days (`u32::MAX` ms).
fn held_duration(ms: i64) -> u32 {
    u32::try_from(ms.max(0)).unwrap_or(u32::MAX)
}

/// A guideline version as a report holds it: versions count edits, and never reach
/// `i32::MAX`.
fn held_version(version: i64) -> i32 {
    i32::try_from(version).unwrap_or(i32::MAX)
}

/// Reads the items the first of `sql` selects with the labels the second reads, on SQLite,
/// in one transaction; `query` is (project, first item id, last item id).
fn read_items_sqlite(
    conn: &rusqlite::Connection,
    (items_sql, labels_sql): (&str, &str),
    query: (i64, i64, i64),
    values: &mut SharedStrings,
    done: &mut impl FnMut(ItemRow),
) -> rusqlite::Result<(LabelsRead, foldhash::HashMap<i64, i64>)> {
    let items = conn
        .prepare_cached(items_sql)?
        .query_map(query, |row| {
            Ok(ItemRow {
                id: row.get(0)?,
                external_id: row.get(1)?,
                gold: row.get(2)?,
                data: sqlite_read::json_column(row, 3)?.map(Json),
                prediction: row.get(4)?,
                settled: row.get(5)?,
                labels: Vec::new(),
            })
        })?
        .collect::<rusqlite::Result<Vec<ItemRow>>>()?;
    let mut merged = ItemsWithLabels::new(items.into_iter());
    let mut labels = conn.prepare_cached(labels_sql)?;
    let mut rows = labels.query(query)?;
    while let Some(row) = rows.next()? {
        merged.label(label_of_row(row, values)?, done);
    }
    Ok(merged.finish(done))
}

/// The item id and label in a row of [`report_labels_sql`] on SQLite; its value shared
/// through `values`.
fn label_of_row(
    row: &rusqlite::Row<'_>,
    values: &mut SharedStrings,
) -> rusqlite::Result<(i64, ReportLabel)> {
    let label = ReportLabel {
        id: row.get(8)?,
        rater_id: row.get(1)?,
        pool: row.get(2)?,
        value: values.share(sqlite_read::text_column(row, 3)?),
        duration_ms: row.get(4)?,
        created_at: row.get(5)?,
        guideline_version: row.get(6)?,
        prediction_shown: row.get(7)?,
    };
    Ok((row.get(0)?, label))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(id: i64) -> ItemRow {
        ItemRow {
            id,
            external_id: None,
            gold: None,
            data: None,
            prediction: None,
            settled: false,
            labels: Vec::new(),
        }
    }

    fn label(item_id: i64, rater_id: i64, id: i64) -> (i64, ReportLabel) {
        let label = ReportLabel {
            id,
            rater_id,
            pool: Pool::Generalist,
            value: "\"a\"".into(),
            duration_ms: None,
            created_at: 0,
            guideline_version: Some(1),
            prediction_shown: None,
        };
        (item_id, label)
    }

    /// Each item's raters, in the order the merge hands the items on; `labels` are (item,
    /// rater), their ids in the order listed.
    fn merged(items: &[i64], labels: &[(i64, i64)]) -> Vec<(i64, Vec<i64>)> {
        let with_ids: Vec<_> = (0..)
            .zip(labels)
            .map(|(id, &(item, rater))| (item, rater, id))
            .collect();
        merged_with_ids(items, &with_ids)
    }

    /// As [`merged`], `labels` being (item, rater, label id).
    fn merged_with_ids(items: &[i64], labels: &[(i64, i64, i64)]) -> Vec<(i64, Vec<i64>)> {
        let mut out = Vec::new();
        let mut done = |item: ItemRow| {
            out.push((item.id, item.labels.iter().map(|l| l.rater_id).collect()));
        };
        let mut merge = ItemsWithLabels::new(items.iter().map(|&id| item(id)));
        for &(item_id, rater_id, id) in labels {
            merge.label(label(item_id, rater_id, id), &mut done);
        }
        merge.finish(&mut done);
        out
    }

    #[test]
    fn an_items_labels_are_handed_on_in_the_order_they_were_given() {
        // The statement orders labels by item only; within an item they may come in any
        // order, and the report must see them by id (the later of two labels wins).
        let labels = [(2, 7, 40), (2, 8, 12), (2, 9, 31), (3, 1, 5), (3, 2, 3)];
        assert_eq!(
            merged_with_ids(&[2, 3], &labels),
            vec![(2, vec![8, 9, 7]), (3, vec![2, 1])]
        );
    }

    #[test]
    fn every_item_gets_its_own_labels_in_order_and_no_other() {
        // Items 1 and 6 are left out of the items (qualification questions, say): their
        // labels go nowhere. Item 4 has no label; items 7 and 8 come after the last label.
        let labels = [(1, 9), (2, 1), (2, 2), (3, 3), (5, 4), (5, 1), (6, 7)];
        assert_eq!(
            merged(&[2, 3, 4, 5, 7, 8], &labels),
            vec![
                (2, vec![1, 2]),
                (3, vec![3]),
                (4, vec![]),
                (5, vec![4, 1]),
                (7, vec![]),
                (8, vec![]),
            ]
        );
        assert_eq!(merged(&[], &labels), vec![]);
        assert_eq!(merged(&[1], &[]), vec![(1, vec![])]);
    }

    /// Reads `items` (id, settled, with labels by these rater ids) into an input as a part
    /// of the read does.
    fn part_input(items: &[(i64, bool, &[i64])], names: &mut SharedNames) -> ReportInput {
        let mut input = ReportInput::default();
        for &(id, settled, raters) in items {
            let mut row = item(id);
            row.settled = settled;
            row.gold = Some(format!("\"gold {id}\""));
            row.labels = raters
                .iter()
                .map(|&r| label(id, r, id * 100 + r).1)
                .collect();
            take_item(&mut input, names, row);
        }
        input
    }

    #[test]
    fn parts_join_in_id_order_with_their_unknown_raters_found() {
        let mut known = SharedNames::default();
        known.known.insert(1, SharedText::from("rater-1"));
        let (mut names, mut other_names) = (known.clone(), known);
        let lower = part_input(&[(1, true, &[1]), (2, false, &[1])], &mut names);
        let lower_missing = std::mem::take(&mut names.missing);
        // Rater 2 gave a first label after the raters were read: both parts note it.
        let upper = part_input(&[(3, true, &[2, 1]), (4, false, &[2])], &mut other_names);
        let part = |first_id, input, labels, last_id, missing| Part {
            first_id,
            input,
            read: LabelsRead { labels, last_id },
            left_out: foldhash::HashMap::default(),
            missing,
        };
        // The other worker's part comes first among those taken.
        let (input, coverage) = join_parts(
            vec![
                part(3, upper, 3, 402, other_names.missing),
                part(1, lower, 2, 201, lower_missing),
            ],
            names,
        );
        let item_ids: Vec<i64> = input.labels.iter().map(|l| l.item_id).collect();
        assert_eq!(item_ids, [1, 2, 3, 3, 4]);
        assert_eq!(coverage.names.missing, [(2, 2), (4, 2)]);
        assert_eq!(
            coverage.read,
            LabelsRead {
                labels: 5,
                last_id: 402
            }
        );
        assert_eq!(&*input.labels[3].rater, "rater-1");
        assert_eq!(input.items, 4);
        let settled: std::collections::BTreeMap<i64, i64> =
            input.settled_generalist.into_iter().collect();
        assert_eq!(settled, [(1, 1), (3, 2)].into());
        assert_eq!(input.gold.len(), 4);
        assert_eq!(input.gold[&3], "\"gold 3\"");
    }

    /// The parts cover every id once, in order, each a quarter of what is left until the
    /// floor; the last ones are small; the first makes room for all the labels.
    #[test]
    fn parts_cover_the_ids_once_and_end_small() {
        for (ids, expected) in [
            ((1, 100_000), 500_000),
            ((7, 7), 3),
            ((5, 4), 0),
            ((1, 50), 10),
        ] {
            let parts = Parts::new(ids, expected);
            let taken: Vec<(i64, i64)> = std::iter::from_fn(|| parts.take()).collect();
            let mut next = ids.0;
            for &(first, last) in &taken {
                assert_eq!(first, next, "{ids:?}: {taken:?}");
                assert!(last >= first);
                next = last + 1;
            }
            assert_eq!(next, ids.1.max(ids.0 - 1) + 1, "{ids:?}: {taken:?}");
            if let Some(&first) = taken.first() {
                assert!(parts.room(first) >= expected);
            }
        }
        let parts = Parts::new((1, 100_000), 500_000);
        let sizes: Vec<i64> = std::iter::from_fn(|| parts.take())
            .map(|(first, last)| last - first + 1)
            .collect();
        assert_eq!(sizes[0], 25_000);
        assert!(sizes.windows(2).all(|w| w[1] <= w[0]), "{sizes:?}");
        assert!(*sizes.last().unwrap_or(&0) <= 100_000 / 64, "{sizes:?}");
        assert!(sizes.len() < 40, "{sizes:?}");
        // A part's room is its share of the labels, with slack.
        assert!(parts.room((50_001, 75_000)) >= 125_000);
    }

    #[test]
    fn a_read_counts_every_label_that_came_and_the_last_id() {
        let mut merge = ItemsWithLabels::new([2, 3].into_iter().map(item));
        // Items 1 and 4 are qualification questions: their labels are counted, not taken.
        for (item_id, rater_id, id) in [(1, 1, 40), (1, 2, 41), (2, 1, 7), (3, 2, 12), (4, 1, 9)] {
            merge.label(label(item_id, rater_id, id), &mut |_| {});
        }
        let (read, left_out) = merge.finish(&mut |_| {});
        assert_eq!(
            read,
            LabelsRead {
                labels: 5,
                last_id: 41
            }
        );
        assert_eq!(left_out, [(1, 2), (4, 1)].into_iter().collect());
    }

    /// A project as the database holds it, for the catching-up test: items by id, final
    /// labels by item, the id the next label takes, and how many labels settle an item
    /// (which a settings edit changes).
    #[derive(Default)]
    struct Model {
        items: std::collections::BTreeMap<i64, ModelItem>,
        adjudications: std::collections::BTreeMap<i64, String>,
        next_label: i64,
        settle_at: usize,
    }

    /// An item with its labels as (label id, rater id, value), in the order given.
    #[derive(Default)]
    struct ModelItem {
        qualification: bool,
        gold: Option<String>,
        prediction: Option<String>,
        labels: Vec<(i64, i64, String)>,
    }

    fn model_label(&(id, rater_id, ref value): &(i64, i64, String)) -> ReportLabel {
        ReportLabel {
            id,
            rater_id,
            pool: if id % 4 == 0 {
                Pool::Expert
            } else {
                Pool::Generalist
            },
            value: value.as_str().into(),
            duration_ms: Some(id * 10),
            created_at: id,
            guideline_version: Some(1),
            prediction_shown: None,
        }
    }

    impl Model {
        fn settled(&self, item: &ModelItem) -> bool {
            item.labels.len() >= self.settle_at
        }

        fn labels(&self) -> impl Iterator<Item = (i64, &(i64, i64, String))> {
            (self.items.iter()).flat_map(|(&id, item)| item.labels.iter().map(move |l| (id, l)))
        }

        /// The input and coverage that a read of every label makes.
        fn read_whole(&self) -> (ReportInput, Coverage) {
            let mut coverage = Coverage::default();
            for rater in 1..=4 {
                (coverage.names.known).insert(rater, SharedText::from(format!("r{rater}")));
            }
            let mut input = ReportInput::default();
            let rows: Vec<ItemRow> = (self.items.iter())
                .filter(|(_, item)| !item.qualification)
                .map(|(&id, item)| ItemRow {
                    external_id: Some(format!("x{id}")),
                    gold: item.gold.clone(),
                    prediction: item.prediction.clone(),
                    settled: self.settled(item),
                    ..self::item(id)
                })
                .collect();
            let mut merged = ItemsWithLabels::new(rows.into_iter());
            let names = &mut coverage.names;
            let mut done = |item| take_item(&mut input, names, item);
            for (item_id, label) in self.labels() {
                merged.label((item_id, model_label(label)), &mut done);
            }
            (coverage.read, coverage.left_out) = merged.finish(&mut done);
            for (&item_id, value) in &self.adjudications {
                input.adjudications.insert(item_id, final_label(value));
            }
            (input, coverage)
        }

        fn later_label(&self, item_id: i64, label: &(i64, i64, String)) -> LaterLabel {
            let item = &self.items[&item_id];
            LaterLabel {
                item_id,
                label: model_label(label),
                item: LaterItem {
                    external_id: Some(format!("x{item_id}")),
                    is_qualification: item.qualification,
                    settled: self.settled(item),
                },
                pseudonym: format!("r{}", label.1),
            }
        }

        /// What a read of the news finds: the labels after `last_id`, `changed` as they
        /// are now, and the settled items when the settings were edited.
        fn news(
            &self,
            last_id: i64,
            changed: &std::collections::BTreeSet<i64>,
            settings_edited: bool,
        ) -> (Vec<LaterLabel>, ChangedItems, Option<Vec<i64>>) {
            let later = (self.labels())
                .filter(|(_, label)| label.0 > last_id)
                .map(|(item_id, label)| self.later_label(item_id, label))
                .collect();
            let present: Vec<(i64, &ModelItem)> = (changed.iter())
                .filter_map(|id| self.items.get(id).map(|item| (*id, item)))
                .collect();
            let items = (present.iter())
                .map(|(id, i)| {
                    (
                        *id,
                        i.qualification,
                        self.settled(i),
                        i.gold.clone(),
                        i.prediction.clone(),
                    )
                })
                .collect();
            let labels = (present.iter())
                .flat_map(|(id, item)| item.labels.iter().map(|l| self.later_label(*id, l)))
                .collect();
            let adjudications = (changed.iter())
                .filter_map(|id| self.adjudications.get(id).map(|v| (*id, v.clone())))
                .map(|(id, value)| (id, value, "rev".into(), "why".into()))
                .collect();
            let changed = ChangedItems {
                ids: changed.iter().copied().collect(),
                items,
                labels,
                adjudications,
                qualification_items: self.items.values().filter(|i| i.qualification).count() as i64,
            };
            let settled = settings_edited.then(|| {
                (self.items.iter())
                    .filter(|(_, item)| !item.qualification && self.settled(item))
                    .map(|(&id, _)| id)
                    .collect()
            });
            (later, changed, settled)
        }

        /// Makes one random change; returns the item it was on when the triggers log it
        /// (all but a label given and a settings edit).
        fn change(&mut self, rng: &mut impl rand::Rng) -> Option<i64> {
            let ids: Vec<i64> = self.items.keys().copied().collect();
            let item_id = ids[rng.gen_range(0..ids.len())];
            let value = ["\"pos\"", "\"neg\""][rng.gen_range(0..2)].to_string();
            let item = self.items.get_mut(&item_id)?;
            match rng.gen_range(0..9) {
                8 => {
                    self.settle_at = 5 - self.settle_at;
                    return None;
                }
                0 => {
                    self.next_label += 1;
                    item.labels
                        .push((self.next_label, rng.gen_range(1..=4), value));
                    return None;
                }
                1 if !item.labels.is_empty() => {
                    let n = rng.gen_range(0..item.labels.len());
                    item.labels[n].2 = value;
                }
                2 if !item.labels.is_empty() => {
                    item.labels.remove(rng.gen_range(0..item.labels.len()));
                }
                3 => item.gold = rng.gen_bool(0.7).then_some(value),
                4 => item.prediction = rng.gen_bool(0.7).then_some(value),
                5 => item.qualification = !item.qualification,
                6 if ids.len() > 1 => {
                    self.items.remove(&item_id);
                    self.adjudications.remove(&item_id);
                }
                _ if rng.gen_bool(0.6) => {
                    self.adjudications.insert(item_id, value);
                }
                _ => {
                    self.adjudications.remove(&item_id);
                }
            }
            Some(item_id)
        }
    }

    fn final_label(value: &str) -> FinalLabel {
        FinalLabel {
            value: value.into(),
            reviewer: "rev".into(),
            reason: "why".into(),
        }
    }

    /// What a report reads of an input, to compare two.
    fn contents(input: &ReportInput) -> String {
        use std::collections::HashMap;
        fn sorted(map: &HashMap<i64, String>) -> std::collections::BTreeMap<&i64, &String> {
            map.iter().collect()
        }
        let settled: std::collections::BTreeMap<_, _> = input.settled_generalist.iter().collect();
        let adjudications: std::collections::BTreeMap<_, _> = (input.adjudications.iter())
            .map(|(id, f)| (id, (&f.value, &f.reviewer, &f.reason)))
            .collect();
        format!(
            "{:?}\ngold {:?}\npredictions {:?}\nsettled {settled:?}\nfinal {adjudications:?}\nitems {}",
            input.labels,
            sorted(&input.gold),
            sorted(&input.predictions),
            input.items
        )
    }

    /// An input caught up with the labels given and the items changed since it was read
    /// holds what a read of every label holds, and counts what the project holds; on random
    /// projects with random changes of every kind the triggers log, and settings edits
    /// that settle or reopen items.
    #[test]
    fn an_input_caught_up_with_the_changed_items_is_the_input_read_whole() {
        use rand::{Rng, SeedableRng};
        let mut kept = std::collections::BTreeMap::<bool, usize>::new();
        for seed in 0..300 {
            let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
            let mut model = Model {
                settle_at: 2,
                ..Model::default()
            };
            for id in 1..=10 {
                let mut item = ModelItem {
                    qualification: id % 5 == 0,
                    gold: (id % 3 == 0).then(|| "\"pos\"".into()),
                    ..ModelItem::default()
                };
                for _ in 0..rng.gen_range(0..4) {
                    model.next_label += 1;
                    let value = format!("\"v{}\"", rng.gen_range(0..3));
                    item.labels
                        .push((model.next_label, rng.gen_range(1..=4), value));
                }
                model.items.insert(id * 7, item);
            }
            let (mut input, mut coverage) = model.read_whole();
            input.prepare_for_test();
            let held = (input.labels.clone(), sorted_gold(&input));
            let earlier = InputVersion {
                shared: 0,
                generation: 0,
                revision: None,
                labels: model.labels().count() as i64,
                items: model.items.len() as i64,
            };
            let mut changed = std::collections::BTreeSet::new();
            for _ in 0..rng.gen_range(1..6) {
                changed.extend(model.change(&mut rng));
            }
            let settings_edited = model.settle_at != 2;
            let news = model.news(coverage.read.last_id, &changed, settings_edited);
            let catching = Catching::up(&input, &coverage, news, earlier);
            assert_eq!(
                catching.labels_now,
                model.labels().count() as i64,
                "seed {seed}"
            );
            assert_eq!(catching.items_now, model.items.len() as i64, "seed {seed}");
            catching.apply(&mut input, &mut coverage, model.items.len() as i64);
            let (whole, whole_coverage) = model.read_whole();
            assert_eq!(contents(&input), contents(&whole), "seed {seed}");
            assert_eq!(
                coverage.read.labels, whole_coverage.read.labels,
                "seed {seed}"
            );
            assert!(coverage.read.last_id >= whole_coverage.read.last_id);
            assert_eq!(coverage.left_out, whole_coverage.left_out, "seed {seed}");
            // The dataset made of the labels and known answers is kept exactly while they
            // are as they were.
            let unchanged = (input.labels.clone(), sorted_gold(&input)) == held;
            assert_eq!(input.is_prepared(), unchanged, "seed {seed}");
            *kept.entry(unchanged).or_default() += 1;
        }
        assert!(kept.len() == 2, "both kept and made again: {kept:?}");
    }

    fn sorted_gold(input: &ReportInput) -> std::collections::BTreeMap<i64, String> {
        input
            .gold
            .iter()
            .map(|(id, gold)| (*id, gold.clone()))
            .collect()
    }

    /// A label that the input missed (committed after a later one was read) makes the
    /// count short, whatever changed besides.
    #[test]
    fn a_label_missed_makes_the_count_short() {
        let mut model = Model {
            settle_at: 2,
            ..Model::default()
        };
        for id in 1..=3 {
            let labels = vec![(id * 2 - 1, 1, "\"a\"".into()), (id * 2, 2, "\"b\"".into())];
            model.items.insert(
                id,
                ModelItem {
                    labels,
                    ..ModelItem::default()
                },
            );
        }
        // Label 3 (item 2) was not committed when the input was read.
        let missed = model.items.get_mut(&2).map(|item| item.labels.remove(0));
        let (input, coverage) = model.read_whole();
        let earlier = InputVersion {
            shared: 0,
            generation: 0,
            revision: None,
            labels: 5,
            items: 3,
        };
        if let (Some(item), Some(label)) = (model.items.get_mut(&2), missed) {
            item.labels.insert(0, label);
        }
        model.items.get_mut(&3).expect("item 3").labels[0].2 = "\"c\"".into();
        let news = model.news(coverage.read.last_id, &[3].into(), false);
        let catching = Catching::up(&input, &coverage, news, earlier);
        assert_eq!(catching.labels_now, 5, "one short of the project's 6");
    }

    /// A label's pool comes out of SQLite as the pool it names, and a name that is not a
    /// pool is an error that says so rather than some pool.
    #[test]
    fn a_pool_is_read_by_its_name_and_no_other_text() {
        let conn = rusqlite::Connection::open_in_memory().expect("sqlite");
        let read = |sql: &str| conn.query_row(sql, [], |row| row.get::<_, Pool>(0));
        assert_eq!(read("SELECT 'expert'").expect("a pool"), Pool::Expert);
        assert_eq!(read("SELECT 'user'").expect("a pool"), Pool::User);
        let wrong = read("SELECT 'generalists'").expect_err("not a pool");
        assert!(wrong.to_string().contains("unknown pool"), "{wrong}");
        assert!(read("SELECT 3").is_err(), "a number is no pool");
    }

    #[test]
    fn repeated_strings_are_held_once_up_to_the_cap() {
        let mut shared = SharedStrings::default();
        let first = shared.share("\"cat\"");
        let again = shared.share("\"cat\"");
        assert!(SharedText::ptr_eq(&first, &again));
        assert_eq!(&*shared.share("\"dog\""), "\"dog\"");
        for n in 0..MAX_SHARED_STRINGS {
            shared.share(&format!("\"text {n}\""));
        }
        // Past the cap a new string is still the label's own, only not shared.
        let late = shared.share("\"late\"");
        let late_again = shared.share("\"late\"");
        assert_eq!(&*late, &*late_again);
        assert!(!SharedText::ptr_eq(&late, &late_again));
        assert!(SharedText::ptr_eq(&first, &shared.share("\"cat\"")));
    }
}
