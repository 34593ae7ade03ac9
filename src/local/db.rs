//! SQLite under the data directory, with group commit.
//!
//! Every write goes through one writer thread. It takes whatever writes are waiting, runs each
//! in its own savepoint inside one transaction, commits once (WAL, `synchronous=FULL`, so the
//! commit is fsync'd), and only then answers each caller. A caller that got `Ok` therefore
//! knows its write survives `kill -9`, and concurrent callers share one fsync.

use rusqlite::{Connection, OpenFlags, OptionalExtension};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;
use tokio::sync::oneshot;

/// Writes taken into one transaction at most; bounds commit latency under load.
const MAX_GROUP: usize = 512;
const READERS: usize = 4;

/// A failure of the database itself. What a store decides inside a transaction (a queue that
/// does not exist, a duplicate subscription) is the store's own error type instead: see
/// [`Db::write_with`].
#[derive(Debug, Clone, thiserror::Error)]
pub enum DbError {
    #[error("database error: {0}")]
    Sqlite(String),
    #[error("the database writer has stopped")]
    Closed,
    /// A stored value that no longer decodes.
    #[error("{0}")]
    Corrupt(String),
}

impl From<rusqlite::Error> for DbError {
    fn from(e: rusqlite::Error) -> Self {
        DbError::Sqlite(e.to_string())
    }
}

impl From<serde_json::Error> for DbError {
    fn from(e: serde_json::Error) -> Self {
        DbError::Corrupt(format!("stored JSON is unreadable: {e}"))
    }
}

/// `From` each `$source` for a store error with a `Db(DbError)` variant, by way of [`DbError`],
/// so that `?` works on rusqlite (and serde_json) results inside the store's transactions.
macro_rules! store_error_from {
    ($store:ident: $($source:ty),+) => {
        $(impl From<$source> for $store {
            fn from(e: $source) -> Self {
                $store::Db(e.into())
            }
        })+
    };
}
pub(crate) use store_error_from;

impl From<DbError> for skipline_handlers::ports::StoreError {
    fn from(e: DbError) -> Self {
        skipline_handlers::ports::StoreError::Unavailable(e.to_string())
    }
}

type Finish = Box<dyn FnOnce(Result<(), DbError>) + Send>;

/// One caller's write: run inside the group, or be answered with an error without running.
trait WriteJob: Send {
    fn run(self: Box<Self>, conn: &Connection) -> (bool, Finish);
    fn abort(self: Box<Self>, err: DbError);
}

type Job = Box<dyn WriteJob>;

struct TypedJob<T, E, F> {
    f: F,
    tx: oneshot::Sender<Result<T, E>>,
}

impl<T, E, F> WriteJob for TypedJob<T, E, F>
where
    T: Send + 'static,
    E: From<DbError> + Send + 'static,
    F: FnOnce(&Connection) -> Result<T, E> + Send + 'static,
{
    fn run(self: Box<Self>, conn: &Connection) -> (bool, Finish) {
        let TypedJob { f, tx } = *self;
        let result = f(conn);
        let ok = result.is_ok();
        (
            ok,
            Box::new(move |commit| {
                let _ = tx.send(commit.map_err(E::from).and(result));
            }),
        )
    }

    fn abort(self: Box<Self>, err: DbError) {
        let _ = self.tx.send(Err(E::from(err)));
    }
}

/// Counters for benchmarks: commits (fsyncs), the writes they carried, and where the writer
/// thread's time went (`busy_ns` from taking a group to answering it; `commit_ns` in `COMMIT`,
/// which is where the fsync happens).
#[derive(Debug, Default)]
pub struct DbStats {
    pub commits: AtomicU64,
    pub writes: AtomicU64,
    pub busy_ns: AtomicU64,
    pub commit_ns: AtomicU64,
}

/// A copy of [`DbStats`] at one moment; subtract two to get an interval.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct DbStatsSnapshot {
    pub commits: u64,
    pub writes: u64,
    pub busy_ns: u64,
    pub commit_ns: u64,
}

impl DbStats {
    pub fn snapshot(&self) -> DbStatsSnapshot {
        DbStatsSnapshot {
            commits: self.commits.load(Ordering::Relaxed),
            writes: self.writes.load(Ordering::Relaxed),
            busy_ns: self.busy_ns.load(Ordering::Relaxed),
            commit_ns: self.commit_ns.load(Ordering::Relaxed),
        }
    }
}

impl std::ops::Sub for DbStatsSnapshot {
    type Output = DbStatsSnapshot;
    fn sub(self, earlier: DbStatsSnapshot) -> DbStatsSnapshot {
        DbStatsSnapshot {
            commits: self.commits.saturating_sub(earlier.commits),
            writes: self.writes.saturating_sub(earlier.writes),
            busy_ns: self.busy_ns.saturating_sub(earlier.busy_ns),
            commit_ns: self.commit_ns.saturating_sub(earlier.commit_ns),
        }
    }
}

