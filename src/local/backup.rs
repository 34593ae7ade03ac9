//! Online backup and restore of a data dir's database.
//!
//! A backup is `VACUUM INTO` on a read-only connection: in WAL mode that is one read
//! transaction, so the copy holds every commit made before it began (every order answered 202
//! by then) while `serve` keeps writing. The copy is checked with `PRAGMA integrity_check`
//! before it is reported, and it is created owner-only (0600) because it holds webhook secrets.
//!
//! A backup can also be encrypted with [age](https://age-encryption.org): a small, audited,
//! widely implemented format, so a backup can be opened by hand with the `age` or `rage` CLI
//! as well as restored here. The plaintext copy is made and checked in the data dir, where the
//! same secrets already lie in the clear, then streamed through age into the target; it is
//! removed whether that succeeds or not, so no plaintext is left beside the backups.
//! `restore` recognises an age file by its header and decrypts it into the data dir.

use super::runtime::db_path;
use age::secrecy::SecretString;
use rusqlite::{Connection, OpenFlags};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The first bytes of every age file (the binary format; we do not write the armored one).
const AGE_MAGIC: &[u8] = b"age-encryption.org/v1";
/// A new passphrase must be at least this long: scrypt slows guessing, it does not stop it.
pub const MIN_PASSPHRASE_CHARS: usize = 12;
/// The environment variable a passphrase may come from, for cron and service managers.
pub const PASSPHRASE_ENV: &str = "SKIPLINE_BACKUP_PASSPHRASE";
/// Passphrase and identity files are small; a wrong path must not be read whole.
const MAX_KEY_FILE_BYTES: u64 = 64 * 1024;

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
    /// A passphrase, recipient or identity given to us is unusable.
    #[error("{0}")]
    BadKey(String),
    #[error("{path} is encrypted (age) with a passphrase: give --passphrase-file FILE or set {PASSPHRASE_ENV}")]
    NeedsPassphrase { path: PathBuf },
    #[error(
        "{path} is encrypted (age) to a public key: give --identity FILE (the age identity file holding its private key)"
    )]
    NeedsIdentity { path: PathBuf },
    #[error("cannot decrypt {path}: {reason}")]
    WrongKey { path: PathBuf, reason: String },
    #[error(
        "{path} is not encrypted, but a passphrase or identity was given: restore it without --passphrase-file/--identity"
    )]
    NotEncrypted { path: PathBuf },
}

/// How a backup is encrypted; [`Encryption::kind`] names it in the report.
pub enum Encryption {
    /// age's scrypt recipient: anyone with the passphrase can restore.
    Passphrase(SecretString),
    /// age X25519 public keys: only the holders of the matching identities can restore, so the
    /// machine that takes backups never holds the key that reads them.
    Recipients(Vec<age::x25519::Recipient>),
}

impl Encryption {
    pub fn kind(&self) -> EncryptionKind {
        match self {
            Encryption::Passphrase(_) => EncryptionKind::Passphrase,
            Encryption::Recipients(_) => EncryptionKind::Recipients,
        }
    }

    fn encryptor(&self) -> Result<age::Encryptor, BackupError> {
        match self {
            Encryption::Passphrase(p) => Ok(age::Encryptor::with_user_passphrase(p.clone())),
            Encryption::Recipients(rs) => age::Encryptor::with_recipients(rs.iter().map(|r| r as &dyn age::Recipient))
                .map_err(|e| BackupError::BadKey(format!("cannot encrypt to these recipients: {e}"))),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EncryptionKind {
    Passphrase,
    Recipients,
}

impl std::fmt::Display for EncryptionKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            EncryptionKind::Passphrase => "backup age-encrypted with a passphrase",
            EncryptionKind::Recipients => "backup age-encrypted to public keys",
        })
    }
}

/// What `restore` may decrypt with. Each is tried only on a file encrypted that way.
#[derive(Default)]
pub struct Keys {
    pub passphrase: Option<SecretString>,
    pub identities: Vec<Box<dyn age::Identity>>,
    /// Whether the keys were asked for on the command line (not only found in the
    /// environment): then a plaintext backup is refused, since the caller expected a sealed one.
    pub explicit: bool,
}

