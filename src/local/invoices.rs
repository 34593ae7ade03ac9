//! Invoices as blobs in SQLite: durable with the same group commit as everything else,
//! and `INSERT OR IGNORE` gives S3's `If-None-Match: *` for free.

use super::db::Db;
use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};
use skipline_handlers::ports::{InvoiceStore, PutBlobOutcome, StoreError};

#[derive(Clone)]
pub struct SqliteInvoices {
    db: Db,
}

impl SqliteInvoices {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// How many invoices exist; for reports and tests.
    pub async fn count(&self) -> Result<u64, StoreError> {
        Ok(self
            .db
            .read(|c| {
                Ok(c.prepare_cached("SELECT count(*) FROM invoices")?
                    .query_row([], |r| r.get::<_, i64>(0))? as u64)
            })
            .await?)
    }
}

#[async_trait]
impl InvoiceStore for SqliteInvoices {
    async fn put_new(&self, key: &str, body: &[u8]) -> Result<PutBlobOutcome, StoreError> {
        let (key, body) = (key.to_string(), body.to_vec());
        let now = jiff::Timestamp::now().to_string();
        let inserted = self
            .db
            .write(move |c| {
                Ok(
                    c.prepare_cached("INSERT OR IGNORE INTO invoices (key, body, created_at) VALUES (?1, ?2, ?3)")?
                        .execute(params![key, body, now])?,
                )
            })
            .await?;
        Ok(if inserted == 1 {
            PutBlobOutcome::Created
        } else {
            PutBlobOutcome::AlreadyExists
        })
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let key = key.to_string();
        Ok(self
            .db
            .read(move |c| {
                Ok(c.prepare_cached("SELECT body FROM invoices WHERE key = ?1")?
                    .query_row(params![key], |r| r.get(0))
                    .optional()?)
            })
            .await?)
    }
}
