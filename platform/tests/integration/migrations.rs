//! Migrations: both trees alike, reversible, and the audit log append-only.

use std::collections::BTreeSet;
use std::path::Path;

use diesel::prelude::*;
use jiebang_platform::db::{DatabaseUrl, Db, revert_all_migrations, run_migrations};

use crate::common::{Backend, empty_database, fresh_database};
use crate::on_both_backends;

fn migration_names(backend: &str) -> BTreeSet<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../migrations")
        .join(backend);
    std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| {
            let entry = entry.unwrap();
            for file in ["up.sql", "down.sql"] {
                assert!(
                    entry.path().join(file).is_file(),
                    "{:?} lacks {file}",
                    entry.path()
                );
            }
            entry.file_name().to_string_lossy().into_owned()
        })
        .collect()
}

#[test]
fn both_backends_have_the_same_migrations() {
    let sqlite = migration_names("sqlite");
    assert!(!sqlite.is_empty());
    assert_eq!(sqlite, migration_names("postgres"));
}

async fn up_down_up(backend: Backend) {
    let database = empty_database(backend);
    let url = DatabaseUrl::parse(&database.url).unwrap();
    let applied = run_migrations(&url).unwrap();
    assert_eq!(applied, migration_names("sqlite").len());
    assert_eq!(
        run_migrations(&url).unwrap(),
        0,
        "a second run applies nothing"
    );
    assert_eq!(revert_all_migrations(&url).unwrap(), applied);
    assert_eq!(run_migrations(&url).unwrap(), applied);
}

/// Test databases are cloned from a migrated template: the app starts on them without
/// migrating again, as it does on its own database after the first start.
async fn a_test_database_starts_migrated(backend: Backend) {
    let database = fresh_database(backend);
    let url = DatabaseUrl::parse(&database.url).unwrap();
    assert_eq!(run_migrations(&url).unwrap(), 0, "nothing left to apply");
}

async fn audit_log_is_append_only(backend: Backend) {
    let database = fresh_database(backend);
    let url = DatabaseUrl::parse(&database.url).unwrap();
    let db = Db::open(&url, 1).unwrap();
    db.write_blocking(|conn| {
        Ok(jiebang_platform::db::models::audit::record(
            conn,
            None,
            "test",
            "test",
            "1",
            serde_json::json!({}),
        )?)
    })
    .unwrap();
    let rewrite = db.write_blocking(|conn| {
        Ok(diesel::sql_query("UPDATE audit_log SET action = 'forged'").execute(conn)?)
    });
    assert!(rewrite.is_err(), "updating the audit log must fail");
    let erase =
        db.write_blocking(|conn| Ok(diesel::sql_query("DELETE FROM audit_log").execute(conn)?));
    assert!(erase.is_err(), "deleting from the audit log must fail");
    let actions: Vec<String> = db
        .read_blocking(|conn| {
            use jiebang_platform::db::schema::audit_log;
            Ok(audit_log::table.select(audit_log::action).load(conn)?)
        })
        .unwrap();
    assert_eq!(actions, ["test"]);
}

on_both_backends!(
    up_down_up,
    a_test_database_starts_migrated,
    audit_log_is_append_only
);
