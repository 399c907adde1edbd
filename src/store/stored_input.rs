//! A big project's report input, stored in the database at the version it was read at, so
//! that another process, or this one after a restart, reads it back instead of every label.
//!
//! Reading every label of a project of half a million takes a PostgreSQL server and tally
//! both cores for about half a second, most of it the database's own work and the decoding
//! of each row. The input that such a read makes is kept in memory ([`super::kept_input`])
//! but only by the process that read it. After a read of all labels, a task writes the input
//! here in a compact form (about 17 bytes a label, 8.5 MB for half a million); a process that keeps nothing for the
//! project reads it back when its version is the project's, or reads the labels added and
//! the items changed since onto it, as it would onto an input it kept. The version is exact across processes, so a
//! stored input is used only where it is the data it claims to be; one that no longer is
//! stays unused until the next read of all replaces it.
//!
//! The cost is one write per read of all: on SQLite, writing 8.5 MB holds the one write
//! lock for about 35 to 75 ms (the `sqlite3` shell on the report bench's database), which
//! labels given meanwhile wait for; and the encoded bytes at the server's peak.

use std::cell::RefCell;
use std::time::Duration;

use serde::ser::SerializeTuple;
use serde::{Deserialize, Serialize, Serializer};

use super::kept_input::InputVersion;
use super::report::Coverage;
use super::{in_write_tx, on_pool, Store};
use crate::domain::policy::Pool;
use crate::domain::report::{FinalLabel, LabelRecord, ReportInput, SharedText};
use crate::error::Result;

/// Labels from which a read of all is stored: below it, reading all is quick anyway.
pub const STORE_FROM_LABELS: i64 = 100_000;

/// The layout of [`Body`]; a stored input of another layout is not read.
const FORMAT: i32 = 4;

/// Runs a stored input's labels are split into, read back side by side.
const RUNS: usize = 2;

/// How long after a read of all its input is stored. The report that asked for the read is
/// computing on both cores meanwhile, and storing beside it (encoding half a million labels
/// and writing 8 MB) made it a tenth slower.
const STORE_AFTER: Duration = Duration::from_secs(2);

/// A report input with what its coverage holds, each shared text once and its labels in
/// [`Run`]s, each encoded on its own so that they read back on threads of their own:
/// reading half a million labels back on one thread was a tenth of a second that a report
/// asked for as a server starts waited for, with the other core idle. Read back as it is;
/// written by [`Encoding`], field for field in this order.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Body<'a> {
    labels_read: i64,
    last_id: i64,
    items: i64,
    /// The input's labels, in all runs.
    labels: u64,
    #[serde(borrow)]
    runs: Vec<Bytes<'a>>,
    gold: Vec<(i64, String)>,
    predictions: Vec<(i64, String)>,
    settled: Vec<(i64, i64)>,
    adjudications: Vec<(i64, String, String, String)>,
    /// The labels taken of each item the input leaves out, by item id.
    left_out: Vec<(i64, i64)>,
    /// Each known rater's pseudonym (an index into `texts`) by user id.
    raters: Vec<(i64, u32)>,
    /// Raters' pseudonyms, pools and stored values, each once, in the order the fields
    /// before met them.
    #[serde(borrow)]
    texts: Vec<&'a str>,
}

/// A run of an input's labels, each field in a column of its own (item ids and times as
/// differences from the label before in the run, which are small), with the external id
/// of each of its items that has one. Written by [`RunEncoding`], field for field.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Run<'a> {
    item_step: Vec<i64>,
    rater: Vec<u32>,
    pool: Vec<u32>,
    value: Vec<u32>,
    duration_ms: Vec<Option<u32>>,
    created_step: Vec<i64>,
    prediction_shown: Vec<Option<bool>>,
    guideline_version: Vec<Option<i32>>,
    #[serde(borrow)]
    external_ids: Vec<(i64, &'a str)>,
}

/// Bytes written as one string of bytes, and read back where they lie.
#[derive(Debug, Default)]
struct Bytes<'a>(&'a [u8]);

