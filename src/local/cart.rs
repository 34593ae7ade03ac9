//! The cart table on SQLite: a conditional put and a conditional delete.

use super::db::{Db, DbError};
use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};
use skipline_handlers::ports::{CartItem, CartStore, PutCartOutcome, ReleaseOutcome, StoreError};

#[derive(Clone)]
pub struct SqliteCart {
    db: Db,
}

impl SqliteCart {
    pub fn new(db: Db) -> Self {
        Self { db }
    }
}

/// The conditional delete behind `release`, inside the caller's transaction.
fn release_in(
    c: &rusqlite::Connection,
    accountid: &str,
    vendorid: &str,
    orderid: &str,
) -> Result<ReleaseOutcome, DbError> {
    let holder: Option<String> = c
        .prepare_cached("SELECT orderid FROM cart WHERE accountid = ?1 AND vendorid = ?2")?
        .query_row(params![accountid, vendorid], |r| r.get(0))
        .optional()?;
    Ok(match holder {
        None => ReleaseOutcome::Missing,
        Some(h) if h != orderid => ReleaseOutcome::HeldBy { orderid: h },
        Some(_) => {
            c.prepare_cached("DELETE FROM cart WHERE accountid = ?1 AND vendorid = ?2")?
                .execute(params![accountid, vendorid])?;
            ReleaseOutcome::Released
        }
    })
}

#[async_trait]
impl CartStore for SqliteCart {
    async fn put_if_free(&self, item: &CartItem) -> Result<PutCartOutcome, StoreError> {
        let item = item.clone();
        let json = serde_json::to_string(&item).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        Ok(self
            .db
            .write(move |c| {
                let holder: Option<String> = c
                    .prepare_cached("SELECT orderid FROM cart WHERE accountid = ?1 AND vendorid = ?2")?
                    .query_row(params![item.accountid, item.vendorid], |r| r.get(0))
                    .optional()?;
                Ok(match holder {
                    Some(h) if h == item.orderid => PutCartOutcome::AlreadyThisOrder,
                    Some(h) => PutCartOutcome::HeldBy { orderid: h },
                    None => {
                        c.prepare_cached(
                            "INSERT INTO cart (accountid, vendorid, orderid, item) VALUES (?1, ?2, ?3, ?4)",
                        )?
                        .execute(params![
                            item.accountid,
                            item.vendorid,
                            item.orderid,
                            json
                        ])?;
                        PutCartOutcome::Created
                    }
                })
            })
            .await?)
    }

    async fn get(&self, accountid: &str, vendorid: &str) -> Result<Option<CartItem>, StoreError> {
        let sql = "SELECT item FROM cart WHERE accountid = ?1 AND vendorid = ?2";
        let params = vec![accountid.to_string().into(), vendorid.to_string().into()];
        let json: Option<String> = self.db.first(sql, params).await?;
        json.map(|j| serde_json::from_str(&j).map_err(|e| StoreError::Corrupt(e.to_string())))
            .transpose()
    }

    async fn release(&self, accountid: &str, vendorid: &str, orderid: &str) -> Result<ReleaseOutcome, StoreError> {
        let (a, v, o) = (accountid.to_string(), vendorid.to_string(), orderid.to_string());
        Ok(self.db.write(move |c| release_in(c, &a, &v, &o)).await?)
    }
}
