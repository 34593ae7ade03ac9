//! What every command shares: the error type, argument reading, the backend choice, and the
//! dispatch to each command group's module. Errors become an exit code and one `error:` line
//! here, nowhere else.

use super::{BackendKind, Cli, Command, RuntimeArgs};
use crate::backend::aws::AwsBackend;
use crate::backend::local::LocalBackend;
use crate::backend::{Backend, BackendError};
use crate::local::runtime::RuntimeConfig;
use skipline_engine::filter::{FilterPolicy, FilterScope};
use std::io::Read;
use std::sync::Arc;

/// Arguments read from `@FILE` or `-` are capped, so a wrong path cannot eat memory.
const MAX_ARG_BYTES: u64 = 1024 * 1024;

/// A command's failure: what to print and which exit code.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Unavailable(String),
    /// Printed already; exit 1.
    #[error("{0}")]
    Failed(String),
}

impl CliError {
    pub fn exit_code(&self) -> i32 {
        match self {
            CliError::Failed(_) => 1,
            CliError::Invalid(_) => 2,
            CliError::NotFound(_) => 3,
            CliError::Conflict(_) => 4,
            CliError::Unavailable(_) => 5,
        }
    }
}

impl From<BackendError> for CliError {
    fn from(e: BackendError) -> Self {
        match e {
            BackendError::Invalid(m) => CliError::Invalid(m),
            BackendError::NotFound(m) => CliError::NotFound(m),
            BackendError::Conflict(m) => CliError::Conflict(m),
            BackendError::Unsupported(m) => CliError::Invalid(m),
            BackendError::Unavailable(m) => CliError::Unavailable(m),
        }
    }
}

impl From<crate::local::runtime::RuntimeError> for CliError {
    fn from(e: crate::local::runtime::RuntimeError) -> Self {
        use crate::local::runtime::RuntimeError as R;
        match e {
            R::StateMachine { .. } | R::DataDir { .. } => CliError::Invalid(e.to_string()),
            R::Locked(_) => CliError::Conflict(e.to_string()),
            _ => CliError::Unavailable(e.to_string()),
        }
    }
}

/// Reads an argument given literally, as `@FILE`, or as `-` (stdin).
pub fn read_arg(name: &str, text: &str) -> Result<String, CliError> {
    let mut out = String::new();
    let read = |r: &mut dyn Read, out: &mut String| r.take(MAX_ARG_BYTES + 1).read_to_string(out);
    if text == "-" {
        read(&mut std::io::stdin(), &mut out)
            .map_err(|e| CliError::Invalid(format!("{name}: cannot read stdin: {e}")))?;
    } else if let Some(path) = text.strip_prefix('@') {
        let mut f =
            std::fs::File::open(path).map_err(|e| CliError::Invalid(format!("{name}: cannot open {path}: {e}")))?;
        read(&mut f, &mut out).map_err(|e| CliError::Invalid(format!("{name}: cannot read {path}: {e}")))?;
    } else {
        return Ok(text.to_string());
    }
    if out.len() as u64 > MAX_ARG_BYTES {
        return Err(CliError::Invalid(format!(
            "{name}: input is larger than {MAX_ARG_BYTES} bytes"
        )));
    }
    Ok(out)
}

pub(super) fn runtime_config(cli: &Cli, args: Option<&RuntimeArgs>) -> RuntimeConfig {
    let mut config = RuntimeConfig::new(&cli.data_dir);
    if let Some(a) = args {
        config.allow_private_endpoints = a.allow_private_endpoints;
        config.state_machine = a.state_machine.clone();
        config.visibility_timeout = a.visibility_timeout;
        config.max_receive_count = a.max_receive_count;
        config.webhook_timeout = a.webhook_timeout;
        config.delivery_schedule = a.delivery_schedule.clone();
        config.disable_after = a.disable_after;
        config.apply_queue_settings = true;
    }
    config
}

/// The backend the flags choose. The embedded one opens its data dir only when an operation
/// needs it, after the operation has checked its input, so a refused command leaves nothing
/// behind and a read never creates a data dir.
pub(super) async fn backend(cli: &Cli) -> Result<Arc<dyn Backend>, CliError> {
    match cli.backend {
        BackendKind::Aws => Ok(Arc::new(AwsBackend::from_env(cli.stack_outputs.as_deref()).await?)),
        BackendKind::Local => Ok(Arc::new(LocalBackend::lazy(runtime_config(cli, None)))),
    }
}

pub(super) fn parse_policy(text: &str, scope: FilterScope) -> Result<(String, FilterPolicy), CliError> {
    let text = read_arg("--filter-policy", text)?;
    let policy = FilterPolicy::parse(&text, scope).map_err(|e| CliError::Invalid(e.to_string()))?;
    Ok((text, policy))
}