impl Serialize for Bytes<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.serialize_bytes(self.0)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Bytes<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        <&'de [u8]>::deserialize(d).map(Bytes)
    }
}

/// A [`Body`] written straight from an input: each column is drawn from the labels as it
/// is written, so the encoding holds no copy of them (columns of half a million labels
/// were 23 MB at the server's peak) beyond the encoded runs.
struct Encoding<'a> {
    input: &'a ReportInput,
    coverage: &'a Coverage,
    texts: RefCell<Texts<'a>>,
}

impl Serialize for Encoding<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let (labels, input) = (&self.input.labels, self.input);
        // One run at least, empty for an input without labels.
        let mut runs: Vec<&[LabelRecord]> =
            labels.chunks(labels.len().div_ceil(RUNS).max(1)).collect();
        if runs.is_empty() {
            runs.push(&[]);
        }
        let runs = (runs.into_iter())
            .map(|labels| {
                let run = RunEncoding {
                    labels,
                    texts: &self.texts,
                };
                postcard::to_stdvec(&run).map_err(serde::ser::Error::custom)
            })
            .collect::<std::result::Result<Vec<Vec<u8>>, S::Error>>()?;
        let mut body = serializer.serialize_tuple(12)?;
        body.serialize_element(&self.coverage.read.labels)?;
        body.serialize_element(&self.coverage.read.last_id)?;
        body.serialize_element(&input.items)?;
        body.serialize_element(&(labels.len() as u64))?;
        body.serialize_element(&column(runs.iter().map(|run| Bytes(run))))?;
        body.serialize_element(&column(input.gold.iter()))?;
        body.serialize_element(&column(input.predictions.iter()))?;
        body.serialize_element(&column(input.settled_generalist.iter()))?;
        let adjudications =
            (input.adjudications.iter()).map(|(id, f)| (id, &f.value, &f.reviewer, &f.reason));
        body.serialize_element(&column(adjudications))?;
        body.serialize_element(&column(self.coverage.left_out.iter()))?;
        let mut raters: Vec<(i64, u32)> = (self.coverage.names.known.iter())
            .map(|(&id, pseudonym)| (id, self.texts.borrow_mut().of(pseudonym)))
            .collect();
        raters.sort_unstable();
        body.serialize_element(&raters)?;
        body.serialize_element(&self.texts.borrow().texts)?;
        body.end()
    }
}

/// A [`Run`] written straight from a run of an input's labels, its texts numbered in the
/// whole input's `texts`.
struct RunEncoding<'a, 'b> {
    labels: &'a [LabelRecord],
    texts: &'b RefCell<Texts<'a>>,
}

impl Serialize for RunEncoding<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let labels = self.labels;
        let mut run = serializer.serialize_tuple(9)?;
        run.serialize_element(&column(steps(labels.iter().map(|l| l.item_id))))?;
        run.serialize_element(&column(labels.iter().map(|l| self.text(&l.rater))))?;
        run.serialize_element(&column(labels.iter().map(|l| self.text(l.pool.as_str()))))?;
        run.serialize_element(&column(labels.iter().map(|l| self.text(&l.value))))?;
        run.serialize_element(&column(labels.iter().map(|l| l.duration_ms)))?;
        run.serialize_element(&column(steps(labels.iter().map(|l| l.created_at))))?;
        run.serialize_element(&column(labels.iter().map(|l| l.prediction_shown)))?;
        run.serialize_element(&column(labels.iter().map(|l| l.guideline_version)))?;
        run.serialize_element(&external_ids(labels))?;
        run.end()
    }
}

impl<'a> RunEncoding<'a, '_> {
    fn text(&self, text: &'a str) -> u32 {
        self.texts.borrow_mut().of(text)
    }
}

/// A sequence written from an iterator as it is drawn.
struct Column<I>(RefCell<Option<I>>);

fn column<I: ExactSizeIterator>(items: I) -> Column<I> {
    Column(RefCell::new(Some(items)))
}

