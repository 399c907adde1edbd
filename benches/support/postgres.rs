//! Throwaway PostgreSQL databases for the benches, beside the one TALLY_TEST_POSTGRES_URL
//! names.

/// Creates (or drops) the database `name` on the server `admin_url` points at; returns the
/// new database's URL.
pub async fn postgres_database(admin_url: &str, name: &str, create: bool) -> String {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(admin_url)
        .await
        .expect("postgres");
    let sql = match create {
        true => format!("CREATE DATABASE {name}"),
        false => format!("DROP DATABASE {name} WITH (FORCE)"),
    };
    sqlx::query(&sql).execute(&mut conn).await.expect(&sql);
    postgres_url(admin_url, name)
}

/// The URL of the database `name` on the server `admin_url` points at.
pub fn postgres_url(admin_url: &str, name: &str) -> String {
    match admin_url.rsplit_once('/') {
        Some((server, _)) => format!("{server}/{name}"),
        None => admin_url.to_string(),
    }
}