/// Handle to the database; cheap to clone.
#[derive(Clone)]
pub struct Db {
    jobs: mpsc::Sender<Job>,
    readers: Arc<Mutex<Vec<Connection>>>,
    path: PathBuf,
    pub stats: Arc<DbStats>,
}

fn open(path: &Path) -> Result<Connection, DbError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(Duration::from_secs(10))?;
    // Every statement the runtime runs stays prepared (the default keeps 16, fewer than we use).
    conn.set_prepared_statement_cache_capacity(256);
    // The bundled SQLite has STAT4, under which a cached statement whose plan could depend on
    // a bound value is compiled again at every step with new values: 3-4% of all CPU in the
    // benchmark's profile (`next_seq_in`, `receive_in`). A plan fixed at prepare time is
    // what the runtime wants anyway: it never runs ANALYZE.
    conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(conn)
}

/// Runs a migration's SQL in one `BEGIN IMMEDIATE` transaction, rolled back if any of it fails.
pub(super) fn migrate_batch(c: &Connection, sql: &str) -> Result<(), DbError> {
    c.execute_batch("BEGIN IMMEDIATE")?;
    match c.execute_batch(sql) {
        Ok(()) => Ok(c.execute_batch("COMMIT")?),
        Err(e) => {
            let _ = c.execute_batch("ROLLBACK");
            Err(e.into())
        }
    }
}