impl<I> Serialize for Column<I>
where
    I: ExactSizeIterator,
    I::Item: Serialize,
{
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        match self.0.borrow_mut().take() {
            Some(items) => serializer.collect_seq(items),
            None => Err(serde::ser::Error::custom("a column is written once")),
        }
    }
}

/// Texts in the order first met, each given an index once. The labels of an input share
/// their texts, so a text is found by its address: hashing the text of every label's
/// rater, pool and value took longer than the rest of the encoding. (A text held twice is
/// stored twice, and reads back the same.)
#[derive(Default)]
struct Texts<'a> {
    index: foldhash::HashMap<(*const u8, usize), u32>,
    texts: Vec<&'a str>,
}

impl<'a> Texts<'a> {
    fn of(&mut self, text: &'a str) -> u32 {
        let next = self.texts.len() as u32;
        *self
            .index
            .entry((text.as_ptr(), text.len()))
            .or_insert_with(|| {
                self.texts.push(text);
                next
            })
    }
}

/// The stored form of `input` and its coverage.
fn encode(input: &ReportInput, coverage: &Coverage) -> Option<Vec<u8>> {
    let encoding = Encoding {
        input,
        coverage,
        texts: RefCell::default(),
    };
    postcard::to_stdvec(&encoding).ok()
}

/// Each value less the one before it (the first less zero).
fn steps(values: impl ExactSizeIterator<Item = i64>) -> impl ExactSizeIterator<Item = i64> {
    let mut last = 0i64;
    values.map(move |value| {
        let step = value.wrapping_sub(last);
        last = value;
        step
    })
}

/// The external id of each item that has one, once per item.
fn external_ids(labels: &[LabelRecord]) -> Vec<(i64, &str)> {
    let mut ids: Vec<(i64, &str)> = Vec::new();
    for label in labels {
        if let Some(external_id) = &label.external_id {
            if ids.last().map(|(item, _)| *item) != Some(label.item_id) {
                ids.push((label.item_id, external_id));
            }
        }
    }
    ids
}

/// Each column's labels take at least a byte each.
const LEAST_BYTES_A_LABEL: usize = 8;

/// The input and coverage stored in `bytes`; `None` when they are not a whole stored input.
/// The runs are read back on threads of their own, the first on this one, which then makes
/// the rest of the input while the others finish.
fn decode(bytes: &[u8]) -> Option<(ReportInput, Coverage)> {
    let mut body: Body = postcard::from_bytes(bytes).ok()?;
    let texts: Vec<SharedText> = body
        .texts
        .iter()
        .map(|&text| SharedText::from(text))
        .collect();
    // A count that the bytes cannot hold is not trusted with an allocation.
    let count = usize::try_from(body.labels).ok()?;
    let room = count.min(bytes.len() / LEAST_BYTES_A_LABEL);
    let runs = std::mem::take(&mut body.runs);
    let (first, later) = runs.split_first()?;
    let (runs, input) = std::thread::scope(|scope| {
        let texts = &texts;
        let later: Vec<_> = (later.iter())
            .map(|run| scope.spawn(move || labels_of_run(run.0, texts, 0)))
            .collect();
        let first = labels_of_run(first.0, texts, room);
        let input = rest_of(body, texts);
        let later: Vec<_> = (later.into_iter())
            .map(|handle| handle.join().ok().flatten())
            .collect();
        (
            std::iter::once(first)
                .chain(later)
                .collect::<Option<Vec<_>>>(),
            input,
        )
    });
    let (mut input, mut coverage) = input?;
    let mut runs = runs?.into_iter();
    // The first run's labels were given room for all: the others join them there.
    let (labels, mut values) = runs.next()?;
    input.labels = labels;
    for (labels, run_values) in runs {
        input.labels.extend(labels);
        values
            .iter_mut()
            .zip(run_values)
            .for_each(|(all, run)| *all |= run);
    }
    if input.labels.len() != count {
        return None;
    }
    // Later labels share the values these labels have, as after a read of all.
    for (text, value) in texts.iter().zip(values) {
        if value {
            coverage.names.values.keep(text.clone());
        }
    }
    Some((input, coverage))
}

