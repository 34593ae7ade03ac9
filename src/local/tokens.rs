//! API tokens for `skipline serve`: 256 random bits, shown once, stored as their SHA-256.
//!
//! A token is a bearer credential that is checked on every request, so it is stored as a fast
//! hash rather than through a slow password hash: it is random and long, so the slow hash
//! that protects guessable passwords buys nothing here.

use super::db::{Db, DbError, store_error_from};
use base64::Engine as _;
use rusqlite::params;
use serde::Serialize;
use sha2::{Digest, Sha256};

/// What a token may do. The README maps each to the IAM actions that guard the same on AWS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, clap::ValueEnum)]
pub enum Scope {
    /// `POST /order`.
    #[serde(rename = "orders:write")]
    #[value(name = "orders:write")]
    OrdersWrite,
    /// Orders, their status and invoices.
    #[serde(rename = "orders:read")]
    #[value(name = "orders:read")]
    OrdersRead,
    /// Vendors, executions, the topic, queues, replay and metrics.
    #[serde(rename = "admin")]
    #[value(name = "admin")]
    Admin,
}

impl Scope {
    pub const ALL: [Scope; 3] = [Scope::OrdersWrite, Scope::OrdersRead, Scope::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::OrdersWrite => "orders:write",
            Scope::OrdersRead => "orders:read",
            Scope::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// A stored token, without its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenInfo {
    pub name: String,
    pub scopes: Vec<Scope>,
    #[serde(rename = "createdAt")]
    pub created_at: String,
    #[serde(rename = "revokedAt", skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<String>,
}

/// An active token as the API checks it.
#[derive(Debug, Clone)]
pub struct ActiveToken {
    pub name: String,
    pub digest: [u8; 32],
    pub scopes: Vec<Scope>,
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    NotFound(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

store_error_from!(TokenError: rusqlite::Error);

/// The prefix of every token, so that a leaked one is recognisable (secret scanners, logs).
pub const TOKEN_PREFIX: &str = "stl_";

/// A new token: the prefix and 32 random bytes, base64url without padding.
pub fn generate() -> String {
    let bytes: [u8; 32] = rand::random();
    format!(
        "{TOKEN_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// The SHA-256 of a presented token.
pub fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

fn check_name(name: &str) -> Result<(), TokenError> {
    if name.is_empty() || name.len() > 64 || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        return Err(TokenError::Invalid(format!(
            "token name {name:?} must be 1 to 64 of letters, digits, '-' and '_'"
        )));
    }
    Ok(())
}

fn scopes_of(text: &str) -> Result<Vec<Scope>, DbError> {
    text.split(' ')
        .map(|s| Scope::parse(s).ok_or_else(|| DbError::Corrupt(format!("unknown token scope {s:?}"))))
        .collect()
}

/// Whether the database at `db` has an active token, read without opening it for writing (so
/// a refused `serve` creates nothing). A database that does not exist, or predates tokens, has none.
pub fn any_active_at(db: &std::path::Path) -> Result<bool, String> {
    if !db.exists() {
        return Ok(false);
    }
    let c = rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| format!("{}: {e}", db.display()))?;
    let has_table: bool = c
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'api_tokens')",
            [],
            |r| r.get(0),
        )
        .map_err(|e| format!("{}: {e}", db.display()))?;
    if !has_table {
        return Ok(false);
    }
    c.query_row(
        "SELECT EXISTS (SELECT 1 FROM api_tokens WHERE revoked_at IS NULL)",
        [],
        |r| r.get(0),
    )
    .map_err(|e| format!("{}: {e}", db.display()))
}

#[derive(Clone)]
pub struct Tokens {
    db: Db,
}

impl Tokens {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// Stores a new token; returns it, to be shown once.
    pub async fn create(&self, name: &str, scopes: &[Scope]) -> Result<(TokenInfo, String), TokenError> {
        check_name(name)?;
        if scopes.is_empty() {
            return Err(TokenError::Invalid("give at least one --scope".into()));
        }
        let mut scopes = scopes.to_vec();
        scopes.sort();
        scopes.dedup();
        let token = generate();
        let info = TokenInfo {
            name: name.to_string(),
            scopes: scopes.clone(),
            created_at: jiff::Timestamp::now().to_string(),
            revoked_at: None,
        };
        let text: Vec<&str> = scopes.iter().map(|s| s.as_str()).collect();
        let (n, d, s, at) = (
            name.to_string(),
            hex::encode(digest(&token)),
            text.join(" "),
            info.created_at.clone(),
        );
        self.db
            .write_with(move |c| {
                let taken: bool = c.query_row(
                    "SELECT EXISTS (SELECT 1 FROM api_tokens WHERE name = ?1 AND revoked_at IS NULL)",
                    [&n],
                    |r| r.get(0),
                )?;
                if taken {
                    return Err(TokenError::Conflict(format!(
                        "an active token is already named {n}; revoke it first or choose another name"
                    )));
                }
                c.prepare_cached("INSERT INTO api_tokens (name, digest, scopes, created_at) VALUES (?1, ?2, ?3, ?4)")?
                    .execute(params![n, d, s, at])?;
                Ok(())
            })
            .await?;
        Ok((info, token))
    }

