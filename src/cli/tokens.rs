//! `skipline tokens create | list | revoke`: API tokens for `skipline serve`.

use super::commands::{CliError, runtime_config};
use super::{BackendKind, Cli, TokensCommand, output};
use crate::local::runtime::{Overrides, Runtime, db_path};
use crate::local::tokens::{TokenError, Tokens};

fn cli_error(e: TokenError) -> CliError {
    match e {
        TokenError::Invalid(m) => CliError::Invalid(m),
        TokenError::Conflict(m) => CliError::Conflict(m),
        TokenError::NotFound(m) => CliError::NotFound(m),
        TokenError::Db(e) => CliError::Unavailable(e.to_string()),
    }
}

pub(super) async fn run(cli: &Cli, cmd: &TokensCommand) -> Result<(), CliError> {
    if cli.backend == BackendKind::Aws {
        return Err(CliError::Invalid(
            "API tokens are for `skipline serve`; on AWS, API Gateway authorises with IAM (SigV4)".into(),
        ));
    }
    // Checked before the data dir is opened (and so created).
    if let TokensCommand::Create { name, .. } | TokensCommand::Revoke { name } = cmd
        && (name.is_empty()
            || name.len() > 64
            || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'))
    {
        return Err(CliError::Invalid(format!(
            "token name {name:?} must be 1 to 64 of letters, digits, '-' and '_'"
        )));
    }
    if !matches!(cmd, TokensCommand::Create { .. }) && !db_path(&cli.data_dir).exists() {
        return Err(CliError::NotFound(format!(
            "no data dir at {} (nothing has been stored yet)",
            cli.data_dir.display()
        )));
    }
    let rt = Runtime::open(runtime_config(cli, None), Overrides::default()).await?;
    let tokens = Tokens::new(rt.db.clone());
    match cmd {
        TokensCommand::Create { name, scopes } => {
            let (info, token) = tokens.create(name, scopes).await.map_err(cli_error)?;
            if cli.json {
                let mut v = serde_json::json!(info);
                v["token"] = serde_json::json!(token);
                output::json(&v);
            } else {
                let scopes: Vec<&str> = info.scopes.iter().map(|s| s.as_str()).collect();
                println!("created token {} with scopes {}", info.name, scopes.join(", "));
                println!("token (shown once, store it now): {token}");
            }
        }
        TokensCommand::List => {
            let list = tokens.list().await.map_err(cli_error)?;
            output::lines(
                cli.json,
                &list,
                &list,
                "no API tokens (serve runs in open development mode on loopback)",
                |t| {
                    let scopes: Vec<&str> = t.scopes.iter().map(|s| s.as_str()).collect();
                    let state = match &t.revoked_at {
                        Some(at) => format!("revoked {at}"),
                        None => "active".into(),
                    };
                    format!(
                        "{:<24} {:<36} created {}  {state}",
                        t.name,
                        scopes.join(","),
                        t.created_at
                    )
                },
            );
        }
        TokensCommand::Revoke { name } => {
            tokens.revoke(name).await.map_err(cli_error)?;
            if !cli.json {
                println!("revoked token {name}; serve refuses it within a second");
            }
        }
    }
    Ok(())
}