/// Checks a passphrase read from `source`; `min_chars` is 0 when it only has to open a file.
pub fn passphrase(text: String, source: &str, min_chars: usize) -> Result<SecretString, BackupError> {
    let chars = text.chars().count();
    if chars == 0 {
        return Err(BackupError::BadKey(format!("the passphrase in {source} is empty")));
    }
    if chars < min_chars {
        return Err(BackupError::BadKey(format!(
            "the passphrase in {source} has {chars} characters; use at least {min_chars}"
        )));
    }
    Ok(SecretString::from(text))
}

/// Reads a passphrase from the first line of `path` (without its line ending).
pub fn read_passphrase_file(path: &Path, min_chars: usize) -> Result<SecretString, BackupError> {
    let bad = |e: &dyn std::fmt::Display| {
        BackupError::BadKey(format!("--passphrase-file: cannot read {}: {e}", path.display()))
    };
    let file = std::fs::File::open(path).map_err(|e| bad(&e))?;
    let mut text = String::new();
    file.take(MAX_KEY_FILE_BYTES)
        .read_to_string(&mut text)
        .map_err(|e| bad(&e))?;
    let line = text.lines().next().unwrap_or_default().to_string();
    passphrase(line, &format!("{}", path.display()), min_chars)
}

/// Parses an age X25519 recipient (`age1…`, as `age-keygen` prints).
pub fn parse_recipient(text: &str) -> Result<age::x25519::Recipient, BackupError> {
    text.trim().parse().map_err(|e| {
        BackupError::BadKey(format!(
            "--recipient {text:?} is not an age public key ({e}); `age-keygen -y KEYFILE` prints one"
        ))
    })
}

/// Reads the identities (private keys) in an age identity file, as `age-keygen` writes.
pub fn read_identity_file(path: &Path) -> Result<Vec<Box<dyn age::Identity>>, BackupError> {
    let bad =
        |e: &dyn std::fmt::Display| BackupError::BadKey(format!("--identity: cannot read {}: {e}", path.display()));
    let file = std::fs::File::open(path).map_err(|e| bad(&e))?;
    let reader = std::io::BufReader::new(file.take(MAX_KEY_FILE_BYTES));
    let identities = age::IdentityFile::from_buffer(reader)
        .map_err(|e| bad(&e))?
        .into_identities()
        .map_err(|e| bad(&e))?;
    if identities.is_empty() {
        return Err(bad(&"it holds no age identity (AGE-SECRET-KEY-1…)"));
    }
    Ok(identities)
}

/// What a backup or restore wrote.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Copied {
    pub from: PathBuf,
    pub to: PathBuf,
    pub bytes: u64,
    /// `PRAGMA integrity_check` of the copy: always "ok" when this is returned.
    pub integrity: String,
    /// Whether the backup file is (backup) or was (restore) encrypted.
    pub encrypted: bool,
    /// How, when it is.
    pub encryption: Option<EncryptionKind>,
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