/// The labels stored in a run's `bytes`, room made for `room`, with which texts are
/// values (by index).
fn labels_of_run(
    bytes: &[u8],
    texts: &[SharedText],
    room: usize,
) -> Option<(Vec<LabelRecord>, Vec<bool>)> {
    let run: Run = postcard::from_bytes(bytes).ok()?;
    let count = run.item_step.len();
    let columns = [
        run.rater.len(),
        run.pool.len(),
        run.value.len(),
        run.duration_ms.len(),
        run.created_step.len(),
        run.prediction_shown.len(),
        run.guideline_version.len(),
    ];
    if columns.iter().any(|&len| len != count) {
        return None;
    }
    let text = |index: u32| texts.get(index as usize).cloned();
    // Each text as a pool, looked at once rather than once a label.
    let pools: Vec<Option<Pool>> = (texts.iter()).map(|text| Pool::parse(text).ok()).collect();
    let external_ids: foldhash::HashMap<i64, SharedText> = (run.external_ids.into_iter())
        .map(|(item, id)| (item, SharedText::from(id)))
        .collect();
    let mut values = vec![false; texts.len()];
    let mut labels = Vec::with_capacity(room.max(count));
    let (mut item_id, mut created_at) = (0i64, 0i64);
    let mut external_id: Option<SharedText> = None;
    for n in 0..count {
        let item = item_id.wrapping_add(run.item_step[n]);
        if n == 0 || item != item_id {
            external_id = external_ids.get(&item).cloned();
        }
        item_id = item;
        created_at = created_at.wrapping_add(run.created_step[n]);
        let value = run.value[n];
        labels.push(LabelRecord {
            item_id,
            external_id: external_id.clone(),
            rater: text(run.rater[n])?,
            pool: (*pools.get(run.pool[n] as usize)?)?,
            value: text(value)?,
            duration_ms: run.duration_ms[n],
            created_at,
            prediction_shown: run.prediction_shown[n],
            guideline_version: run.guideline_version[n],
        });
        values[value as usize] = true;
    }
    Some((labels, values))
}

/// The input stored in `body` but its labels, and its coverage.
fn rest_of(body: Body<'_>, texts: &[SharedText]) -> Option<(ReportInput, Coverage)> {
    let text = |index: u32| texts.get(index as usize).cloned();
    let mut coverage = Coverage::default();
    coverage.read.labels = body.labels_read;
    coverage.read.last_id = body.last_id;
    coverage.left_out = body.left_out.into_iter().collect();
    for (id, pseudonym) in body.raters {
        coverage.names.known.insert(id, text(pseudonym)?);
    }
    let input = ReportInput {
        gold: body.gold.into_iter().collect(),
        predictions: body.predictions.into_iter().collect(),
        settled_generalist: body.settled.into_iter().collect(),
        items: body.items,
        adjudications: (body.adjudications.into_iter())
            .map(|(id, value, reviewer, reason)| {
                let last = FinalLabel {
                    value,
                    reviewer,
                    reason,
                };
                (id, last)
            })
            .collect(),
        ..ReportInput::default()
    };
    Some((input, coverage))
}

/// A stored input as read back: the version it was read at, and it.
pub struct Stored {
    pub version: InputVersion,
    pub input: ReportInput,
    pub coverage: Coverage,
}

/// A project whose report a server may keep prepared, and the time of its last label (ms
/// since the epoch).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LastLabelled {
    pub project_id: i64,
    pub last_label_at: Option<i64>,
    /// Whether an input of the project is stored in the layout this build reads.
    pub stored: bool,
}