/// Runs the parsed command line; the caller turns the result into the exit code.
pub async fn run(cli: Cli) -> Result<(), CliError> {
    match &cli.command {
        Command::Serve(args) => super::serve::run(&cli, args).await,
        Command::Demo(args) => crate::demo::run(args, cli.json).await,
        Command::Order(cmd) => super::order::run(&cli, cmd).await,
        Command::Executions(cmd) => super::executions::run(&cli, cmd).await,
        Command::Vendors(cmd) => super::vendors::run(&cli, cmd).await,
        Command::Topic(cmd) => super::topic::run(&cli, cmd).await,
        Command::Queues(cmd) => super::queues::run(&cli, cmd).await,
        Command::States(cmd) => super::states::run(&cli, cmd).await,
        Command::Bench(args) => super::bench::run(&cli, args).await,
        Command::Backup(args) => {
            let encryption = backup_encryption(args)?;
            copy_database(&cli, |data| {
                crate::local::backup::backup(data, &args.to, encryption.as_ref())
            })
        }
        Command::Tokens(cmd) => super::tokens::run(&cli, cmd).await,
        Command::Restore(args) => {
            let keys = restore_keys(args)?;
            copy_database(&cli, |data| crate::local::backup::restore(&args.from, data, &keys))
        }
    }
}

/// The passphrase in the environment, if set and not empty (an empty one counts as unset).
fn env_passphrase(min_chars: usize) -> Result<Option<age::secrecy::SecretString>, CliError> {
    use crate::local::backup::{PASSPHRASE_ENV, passphrase};
    match std::env::var(PASSPHRASE_ENV) {
        Ok(text) if text.is_empty() => Ok(None),
        Ok(text) => Ok(Some(passphrase(text, PASSPHRASE_ENV, min_chars).map_err(backup_error)?)),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(e) => Err(CliError::Invalid(format!("{PASSPHRASE_ENV}: {e}"))),
    }
}

/// The encryption `backup` asked for, its keys read and checked before anything is written.
fn backup_encryption(args: &super::BackupArgs) -> Result<Option<crate::local::backup::Encryption>, CliError> {
    use crate::local::backup::{self as b, Encryption, MIN_PASSPHRASE_CHARS, PASSPHRASE_ENV};
    if !args.recipients.is_empty() {
        let recipients = args
            .recipients
            .iter()
            .map(|r| b::parse_recipient(r))
            .collect::<Result<_, _>>()
            .map_err(backup_error)?;
        return Ok(Some(Encryption::Recipients(recipients)));
    }
    if let Some(path) = &args.passphrase_file {
        let p = b::read_passphrase_file(path, MIN_PASSPHRASE_CHARS).map_err(backup_error)?;
        return Ok(Some(Encryption::Passphrase(p)));
    }
    if !args.encrypt {
        return Ok(None);
    }
    match env_passphrase(MIN_PASSPHRASE_CHARS)? {
        Some(p) => Ok(Some(Encryption::Passphrase(p))),
        None => Err(CliError::Invalid(format!(
            "--encrypt needs a key: --recipient age1… (an age public key), --passphrase-file FILE, or a passphrase in {PASSPHRASE_ENV}"
        ))),
    }
}

/// The keys `restore` may decrypt with; the environment's passphrase only when no flag is given.
fn restore_keys(args: &super::RestoreArgs) -> Result<crate::local::backup::Keys, CliError> {
    use crate::local::backup as b;
    let explicit = args.passphrase_file.is_some() || !args.identities.is_empty();
    let passphrase = match &args.passphrase_file {
        Some(path) => Some(b::read_passphrase_file(path, 1).map_err(backup_error)?),
        None => env_passphrase(1)?,
    };
    let mut identities = Vec::new();
    for path in &args.identities {
        identities.extend(b::read_identity_file(path).map_err(backup_error)?);
    }
    Ok(b::Keys {
        passphrase,
        identities,
        explicit,
    })
}

/// Exit codes: a bad or missing key or file is the caller's to fix (2); a name already taken or
/// a data dir in use is a conflict (4); a failing disk is unavailable (5).
fn backup_error(e: crate::local::backup::BackupError) -> CliError {
    use crate::local::backup::BackupError as E;
    match e {
        E::Exists(_) | E::NotEmpty(_) => CliError::Conflict(e.to_string()),
        E::NoDatabase(_) | E::NoBackup(_) => CliError::NotFound(e.to_string()),
        E::NotABackup { .. }
        | E::BadKey(_)
        | E::NeedsPassphrase { .. }
        | E::NeedsIdentity { .. }
        | E::WrongKey { .. }
        | E::NotEncrypted { .. } => CliError::Invalid(e.to_string()),
        E::Io { .. } => CliError::Unavailable(e.to_string()),
    }
}

/// `backup` and `restore`: the embedded backend's data dir only.
fn copy_database(
    cli: &Cli,
    copy: impl FnOnce(&std::path::Path) -> Result<crate::local::backup::Copied, crate::local::backup::BackupError>,
) -> Result<(), CliError> {
    if cli.backend == BackendKind::Aws {
        return Err(CliError::Invalid(
            "backup and restore are for the embedded backend's data dir; on AWS the tables have point-in-time recovery and the bucket versioning".into(),
        ));
    }
    let copied = copy(&cli.data_dir).map_err(backup_error)?;
    if cli.json {
        super::output::json(&copied);
    } else {
        let sealed = match copied.encryption {
            Some(kind) => format!(", {kind}"),
            None => String::new(),
        };
        println!(
            "copied {} to {} ({} bytes, integrity_check {}{sealed})",
            copied.from.display(),
            copied.to.display(),
            copied.bytes,
            copied.integrity
        );
    }
    Ok(())
}

/// Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}