/// `VACUUM INTO` `to` (empty or absent) from a read-only connection to `from`.
fn vacuum_into(from: &Path, to: &Path) -> Result<(), BackupError> {
    let c = Connection::open_with_flags(from, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .map_err(|e| io(from, e))?;
    c.busy_timeout(Duration::from_secs(30)).map_err(|e| io(from, e))?;
    let target = to.to_str().ok_or_else(|| io(to, "the path is not UTF-8"))?;
    c.execute("VACUUM INTO ?1", [target]).map_err(|e| io(to, e))?;
    Ok(())
}

/// Copies the data dir's database to `to` while it is in use; `to` must not exist. With
/// `encryption`, `to` holds only the age-encrypted copy.
pub fn backup(data_dir: &Path, to: &Path, encryption: Option<&Encryption>) -> Result<Copied, BackupError> {
    let from = db_path(data_dir);
    if !from.is_file() {
        return Err(BackupError::NoDatabase(from));
    }
    // Created first, empty and 0600: VACUUM INTO accepts an empty file and keeps its mode, and
    // an encrypted backup claims its name before any work is done.
    let out = create_private(to)?;
    let result = match encryption {
        None => {
            drop(out);
            (|| {
                vacuum_into(&from, to)?;
                let bytes = sync(to)?;
                let integrity = check(to)?;
                Ok(Copied {
                    from: from.clone(),
                    to: to.to_path_buf(),
                    bytes,
                    integrity,
                    encrypted: false,
                    encryption: None,
                })
            })()
        }
        Some(encryption) => encrypted_backup(&from, data_dir, out, to, encryption),
    };
    if result.is_err() {
        let _ = std::fs::remove_file(to);
    }
    result
}

fn encrypted_backup(
    from: &Path,
    data_dir: &Path,
    out: std::fs::File,
    to: &Path,
    encryption: &Encryption,
) -> Result<Copied, BackupError> {
    // The plaintext copy: 0600 in the (0700) data dir, and deleted when `plain` drops, on every
    // path out of here. A crash can leave it only where the same data already is.
    let plain = tempfile::Builder::new()
        .prefix(".backup-")
        .suffix(".db.tmp")
        .tempfile_in(data_dir)
        .map_err(|e| io(data_dir, e))?;
    vacuum_into(from, plain.path())?;
    let integrity = check(plain.path())?;
    let mut input = std::fs::File::open(plain.path()).map_err(|e| io(plain.path(), e))?;
    let mut writer = encryption
        .encryptor()?
        .wrap_output(std::io::BufWriter::new(out))
        .map_err(|e| io(to, e))?;
    std::io::copy(&mut input, &mut writer).map_err(|e| io(to, e))?;
    let out = writer
        .finish()
        .and_then(|w| w.into_inner().map_err(|e| e.into_error()))
        .map_err(|e| io(to, e))?;
    drop(out);
    drop(input);
    plain.close().map_err(|e| io(data_dir, e))?;
    let bytes = sync(to)?;
    Ok(Copied {
        from: from.to_path_buf(),
        to: to.to_path_buf(),
        bytes,
        integrity,
        encrypted: true,
        encryption: Some(encryption.kind()),
    })
}

/// Whether `file` starts with the age header; leaves it at the start.
fn is_age(file: &mut std::fs::File, path: &Path) -> Result<bool, BackupError> {
    let mut head = Vec::with_capacity(AGE_MAGIC.len());
    (&mut *file)
        .take(AGE_MAGIC.len() as u64)
        .read_to_end(&mut head)
        .map_err(|e| io(path, e))?;
    file.rewind().map_err(|e| io(path, e))?;
    Ok(head == AGE_MAGIC)
}

/// Opens an age file with `keys`, failing before any plaintext is read if they do not fit.
fn decryptor(file: std::fs::File, path: &Path, keys: &Keys) -> Result<(Box<dyn Read>, EncryptionKind), BackupError> {
    let damaged = |e: age::DecryptError| BackupError::NotABackup {
        path: path.to_path_buf(),
        reason: format!("not a readable age file: {e}"),
    };
    let d = age::Decryptor::new_buffered(std::io::BufReader::new(file)).map_err(damaged)?;
    let scrypt_identity;
    let (identities, kind): (Vec<&dyn age::Identity>, _) = if d.is_scrypt() {
        let Some(p) = &keys.passphrase else {
            return Err(BackupError::NeedsPassphrase {
                path: path.to_path_buf(),
            });
        };
        scrypt_identity = age::scrypt::Identity::new(p.clone());
        (vec![&scrypt_identity], EncryptionKind::Passphrase)
    } else {
        if keys.identities.is_empty() {
            return Err(BackupError::NeedsIdentity {
                path: path.to_path_buf(),
            });
        }
        (
            keys.identities.iter().map(|i| i.as_ref()).collect(),
            EncryptionKind::Recipients,
        )
    };
    let wrong = |reason: &str| BackupError::WrongKey {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    };
    let reader = d.decrypt(identities.into_iter()).map_err(|e| match e {
        age::DecryptError::DecryptionFailed | age::DecryptError::KeyDecryptionFailed => {
            wrong("wrong passphrase")
        }
        age::DecryptError::NoMatchingKeys => wrong("no --identity matches the public keys it was encrypted to"),
        age::DecryptError::ExcessiveWork { required, target } => wrong(&format!(
            "its scrypt work factor 2^{required} is far above this machine's 2^{target} (was it made elsewhere, or is it hostile?)"
        )),
        e => damaged(e),
    })?;
    Ok((Box::new(reader), kind))
}

/// Restores a backup into `data_dir`, which must not exist or be empty. An age-encrypted
/// backup is decrypted with `keys`; a wrong or missing key is refused before anything is written.
pub fn restore(from: &Path, data_dir: &Path, keys: &Keys) -> Result<Copied, BackupError> {
    if !from.exists() {
        return Err(BackupError::NoBackup(from.to_path_buf()));
    }
    let mut file = std::fs::File::open(from).map_err(|e| io(from, e))?;
    let (mut input, encryption, checked): (Box<dyn Read>, _, _) = if is_age(&mut file, from)? {
        let (reader, kind) = decryptor(file, from, keys)?;
        (reader, Some(kind), None)
    } else {
        if keys.explicit {
            return Err(BackupError::NotEncrypted {
                path: from.to_path_buf(),
            });
        }
        (Box::new(file), None, Some(check(from)?))
    };
    let created = match std::fs::read_dir(data_dir) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                return Err(BackupError::NotEmpty(data_dir.to_path_buf()));
            }
            false
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(data_dir).map_err(|e| io(data_dir, e))?;
            true
        }
        Err(e) => return Err(io(data_dir, e)),
    };
    let to = db_path(data_dir);
    let partial = to.with_extension("db.restoring");
    let result = (|| {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(data_dir, std::fs::Permissions::from_mode(0o700)).map_err(|e| io(data_dir, e))?;
        }
        let mut out = create_private(&partial)?;
        copy(&mut input, &mut out, from, &partial, encryption.is_some())?;
        drop(out);
        sync(&partial)?;
        // An encrypted backup can be checked only once decrypted, here in the private data dir.
        let integrity = match checked {
            Some(ok) => ok,
            None => check(&partial).map_err(|e| match e {
                BackupError::NotABackup { reason, .. } => BackupError::NotABackup {
                    path: from.to_path_buf(),
                    reason: format!("decrypted, but {reason}"),
                },
                e => e,
            })?,
        };
        // Renamed into place only once complete, so a data dir never holds half a database.
        std::fs::rename(&partial, &to).map_err(|e| io(&to, e))?;
        let bytes = sync(&to)?;
        Ok(Copied {
            from: from.to_path_buf(),
            to: to.clone(),
            bytes,
            integrity,
            encrypted: encryption.is_some(),
            encryption,
        })
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&partial);
        if created {
            // A refused restore leaves no data dir behind (only ever an empty one we made).
            let _ = std::fs::remove_dir(data_dir);
        }
    }
    result
}

