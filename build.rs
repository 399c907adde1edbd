//! Tests on PostgreSQL need a server: when TALLY_TEST_POSTGRES_URL is set at build time the
//! `tally_postgres` cfg is on, and without it those tests are marked ignored (so the test
//! count says they did not run, instead of counting them as passed).
//!
//! The migrations are built into the binary (`sqlx::migrate!`), which reads their files
//! without telling cargo: a new or changed migration must rebuild the crate.

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-changed=migrations");
    println!("cargo::rerun-if-env-changed=TALLY_TEST_POSTGRES_URL");
    println!("cargo::rustc-check-cfg=cfg(tally_postgres)");
    let configured = std::env::var("TALLY_TEST_POSTGRES_URL").is_ok_and(|url| !url.is_empty());
    if configured {
        println!("cargo::rustc-cfg=tally_postgres");
    }
}