impl Store {
    /// The input stored for `project_id` when `usable` takes its version and it reads
    /// back whole. The version is read first: a stored input of another is not read.
    pub(super) async fn stored_input(
        &self,
        project_id: i64,
        usable: impl Fn(&InputVersion) -> bool,
    ) -> Result<Option<Stored>> {
        let version = self.stored_input_version(project_id).await?;
        let Some(version) = version.filter(usable) else {
            return Ok(None);
        };
        // Another process may have stored another version since.
        let body_sql = "SELECT body FROM report_inputs WHERE project_id = $1 AND format = $2
            AND generation = $3 AND revision IS NOT DISTINCT FROM $4 AND labels = $5
            AND items = $6 AND shared_generation = $7";
        let body: Option<Vec<u8>> = on_pool!(self, pool => {
            sqlx::query_scalar(body_sql)
                .bind(project_id)
                .bind(FORMAT)
                .bind(version.generation)
                .bind(version.revision)
                .bind(version.labels)
                .bind(version.items)
                .bind(version.shared)
                .fetch_optional(pool)
                .await?
        });
        let Some(body) = body else {
            return Ok(None);
        };
        let decoded = tokio::task::spawn_blocking(move || decode(&body)).await?;
        if decoded.is_none() {
            tracing::warn!(
                project_id,
                "a stored report input did not read back; reading the labels"
            );
        }
        Ok(decoded.map(|(input, coverage)| Stored {
            version,
            input,
            coverage,
        }))
    }

    /// The version of the input stored for `project_id` in the layout this build reads.
    pub async fn stored_input_version(&self, project_id: i64) -> Result<Option<InputVersion>> {
        type VersionRow = (i64, i64, Option<i64>, i64, i64);
        let version_sql = "SELECT shared_generation, generation, revision, labels, items
            FROM report_inputs WHERE project_id = $1 AND format = $2";
        let row: Option<VersionRow> = on_pool!(self, pool => {
            sqlx::query_as(version_sql).bind(project_id).bind(FORMAT).fetch_optional(pool).await?
        });
        Ok(row.map(
            |(shared, generation, revision, labels, items)| InputVersion {
                shared,
                generation,
                revision,
                labels,
                items,
            },
        ))
    }

