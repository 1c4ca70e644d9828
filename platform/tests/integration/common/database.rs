//! A database of its own for each test (crates.io's test-database pattern): a template
//! migrated once per test process, cloned for each test, and the clone dropped afterwards.

use std::sync::OnceLock;

use diesel::prelude::*;
use jiebang_platform::db::{DatabaseUrl, run_migrations};

use super::Backend;

/// A test's database and data directory. A PostgreSQL database is dropped with it; a SQLite
/// file goes with the temporary directory.
pub struct TestDatabase {
    pub url: String,
    pub dir: tempfile::TempDir,
    postgres_name: Option<String>,
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Some(name) = &self.postgres_name {
            // A failure here must not turn a passing test into an abort mid-unwind.
            if let Err(error) = drop_database(&mut admin_connection(), name) {
                eprintln!("could not drop test database {name}: {error}");
            }
        }
    }
}

/// A migrated database, as the app finds it after its first start's migrations: cloned from
/// the template, so the app's own migration run finds nothing pending.
pub fn fresh_database(backend: Backend) -> TestDatabase {
    let dir = tempfile::tempdir().expect("temporary directory");
    match backend {
        Backend::Sqlite => {
            let path = dir.path().join("jiebang.db");
            std::fs::write(&path, sqlite_template()).expect("copy the template database");
            TestDatabase {
                url: sqlite_url(&path),
                dir,
                postgres_name: None,
            }
        }
        Backend::Postgres => postgres_database(dir, Some(postgres_template())),
    }
}

/// A database without any tables, for the tests of the migrations themselves.
pub fn empty_database(backend: Backend) -> TestDatabase {
    let dir = tempfile::tempdir().expect("temporary directory");
    match backend {
        Backend::Sqlite => TestDatabase {
            url: sqlite_url(&dir.path().join("jiebang.db")),
            dir,
            postgres_name: None,
        },
        Backend::Postgres => postgres_database(dir, None),
    }
}

fn sqlite_url(path: &std::path::Path) -> String {
    format!("sqlite://{}", path.display())
}

/// The bytes of a migrated SQLite file, made once per test process.
fn sqlite_template() -> &'static [u8] {
    static TEMPLATE: OnceLock<Vec<u8>> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("template.db");
        run_migrations(&DatabaseUrl::Sqlite(path.clone())).expect("migrate the template");
        // The migration's connection is closed, so its write-ahead log is in the file.
        std::fs::read(&path).expect("read the template database")
    })
}

fn postgres_admin_url() -> String {
    std::env::var("JIEBANG_TEST_DATABASE_URL").unwrap_or_else(|_| {
        panic!(
            "JIEBANG_TEST_DATABASE_URL is not set: run `scripts/test`, which starts a private \
             PostgreSQL cluster and sets it"
        )
    })
}

fn admin_connection() -> PgConnection {
    PgConnection::establish(&postgres_admin_url()).expect("connect to the test cluster")
}

fn postgres_url(name: &str) -> String {
    let mut url =
        url::Url::parse(&postgres_admin_url()).expect("JIEBANG_TEST_DATABASE_URL is a URL");
    url.set_path(name);
    url.to_string()
}

/// Names carry this process's id (`jb_p1234_db_…`), so a later run can tell a dead run's
/// leftovers from the databases of a run still going beside it.
const PREFIX: &str = "jb_p";

fn database_name(kind: &str) -> String {
    let random = jiebang_platform::db::ids::random_id(kind);
    format!("{PREFIX}{}_{random}", std::process::id())
}

fn postgres_database(dir: tempfile::TempDir, template: Option<&str>) -> TestDatabase {
    let name = database_name("db");
    let mut admin = admin_connection();
    let mut create = format!("CREATE DATABASE {name}");
    if let Some(template) = template {
        create.push_str(&format!(" TEMPLATE {template}"));
    }
    if server_version(&mut admin) >= 150_000 {
        // Copying the files after a checkpoint took about 40% less time here than the
        // default since 15, which writes the whole 8 MB database through the write-ahead log.
        create.push_str(" STRATEGY FILE_COPY");
    }
    diesel::sql_query(create)
        .execute(&mut admin)
        .expect("create a test database");
    TestDatabase {
        url: postgres_url(&name),
        dir,
        postgres_name: Some(name),
    }
}

/// The migrated template's name; the first test to ask migrates it while the others wait.
fn postgres_template() -> &'static str {
    static TEMPLATE: OnceLock<String> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        let mut admin = admin_connection();
        drop_leftovers(&mut admin);
        let name = database_name("template");
        diesel::sql_query(format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .expect("create the template database");
        run_migrations(&DatabaseUrl::Postgres(postgres_url(&name))).expect("migrate the template");
        name
    })
}

/// The server's `server_version_num` (150004 for 15.4), asked once.
fn server_version(admin: &mut PgConnection) -> i32 {
    static VERSION: OnceLock<i32> = OnceLock::new();
    *VERSION.get_or_init(|| {
        diesel::select(diesel::dsl::sql::<diesel::sql_types::Text>(
            "current_setting('server_version_num')",
        ))
        .get_result::<String>(admin)
        .ok()
        .and_then(|version| version.parse().ok())
        .unwrap_or(0)
    })
}

/// Drops a database, ending the connections a pool may still hold open to it.
fn drop_database(admin: &mut PgConnection, name: &str) -> QueryResult<usize> {
    if server_version(admin) >= 130_000 {
        return diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(admin);
    }
    diesel::sql_query(format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
    ))
    .execute(admin)?;
    diesel::sql_query(format!("DROP DATABASE IF EXISTS {name}")).execute(admin)
}

/// Drops the databases of earlier test processes that are gone (killed before they could
/// drop them; every run's template). Only on this machine's own cluster, where a process id
/// means the same process.
fn drop_leftovers(admin: &mut PgConnection) {
    #[derive(QueryableByName)]
    struct Name {
        #[diesel(sql_type = diesel::sql_types::Text)]
        datname: String,
    }
    let local = url::Url::parse(&postgres_admin_url())
        .ok()
        .and_then(|url| url.host_str().map(str::to_owned))
        .is_some_and(|host| matches!(host.as_str(), "127.0.0.1" | "localhost" | "[::1]"));
    if !local {
        return;
    }
    let names: Vec<Name> = diesel::sql_query(format!(
        "SELECT datname FROM pg_database WHERE datname LIKE '{PREFIX}%'"
    ))
    .load(admin)
    .unwrap_or_default();
    for Name { datname } in names {
        let pid = datname
            .strip_prefix(PREFIX)
            .and_then(|rest| rest.split('_').next())
            .unwrap_or("");
        let gone = pid.parse::<u32>().is_ok_and(|pid| {
            pid != std::process::id() && !std::path::Path::new(&format!("/proc/{pid}")).exists()
        });
        if gone {
            let _ = drop_database(admin, &datname);
        }
    }
}
