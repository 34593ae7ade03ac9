//! The machine's own limit, measured in the same run on the same directory: fsync'd
//! single-row SQLite commits per second, and raw `fdatasync`s per second.

use super::BenchError;
use rusqlite::Connection;
use serde::Serialize;
use std::io::{Seek, SeekFrom, Write};
use std::path::Path;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, Serialize)]
pub struct Baseline {
    /// One-row `INSERT`s, each its own transaction, WAL with `synchronous=FULL` (as the runtime).
    #[serde(rename = "sqliteCommitsPerS")]
    pub sqlite_commits_per_s: f64,
    /// 4 KiB overwrite + `fdatasync`, in a loop.
    #[serde(rename = "fsyncsPerS")]
    pub fsyncs_per_s: f64,
    pub seconds: f64,
}

fn sqlite_commits(dir: &Path, for_how_long: Duration) -> Result<f64, BenchError> {
    let path = dir.join("baseline.db");
    let fail = |e: rusqlite::Error| BenchError::Setup(format!("baseline database: {e}"));
    let conn = Connection::open(&path).map_err(fail)?;
    conn.pragma_update(None, "journal_mode", "WAL").map_err(fail)?;
    conn.pragma_update(None, "synchronous", "FULL").map_err(fail)?;
    conn.execute_batch("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)")
        .map_err(fail)?;
    let mut insert = conn.prepare("INSERT INTO t (v) VALUES (?1)").map_err(fail)?;
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < for_how_long {
        insert
            .execute(["a row of about the size of a small order event"])
            .map_err(fail)?;
        n += 1;
    }
    let rate = n as f64 / start.elapsed().as_secs_f64();
    drop(insert);
    drop(conn);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(dir.join(format!("baseline.db{suffix}")));
    }
    Ok(rate)
}

fn fsyncs(dir: &Path, for_how_long: Duration) -> Result<f64, BenchError> {
    let path = dir.join("baseline.fsync");
    let mut f = std::fs::File::create(&path)?;
    let block = [7u8; 4096];
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < for_how_long {
        f.seek(SeekFrom::Start(0))?;
        f.write_all(&block)?;
        f.sync_data()?;
        n += 1;
    }
    let rate = n as f64 / start.elapsed().as_secs_f64();
    drop(f);
    let _ = std::fs::remove_file(&path);
    Ok(rate)
}

/// Runs both measurements for `each` apiece on `dir`, off the async threads.
pub async fn measure(dir: &Path, each: Duration) -> Result<Baseline, BenchError> {
    let dir = dir.to_path_buf();
    tokio::task::spawn_blocking(move || {
        Ok(Baseline {
            sqlite_commits_per_s: sqlite_commits(&dir, each)?,
            fsyncs_per_s: fsyncs(&dir, each)?,
            seconds: each.as_secs_f64(),
        })
    })
    .await
    .map_err(|e| BenchError::Failed(format!("baseline task failed: {e}")))?
}
