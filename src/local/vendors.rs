//! Vendor endpoints on SQLite.

use super::db::{Db, DbError};
use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};
use skipline_handlers::ports::{Health, Signing, StoreError, VendorDirectory, VendorEndpoint};

/// Adds the signing columns to a data dir written before Standard Webhooks. Its endpoints take
/// the column's default, `legacy`: their receivers check the old `X-Skipline-*` signature, which
/// they keep getting until their secret is rotated.
///
/// Then adds the health columns, which start empty: every endpoint enabled and not failing.
pub fn migrate(c: &rusqlite::Connection) -> Result<(), DbError> {
    let has = |column: &str| -> Result<bool, DbError> {
        Ok(c.query_row(
            "SELECT EXISTS (SELECT 1 FROM pragma_table_info('vendor_endpoints') WHERE name = ?1)",
            [column],
            |r| r.get(0),
        )?)
    };
    if !has("signing")? {
        super::db::migrate_batch(
            c,
            "ALTER TABLE vendor_endpoints ADD COLUMN signing TEXT NOT NULL DEFAULT 'legacy';
             ALTER TABLE vendor_endpoints ADD COLUMN previous_secret TEXT;
             ALTER TABLE vendor_endpoints ADD COLUMN previous_until TEXT;",
        )?;
    }
    if !has("disabled_at")? {
        super::db::migrate_batch(
            c,
            "ALTER TABLE vendor_endpoints ADD COLUMN failing_since TEXT;
             ALTER TABLE vendor_endpoints ADD COLUMN disabled_at TEXT;
             ALTER TABLE vendor_endpoints ADD COLUMN disabled_reason TEXT;",
        )?;
    }
    Ok(())
}

const COLUMNS: &str = "vendorid, endpointid, url, secret, created_at, signing, previous_secret, previous_until, \
                       failing_since, disabled_at, disabled_reason";

fn endpoint_from(r: &rusqlite::Row<'_>) -> rusqlite::Result<VendorEndpoint> {
    let signing: String = r.get(5)?;
    let corrupt =
        |i: usize, what: String| rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, what.into());
    let time = |i: usize| -> rusqlite::Result<Option<jiff::Timestamp>> {
        r.get::<_, Option<String>>(i)?
            .map(|t| t.parse::<jiff::Timestamp>())
            .transpose()
            .map_err(|e| corrupt(i, e.to_string()))
    };
    Ok(VendorEndpoint {
        vendorid: r.get(0)?,
        endpointid: r.get(1)?,
        url: r.get(2)?,
        secret: r.get(3)?,
        created_at: r.get(4)?,
        signing: Signing::parse(&signing).ok_or_else(|| corrupt(5, format!("unknown signing {signing:?}")))?,
        previous_secret: r.get(6)?,
        previous_until: time(7)?,
        health: Health {
            failing_since: time(8)?,
            disabled_at: time(9)?,
            disabled_reason: r.get(10)?,
        },
    })
}

/// Runs `sql` with the endpoint's fields bound in [`COLUMNS`] order (`?1`…`?11`, as many as
/// `sql` uses); the rows changed.
fn write_endpoint(c: &rusqlite::Connection, sql: &str, e: &VendorEndpoint) -> rusqlite::Result<usize> {
    let mut stmt = c.prepare_cached(sql)?;
    let used = stmt.parameter_count();
    let all = params![
        e.vendorid,
        e.endpointid,
        e.url,
        e.secret,
        e.created_at,
        e.signing.as_str(),
        e.previous_secret,
        e.previous_until.map(|t| t.to_string()),
        e.health.failing_since.map(|t| t.to_string()),
        e.health.disabled_at.map(|t| t.to_string()),
        e.health.disabled_reason,
    ];
    stmt.execute(&all[..used.min(all.len())])
}

#[derive(Clone)]
pub struct SqliteVendors {
    db: Db,
}

impl SqliteVendors {
    pub fn new(db: Db) -> Self {
        Self { db }
    }
}

#[async_trait]
impl VendorDirectory for SqliteVendors {
    async fn add(&self, e: &VendorEndpoint) -> Result<(), StoreError> {
        let e = e.clone();
        Ok(self
            .db
            .write(move |c| {
                write_endpoint(
                    c,
                    &format!(
                        "INSERT INTO vendor_endpoints ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
                    ),
                    &e,
                )?;
                Ok(())
            })
            .await?)
    }

    async fn list(&self, vendorid: Option<&str>) -> Result<Vec<VendorEndpoint>, StoreError> {
        let vendorid = vendorid.map(str::to_string);
        Ok(self
            .db
            .read(move |c| {
                let mut stmt = c.prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM vendor_endpoints
                     WHERE ?1 IS NULL OR vendorid = ?1 ORDER BY vendorid, endpointid"
                ))?;
                let rows = stmt.query_map(params![vendorid], endpoint_from)?;
                Ok(rows.collect::<Result<Vec<_>, _>>()?)
            })
            .await?)
    }

    async fn replace(&self, e: &VendorEndpoint) -> Result<bool, StoreError> {
        let e = e.clone();
        Ok(self
            .db
            .write(move |c| {
                Ok(write_endpoint(
                    c,
                    // The health columns are the delivery consumer's: see `set_health`.
                    "UPDATE vendor_endpoints SET url = ?3, secret = ?4, created_at = ?5, signing = ?6,
                         previous_secret = ?7, previous_until = ?8
                     WHERE vendorid = ?1 AND endpointid = ?2",
                    &e,
                )? > 0)
            })
            .await?)
    }

    async fn get(&self, vendorid: &str, endpointid: &str) -> Result<Option<VendorEndpoint>, StoreError> {
        let (v, e) = (vendorid.to_string(), endpointid.to_string());
        Ok(self
            .db
            .read(move |c| {
                Ok(c.prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM vendor_endpoints WHERE vendorid = ?1 AND endpointid = ?2"
                ))?
                .query_row(params![v, e], endpoint_from)
                .optional()?)
            })
            .await?)
    }

    async fn set_health(&self, vendorid: &str, endpointid: &str, health: &Health) -> Result<bool, StoreError> {
        let (v, e, h) = (vendorid.to_string(), endpointid.to_string(), health.clone());
        Ok(self
            .db
            .write(move |c| {
                Ok(c.prepare_cached(
                    "UPDATE vendor_endpoints SET failing_since = ?3, disabled_at = ?4, disabled_reason = ?5
                     WHERE vendorid = ?1 AND endpointid = ?2",
                )?
                .execute(params![
                    v,
                    e,
                    h.failing_since.map(|t| t.to_string()),
                    h.disabled_at.map(|t| t.to_string()),
                    h.disabled_reason
                ])? > 0)
            })
            .await?)
    }

    async fn remove(&self, vendorid: &str, endpointid: &str) -> Result<bool, StoreError> {
        let sql = "DELETE FROM vendor_endpoints WHERE vendorid = ?1 AND endpointid = ?2";
        let params = vec![vendorid.to_string().into(), endpointid.to_string().into()];
        Ok(self.db.execute(sql, params).await? > 0)
    }
}
