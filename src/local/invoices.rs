//! Invoices as blobs in SQLite: durable with the same group commit as everything else,
//! and `INSERT OR IGNORE` gives S3's `If-None-Match: *` for free. The invoice index lives
//! beside them, in `invoice_by_order` and `invoice_by_month`.

use super::db::{Db, DbError};
use async_trait::async_trait;
use rusqlite::{Connection, params};
use skipline_events::{Invoice, InvoiceMonth, invoice_rank};
use skipline_handlers::ports::{InvoiceIndex, InvoiceIndexEntry, InvoiceStore, PutBlobOutcome, StoreError};

/// S3's `If-None-Match: *`: a second write under the same key changes nothing.
const INSERT_INVOICE: &str = "INSERT OR IGNORE INTO invoices (key, body, created_at) VALUES (?1, ?2, ?3)";

/// `PRAGMA user_version` once the index holds every invoice written before it existed.
const INDEXED_VERSION: i64 = 1;

fn record_in(c: &Connection, entry: &InvoiceIndexEntry) -> Result<(), DbError> {
    c.prepare_cached("INSERT OR REPLACE INTO invoice_by_order (orderid, key) VALUES (?1, ?2)")?
        .execute(params![entry.orderid, entry.invoice_key])?;
    if let Some((month, rank)) = &entry.month {
        c.prepare_cached(
            "INSERT OR REPLACE INTO invoice_by_month (accountid, month, rank, key) VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![entry.accountid, month, rank, entry.invoice_key])?;
    }
    Ok(())
}

/// Indexes the invoices of a data dir written before the index existed, once: their rank uses
/// the issue time, since those executions did not pass their start time to the step.
pub fn migrate(c: &Connection) -> Result<(), DbError> {
    let version: i64 = c.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version >= INDEXED_VERSION {
        return Ok(());
    }
    c.execute_batch("BEGIN IMMEDIATE")?;
    let result = (|| {
        let mut rows = c.prepare("SELECT key, body FROM invoices")?;
        let mut rows = rows.query([])?;
        while let Some(row) = rows.next()? {
            let key: String = row.get(0)?;
            let body: Vec<u8> = row.get(1)?;
            let Ok(invoice) = serde_json::from_slice::<Invoice>(&body) else {
                tracing::warn!(%key, "an invoice is unreadable; it stays reachable by its key only");
                continue;
            };
            let accepted_ms = invoice
                .issued_at
                .parse::<jiff::Timestamp>()
                .map(|t| t.as_millisecond())
                .unwrap_or(0);
            record_in(
                c,
                &InvoiceIndexEntry {
                    orderid: invoice.orderid.clone(),
                    accountid: invoice.order.accountid.clone(),
                    invoice_key: key,
                    month: InvoiceMonth::of_order(&invoice.order).map(|m| {
                        (
                            m.to_string(),
                            invoice_rank(&invoice.order, accepted_ms, &invoice.orderid),
                        )
                    }),
                },
            )?;
        }
        c.pragma_update(None, "user_version", INDEXED_VERSION)?;
        Ok::<_, DbError>(())
    })();
    match result {
        Ok(()) => Ok(c.execute_batch("COMMIT")?),
        Err(e) => {
            let _ = c.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}

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
        let now = jiff::Timestamp::now().to_string();
        let params = vec![key.to_string().into(), body.to_vec().into(), now.into()];
        let inserted = self.db.execute(INSERT_INVOICE, params).await?;
        Ok(if inserted == 1 {
            PutBlobOutcome::Created
        } else {
            PutBlobOutcome::AlreadyExists
        })
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let sql = "SELECT body FROM invoices WHERE key = ?1";
        Ok(self.db.first(sql, vec![key.to_string().into()]).await?)
    }

    async fn put_new_indexed(
        &self,
        key: &str,
        body: &[u8],
        entry: &InvoiceIndexEntry,
    ) -> Result<(PutBlobOutcome, bool), StoreError> {
        let now = jiff::Timestamp::now().to_string();
        let (key, body, entry) = (key.to_string(), body.to_vec(), entry.clone());
        let created = self
            .db
            .write(move |c| {
                let inserted = c.prepare_cached(INSERT_INVOICE)?.execute(params![key, body, now])?;
                if inserted == 1 {
                    record_in(c, &entry)?;
                }
                Ok(inserted == 1)
            })
            .await?;
        Ok(if created {
            (PutBlobOutcome::Created, true)
        } else {
            (PutBlobOutcome::AlreadyExists, false)
        })
    }
}

#[async_trait]
impl InvoiceIndex for SqliteInvoices {
    async fn record(&self, entry: &InvoiceIndexEntry) -> Result<(), StoreError> {
        let entry = entry.clone();
        Ok(self.db.write(move |c| record_in(c, &entry)).await?)
    }

    async fn by_order(&self, orderid: &str) -> Result<Option<String>, StoreError> {
        let sql = "SELECT key FROM invoice_by_order WHERE orderid = ?1";
        Ok(self.db.first(sql, vec![orderid.to_string().into()]).await?)
    }

    async fn latest_in_month(&self, accountid: &str, month: &str) -> Result<Option<String>, StoreError> {
        let sql = "SELECT key FROM invoice_by_month WHERE accountid = ?1 AND month = ?2 ORDER BY rank DESC LIMIT 1";
        Ok(self
            .db
            .first(sql, vec![accountid.to_string().into(), month.to_string().into()])
            .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use skipline_events::Invoice;

    /// A data dir written before the index existed: its invoices table, one invoice, version 0.
    fn old_data_dir(path: &std::path::Path) -> Invoice {
        let order = skipline_events::parse_place_order(
            br#"{"order":{"accountid":"a0","vendorid":"v0","orderdate":"2026-12-01 19:20:00.123456","city":"Perth",
                "details":{"coffeetype":"Latte","coffeesize":"Small","unitprice":"3.5","quantity":2},"eventtype":["new_order"]}}"#,
        )
        .unwrap();
        let invoice = Invoice::render("o-old", &order, "2026-12-01T19:20:01Z".into());
        let c = Connection::open(path).unwrap();
        c.execute_batch(
            "CREATE TABLE invoices (key TEXT PRIMARY KEY, body BLOB NOT NULL, created_at TEXT NOT NULL) WITHOUT ROWID;",
        )
        .unwrap();
        c.execute(
            "INSERT INTO invoices (key, body, created_at) VALUES (?1, ?2, 'then')",
            params![invoice.invoice_key, serde_json::to_vec(&invoice).unwrap()],
        )
        .unwrap();
        invoice
    }

    #[tokio::test]
    async fn invoices_written_before_the_index_are_indexed_once_at_open() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("skipline.db");
        let invoice = old_data_dir(&path);
        let store = SqliteInvoices::new(Db::open(&path).unwrap());
        assert_eq!(
            store.by_order("o-old").await.unwrap(),
            Some(invoice.invoice_key.clone())
        );
        assert_eq!(
            store.latest_in_month("a0", "2026-12").await.unwrap(),
            Some(invoice.invoice_key.clone())
        );
        let version: i64 = store
            .db
            .read(|c| Ok(c.query_row("PRAGMA user_version", [], |r| r.get(0))?))
            .await
            .unwrap();
        assert_eq!(version, INDEXED_VERSION);
    }
}
