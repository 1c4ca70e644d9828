//! The data layer: one connection type over SQLite or PostgreSQL, the pool, migrations.

pub mod ids;
pub mod models;
pub mod placement;
pub mod plan;
pub mod schema;
pub mod waits;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection, SqliteConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::error::AppError;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/postgres");

/// A connection to whichever backend `DATABASE_URL` names.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Postgres(PgConnection),
    Sqlite(SqliteConnection),
}

/// Which database engine a URL points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A parsed `DATABASE_URL`: `sqlite://PATH` (or a bare path) or `postgres://…`.
#[derive(Debug, Clone)]
pub enum DatabaseUrl {
    Sqlite(PathBuf),
    Postgres(String),
}

impl DatabaseUrl {
    pub fn parse(url: &str) -> Result<Self, AppError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Self::Postgres(url.to_owned()));
        }
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .unwrap_or(url);
        if path.is_empty() || path.contains("://") {
            return Err(AppError::Config(format!(
                "DATABASE_URL `{url}` is neither sqlite://PATH nor postgres://…"
            )));
        }
        Ok(Self::Sqlite(PathBuf::from(path)))
    }

    pub fn backend(&self) -> Backend {
        match self {
            Self::Sqlite(_) => Backend::Sqlite,
            Self::Postgres(_) => Backend::Postgres,
        }
    }

    /// The URL with any password replaced, fit for logs.
    pub fn redacted(&self) -> String {
        match self {
            Self::Sqlite(path) => format!("sqlite://{}", path.display()),
            Self::Postgres(url) => match url::Url::parse(url) {
                Ok(mut parsed) if parsed.password().is_some() => {
                    // Setting a password only fails for URLs without a host, which this has.
                    let _ = parsed.set_password(Some("***"));
                    parsed.to_string()
                }
                _ => url.clone(),
            },
        }
    }

    fn establish(&self) -> Result<DbConnection, diesel::ConnectionError> {
        match self {
            Self::Postgres(url) => PgConnection::establish(url).map(DbConnection::Postgres),
            Self::Sqlite(path) => {
                let mut conn = SqliteConnection::establish(&path.to_string_lossy())?;
                // The busy timeout comes first: until it is set, any statement that meets a
                // lock fails at once with "database is locked" instead of waiting, and the
                // pool opens its connections in parallel. It also makes a second process
                // (`jiebang admin` beside `serve`) wait instead of failing. WAL is a
                // property of the file, set once by `enable_wal` before the pool opens.
                conn.batch_execute(
                    "PRAGMA busy_timeout = 10000; PRAGMA synchronous = NORMAL; \
                     PRAGMA foreign_keys = ON;",
                )
                .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
                Ok(DbConnection::Sqlite(conn))
            }
        }
    }
}

struct ConnectionManager {
    url: DatabaseUrl,
}

impl r2d2::ManageConnection for ConnectionManager {
    type Connection = DbConnection;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<DbConnection, Self::Error> {
        self.url
            .establish()
            .map_err(diesel::r2d2::Error::ConnectionError)
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), Self::Error> {
        conn.batch_execute("SELECT 1")
            .map_err(diesel::r2d2::Error::QueryError)
    }

    /// A connection left in a broken transaction is dropped on its return; one the server
    /// closed fails its next query, which the request reports, and is then dropped here.
    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        use diesel::r2d2::R2D2Connection;
        match conn {
            DbConnection::Sqlite(conn) => conn.is_broken(),
            DbConnection::Postgres(conn) => conn.is_broken(),
        }
    }
}

/// The pool and the rules for using it off the async executor.
#[derive(Clone)]
pub struct Db {
    pool: r2d2::Pool<ConnectionManager>,
    /// How long work waited for a connection and for SQLite's writer.
    pub waits: waits::DbWaits,
    backend: Backend,
    /// SQLite has one writer at a time; taking this lock first turns "database is locked"
    /// failures on lock upgrade into orderly waiting inside this process.
    sqlite_writer: Arc<Mutex<()>>,
    /// One permit per pooled connection, taken before async work goes to the blocking
    /// pool: tokio's semaphore serves waiters first come, first served, where r2d2 lets a
    /// newcomer take a freed connection ahead of those already waiting (32 clients of a
    /// board on 8 connections saw p99s of seconds at p50s of 100 ms); and work waiting
    /// for a connection waits as a task, not on a blocking thread.
    turns: Arc<tokio::sync::Semaphore>,
}

