//! Vendor endpoints and the delivery log on SQLite.

use super::db::Db;
use async_trait::async_trait;
use rusqlite::params;
use skipline_handlers::ports::{DeliveryLog, StoreError, VendorDirectory, VendorEndpoint};

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
                c.prepare_cached("INSERT INTO vendor_endpoints (vendorid, endpointid, url, secret, created_at) VALUES (?1, ?2, ?3, ?4, ?5)")?.execute(params![e.vendorid, e.endpointid, e.url, e.secret, e.created_at],
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
                let mut stmt = c.prepare_cached(
                    "SELECT vendorid, endpointid, url, secret, created_at FROM vendor_endpoints
                     WHERE ?1 IS NULL OR vendorid = ?1 ORDER BY vendorid, endpointid",
                )?;
                let rows = stmt.query_map(params![vendorid], |r| {
                    Ok(VendorEndpoint {
                        vendorid: r.get(0)?,
                        endpointid: r.get(1)?,
                        url: r.get(2)?,
                        secret: r.get(3)?,
                        created_at: r.get(4)?,
                    })
                })?;
                Ok(rows.collect::<Result<Vec<_>, _>>()?)
            })
            .await?)
    }

    async fn remove(&self, vendorid: &str, endpointid: &str) -> Result<bool, StoreError> {
        let (v, e) = (vendorid.to_string(), endpointid.to_string());
        Ok(self
            .db
            .write(move |c| {
                Ok(
                    c.prepare_cached("DELETE FROM vendor_endpoints WHERE vendorid = ?1 AND endpointid = ?2")?
                        .execute(params![v, e])?
                        > 0,
                )
            })
            .await?)
    }
}

#[async_trait]
impl DeliveryLog for SqliteVendors {
    async fn was_delivered(&self, eventid: &str, endpointid: &str) -> Result<bool, StoreError> {
        let (ev, ep) = (eventid.to_string(), endpointid.to_string());
        Ok(self
            .db
            .read(move |c| {
                Ok(
                    c.prepare_cached(
                        "SELECT EXISTS (SELECT 1 FROM deliveries WHERE eventid = ?1 AND endpointid = ?2)",
                    )?
                    .query_row(params![ev, ep], |r| r.get(0))?,
                )
            })
            .await?)
    }

    async fn mark_delivered(&self, eventid: &str, endpointid: &str) -> Result<(), StoreError> {
        let (ev, ep) = (eventid.to_string(), endpointid.to_string());
        let now = jiff::Timestamp::now().to_string();
        Ok(self
            .db
            .write(move |c| {
                c.prepare_cached(
                    "INSERT OR IGNORE INTO deliveries (eventid, endpointid, delivered_at) VALUES (?1, ?2, ?3)",
                )?
                .execute(params![ev, ep, now])?;
                Ok(())
            })
            .await?)
    }
}
