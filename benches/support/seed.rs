//! A big single-choice project written straight into SQLite's tables, for the benches that
//! need one: seeding through the label gate would take far longer than what they measure.

use tally::domain::audit::{Action, Entry};
use tally::domain::project::NewProject;
use tally::domain::user::Role;
use tally::Store;

/// The shape of a seeded project.
pub struct Shape {
    pub items: i64,
    /// How many of the items (the first ones) have their labels; the rest have none.
    pub labelled: i64,
    /// Labels on each labelled item, and the project's overlap.
    pub per_item: i64,
    pub overlap: i64,
    pub raters: i64,
}

/// The three statements that write items, labels and completions, in each dialect.
struct Dialect {
    items: &'static str,
    labels: &'static str,
    completions: &'static str,
}

const SQLITE: Dialect = Dialect {
    items: "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $2)
         INSERT INTO items (project_id, external_id, data, position, need_generalist, label_count, created_at)
         SELECT $1, 'doc-' || i,
                json_object('text', 'Review number ' || i || ': the product arrived on time and works as described, mostly.',
                            'source', CASE i % 3 WHEN 0 THEN 'web' WHEN 1 THEN 'app' ELSE 'email' END,
                            'stars', i % 5 + 1),
                i,
                CASE WHEN i <= $3 THEN $5 - $4 ELSE $5 END,
                CASE WHEN i <= $3 THEN $4 ELSE 0 END,
                1764000000000
         FROM n",
    labels: "WITH RECURSIVE k(j) AS (SELECT 0 UNION ALL SELECT j + 1 FROM k WHERE j < $3 - 1)
         INSERT INTO labels (project_id, item_id, rater_id, value, duration_ms, created_at, pool, guideline_version)
         SELECT $1, i.id, $2 + ((i.id * $3 + k.j) % $4),
                CASE abs(random()) % 5 WHEN 0 THEN '\"neg\"' WHEN 1 THEN '\"neutral\"' ELSE '\"pos\"' END,
                800 + abs(random()) % 4000, 1764000000000 + i.id * 1000 + k.j, 'generalist', 1
         FROM items i CROSS JOIN k WHERE i.project_id = $1 AND i.position <= $5",
    completions: "INSERT INTO webhook_completions (project_id, item_id, completed_at)
             SELECT project_id, id, 1764000000000 + id * 1000 FROM items
             WHERE project_id = $1 AND position <= $2 ORDER BY id",
};

const POSTGRES: Dialect = Dialect {
    items: "INSERT INTO items (project_id, external_id, data, position, need_generalist, label_count, created_at)
         SELECT $1, 'doc-' || i,
                jsonb_build_object('text', 'Review number ' || i || ': the product arrived on time and works as described, mostly.',
                                   'source', CASE i % 3 WHEN 0 THEN 'web' WHEN 1 THEN 'app' ELSE 'email' END,
                                   'stars', i % 5 + 1),
                i,
                CASE WHEN i <= $3 THEN $5 - $4 ELSE $5 END,
                CASE WHEN i <= $3 THEN $4 ELSE 0 END,
                1764000000000
         FROM generate_series(1, $2) AS n(i)",
    labels: "INSERT INTO labels (project_id, item_id, rater_id, value, duration_ms, created_at, pool, guideline_version)
         SELECT $1, i.id, $2 + ((i.id * $3 + k.j) % $4),
                CASE floor(random() * 5)::int WHEN 0 THEN '\"neg\"' WHEN 1 THEN '\"neutral\"' ELSE '\"pos\"' END,
                800 + floor(random() * 4000)::bigint, 1764000000000 + i.id * 1000 + k.j, 'generalist', 1
         FROM items i CROSS JOIN generate_series(0, $3 - 1) AS k(j) WHERE i.project_id = $1 AND i.position <= $5",
    completions: SQLITE.completions,
};

/// Writes items, labels and completions in one transaction of either backend.
macro_rules! write_rows {
    ($pool:expr, $sql:expr, $project:expr, $first_rater:expr, $shape:expr) => {{
        let (sql, shape) = ($sql, $shape);
        let mut tx = $pool.begin().await.expect("transaction");
        sqlx::query(sql.items)
            .bind($project)
            .bind(shape.items)
            .bind(shape.labelled)
            .bind(shape.per_item)
            .bind(shape.overlap)
            .execute(&mut *tx)
            .await
            .expect("items");
        sqlx::query(sql.labels)
            .bind($project)
            .bind($first_rater)
            .bind(shape.per_item)
            .bind(shape.raters)
            .bind(shape.labelled)
            .execute(&mut *tx)
            .await
            .expect("labels");
        if shape.per_item >= shape.overlap {
            sqlx::query(sql.completions)
                .bind($project)
                .bind(shape.labelled)
                .execute(&mut *tx)
                .await
                .expect("completions");
        }
        tx.commit().await.expect("commit");
    }};
}

/// Seeds the project and returns its id. Rater k (of `raters`, named `bench-rater-k`)
/// labelled the items i with (i * per_item + j) % raters = k for j below per_item.
pub async fn seed(store: &Store, shape: &Shape) -> i64 {
    let admin = store
        .create_user("bench-admin", Role::Admin, None)
        .await
        .expect("admin");
    let spec = NewProject::simple(
        "Bench project",
        &["pos", "neg", "neutral"],
        shape.overlap,
        "Label the sentiment.",
    )
    .validate()
    .expect("project spec");
    let project = store
        .create_project(
            &spec,
            admin.id,
            &Entry::from_cli(Some(admin.id), Action::ProjectCreated),
        )
        .await
        .expect("project")
        .id;
    let mut raters = Vec::new();
    for i in 0..shape.raters {
        let rater = store
            .create_user(&format!("bench-rater-{i}"), Role::Rater, None)
            .await
            .expect("rater");
        raters.push(rater.id);
    }
    match store {
        Store::Sqlite(backend) => write_rows!(backend.pool, SQLITE, project, raters[0], shape),
        Store::Postgres(backend) => {
            write_rows!(backend.pool, POSTGRES, project, raters[0], shape);
            // What autovacuum would have done by the time a project is this big: its
            // statistics, and its pages marked all-visible (so that index-only scans need
            // not visit the table), as after the vacuum that inserts set off.
            sqlx::query("VACUUM ANALYZE")
                .execute(&backend.pool)
                .await
                .expect("vacuum analyze");
        }
    }
    project
}

/// A new API token for the user, for a bench's requests.
#[allow(dead_code)] // not every bench asks over HTTP
pub async fn api_token(store: &Store, user_id: i64) -> String {
    let (token, hash) = tally::auth::new_api_token();
    store.insert_token(user_id, &hash).await.expect("token");
    token
}
