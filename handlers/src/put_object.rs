//! Step 2: render the invoice and write it under a key unique to the order.

use crate::error::StepError;
use crate::ports::{Clock, InvoiceIndex, InvoiceIndexEntry, InvoiceStore, PutBlobOutcome};
use serde::{Deserialize, Serialize};
use skipline_events::{Invoice, InvoiceMonth, MessageAttributes, Order, OrderEvent, invoice_rank, message_attributes};

#[derive(Debug, Clone, Deserialize)]
pub struct PutObjectInput {
    pub orderid: String,
    pub order: Order,
    /// When the order was accepted (`$$.Execution.StartTime`); ranks invoices within a month.
    /// Executions started before the state passed it fall back to the invoice's issue time.
    #[serde(default, rename = "acceptedAt")]
    pub accepted_at: Option<String>,
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
/// produces a second, different invoice. The index is written after the invoice, on every run,
/// so a step that failed between the two completes the index when it is retried or resumed.
pub async fn put_object(
    invoices: &dyn InvoiceStore,
    index: &dyn InvoiceIndex,
    clock: &dyn Clock,
    input: PutObjectInput,
) -> Result<PutObjectOutput, StepError> {
    let now = clock.now().to_string();
    let fresh = Invoice::render(&input.orderid, &input.order, now.clone());
    let key = fresh.invoice_key.clone();
    let body = serde_json::to_vec_pretty(&fresh).map_err(|e| StepError::Corrupt(e.to_string()))?;
    let entry = index_entry(&input, &fresh);
    let (outcome, indexed) = invoices.put_new_indexed(&key, &body, &entry).await?;
    let invoice = match outcome {
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
    if !indexed {
        index.record(&index_entry(&input, &invoice)).await?;
    }
    let event = OrderEvent::completed(&input.orderid, &input.order, &key, now);
    let attributes = message_attributes(&event);
    Ok(PutObjectOutput {
        invoice_key: invoice.invoice_key,
        event,
        attributes,
    })
}

fn index_entry(input: &PutObjectInput, invoice: &Invoice) -> InvoiceIndexEntry {
    let accepted_ms = input
        .accepted_at
        .as_deref()
        .unwrap_or(&invoice.issued_at)
        .parse::<jiff::Timestamp>()
        .map(|t| t.as_millisecond())
        .unwrap_or(0);
    InvoiceIndexEntry {
        orderid: input.orderid.clone(),
        accountid: input.order.accountid.clone(),
        invoice_key: invoice.invoice_key.clone(),
        month: InvoiceMonth::of_order(&input.order)
            .map(|m| (m.to_string(), invoice_rank(&input.order, accepted_ms, &input.orderid))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{FixedClock, MemoryInvoiceIndex, MemoryInvoices, seed_valid_order};

    #[tokio::test]
    async fn writes_once_and_reuses_on_rerun() {
        let store = MemoryInvoices::default();
        let index = MemoryInvoiceIndex::default();
        let clock = FixedClock::default();
        let input = PutObjectInput {
            orderid: "o1".into(),
            order: seed_valid_order("a0", "v0"),
            accepted_at: Some("2026-11-25T08:15:01Z".into()),
        };
        let first = put_object(&store, &index, &clock, input.clone()).await.unwrap();
        assert_eq!(
            index.by_order("o1").await.unwrap().as_deref(),
            Some("invoices/a0/v0/o1.json")
        );
        assert_eq!(
            index.latest_in_month("a0", "2026-11").await.unwrap().as_deref(),
            Some("invoices/a0/v0/o1.json")
        );
        assert_eq!(first.invoice_key, "invoices/a0/v0/o1.json");
        let stored: Invoice = serde_json::from_slice(&store.get_sync(&first.invoice_key).unwrap()).unwrap();
        assert_eq!(stored.total.cents(), 700);
        assert_eq!(stored.lines[0].line_total.cents(), 700);

        clock.advance_secs(60);
        let second = put_object(&store, &index, &clock, input).await.unwrap();
        assert_eq!(second.invoice_key, first.invoice_key);
        assert_eq!(store.len(), 1);
        assert_eq!(index.len(), 2, "a re-run records the same two index entries");
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
        let index = MemoryInvoiceIndex::default();
        let err = put_object(
            &store,
            &index,
            &clock,
            PutObjectInput {
                orderid: "o1".into(),
                order: seed_valid_order("a0", "v0"),
                accepted_at: None,
            },
        )
        .await
        .unwrap_err();
        assert_eq!(err.name(), "InvoiceConflict");
        assert_eq!(index.len(), 0, "a conflicting invoice is not indexed");
    }

    #[tokio::test]
    async fn the_latest_invoice_in_a_month_is_by_order_date_then_acceptance() {
        let store = MemoryInvoices::default();
        let index = MemoryInvoiceIndex::default();
        let clock = FixedClock::default();
        let place = |orderid: &str, vendor: &str, date: &str, accepted: &str| {
            let mut order = seed_valid_order("a0", vendor);
            order.orderdate = date.into();
            PutObjectInput {
                orderid: orderid.into(),
                order,
                accepted_at: Some(accepted.into()),
            }
        };
        // Accepted in reverse order of their dates: the date decides, across vendors.
        for input in [
            place("late", "v1", "2026-12-03T09:00:00", "2026-12-01T00:00:00Z"),
            place("early", "v2", "2026-12-02T09:00:00", "2026-12-02T00:00:00Z"),
            place("tie", "v3", "2026-12-03T09:00:00", "2026-11-30T00:00:00Z"),
            place("november", "v4", "2026-11-30T23:59:59", "2026-12-05T00:00:00Z"),
        ] {
            put_object(&store, &index, &clock, input).await.unwrap();
        }
        assert_eq!(
            index.latest_in_month("a0", "2026-12").await.unwrap().as_deref(),
            Some("invoices/a0/v1/late.json")
        );
        assert_eq!(
            index.latest_in_month("a0", "2026-11").await.unwrap().as_deref(),
            Some("invoices/a0/v4/november.json")
        );
        assert_eq!(index.latest_in_month("a1", "2026-12").await.unwrap(), None);
    }
}
