//! Items: import (all or nothing) and lookup.

use std::collections::{HashMap, HashSet};

use futures::TryStreamExt;
use serde_json::{Map, Value};
use sqlx::types::Json;
use sqlx::FromRow;
use tracing::instrument;

use super::audit::record_audit;
use super::media::INSERT_MEDIA;
use super::{in_bulk_write_tx, in_write_tx, on_pool, Store};
use crate::domain::audit::Entry;
use crate::domain::import::NewItem;
use crate::domain::import_check::{content_key, hash_key};
use crate::domain::kinds::to_stored;
use crate::domain::media::Upload;
use crate::domain::now_ms;
use crate::domain::policy::random_key;
use crate::domain::project::Project;
use crate::error::{is_unique_violation, AppError, Result};

/// An item as the store holds it for raters: never its gold answer. What a rater is shown
/// of it (hidden fields, the pre-label) is decided by the project's presentation.
#[derive(Debug, Clone, FromRow)]
pub struct ItemView {
    pub id: i64,
    pub external_id: Option<String>,
    #[sqlx(json)]
    pub data: Map<String, Value>,
    /// A model's pre-label, as stored (canonical JSON text).
    #[sqlx(default)]
    pub prediction: Option<String>,
}

impl ItemView {
    /// An item from a row of SQLite's own connection: id, external id, data, prediction.
    pub(super) fn from_sqlite(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok(ItemView {
            id: row.get(0)?,
            external_id: row.get(1)?,
            data: super::sqlite_read::json_column(row, 2)?.unwrap_or_default(),
            prediction: row.get(3)?,
        })
    }

    /// The text to show: `data.text` when present, otherwise the data as JSON.
    pub fn display_text(&self) -> String {
        match self.data.get("text") {
            Some(Value::String(text)) => text.clone(),
            _ => serde_json::to_string_pretty(&self.data).unwrap_or_default(),
        }
    }
}

/// Items are written this many to a statement: 16 values each stays far below either
/// backend's limit on bound values, and one statement per row was most of an import's time.
const IMPORT_BATCH_ROWS: usize = 500;

/// Followed by the rows' `VALUES` and `RETURNING id, position`.
const INSERT_ITEMS_SQL: &str =
    "INSERT INTO items (project_id, external_id, data, gold, position, created_at,
         need_generalist, need_expert, need_user, priority, random_key, is_gold,
         is_qualification, explanation, prediction, content_key) ";

/// What an import adds to its project's progress when its rows are in (on SQLite, whose
/// insert trigger passes them over meanwhile): its items as they were stored, none of
/// them labelled yet. Labels that came with them were counted by the update trigger, as
/// changes to those items.
const ADD_IMPORTED_PROGRESS_SQL: &str =
    "INSERT INTO progress_counts (project_id, slot, items, labels, complete, in_progress, untouched)
     VALUES ($1, 0, $2, 0, $3, 0, $2)
     ON CONFLICT (project_id, slot) DO UPDATE SET
         items = items + excluded.items,
         complete = complete + excluded.complete,
         untouched = untouched + excluded.untouched";

/// The counted items of an import as they are stored (gold and qualification items are
/// not counted): all untouched, and complete when the policy wants no labels of them.
#[derive(Debug, Default)]
struct ImportProgress {
    items: i64,
    complete: i64,
}

impl ImportProgress {
    fn add(&mut self, labels_wanted: i64) {
        self.items += 1;
        if labels_wanted == 0 {
            self.complete += 1;
        }
    }
}

/// An item stored without a content key: its id, data and hex hash, if it has one.
type Unkeyed = (i64, Json<Map<String, Value>>, Option<String>);

/// A rater who only holds imported labels: scoped to the project, no password.
const INSERT_IMPORTED_RATER_SQL: &str =
    "INSERT INTO users (name, role, pool, expertise, password_hash, pseudonym, created_at, scope_project_id)
     VALUES ($1, 'rater', 'generalist', $2, NULL, $3, $4, $5) RETURNING id";

/// Imported labels are recorded under the guidelines current when they arrive.
const INSERT_IMPORTED_LABEL_SQL: &str =
    "INSERT INTO labels (project_id, item_id, rater_id, value, duration_ms, created_at, pool, guideline_version)
     VALUES ($1, $2, $3, $4, $5, $6, 'generalist', (SELECT guideline_version FROM projects WHERE id = $1))";