impl Db {
    /// Connects, applies pending migrations, then opens the pool.
    pub fn open(url: &DatabaseUrl, pool_size: u32) -> Result<Self, AppError> {
        if let DatabaseUrl::Sqlite(path) = url {
            ensure_parent_dir(path)?;
        }
        run_migrations(url)?;
        let waits = waits::DbWaits::default();
        let pool = r2d2::Pool::builder()
            .max_size(pool_size.max(1))
            .connection_timeout(Duration::from_secs(10))
            // A `SELECT 1` before every checkout is one more round trip per request on
            // PostgreSQL — a tenth of a board request's time; `has_broken` catches the rest.
            .test_on_check_out(false)
            .event_handler(Box::new(waits.clone()))
            .build(ConnectionManager { url: url.clone() })
            .map_err(|e| AppError::Unavailable(format!("database pool: {e}")))?;
        Ok(Self {
            pool,
            waits,
            backend: url.backend(),
            sqlite_writer: Arc::new(Mutex::new(())),
            turns: Arc::new(tokio::sync::Semaphore::new(pool_size.max(1) as usize)),
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Connections the pool holds and how many of them are idle.
    pub fn pool_state(&self) -> (u32, u32) {
        let state = self.pool.state();
        (state.connections, state.idle_connections)
    }

    /// Runs read-only work on a pooled connection on the blocking thread pool.
    pub async fn read<T, F>(&self, work: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConnection) -> Result<T, AppError> + Send + 'static,
    {
        let turn = self.turn().await?;
        let db = self.clone();
        tokio::task::spawn_blocking(move || {
            let _turn = turn;
            background_priority();
            db.read_blocking(|conn| read_only(conn, work))
        })
        .await?
    }

    /// Runs work inside one transaction on the blocking thread pool.
    pub async fn write<T, F>(&self, work: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConnection) -> Result<T, AppError> + Send + 'static,
    {
        let turn = self.turn().await?;
        let db = self.clone();
        tokio::task::spawn_blocking(move || {
            let _turn = turn;
            background_priority();
            db.write_blocking(work)
        })
        .await?
    }

    /// Waits, in arrival order, until a pooled connection is free for async work.
    async fn turn(&self) -> Result<tokio::sync::OwnedSemaphorePermit, AppError> {
        let asked = std::time::Instant::now();
        let turn = Arc::clone(&self.turns)
            .acquire_owned()
            .await
            .map_err(|_| AppError::Unavailable("the database pool is closed".to_owned()))?;
        self.waits.waited("turn", asked.elapsed());
        Ok(turn)
    }

    pub fn read_blocking<T>(
        &self,
        work: impl FnOnce(&mut DbConnection) -> Result<T, AppError>,
    ) -> Result<T, AppError> {
        let mut conn = self.connection()?;
        work(&mut conn)
    }

    pub fn write_blocking<T>(
        &self,
        work: impl FnOnce(&mut DbConnection) -> Result<T, AppError>,
    ) -> Result<T, AppError> {
        let writer = match self.backend {
            Backend::Sqlite => {
                let asked = std::time::Instant::now();
                let writer = self
                    .sqlite_writer
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                self.waits.waited("sqlite_writer", asked.elapsed());
                Some(writer)
            }
            Backend::Postgres => None,
        };
        let mut conn = self.connection()?;
        let conn: &mut DbConnection = &mut conn;
        if writer.is_some() {
            // A read whose work panicked left its connection refusing writes.
            conn.batch_execute("PRAGMA query_only = 0")?;
        }
        conn.transaction(work)
    }

    fn connection(&self) -> Result<r2d2::PooledConnection<ConnectionManager>, AppError> {
        self.pool
            .get()
            .map_err(|e| AppError::Unavailable(format!("no database connection: {e}")))
    }
}

/// Runs `work` with SQLite refusing every write: a write in a read runs past the writer
/// lock of [`Db::write_blocking`], and a write transaction that had read before it then
/// fails on its snapshot — a 500 on some other request, seldom and far from the cause (a
/// token's last-use UPDATE did exactly this). Refused here, it fails where it is written.
fn read_only<T>(
    conn: &mut DbConnection,
    work: impl FnOnce(&mut DbConnection) -> Result<T, AppError>,
) -> Result<T, AppError> {
    if !matches!(conn, DbConnection::Sqlite(_)) {
        return work(conn);
    }
    conn.batch_execute("PRAGMA query_only = 1")?;
    let result = work(conn);
    conn.batch_execute("PRAGMA query_only = 0")?;
    result
}

/// Lowers the calling thread's scheduling priority (nice 5) once; only for threads of a
/// blocking pool, never one that goes on to start others (they would inherit it). The
/// pool's threads do the database and ranking work, and under load there are many more of
/// them than cores;
/// the request threads, which answer `/healthz` and accept connections, keep the normal
/// priority and so get a core within a scheduler tick of waking however busy the pool is.
/// Raising niceness needs no privilege; a refusal only leaves the thread as it was.
pub fn background_priority() {
    thread_local! {
        static LOWERED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }
    LOWERED.with(|lowered| {
        if !lowered.replace(true) {
            // On Linux the nice value belongs to the thread, not the process (nice(2)).
            let refused = rustix::process::nice(BACKGROUND_NICE).is_err();
            if refused {
                tracing::debug!("the blocking pool's thread keeps its priority");
            }
        }
    });
}

/// The niceness of blocking work: CFS gives a nice-0 thread about three times its share.
const BACKGROUND_NICE: i32 = 5;

fn ensure_parent_dir(path: &Path) -> Result<(), AppError> {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => std::fs::create_dir_all(dir).map_err(|e| {
            AppError::Config(format!(
                "cannot create data directory {}: {e}",
                dir.display()
            ))
        }),
        _ => Ok(()),
    }
}

/// Applies every pending migration of the URL's backend; returns how many ran.
pub fn run_migrations(url: &DatabaseUrl) -> Result<usize, AppError> {
    let migration_error = |e: Box<dyn std::error::Error + Send + Sync>| {
        AppError::Internal(format!("migration failed: {e}"))
    };
    let applied = match url.establish().map_err(connect_error)? {
        DbConnection::Sqlite(mut conn) => {
            enable_wal(&mut conn)?;
            conn.run_pending_migrations(SQLITE_MIGRATIONS)
                .map_err(migration_error)?
                .len()
        }
        DbConnection::Postgres(mut conn) => conn
            .run_pending_migrations(POSTGRES_MIGRATIONS)
            .map_err(migration_error)?
            .len(),
    };
    Ok(applied)
}

/// Puts the SQLite file in WAL mode, so readers proceed while one writer commits. The
/// mode is stored in the file, so one connection sets it for every later one; setting it
/// on each pooled connection instead made them contend for the file's lock at start-up.
fn enable_wal(conn: &mut SqliteConnection) -> Result<(), AppError> {
    conn.batch_execute("PRAGMA journal_mode = WAL;")
        .map_err(|e| AppError::Unavailable(format!("cannot put the database in WAL mode: {e}")))
}

/// Reverts every migration, newest first; used by the up → down → up test.
pub fn revert_all_migrations(url: &DatabaseUrl) -> Result<usize, AppError> {
    let migration_error = |e: Box<dyn std::error::Error + Send + Sync>| {
        AppError::Internal(format!("migration revert failed: {e}"))
    };
    let reverted = match url.establish().map_err(connect_error)? {
        DbConnection::Sqlite(mut conn) => conn
            .revert_all_migrations(SQLITE_MIGRATIONS)
            .map_err(migration_error)?
            .len(),
        DbConnection::Postgres(mut conn) => conn
            .revert_all_migrations(POSTGRES_MIGRATIONS)
            .map_err(migration_error)?
            .len(),
    };
    Ok(reverted)
}

fn connect_error(e: diesel::ConnectionError) -> AppError {
    AppError::Unavailable(format!("cannot connect to the database: {e}"))
}

/// Milliseconds since the Unix epoch: the one time representation both backends store alike.
pub fn now_millis() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// Blocking work runs at lower priority than the thread that asked for it, lowered
    /// once however many times the pool's thread is reused.
    #[test]
    fn blocking_work_is_niced_once_and_only_on_its_own_thread() {
        let caller = rustix::process::getpriority_process(None).unwrap();
        let (first, second) = std::thread::spawn(|| {
            background_priority();
            let first = rustix::process::getpriority_process(None).unwrap();
            background_priority();
            (first, rustix::process::getpriority_process(None).unwrap())
        })
        .join()
        .unwrap();
        let expected = (caller + BACKGROUND_NICE).min(19);
        assert_eq!((first, second), (expected, expected));
        assert_eq!(rustix::process::getpriority_process(None).unwrap(), caller);
    }

    /// A write inside a read is refused where it is written, and the connection writes
    /// again in the next write transaction.
    #[tokio::test]
    async fn reads_cannot_write_and_writes_still_can() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&DatabaseUrl::Sqlite(dir.path().join("jiebang.db")), 1).unwrap();
        let stray = db
            .read(|conn| Ok(conn.batch_execute("CREATE TABLE stray (x INTEGER)")?))
            .await;
        assert!(
            matches!(&stray, Err(AppError::Database(e)) if e.to_string().contains("readonly")),
            "{stray:?}"
        );
        db.write(|conn| Ok(conn.batch_execute("CREATE TABLE kept (x INTEGER)")?))
            .await
            .unwrap();
        // The pool's only connection, left refusing writes by the panic.
        let panicked = db
            .read(|_| -> Result<(), AppError> { panic!("a bug in a read") })
            .await;
        assert!(panicked.is_err());
        db.write(|conn| Ok(conn.batch_execute("INSERT INTO kept VALUES (1)")?))
            .await
            .unwrap();
    }

    /// The pool opens its connections at once; none may fail on the file's lock (which
    /// r2d2 logged as `ERROR r2d2: database is locked` on every first start).
    #[test]
    fn connections_opened_together_wait_for_each_other() {
        for _ in 0..20 {
            let dir = tempfile::tempdir().unwrap();
            let url = DatabaseUrl::Sqlite(dir.path().join("jiebang.db"));
            run_migrations(&url).unwrap();
            let barrier = std::sync::Barrier::new(8);
            std::thread::scope(|scope| {
                let opened: Vec<_> = (0..8)
                    .map(|_| {
                        scope.spawn(|| {
                            barrier.wait();
                            url.establish().map(|_| ())
                        })
                    })
                    .collect();
                for connection in opened {
                    connection.join().unwrap().unwrap();
                }
            });
        }
    }
}