impl Db {
    /// Opens (creating if needed) `path` and applies the schema.
    pub fn open(path: &Path) -> Result<Db, DbError> {
        let writer = open(path)?;
        writer.execute_batch(super::schema::SCHEMA)?;
        super::invoices::migrate(&writer)?;
        super::executions::migrate(&writer)?;
        super::vendors::migrate(&writer)?;
        // The writer checkpoints itself, between groups (see `writer_loop`), not inside COMMIT.
        writer.pragma_update(None, "wal_autocheckpoint", 0)?;
        let mut readers = Vec::with_capacity(READERS);
        for _ in 0..READERS {
            readers.push(open(path)?);
        }
        let (tx, rx) = mpsc::channel::<Job>();
        let stats = Arc::new(DbStats::default());
        let thread_stats = stats.clone();
        std::thread::Builder::new()
            .name("skipline-db-writer".into())
            .spawn(move || writer_loop(writer, rx, &thread_stats))
            .map_err(|e| DbError::Sqlite(format!("cannot start writer thread: {e}")))?;
        Ok(Db {
            jobs: tx,
            readers: Arc::new(Mutex::new(readers)),
            path: path.to_path_buf(),
            stats,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` in the next group transaction; resolves after the commit is durable.
    /// If `f` fails, only its own savepoint is rolled back.
    pub async fn write<T, F>(&self, f: F) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, DbError> + Send + 'static,
    {
        self.write_with(f).await
    }

    /// [`Db::write`] for a store whose transaction can fail in its own terms (`E`), so the
    /// caller matches a typed error rather than a message.
    pub async fn write_with<T, E, F>(&self, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
        F: FnOnce(&Connection) -> Result<T, E> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(TypedJob { f, tx });
        self.jobs.send(job).map_err(|_| E::from(DbError::Closed))?;
        rx.await.map_err(|_| E::from(DbError::Closed))?
    }

    /// One statement in the next group transaction (see [`Db::write`]); the rows it changed.
    pub async fn execute(&self, sql: &'static str, params: Vec<rusqlite::types::Value>) -> Result<usize, DbError> {
        self.write(move |c| Ok(c.prepare_cached(sql)?.execute(rusqlite::params_from_iter(params))?))
            .await
    }

    /// The first column of the row `sql` finds, if it finds one (see [`Db::read`]).
    pub async fn first<T>(&self, sql: &'static str, params: Vec<rusqlite::types::Value>) -> Result<Option<T>, DbError>
    where
        T: rusqlite::types::FromSql + Send + 'static,
    {
        self.read(move |c| {
            let row = c
                .prepare_cached(sql)?
                .query_row(rusqlite::params_from_iter(params), |r| r.get(0));
            Ok(row.optional()?)
        })
        .await
    }

    /// Runs a read on a pooled connection off the async threads.
    pub async fn read<T, F>(&self, f: F) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, DbError> + Send + 'static,
    {
        self.read_with(f).await
    }

    /// [`Db::read`] with the store's own error type, as [`Db::write_with`].
    pub async fn read_with<T, E, F>(&self, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
        F: FnOnce(&Connection) -> Result<T, E> + Send + 'static,
    {
        let readers = self.readers.clone();
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || {
            let conn = readers.lock().unwrap_or_else(|p| p.into_inner()).pop();
            let conn = match conn {
                Some(c) => c,
                None => open(&path)?,
            };
            let result = f(&conn);
            readers.lock().unwrap_or_else(|p| p.into_inner()).push(conn);
            result
        })
        .await
        .map_err(|e| E::from(DbError::Sqlite(format!("read task failed: {e}"))))?
    }
}

fn writer_loop(conn: Connection, rx: mpsc::Receiver<Job>, stats: &DbStats) {
    let mut last_checkpoint = std::time::Instant::now();
    while let Ok(first) = rx.recv() {
        let started = std::time::Instant::now();
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        let mut finishers: Vec<Finish> = Vec::with_capacity(group.len());
        if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
            let err = DbError::from(e);
            for job in group {
                job.abort(err.clone());
            }
            continue;
        }
        for job in group {
            // Cached statements: a savepoint per job costs two steps, not two parses.
            if let Err(e) = step(&conn, "SAVEPOINT job") {
                job.abort(e);
                continue;
            }
            let (ok, finish) = job.run(&conn);
            if !ok {
                let _ = step(&conn, "ROLLBACK TO job");
            }
            let _ = step(&conn, "RELEASE job");
            finishers.push(finish);
        }
        let commit_started = std::time::Instant::now();
        let commit = conn.execute_batch("COMMIT").map_err(DbError::from);
        if commit.is_err() {
            let _ = conn.execute_batch("ROLLBACK");
        }
        let commit_ns = elapsed_ns(commit_started);
        stats.commit_ns.fetch_add(commit_ns, Ordering::Relaxed);
        stats.commits.fetch_add(1, Ordering::Relaxed);
        stats.writes.fetch_add(finishers.len() as u64, Ordering::Relaxed);
        metrics::histogram!(crate::metrics::COMMIT_WRITES).record(finishers.len() as f64);
        metrics::histogram!(crate::metrics::COMMIT_SECONDS).record(commit_ns as f64 / 1e9);
        for finish in finishers {
            finish(commit.clone());
        }
        // After the callers have their answers. A checkpoint on another thread made the writer's
        // WAL fsync wait for the database file's writeback (one filesystem journal): commits
        // stalled for 100-200 ms at random. Here it runs between groups, while new writes queue
        // and then share the next commit.
        if last_checkpoint.elapsed() >= CHECKPOINT_EVERY {
            if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
                tracing::warn!(error = %e, "WAL checkpoint failed; will retry");
            }
            last_checkpoint = std::time::Instant::now();
        }
        stats.busy_ns.fetch_add(elapsed_ns(started), Ordering::Relaxed);
    }
}

/// How often the writer copies the WAL into the database file: often enough that the WAL stays
/// small, rarely enough that the checkpoint's own fsync is a small share of the writer's time.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(100);

fn step(conn: &Connection, sql: &str) -> Result<(), DbError> {
    conn.prepare_cached(sql)?.execute([])?;
    Ok(())
}

fn elapsed_ns(since: std::time::Instant) -> u64 {
    u64::try_from(since.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// A fresh database in a temp dir, for tests; it lives as long as the returned dir.
#[cfg(test)]
pub(crate) fn temp_db() -> (tempfile::TempDir, Db) {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(&dir.path().join("t.db")).unwrap();
    (dir, db)
}

/// Milliseconds since the Unix epoch; the queue engine's clock.
pub fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn concurrent_writes_share_commits_and_failures_are_isolated() {
        let (_dir, db) = temp_db();
        let mut tasks = Vec::new();
        for i in 0..200 {
            let db = db.clone();
            tasks.push(tokio::spawn(async move {
                db.write(move |c| {
                    if i == 7 {
                        c.execute(
                            "INSERT INTO invoices(key, body, created_at) VALUES ('k7', x'00', 'now')",
                            [],
                        )?;
                        return Err(DbError::Corrupt("boom".into()));
                    }
                    c.execute(
                        "INSERT INTO invoices(key, body, created_at) VALUES (?1, x'00', 'now')",
                        [format!("k{i}")],
                    )?;
                    Ok(())
                })
                .await
            }));
        }
        let mut failures = 0;
        for t in tasks {
            if t.await.unwrap().is_err() {
                failures += 1;
            }
        }
        assert_eq!(failures, 1);
        let n: i64 = db
            .read(|c| Ok(c.query_row("SELECT count(*) FROM invoices", [], |r| r.get(0))?))
            .await
            .unwrap();
        assert_eq!(n, 199, "the failed job's write must be rolled back, the others kept");
        let commits = db.stats.commits.load(Ordering::Relaxed);
        assert!(commits <= 200, "{commits}");
    }
}