/// An imported label fills one of the item's generalist slots, as a label given in tally
/// would; an item given more labels than it wants simply wants no more.
const COUNT_IMPORTED_LABEL_SQL: &str =
    "UPDATE items SET need_generalist = CASE WHEN need_generalist > 0 THEN need_generalist - 1 ELSE 0 END,
         label_count = label_count + 1
     WHERE id = $1";

/// The user name and export pseudonym of an imported annotator (`ls-annotator-3`) in a
/// project: `ls:7:ls-annotator-3` and `ls-annotator-3.p7`, unique across projects.
fn imported_rater_names(project_id: i64, annotator: &str) -> (String, String) {
    (
        format!("ls:{project_id}:{annotator}"),
        format!("{annotator}.p{project_id}"),
    )
}

/// The refusal for `external_id`, already in the project, naming the line that repeats it.
fn duplicate_in(batch: &[NewItem], external_id: &str) -> AppError {
    let line = batch
        .iter()
        .find(|item| item.external_id.as_deref() == Some(external_id))
        .map(|item| format!("line {}: ", item.line))
        .unwrap_or_default();
    AppError::Conflict(format!(
        "{line}an item with external_id {external_id:?} is already in this project; nothing was imported"
    ))
}

/// A duplicate that only the insert found: another import stored the same id meanwhile.
fn duplicate_in_batch(batch: &[NewItem]) -> AppError {
    let (first, last) = match (batch.first(), batch.last()) {
        (Some(first), Some(last)) => (first.line, last.line),
        _ => (0, 0),
    };
    AppError::Conflict(format!(
        "lines {first} to {last}: an item with one of their external ids was stored meanwhile; nothing was imported"
    ))
}

impl Store {
    /// Stores every item or none: the whole import is one transaction, and a duplicate
    /// external_id names the line it came from.
    pub async fn import_items(
        &self,
        project: &Project,
        items: &[NewItem],
        entry: &Entry,
    ) -> Result<usize> {
        self.import_items_with_media(project, &[], items, entry)
            .await
    }

    /// [`Store::import_items`] with the images a zip import brought: images and items are
    /// stored in one transaction, so the import lands whole or not at all.
    pub async fn import_items_with_media(
        &self,
        project: &Project,
        media: &[Upload],
        items: &[NewItem],
        entry: &Entry,
    ) -> Result<usize> {
        let (sender, chunks) = tokio::sync::mpsc::channel(1);
        sender
            .send(Ok(items.to_vec()))
            .await
            .map_err(|_| AppError::Internal(anyhow::anyhow!("import channel closed")))?;
        drop(sender);
        self.import_item_chunks(project, media, chunks, entry).await
    }

