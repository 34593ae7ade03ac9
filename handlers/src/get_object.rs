//! Read an invoice: by its own key, by the original sample's `{year}/{month}/{accountid}`, or by order.

use crate::error::QueryError;
use crate::ports::{InvoiceIndex, InvoiceStore, StoreError};
use skipline_events::{InvoiceRef, check_id, parse_invoice_ref};

/// `GET /invoice?objectKey=`. Only the two key forms are looked up, so the route cannot read
/// anything else; the original's form resolves through the index to that account's latest
/// invoice in the month.
pub async fn get_object(
    invoices: &dyn InvoiceStore,
    index: &dyn InvoiceIndex,
    key: Option<&str>,
) -> Result<serde_json::Value, QueryError> {
    let key = key.ok_or_else(|| QueryError::BadRequest("query parameter objectKey is required".into()))?;
    let key = match parse_invoice_ref(key).map_err(QueryError::BadRequest)? {
        InvoiceRef::Key(key) => key,
        InvoiceRef::Month { accountid, month } => index
            .latest_in_month(&accountid, &month.to_string())
            .await?
            .ok_or_else(|| QueryError::NotFound(format!("account {accountid} has no invoice in {month}")))?,
    };
    read(invoices, &key).await
}

/// `GET /orders/{orderid}/invoice`: the same answer on both backends, from the order id alone.
pub async fn get_order_invoice(
    invoices: &dyn InvoiceStore,
    index: &dyn InvoiceIndex,
    orderid: &str,
) -> Result<serde_json::Value, QueryError> {
    if let Some(p) = check_id("orderid", orderid) {
        return Err(QueryError::BadRequest(p.to_string()));
    }
    let key = index
        .by_order(orderid)
        .await?
        .ok_or_else(|| QueryError::NotFound(format!("no order {orderid} with an invoice")))?;
    read(invoices, &key).await
}

async fn read(invoices: &dyn InvoiceStore, key: &str) -> Result<serde_json::Value, QueryError> {
    let bytes = invoices
        .get(key)
        .await?
        .ok_or_else(|| QueryError::NotFound(format!("no invoice at {key}")))?;
    serde_json::from_slice(&bytes).map_err(|e| QueryError::Store(StoreError::Corrupt(format!("{key}: {e}"))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::InvoiceIndexEntry;
    use crate::testing::{MemoryInvoiceIndex, MemoryInvoices};

    #[tokio::test]
    async fn reads_only_invoice_keys() {
        let store = MemoryInvoices::default();
        let index = MemoryInvoiceIndex::default();
        store.insert("invoices/a0/v0/o1.json", b"{\"orderid\":\"o1\"}");
        assert_eq!(
            get_object(&store, &index, Some("invoices/a0/v0/o1.json"))
                .await
                .unwrap()["orderid"],
            "o1"
        );
        assert!(matches!(
            get_object(&store, &index, Some("invoices/a0/v0/o2.json")).await,
            Err(QueryError::NotFound(_))
        ));
        assert!(matches!(
            get_object(&store, &index, Some("../secrets")).await,
            Err(QueryError::BadRequest(_))
        ));
        assert!(matches!(
            get_object(&store, &index, None).await,
            Err(QueryError::BadRequest(_))
        ));
    }

    #[tokio::test]
    async fn the_original_key_and_the_order_id_resolve_through_the_index() {
        let store = MemoryInvoices::default();
        let index = MemoryInvoiceIndex::default();
        store.insert("invoices/a0/v0/o1.json", b"{\"orderid\":\"o1\"}");
        index
            .record(&InvoiceIndexEntry {
                orderid: "o1".into(),
                accountid: "a0".into(),
                invoice_key: "invoices/a0/v0/o1.json".into(),
                month: Some(("2026-01".into(), "r".into())),
            })
            .await
            .unwrap();
        for key in ["2026/1/a0", "2026/01/a0"] {
            assert_eq!(get_object(&store, &index, Some(key)).await.unwrap()["orderid"], "o1");
        }
        let e = get_object(&store, &index, Some("2026/2/a0")).await.unwrap_err();
        assert_eq!(e, QueryError::NotFound("account a0 has no invoice in 2026-02".into()));
        assert_eq!(get_order_invoice(&store, &index, "o1").await.unwrap()["orderid"], "o1");
        assert!(matches!(
            get_order_invoice(&store, &index, "o2").await,
            Err(QueryError::NotFound(_))
        ));
        assert!(matches!(
            get_order_invoice(&store, &index, "../o1").await,
            Err(QueryError::BadRequest(_))
        ));
    }
}
