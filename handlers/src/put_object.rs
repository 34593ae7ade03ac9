//! Step 2: render the invoice and write it under a key unique to the order.

use crate::error::StepError;
use crate::ports::{Clock, InvoiceStore, PutBlobOutcome};
use serde::{Deserialize, Serialize};
use skipline_events::{Invoice, MessageAttributes, Order, OrderEvent, message_attributes};

#[derive(Debug, Clone, Deserialize)]
pub struct PutObjectInput {
    pub orderid: String,
    pub order: Order,
}

/// The invoice key plus the completion event, ready for the state machine to publish.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PutObjectOutput {
    #[serde(rename = "invoiceKey")]
    pub invoice_key: String,
    pub event: OrderEvent,
    pub attributes: MessageAttributes,
}

/// Idempotent: if the invoice already exists it is read back and reused, so a retried step never
/// produces a second, different invoice.
pub async fn put_object(
    invoices: &dyn InvoiceStore,
    clock: &dyn Clock,
    input: PutObjectInput,
) -> Result<PutObjectOutput, StepError> {
    let now = clock.now().to_string();
    let fresh = Invoice::render(&input.orderid, &input.order, now.clone());
    let key = fresh.invoice_key.clone();
    let body = serde_json::to_vec_pretty(&fresh).map_err(|e| StepError::Corrupt(e.to_string()))?;
    let invoice = match invoices.put_new(&key, &body).await? {
        PutBlobOutcome::Created => fresh,
        PutBlobOutcome::AlreadyExists => {
            let existing = invoices
                .get(&key)
                .await?
                .ok_or_else(|| StepError::StoreUnavailable(format!("{key} vanished")))?;
            let existing: Invoice =
                serde_json::from_slice(&existing).map_err(|_| StepError::InvoiceConflict { key: key.clone() })?;
            if existing.orderid != input.orderid || existing.order != input.order {
                return Err(StepError::InvoiceConflict { key });
            }
            existing
        }
    };
    let event = OrderEvent::completed(&input.orderid, &input.order, &key, now);
    let attributes = message_attributes(&event);
    Ok(PutObjectOutput {
        invoice_key: invoice.invoice_key,
        event,
        attributes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{FixedClock, MemoryInvoices, seed_valid_order};

    #[tokio::test]
    async fn writes_once_and_reuses_on_rerun() {
        let store = MemoryInvoices::default();
        let clock = FixedClock::default();
        let input = PutObjectInput {
            orderid: "o1".into(),
            order: seed_valid_order("a0", "v0"),
        };
        let first = put_object(&store, &clock, input.clone()).await.unwrap();
        assert_eq!(first.invoice_key, "invoices/a0/v0/o1.json");
        let stored: Invoice = serde_json::from_slice(&store.get_sync(&first.invoice_key).unwrap()).unwrap();
        assert_eq!(stored.total.cents(), 700);
        assert_eq!(stored.lines[0].line_total.cents(), 700);

        clock.advance_secs(60);
        let second = put_object(&store, &clock, input).await.unwrap();
        assert_eq!(second.invoice_key, first.invoice_key);
        assert_eq!(store.len(), 1);
        let again: Invoice = serde_json::from_slice(&store.get_sync(&first.invoice_key).unwrap()).unwrap();
        assert_eq!(again, stored, "the stored invoice must not change");
        assert_eq!(second.event.meta().eventid, "o1.OrderCompleted");
        assert_eq!(second.attributes["eventtype"].string_value, "OrderCompleted");
    }

    #[tokio::test]
    async fn a_different_invoice_at_the_key_is_a_conflict() {
        let store = MemoryInvoices::default();
        let clock = FixedClock::default();
        store.insert("invoices/a0/v0/o1.json", b"{\"not\":\"an invoice\"}");
        let err = put_object(
            &store,
            &clock,
            PutObjectInput {
                orderid: "o1".into(),
                order: seed_valid_order("a0", "v0"),
            },
        )
        .await
        .unwrap_err();
        assert_eq!(err.name(), "InvoiceConflict");
    }
}