    /// Stores items as they arrive in chunks, all in one transaction: memory holds one
    /// chunk, not the file, and an error sent in place of a chunk (a bad row found late)
    /// rolls everything back. Labels that come with items (Label Studio annotations) are
    /// stored by project-scoped raters without a password, who cannot sign in. The audit
    /// entry, with the count added to its details, commits with the items.
    #[instrument(skip_all, fields(project = project.id, media = media.len()))]
    pub async fn import_item_chunks(
        &self,
        project: &Project,
        media: &[Upload],
        mut chunks: tokio::sync::mpsc::Receiver<Result<Vec<NewItem>>>,
        entry: &Entry,
    ) -> Result<usize> {
        let now = now_ms();
        let position_sql = "SELECT coalesce(max(position), 0) FROM items WHERE project_id = $1";
        let stored_ids_sql =
            "SELECT 1 FROM items WHERE project_id = $1 AND external_id >= '' LIMIT 1";
        let policy = &project.policy;
        // SQLite's insert trigger would count the project's progress once a row; while the
        // transaction holds the project's `item_imports` row it passes the items over, and
        // they are counted at the end (PostgreSQL's trigger runs once a statement).
        let counts_at_end = matches!(self, Store::Sqlite(_));
        let imported = in_bulk_write_tx!(self, tx, _lock => {
            for upload in media {
                sqlx::query(INSERT_MEDIA)
                    .bind(project.id)
                    .bind(&upload.sha256)
                    .bind(upload.content_type)
                    .bind(i64::from(upload.width))
                    .bind(i64::from(upload.height))
                    .bind(upload.bytes.len() as i64)
                    .bind(upload.name.as_deref())
                    .bind(&upload.bytes[..])
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
            }
            let start: i64 = sqlx::query_scalar(position_sql)
                .bind(project.id)
                .fetch_one(&mut *tx)
                .await?;
            let held_ids = sqlx::query_scalar::<_, i32>(stored_ids_sql)
                .bind(project.id)
                .fetch_optional(&mut *tx)
                .await?
                .is_some();
            if counts_at_end {
                sqlx::query("INSERT INTO item_imports (project_id) VALUES ($1)")
                    .bind(project.id)
                    .execute(&mut *tx)
                    .await?;
            }
            let mut count: i64 = 0;
            let mut progress = ImportProgress::default();
            let mut raters: HashMap<String, i64> = HashMap::new();
            while let Some(chunk) = chunks.recv().await {
                let chunk = chunk?;
                for batch in chunk.chunks(IMPORT_BATCH_ROWS) {
                    // Ids the file repeats are refused as it is read; ids the project
                    // held before are looked for only if it held any.
                    let held: Vec<&str> = match held_ids {
                        true => batch.iter().filter_map(|item| item.external_id.as_deref()).collect(),
                        false => Vec::new(),
                    };
                    if !held.is_empty() {
                        let mut taken = sqlx::QueryBuilder::new(
                            "SELECT external_id FROM items WHERE project_id = ",
                        );
                        taken.push_bind(project.id).push(" AND external_id IN (");
                        let mut ids = taken.separated(", ");
                        for id in held {
                            ids.push_bind(id);
                        }
                        ids.push_unseparated(") LIMIT 1");
                        let found: Option<String> =
                            taken.build_query_scalar().fetch_optional(&mut *tx).await?;
                        if let Some(found) = found {
                            return Err(duplicate_in(batch, &found));
                        }
                    }
                    let first = start + count + 1;
                    count += batch.len() as i64;
                    let mut insert = sqlx::QueryBuilder::new(INSERT_ITEMS_SQL);
                    insert.push_values(batch.iter().zip(first..), |mut row, (item, position)| {
                        let is_gold = item.gold.is_some() && policy.gold_rate > 0.0;
                        let needs = policy.initial_needs(is_gold || item.qualification);
                        if !is_gold && !item.qualification {
                            progress.add(needs.generalist + needs.expert + needs.user);
                        }
                        row.push_bind(project.id)
                            .push_bind(item.external_id.as_deref())
                            .push_bind(Json(&item.data))
                            .push_bind(item.gold.as_ref().map(to_stored))
                            .push_bind(position)
                            .push_bind(now)
                            .push_bind(needs.generalist)
                            .push_bind(needs.expert)
                            .push_bind(needs.user)
                            .push_bind(item.priority)
                            .push_bind(random_key(policy.seed, position))
                            .push_bind(is_gold && !item.qualification)
                            .push_bind(item.qualification)
                            .push_bind(item.explanation.as_deref())
                            .push_bind(item.prediction.as_ref().map(to_stored))
                            .push_bind(content_key(&item.data) as i64);
                    });
                    let annotated = batch.iter().any(|item| !item.annotations.is_empty());
                    let inserted: Vec<(i64, i64)> = if annotated {
                        insert.push(" RETURNING id, position");
                        insert.build_query_as().fetch_all(&mut *tx).await
                    } else {
                        insert.build().execute(&mut *tx).await.map(|_| Vec::new())
                    }
                    .map_err(|e| {
                        if is_unique_violation(&e) {
                            duplicate_in_batch(batch)
                        } else {
                            e.into()
                        }
                    })?;
                    let ids: HashMap<i64, i64> =
                        inserted.into_iter().map(|(id, position)| (position, id)).collect();
                    for (item, position) in batch.iter().zip(first..) {
                        if item.annotations.is_empty() {
                            continue;
                        }
                        let item_id = ids.get(&position).copied().ok_or_else(|| {
                            AppError::Internal(anyhow::anyhow!("imported item {position} has no id"))
                        })?;
                        for annotation in &item.annotations {
                            let rater_id = match raters.get(&annotation.rater) {
                                Some(&id) => id,
                                None => {
                                    let names = imported_rater_names(project.id, &annotation.rater);
                                    let existing: Option<i64> = sqlx::query_scalar("SELECT id FROM users WHERE name = $1")
                                        .bind(&names.0)
                                        .fetch_optional(&mut *tx)
                                        .await?;
                                    let id = match existing {
                                        Some(id) => id,
                                        None => sqlx::query_scalar(INSERT_IMPORTED_RATER_SQL)
                                            .bind(&names.0)
                                            .bind(Json(Vec::<String>::new()))
                                            .bind(&names.1)
                                            .bind(now)
                                            .bind(project.id)
                                            .fetch_one(&mut *tx)
                                            .await?,
                                    };
                                    raters.insert(annotation.rater.clone(), id);
                                    id
                                }
                            };
                            sqlx::query(INSERT_IMPORTED_LABEL_SQL)
                                .bind(project.id)
                                .bind(item_id)
                                .bind(rater_id)
                                .bind(to_stored(&annotation.value))
                                .bind(annotation.duration_ms)
                                .bind(annotation.created_at_ms.unwrap_or(now))
                                .execute(&mut *tx)
                                .await?;
                            sqlx::query(COUNT_IMPORTED_LABEL_SQL)
                                .bind(item_id)
                                .execute(&mut *tx)
                                .await?;
                        }
                    }
                }
            }
            if counts_at_end {
                sqlx::query(ADD_IMPORTED_PROGRESS_SQL)
                    .bind(project.id)
                    .bind(progress.items)
                    .bind(progress.complete)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("DELETE FROM item_imports WHERE project_id = $1")
                    .bind(project.id)
                    .execute(&mut *tx)
                    .await?;
            }
            let mut details = match &entry.details {
                Value::Object(map) => map.clone(),
                _ => Map::new(),
            };
            details.insert("imported".into(), Value::from(count));
            if !media.is_empty() {
                details.insert("images".into(), Value::from(media.len()));
            }
            let entry = entry
                .clone()
                .project(project.id)
                .target("project", project.id)
                .details(Value::Object(details));
            record_audit(&mut tx, &entry).await?;
            count as usize
        });
        self.refresh_statistics_after_import(imported).await?;
        Ok(imported)
    }

