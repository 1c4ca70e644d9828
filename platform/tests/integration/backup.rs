//! `jiebang admin backup` and `restore`: a backup taken while the platform runs, restored
//! into a fresh data directory, shows the same boards, reports and logs; a damaged backup
//! or an occupied target restores nothing.

use jiebang_platform::backup;
use jiebang_platform::db::DatabaseUrl;

use crate::common::{Backend, TestApp, empty_database};
use crate::consoles::two_evaluated;
use crate::on_one_backend;

/// What a visitor, the team and a judge read: the boards, the reports and the logs.
async fn readings(app: &TestApp, submissions: &[&str]) -> Vec<serde_json::Value> {
    let w = &app.world;
    let mut seen = vec![
        app.get("/api/v1/scenarios/kg-open/leaderboard", None)
            .await
            .body,
        app.get(
            "/api/v1/scenarios/kg-open/leaderboard?board=private",
            w.judge.token(),
        )
        .await
        .body,
    ];
    for id in submissions {
        let report = app
            .get(&format!("/api/v1/submissions/{id}/report"), w.judge.token())
            .await;
        assert_eq!(report.status, 200, "report of {id}: {:?}", report.body);
        seen.push(report.body);
        for run in ["sample", "hidden"] {
            let request = actix_web::test::TestRequest::get()
                .uri(&format!("/api/v1/submissions/{id}/logs/{run}"))
                .insert_header(("Authorization", format!("Bearer {}", w.judge.token)));
            let logs = app.bytes(request).await;
            seen.push(String::from_utf8_lossy(&logs).into());
        }
    }
    seen
}

async fn a_restored_backup_shows_the_same_boards_and_reports(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (a, b) = two_evaluated(&app).await;
    let before = readings(&app, &[&a, &b]).await;
    assert_eq!(
        before[0]["rows"].as_array().unwrap().len(),
        2,
        "{:?}",
        before[0]
    );
    assert!(
        before
            .iter()
            .any(|seen| seen.as_str().is_some_and(|logs| !logs.is_empty())),
        "the evaluations stored logs to compare"
    );

    let config = &app.state.config;
    let url = DatabaseUrl::parse(&config.database_url()).unwrap();
    let folder = tempfile::tempdir().unwrap();
    let dest = folder.path().join("backup");
    let manifest = backup::backup(&app.state.db, &url, &config.data_dir, &dest, false).unwrap();
    assert_eq!(manifest.database, "sqlite");
    assert!(
        manifest.files >= 4,
        "reports and logs are stored files: {manifest:?}"
    );

    // A second backup into the same folder is refused rather than mixed with the first.
    let again = backup::backup(&app.state.db, &url, &config.data_dir, &dest, false);
    assert!(again.unwrap_err().to_string().contains("not empty"));

    let target = empty_database(Backend::Sqlite);
    let target_url = DatabaseUrl::parse(&target.url).unwrap();
    let restored = backup::restore(&dest, &target_url, target.dir.path()).unwrap();
    assert_eq!(restored.files, manifest.files);
    // The database is in place now: restoring over it is refused.
    let over = backup::restore(&dest, &target_url, target.dir.path()).unwrap_err();
    assert!(over.to_string().contains("already exists"), "{over}");

    let copy = TestApp::reopened(target, app.world.clone()).await;
    assert_eq!(readings(&copy, &[&a, &b]).await, before);
}

async fn a_damaged_backup_restores_nothing(backend: Backend) {
    let app = TestApp::new(backend).await;
    two_evaluated(&app).await;
    let config = &app.state.config;
    let url = DatabaseUrl::parse(&config.database_url()).unwrap();
    let folder = tempfile::tempdir().unwrap();
    let dest = folder.path().join("backup");
    backup::backup(&app.state.db, &url, &config.data_dir, &dest, false).unwrap();
    let damaged = walk_files(&dest.join("blobs"))
        .into_iter()
        .next()
        .expect("a stored file in the backup");
    std::fs::write(&damaged, b"not what the name says").unwrap();

    let target = empty_database(Backend::Sqlite);
    let target_url = DatabaseUrl::parse(&target.url).unwrap();
    let error = backup::restore(&dest, &target_url, target.dir.path()).unwrap_err();
    assert!(
        error.to_string().contains("does not match its name"),
        "{error}"
    );
    assert!(!target.dir.path().join("jiebang.db").exists());
    assert!(!target.dir.path().join("blobs").exists());

    // A folder that never got its manifest is not taken for a backup.
    std::fs::remove_file(dest.join("manifest.json")).unwrap();
    let error = backup::restore(&dest, &target_url, target.dir.path()).unwrap_err();
    assert!(error.to_string().contains("manifest.json"), "{error}");
}

fn walk_files(root: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            if entry.file_type().unwrap().is_dir() {
                pending.push(entry.path());
            } else {
                files.push(entry.path());
            }
        }
    }
    files
}

on_one_backend!(
    a_restored_backup_shows_the_same_boards_and_reports,
    a_damaged_backup_restores_nothing
);