/// Copies `input` to `out`, telling a damaged encrypted backup (a read error: age checks every
/// 64 KiB chunk) from a failing disk (a write error).
fn copy(
    input: &mut dyn Read,
    out: &mut std::fs::File,
    from: &Path,
    to: &Path,
    encrypted: bool,
) -> Result<(), BackupError> {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match input.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) if encrypted => {
                return Err(BackupError::NotABackup {
                    path: from.to_path_buf(),
                    reason: format!("the encrypted backup is damaged or truncated: {e}"),
                });
            }
            Err(e) => return Err(io(from, e)),
        };
        out.write_all(&buf[..n]).map_err(|e| io(to, e))?;
    }
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
        let copied = backup(&data, &file, None).unwrap();
        assert_eq!(copied.integrity, "ok");
        assert!(copied.bytes > 0);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
        }
        assert!(matches!(backup(&data, &file, None), Err(BackupError::Exists(_))));
        assert!(matches!(
            restore(&file, &data, &Keys::default()),
            Err(BackupError::NotEmpty(_))
        ));
        let restored = tmp.path().join("restored");
        restore(&file, &restored, &Keys::default()).unwrap();
        assert!(db_path(&restored).is_file());
        assert!(!restored.join("skipline.db.restoring").exists());

        let junk = tmp.path().join("junk.db");
        std::fs::write(&junk, b"not a database at all, just text").unwrap();
        let e = restore(&junk, &tmp.path().join("r2"), &Keys::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a readable SQLite database"), "{e}");
        assert!(!tmp.path().join("r2").exists(), "a refused restore creates nothing");
        let other = tmp.path().join("other.db");
        Connection::open(&other)
            .unwrap()
            .execute_batch("CREATE TABLE t (x)")
            .unwrap();
        let e = restore(&other, &tmp.path().join("r3"), &Keys::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a Skip the Line database"), "{e}");
        assert!(matches!(
            backup(&tmp.path().join("nope"), &tmp.path().join("c.db"), None),
            Err(BackupError::NoDatabase(_))
        ));
        assert!(!tmp.path().join("c.db").exists());
    }

    /// A data dir with a marker secret in it, as a webhook secret would be.
    fn data_dir_with_secret(tmp: &Path) -> PathBuf {
        let data = tmp.join("data");
        std::fs::create_dir_all(&data).unwrap();
        drop(Db::open(&db_path(&data)).unwrap());
        Connection::open(db_path(&data))
            .unwrap()
            .execute_batch("CREATE TABLE marker (x); INSERT INTO marker VALUES ('whsec_unit_marker_secret');")
            .unwrap();
        data
    }

    fn secret(text: &str) -> SecretString {
        SecretString::from(text.to_string())
    }

    fn passphrase_keys(text: &str) -> Keys {
        Keys {
            passphrase: Some(secret(text)),
            explicit: true,
            ..Keys::default()
        }
    }

    /// The data dir's files other than the database and its WAL: a plaintext copy left behind
    /// would show here.
    fn strays(data: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(data)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| !n.starts_with("skipline.db"))
            .collect();
        names.sort();
        names
    }

    #[test]
    fn an_encrypted_backup_holds_no_plaintext_and_restores_only_with_its_passphrase() {
        let tmp = tempfile::tempdir().unwrap();
        let data = data_dir_with_secret(tmp.path());
        let file = tmp.path().join("b.db.age");
        let pass = "correct horse battery staple";
        let copied = backup(&data, &file, Some(&Encryption::Passphrase(secret(pass)))).unwrap();
        assert_eq!(
            (copied.encrypted, copied.encryption),
            (true, Some(EncryptionKind::Passphrase))
        );
        let bytes = std::fs::read(&file).unwrap();
        assert!(bytes.starts_with(AGE_MAGIC));
        let contains = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
        assert!(!contains(b"SQLite format 3"), "the SQLite header is in the clear");
        assert!(!contains(b"whsec_unit_marker_secret"), "the secret is in the clear");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
        }
        assert_eq!(strays(&data), Vec::<String>::new(), "the plaintext copy was removed");
        assert_eq!(
            std::fs::read_dir(tmp.path()).unwrap().count(),
            2,
            "only data/ and the backup"
        );

        // Refused, and nothing written: no key, the wrong key, the wrong kind of key.
        let r = tmp.path().join("restored");
        let e = restore(&file, &r, &Keys::default()).unwrap_err();
        assert!(matches!(e, BackupError::NeedsPassphrase { .. }), "{e}");
        assert!(e.to_string().contains("--passphrase-file"), "{e}");
        let e = restore(&file, &r, &passphrase_keys("wrong horse battery staple")).unwrap_err();
        assert!(matches!(e, BackupError::WrongKey { .. }), "{e}");
        assert!(e.to_string().contains("wrong passphrase"), "{e}");
        let only_identity = Keys {
            identities: vec![Box::new(age::x25519::Identity::generate())],
            explicit: true,
            ..Keys::default()
        };
        let e = restore(&file, &r, &only_identity).unwrap_err();
        assert!(matches!(e, BackupError::NeedsPassphrase { .. }), "{e}");
        assert!(!r.exists(), "a refused restore creates no data dir");

        // Damaged: age authenticates every chunk, so a cut file fails while decrypting, and the
        // data dir that restore had made is removed again.
        let cut = tmp.path().join("cut.age");
        std::fs::write(&cut, &bytes[..bytes.len() - 100]).unwrap();
        let e = restore(&cut, &r, &passphrase_keys(pass)).unwrap_err();
        assert!(e.to_string().contains("damaged or truncated"), "{e}");
        assert!(!r.exists(), "a damaged backup leaves no data dir");

        let restored = restore(&file, &r, &passphrase_keys(pass)).unwrap();
        assert_eq!((restored.encrypted, restored.integrity.as_str()), (true, "ok"));
        let marker: String = Connection::open(db_path(&r))
            .unwrap()
            .query_row("SELECT x FROM marker", [], |row| row.get(0))
            .unwrap();
        assert_eq!(marker, "whsec_unit_marker_secret");
        assert_eq!(strays(&r), Vec::<String>::new());

        // A plaintext backup when a key was asked for on the command line: refused; with the
        // passphrase only from the environment (not explicit): restored.
        let plain = tmp.path().join("plain.db");
        backup(&data, &plain, None).unwrap();
        let e = restore(&plain, &tmp.path().join("r2"), &passphrase_keys(pass)).unwrap_err();
        assert!(matches!(e, BackupError::NotEncrypted { .. }), "{e}");
        assert!(!tmp.path().join("r2").exists());
        let ambient = Keys {
            passphrase: Some(secret(pass)),
            ..Keys::default()
        };
        assert!(!restore(&plain, &tmp.path().join("r2"), &ambient).unwrap().encrypted);
    }

    #[test]
    fn a_backup_encrypted_to_public_keys_restores_with_any_matching_identity_only() {
        let tmp = tempfile::tempdir().unwrap();
        let data = data_dir_with_secret(tmp.path());
        let (ours, spare) = (age::x25519::Identity::generate(), age::x25519::Identity::generate());
        let file = tmp.path().join("b.db.age");
        let recipients = Encryption::Recipients(vec![ours.to_public(), spare.to_public()]);
        let copied = backup(&data, &file, Some(&recipients)).unwrap();
        assert_eq!(copied.encryption, Some(EncryptionKind::Recipients));
        let r = tmp.path().join("restored");
        let e = restore(&file, &r, &passphrase_keys("correct horse battery staple")).unwrap_err();
        assert!(matches!(e, BackupError::NeedsIdentity { .. }), "{e}");
        let stranger = Keys {
            identities: vec![Box::new(age::x25519::Identity::generate())],
            explicit: true,
            ..Keys::default()
        };
        let e = restore(&file, &r, &stranger).unwrap_err();
        assert!(e.to_string().contains("no --identity matches"), "{e}");
        assert!(!r.exists());
        let keys = Keys {
            identities: vec![Box::new(age::x25519::Identity::generate()), Box::new(spare)],
            explicit: true,
            ..Keys::default()
        };
        assert_eq!(
            restore(&file, &r, &keys).unwrap().encryption,
            Some(EncryptionKind::Recipients)
        );
    }

    #[test]
    fn a_failed_encrypted_backup_leaves_neither_plaintext_nor_a_partial_file() {
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("data");
        std::fs::create_dir_all(&data).unwrap();
        // A database that fails the check after the plaintext copy was made.
        Connection::open(db_path(&data))
            .unwrap()
            .execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES ('whsec_x')")
            .unwrap();
        let file = tmp.path().join("b.db.age");
        let recipients = Encryption::Recipients(vec![age::x25519::Identity::generate().to_public()]);
        let e = backup(&data, &file, Some(&recipients)).unwrap_err();
        assert!(e.to_string().contains("not a Skip the Line database"), "{e}");
        assert!(!file.exists(), "no partial backup");
        assert_eq!(strays(&data), Vec::<String>::new(), "no plaintext copy");
    }

    #[test]
    fn passphrases_are_read_from_the_first_line_and_must_be_long_enough() {
        let tmp = tempfile::tempdir().unwrap();
        let f = tmp.path().join("p");
        std::fs::write(&f, "  twelve chars ok \r\nsecond line\n").unwrap();
        use age::secrecy::ExposeSecret;
        let p = read_passphrase_file(&f, MIN_PASSPHRASE_CHARS).unwrap();
        assert_eq!(p.expose_secret(), "  twelve chars ok ");
        std::fs::write(&f, "elevenchars\n").unwrap();
        let e = read_passphrase_file(&f, MIN_PASSPHRASE_CHARS).unwrap_err().to_string();
        assert!(e.contains("11 characters; use at least 12"), "{e}");
        assert!(
            read_passphrase_file(&f, 1).is_ok(),
            "restore takes what the backup used"
        );
        std::fs::write(&f, "\nsecond line is not the passphrase\n").unwrap();
        assert!(read_passphrase_file(&f, 1).unwrap_err().to_string().contains("empty"));
        let e = read_passphrase_file(&tmp.path().join("none"), 1)
            .unwrap_err()
            .to_string();
        assert!(e.contains("cannot read"), "{e}");
        assert!(parse_recipient("age1nope").is_err());
        let id = age::x25519::Identity::generate();
        assert_eq!(parse_recipient(&id.to_public().to_string()).unwrap(), id.to_public());
        let ids = tmp.path().join("key.txt");
        std::fs::write(&ids, "# created: today\n").unwrap();
        let e = read_identity_file(&ids)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("no age identity"), "{e}");
        std::fs::write(&ids, format!("# a key\n{}\n", id.to_string().expose_secret())).unwrap();
        assert_eq!(read_identity_file(&ids).unwrap().len(), 1);
    }
}