    /// The content keys of a project's items ([`crate::domain::import_check::content_key`]),
    /// keying first any item stored without one.
    #[instrument(skip_all, fields(project = project_id))]
    pub async fn content_keys(&self, project_id: i64) -> Result<HashSet<u64>> {
        self.backfill_content_keys(project_id).await?;
        let sql = "SELECT content_key FROM items WHERE project_id = $1 AND content_key IS NOT NULL";
        let mut keys = HashSet::new();
        on_pool!(self, pool => {
            let mut rows = sqlx::query_scalar::<_, i64>(sql).bind(project_id).fetch(pool);
            while let Some(key) = rows.try_next().await? {
                keys.insert(key as u64);
            }
        });
        Ok(keys)
    }

    /// Keys the items stored before keys were kept: from the hex hash an item holds (which
    /// is cleared), or else from its data.
    async fn backfill_content_keys(&self, project_id: i64) -> Result<()> {
        let select = "SELECT id, data, content_hash FROM items
                       WHERE project_id = $1 AND content_key IS NULL LIMIT 1000";
        let update = "UPDATE items SET content_key = $1, content_hash = NULL WHERE id = $2";
        loop {
            let done = in_write_tx!(self, tx, _lock => {
                let rows: Vec<Unkeyed> =
                    sqlx::query_as(select).bind(project_id).fetch_all(&mut *tx).await?;
                for (id, data, hash) in &rows {
                    let key = hash
                        .as_deref()
                        .and_then(hash_key)
                        .unwrap_or_else(|| content_key(&data.0));
                    sqlx::query(update)
                        .bind(key as i64)
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                }
                rows.len() < 1000
            });
            if done {
                return Ok(());
            }
        }
    }

    /// PostgreSQL plans `next` from table statistics; after a large import they are stale
    /// until autovacuum runs, and a stale plan sorts every open item on each request.
    async fn refresh_statistics_after_import(&self, imported: usize) -> Result<()> {
        if let Store::Postgres(backend) = self {
            if imported >= 100 {
                sqlx::query("ANALYZE items").execute(&backend.pool).await?;
            }
        }
        Ok(())
    }

    /// An item of a project, as a rater sees it.
    pub async fn item(&self, project_id: i64, item_id: i64) -> Result<ItemView> {
        let sql =
            "SELECT id, external_id, data, prediction FROM items WHERE id = $1 AND project_id = $2";
        let item = on_pool!(self, pool => {
            sqlx::query_as::<_, ItemView>(sql)
                .bind(item_id)
                .bind(project_id)
                .fetch_optional(pool)
                .await?
        });
        item.ok_or_else(|| AppError::not_found("item"))
    }
}