    /// Of the projects with a report input stored in the layout this build reads, or with as
    /// many labels as a read of all would store, the one labelled last (by the raters'
    /// tallies), if any, with the time of its last label.
    pub async fn last_labelled_big_project(&self) -> Result<Option<LastLabelled>> {
        let sql = "SELECT project_id, stored, last_at FROM (
                SELECT project_id, stored,
                    (SELECT max(t.last_label_at) FROM rater_tallies t
                     WHERE t.project_id = candidate.project_id) AS last_at
                FROM (SELECT p.id AS project_id,
                          EXISTS (SELECT 1 FROM report_inputs r
                                  WHERE r.project_id = p.id AND r.format = $1) AS stored,
                          (SELECT CAST(coalesce(sum(c.labels), 0) AS BIGINT)
                           FROM progress_counts c WHERE c.project_id = p.id) AS labels
                      FROM projects p) candidate
                WHERE stored OR labels >= $2) labelled
            ORDER BY coalesce(last_at, 0) DESC, project_id DESC
            LIMIT 1";
        let store_from = self.caches().report_input.store_from();
        let row: Option<(i64, bool, Option<i64>)> = on_pool!(self, pool => {
            sqlx::query_as(sql).bind(FORMAT).bind(store_from).fetch_optional(pool).await?
        });
        Ok(row.map(|(project_id, stored, last_label_at)| LastLabelled {
            project_id,
            last_label_at,
            stored,
        }))
    }

    /// Stores the project's input in the background, a moment after it was read whole (or
    /// prepared by the report keeper) at `labels` labels, when the project is big enough for
    /// reading it back to beat reading the labels. What is stored is the input this process keeps for the project by then
    /// (with any labels read onto it since), at its own version: holding on to the input
    /// read would make the next report after new labels copy it instead of adding to it.
    pub fn store_input(&self, project_id: i64, labels: i64) {
        let kept = &self.caches().report_input;
        if labels < kept.store_from() || !kept.keeps(labels) {
            return;
        }
        let store = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(STORE_AFTER).await;
            let Some((version, input, coverage)) = store.caches().report_input.current(project_id)
            else {
                return;
            };
            let stored = async {
                match tokio::task::spawn_blocking(move || encode(&input, &coverage)).await? {
                    Some(body) => store.write_stored_input(project_id, version, body).await,
                    None => Ok(()),
                }
            };
            if let Err(e) = stored.await {
                tracing::warn!(project_id, error = %e, "storing a report input failed");
            }
        });
    }

    async fn write_stored_input(
        &self,
        project_id: i64,
        version: InputVersion,
        body: Vec<u8>,
    ) -> Result<()> {
        in_write_tx!(self, tx, _lock => {
            sqlx::query(
                "INSERT INTO report_inputs (project_id, format, generation, revision, labels, items,
                     body, shared_generation)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                 ON CONFLICT (project_id) DO UPDATE SET format = excluded.format,
                     generation = excluded.generation, revision = excluded.revision,
                     labels = excluded.labels, items = excluded.items, body = excluded.body,
                     shared_generation = excluded.shared_generation",
            )
            .bind(project_id)
            .bind(FORMAT)
            .bind(version.generation)
            .bind(version.revision)
            .bind(version.labels)
            .bind(version.items)
            .bind(body)
            .bind(version.shared)
            .execute(&mut *tx)
            .await?;
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An input with every field a report reads, and labels sharing their texts.
    fn sample() -> (ReportInput, Coverage) {
        let mut input = ReportInput::default();
        let (a, b): (SharedText, SharedText) = ("ant".into(), "bee".into());
        let doc: SharedText = "doc-7".into();
        // As a read shares them; the last label's value is the same text held apart.
        let pos: SharedText = "\"pos\"".into();
        for (item, rater, value, created_at) in [
            (3, &a, pos.clone(), 1_700_000_000_000),
            (3, &b, "\"neg\"".into(), 1_699_999_999_000),
            (7, &a, "{\"spans\":[]}".into(), 1_700_000_500_000),
            (9, &b, pos, 5),
            (9, &a, "\"pos\"".into(), 6),
        ] {
            input.labels.push(LabelRecord {
                item_id: item,
                external_id: (item == 7).then(|| doc.clone()),
                rater: rater.clone(),
                pool: if item == 9 {
                    Pool::Expert
                } else {
                    Pool::Generalist
                },
                value,
                duration_ms: (item != 9).then_some(1_200),
                created_at,
                prediction_shown: (item == 3).then_some(true),
                guideline_version: Some(2),
            });
        }
        input.items = 12;
        input.gold.insert(3, "\"pos\"".into());
        input.predictions.insert(9, "\"neg\"".into());
        input.settled_generalist.insert(3, 2);
        input.adjudications.insert(
            9,
            FinalLabel {
                value: "\"neg\"".into(),
                reviewer: "rev".into(),
                reason: "checked".into(),
            },
        );
        let mut coverage = Coverage::default();
        coverage.read.labels = 5;
        coverage.read.last_id = 41;
        coverage.left_out.insert(5, 3);
        coverage.names.known.insert(11, a);
        coverage.names.known.insert(12, b);
        (input, coverage)
    }

    fn fields(label: &LabelRecord) -> String {
        format!("{label:?}")
    }

    /// What is stored reads back as the same input and coverage, field for field, with each
    /// text shared by the labels that name it.
    #[test]
    fn a_stored_input_reads_back_as_it_was() {
        let (input, coverage) = sample();
        let bytes = encode(&input, &coverage).expect("bytes");
        let (back, back_coverage) = decode(&bytes).expect("reads back");
        assert_eq!(
            back.labels.iter().map(fields).collect::<Vec<_>>(),
            input.labels.iter().map(fields).collect::<Vec<_>>()
        );
        assert!(SharedText::ptr_eq(
            &back.labels[0].rater,
            &back.labels[2].rater
        ));
        assert!(SharedText::ptr_eq(
            &back.labels[0].value,
            &back.labels[3].value
        ));
        assert!(SharedText::ptr_eq(
            &back.labels[0].rater,
            &back_coverage.names.known[&11]
        ));
        assert_eq!(back.gold, input.gold);
        assert_eq!(back.predictions, input.predictions);
        assert_eq!(back.settled_generalist, input.settled_generalist);
        assert_eq!(back.items, 12);
        let adjudication = &back.adjudications[&9];
        assert_eq!(
            (
                &*adjudication.value,
                &*adjudication.reviewer,
                &*adjudication.reason
            ),
            ("\"neg\"", "rev", "checked")
        );
        assert_eq!(back_coverage.read, coverage.read);
        assert_eq!(back_coverage.left_out, coverage.left_out);
        assert_eq!(back_coverage.names.known.len(), 2);
    }

    /// Bytes that are not a whole stored input read back as nothing, never as a panic.
    #[test]
    fn damaged_bytes_read_back_as_nothing() {
        let (input, coverage) = sample();
        let bytes = encode(&input, &coverage).expect("bytes");
        for cut in [0, 1, bytes.len() / 2, bytes.len() - 1] {
            assert!(decode(&bytes[..cut]).is_none(), "cut at {cut}");
        }
        // The first run changed by `change`, the rest of the input as it was.
        let changed = |change: &dyn Fn(&mut Run)| {
            let mut body: Body = postcard::from_bytes(&bytes).expect("body");
            let mut run: Run = postcard::from_bytes(body.runs[0].0).expect("run");
            change(&mut run);
            let run = postcard::to_stdvec(&run).expect("run bytes");
            body.runs[0] = Bytes(&run);
            postcard::to_stdvec(&body).expect("bytes")
        };
        let uneven = changed(&|run| {
            run.value.pop();
        });
        assert!(
            decode(&uneven).is_none(),
            "a column shorter than the others"
        );
        let out_of_range = changed(&|run| run.value[0] = 999);
        assert!(decode(&out_of_range).is_none(), "a text that is not there");
        let not_a_pool = changed(&|run| run.pool[0] = run.value[0]);
        assert!(decode(&not_a_pool).is_none(), "a pool that is not one");
        let fewer = changed(&|run| {
            for column in [&mut run.rater, &mut run.pool, &mut run.value] {
                column.pop();
            }
            run.item_step.pop();
            run.duration_ms.pop();
            run.created_step.pop();
            run.prediction_shown.pop();
            run.guideline_version.pop();
        });
        assert!(decode(&fewer).is_none(), "fewer labels than the input had");
        let mut body: Body = postcard::from_bytes(&bytes).expect("body");
        body.labels = u64::MAX;
        let huge = postcard::to_stdvec(&body).expect("bytes");
        assert!(decode(&huge).is_none(), "more labels than the bytes hold");
        body.labels = 5;
        body.runs.clear();
        let no_runs = postcard::to_stdvec(&body).expect("bytes");
        assert!(decode(&no_runs).is_none(), "no runs");
    }

    /// The labels are stored in two runs, read back side by side into one input in their
    /// order, whatever their number.
    #[test]
    fn an_input_reads_back_from_runs_in_order() {
        let (mut input, coverage) = sample();
        let more: Vec<LabelRecord> = (input.labels.iter().cycle().take(6))
            .enumerate()
            .map(|(n, label)| {
                let item_id = 20 + n as i64 / 2;
                LabelRecord {
                    item_id,
                    // An item's labels share its external id.
                    external_id: (item_id % 2 == 1).then(|| format!("doc-{item_id}").into()),
                    ..label.clone()
                }
            })
            .collect();
        input.labels.extend(more);
        for count in 0..=input.labels.len() {
            let mut part = input.clone();
            part.labels.truncate(count);
            let bytes = encode(&part, &coverage).expect("bytes");
            let body: Body = postcard::from_bytes(&bytes).expect("body");
            assert_eq!(body.runs.len(), RUNS.min(count.max(1)), "{count} labels");
            let (back, _) = decode(&bytes).expect("reads back");
            assert_eq!(
                back.labels.iter().map(fields).collect::<Vec<_>>(),
                part.labels.iter().map(fields).collect::<Vec<_>>(),
                "{count} labels"
            );
        }
    }
}