    /// Every token, newest first, revoked ones included.
    pub async fn list(&self) -> Result<Vec<TokenInfo>, TokenError> {
        Ok(self
            .db
            .read(|c| {
                let mut stmt = c.prepare_cached(
                    "SELECT name, scopes, created_at, revoked_at FROM api_tokens ORDER BY created_at DESC, rowid DESC",
                )?;
                let rows: Vec<(String, String, String, Option<String>)> = stmt
                    .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
                    .collect::<Result<_, _>>()?;
                rows.into_iter()
                    .map(|(name, scopes, created_at, revoked_at)| {
                        Ok(TokenInfo {
                            name,
                            scopes: scopes_of(&scopes)?,
                            created_at,
                            revoked_at,
                        })
                    })
                    .collect()
            })
            .await?)
    }

    /// Revokes the active token of that name.
    pub async fn revoke(&self, name: &str) -> Result<(), TokenError> {
        check_name(name)?;
        let sql = "UPDATE api_tokens SET revoked_at = ?2 WHERE name = ?1 AND revoked_at IS NULL";
        let params = vec![name.to_string().into(), jiff::Timestamp::now().to_string().into()];
        let changed = self.db.execute(sql, params).await?;
        if changed == 0 {
            return Err(TokenError::NotFound(format!("no active token named {name}")));
        }
        Ok(())
    }

    /// The tokens that authenticate now.
    pub async fn active(&self) -> Result<Vec<ActiveToken>, DbError> {
        self.db
            .read(|c| {
                let mut stmt =
                    c.prepare_cached("SELECT name, digest, scopes FROM api_tokens WHERE revoked_at IS NULL")?;
                let rows: Vec<(String, String, String)> = stmt
                    .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                    .collect::<Result<_, _>>()?;
                rows.into_iter()
                    .map(|(name, d, scopes)| {
                        let mut digest = [0u8; 32];
                        hex::decode_to_slice(&d, &mut digest)
                            .map_err(|e| DbError::Corrupt(format!("token {name}: digest {e}")))?;
                        Ok(ActiveToken {
                            name,
                            digest,
                            scopes: scopes_of(&scopes)?,
                        })
                    })
                    .collect()
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn tokens_are_shown_once_stored_hashed_and_revocable() {
        let (_dir, db) = crate::local::db::temp_db();
        let t = Tokens::new(db.clone());
        assert!(!any_active_at(db.path()).unwrap());
        let (info, token) = t
            .create("ci", &[Scope::Admin, Scope::OrdersRead, Scope::Admin])
            .await
            .unwrap();
        assert!(token.starts_with(TOKEN_PREFIX) && token.len() == 4 + 43, "{token}");
        assert_eq!(info.scopes, [Scope::OrdersRead, Scope::Admin]);
        let stored: String = db
            .read(|c| Ok(c.query_row("SELECT digest FROM api_tokens", [], |r| r.get(0))?))
            .await
            .unwrap();
        assert_eq!(stored, hex::encode(digest(&token)));
        assert!(!stored.contains(&token[4..]), "only the hash is stored");
        assert!(matches!(
            t.create("ci", &[Scope::Admin]).await,
            Err(TokenError::Conflict(_))
        ));
        assert!(matches!(
            t.create("a b", &[Scope::Admin]).await,
            Err(TokenError::Invalid(_))
        ));
        assert!(matches!(t.create("x", &[]).await, Err(TokenError::Invalid(_))));
        assert_eq!(t.active().await.unwrap()[0].digest, digest(&token));
        assert!(any_active_at(db.path()).unwrap());
        t.revoke("ci").await.unwrap();
        assert!(t.active().await.unwrap().is_empty());
        assert!(matches!(t.revoke("ci").await, Err(TokenError::NotFound(_))));
        assert!(t.list().await.unwrap()[0].revoked_at.is_some());
        t.create("ci", &[Scope::OrdersWrite]).await.unwrap();
        assert_eq!(t.list().await.unwrap().len(), 2);
    }
}
