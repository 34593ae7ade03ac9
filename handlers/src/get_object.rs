//! Read an invoice by its key, or by order.

use crate::error::QueryError;
use crate::ports::InvoiceStore;
use skipline_events::parse_invoice_key;

/// Only keys of the invoice shape are looked up, so the route cannot read anything else.
pub async fn get_object(invoices: &dyn InvoiceStore, key: Option<&str>) -> Result<serde_json::Value, QueryError> {
    let key = key.ok_or_else(|| QueryError::BadRequest("query parameter objectKey is required".into()))?;
    parse_invoice_key(key).map_err(QueryError::BadRequest)?;
    let bytes = invoices
        .get(key)
        .await?
        .ok_or_else(|| QueryError::NotFound(format!("no invoice at {key}")))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| QueryError::Store(crate::ports::StoreError::Corrupt(format!("{key}: {e}"))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::MemoryInvoices;

    #[tokio::test]
    async fn reads_only_invoice_keys() {
        let store = MemoryInvoices::default();
        store.insert("invoices/a0/v0/o1.json", b"{\"orderid\":\"o1\"}");
        assert_eq!(
            get_object(&store, Some("invoices/a0/v0/o1.json")).await.unwrap()["orderid"],
            "o1"
        );
        assert!(matches!(
            get_object(&store, Some("invoices/a0/v0/o2.json")).await,
            Err(QueryError::NotFound(_))
        ));
        assert!(matches!(
            get_object(&store, Some("../secrets")).await,
            Err(QueryError::BadRequest(_))
        ));
        assert!(matches!(get_object(&store, None).await, Err(QueryError::BadRequest(_))));
    }
}
