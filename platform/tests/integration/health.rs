//! Liveness and readiness: `/healthz` from memory, `/readyz` from the database.

use crate::common::{Backend, TestApp};
use crate::on_both_backends;

async fn liveness_and_readiness(backend: Backend) {
    let app = TestApp::new(backend).await;
    let alive = app.get("/healthz", None).await;
    assert_eq!(alive.status, 200);
    assert_eq!(alive.body["status"], "ok");
    let ready = app.get("/readyz", None).await;
    assert_eq!(ready.status, 200, "{:?}", ready.body);
    assert_eq!(ready.body["status"], "ready");
}

async fn unchanged_boards_and_pages_answer_304(backend: Backend) {
    use actix_web::test::TestRequest;
    let app = TestApp::new(backend).await;
    for path in [
        "/",
        "/scenarios/kg-open",
        "/scenarios/kg-open/leaderboard",
        "/api/v1/scenarios/kg-open/leaderboard",
    ] {
        let first = app.page(TestRequest::get().uri(path)).await;
        assert_eq!(first.status, 200, "{path}: {}", first.text);
        let etag = first
            .headers
            .get("etag")
            .unwrap_or_else(|| panic!("{path} has no ETag"))
            .to_str()
            .unwrap()
            .to_owned();
        let again = app
            .page(
                TestRequest::get()
                    .uri(path)
                    .insert_header(("If-None-Match", etag.as_str())),
            )
            .await;
        assert_eq!(again.status, 304, "{path}");
        assert!(again.text.is_empty(), "{path}: no body with a 304");
        assert_eq!(again.headers.get("etag").unwrap().to_str().unwrap(), etag);
        let stale = app
            .page(
                TestRequest::get()
                    .uri(path)
                    .insert_header(("If-None-Match", "\"something-else\"")),
            )
            .await;
        assert_eq!(stale.status, 200, "{path}");
    }
}
/// The start-up check for a PostgreSQL whose backends each weigh as much as the platform
/// (docs/guide-operator.md, "PostgreSQL on the same host"), read off the real cluster: its
/// backend as scripts/test starts it, by hand in no CPU cgroup, then moved into a CPU cgroup
/// of its own as a service manager would place it.
async fn postgresql_placement_is_read_off_this_host(backend: Backend) {
    use jiebang_platform::db::DbConnection;
    use jiebang_platform::db::placement::{self, CpuGrouping};
    let app = TestApp::new(backend).await;
    let autogroup = std::fs::read_to_string("/proc/sys/kernel/sched_autogroup_enabled")
        .is_ok_and(|v| v.trim() == "1");
    // One connection throughout: each has a backend of its own.
    app.state
        .db
        .read_blocking(|conn| {
            let weighs = placement::backends_weigh_per_session(conn);
            let DbConnection::Postgres(pg) = conn else {
                assert!(!weighs, "SQLite has no backends");
                return Ok(());
            };
            let grouping = placement::backend_grouping(pg);
            assert_eq!(grouping, Some(CpuGrouping::Session), "started by hand");
            assert_eq!(weighs, autogroup);
            let pid = placement::backend_pid(pg).expect("the backend's process number");
            let cgroup = CpuCgroup::make(&format!("jiebang-test-{}", std::process::id()));
            cgroup.enter(pid);
            let grouping = placement::backend_grouping(pg);
            let weighs = placement::backends_weigh_per_session(conn);
            cgroup.leave(pid);
            assert_eq!(grouping, Some(CpuGrouping::Cgroup), "in a CPU cgroup");
            assert!(!weighs, "a backend in a CPU cgroup weighs as one group");
            Ok(())
        })
        .unwrap();
}

/// A CPU cgroup of the test's own under the host's cpu hierarchy (v1, or v2 with the cpu
/// controller handed down from the root), removed by `leave`.
struct CpuCgroup {
    root: std::path::PathBuf,
    dir: std::path::PathBuf,
}

impl CpuCgroup {
    fn make(name: &str) -> Self {
        let v1 = std::path::Path::new("/sys/fs/cgroup/cpu");
        let root = if v1.join("cgroup.procs").is_file() {
            v1.to_path_buf()
        } else {
            let root = std::path::PathBuf::from("/sys/fs/cgroup");
            std::fs::write(root.join("cgroup.subtree_control"), "+cpu")
                .expect("the cpu controller handed down (the tests run as root)");
            root
        };
        let dir = root.join(name);
        std::fs::create_dir_all(&dir).expect("a CPU cgroup (the tests run as root)");
        Self { root, dir }
    }

    fn enter(&self, pid: i32) {
        std::fs::write(self.dir.join("cgroup.procs"), pid.to_string()).unwrap();
    }

    fn leave(&self, pid: i32) {
        std::fs::write(self.root.join("cgroup.procs"), pid.to_string()).unwrap();
        std::fs::remove_dir(&self.dir).unwrap();
    }
}

on_both_backends!(
    liveness_and_readiness,
    unchanged_boards_and_pages_answer_304,
    postgresql_placement_is_read_off_this_host
);
