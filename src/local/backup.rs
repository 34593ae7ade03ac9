//! Online backup and restore of a data dir's database.
//!
//! A backup is `VACUUM INTO` on a read-only connection: in WAL mode that is one read
//! transaction, so the copy holds every commit made before it began (every order answered 202
//! by then) while `serve` keeps writing. The copy is checked with `PRAGMA integrity_check`
//! before it is reported, and it is created owner-only (0600) because it holds webhook secrets.

use super::runtime::db_path;
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Tables a Skip the Line database always has; a file without them is not one of ours.
const OUR_TABLES: [&str; 4] = ["executions", "queues", "messages", "vendor_endpoints"];

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{0} already exists; a backup never overwrites a file (choose a new name, or delete it first)")]
    Exists(PathBuf),
    #[error("there is no data dir database at {0}")]
    NoDatabase(PathBuf),
    #[error("{0} does not exist")]
    NoBackup(PathBuf),
    #[error("the data dir {0} is not empty; restore only into a new or empty data dir")]
    NotEmpty(PathBuf),
    #[error("{path}: {reason}")]
    NotABackup { path: PathBuf, reason: String },
    #[error("{path}: {reason}")]
    Io { path: PathBuf, reason: String },
}

/// What a backup or restore wrote.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Copied {
    pub from: PathBuf,
    pub to: PathBuf,
    pub bytes: u64,
    /// `PRAGMA integrity_check` of the copy: always "ok" when this is returned.
    pub integrity: String,
}

fn io(path: &Path, e: impl std::fmt::Display) -> BackupError {
    BackupError::Io {
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}

/// Creates `path` empty and owner-only, failing if it exists.
fn create_private(path: &Path) -> Result<std::fs::File, BackupError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => BackupError::Exists(path.to_path_buf()),
        _ => io(path, e),
    })
}

/// Checks that `path` is an intact Skip the Line database.
fn check(path: &Path) -> Result<String, BackupError> {
    let not_ours = |reason: String| BackupError::NotABackup {
        path: path.to_path_buf(),
        reason,
    };
    let c = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .map_err(|e| not_ours(format!("cannot open it as SQLite: {e}")))?;
    let integrity: Vec<String> = c
        .prepare("PRAGMA integrity_check")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .map_err(|e| not_ours(format!("not a readable SQLite database: {e}")))?;
    if integrity != ["ok"] {
        return Err(not_ours(format!("integrity check failed: {}", integrity.join("; "))));
    }
    for table in OUR_TABLES {
        let present: bool = c
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1)",
                [table],
                |r| r.get(0),
            )
            .map_err(|e| not_ours(e.to_string()))?;
        if !present {
            return Err(not_ours(format!(
                "not a Skip the Line database (it has no {table} table)"
            )));
        }
    }
    Ok("ok".into())
}

/// Flushes `file` and the directory entry naming it, so that the copy survives a crash.
fn sync(file: &Path) -> Result<u64, BackupError> {
    let f = std::fs::File::open(file).map_err(|e| io(file, e))?;
    f.sync_all().map_err(|e| io(file, e))?;
    let bytes = f.metadata().map_err(|e| io(file, e))?.len();
    if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty())
        && let Ok(d) = std::fs::File::open(dir)
    {
        let _ = d.sync_all();
    }
    Ok(bytes)
}

/// Copies the data dir's database to `to` while it is in use; `to` must not exist.
pub fn backup(data_dir: &Path, to: &Path) -> Result<Copied, BackupError> {
    let from = db_path(data_dir);
    if !from.is_file() {
        return Err(BackupError::NoDatabase(from));
    }
    // Created first, empty and 0600: VACUUM INTO accepts an empty file and keeps its mode.
    drop(create_private(to)?);
    let result = (|| {
        let c = Connection::open_with_flags(
            &from,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| io(&from, e))?;
        c.busy_timeout(Duration::from_secs(30)).map_err(|e| io(&from, e))?;
        let target = to.to_str().ok_or_else(|| io(to, "the path is not UTF-8"))?;
        c.execute("VACUUM INTO ?1", [target]).map_err(|e| io(to, e))?;
        drop(c);
        let bytes = sync(to)?;
        let integrity = check(to)?;
        Ok(Copied {
            from: from.clone(),
            to: to.to_path_buf(),
            bytes,
            integrity,
        })
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(to);
    }
    result
}

/// Restores a backup into `data_dir`, which must not exist or be empty.
pub fn restore(from: &Path, data_dir: &Path) -> Result<Copied, BackupError> {
    if !from.exists() {
        return Err(BackupError::NoBackup(from.to_path_buf()));
    }
    let integrity = check(from)?;
    match std::fs::read_dir(data_dir) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                return Err(BackupError::NotEmpty(data_dir.to_path_buf()));
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(data_dir).map_err(|e| io(data_dir, e))?;
        }
        Err(e) => return Err(io(data_dir, e)),
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(data_dir, std::fs::Permissions::from_mode(0o700)).map_err(|e| io(data_dir, e))?;
    }
    let to = db_path(data_dir);
    let partial = to.with_extension("db.restoring");
    let result = (|| {
        let mut out = create_private(&partial)?;
        let mut input = std::fs::File::open(from).map_err(|e| io(from, e))?;
        std::io::copy(&mut input, &mut out).map_err(|e| io(&partial, e))?;
        drop(out);
        sync(&partial)?;
        // Renamed into place only once complete, so a data dir never holds half a database.
        std::fs::rename(&partial, &to).map_err(|e| io(&to, e))?;
        let bytes = sync(&to)?;
        Ok(Copied {
            from: from.to_path_buf(),
            to: to.clone(),
            bytes,
            integrity,
        })
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::local::db::Db;

    #[test]
    fn a_backup_is_private_checked_and_restorable_into_an_empty_dir_only() {
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("data");
        std::fs::create_dir_all(&data).unwrap();
        drop(Db::open(&db_path(&data)).unwrap());
        let file = tmp.path().join("b.db");
        let copied = backup(&data, &file).unwrap();
        assert_eq!(copied.integrity, "ok");
        assert!(copied.bytes > 0);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
        }
        assert!(matches!(backup(&data, &file), Err(BackupError::Exists(_))));
        assert!(matches!(restore(&file, &data), Err(BackupError::NotEmpty(_))));
        let restored = tmp.path().join("restored");
        restore(&file, &restored).unwrap();
        assert!(db_path(&restored).is_file());
        assert!(!restored.join("skipline.db.restoring").exists());

        let junk = tmp.path().join("junk.db");
        std::fs::write(&junk, b"not a database at all, just text").unwrap();
        let e = restore(&junk, &tmp.path().join("r2")).unwrap_err().to_string();
        assert!(e.contains("not a readable SQLite database"), "{e}");
        assert!(!tmp.path().join("r2").exists(), "a refused restore creates nothing");
        let other = tmp.path().join("other.db");
        Connection::open(&other)
            .unwrap()
            .execute_batch("CREATE TABLE t (x)")
            .unwrap();
        let e = restore(&other, &tmp.path().join("r3")).unwrap_err().to_string();
        assert!(e.contains("not a Skip the Line database"), "{e}");
        assert!(matches!(
            backup(&tmp.path().join("nope"), &tmp.path().join("c.db")),
            Err(BackupError::NoDatabase(_))
        ));
        assert!(!tmp.path().join("c.db").exists());
    }
}
