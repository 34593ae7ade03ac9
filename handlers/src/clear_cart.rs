//! Consumer: clear the customer's cart item once the order is complete.

use crate::ports::{CartStore, ReleaseOutcome};
use crate::sqs::{RecordError, decode_event, process_batch};
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use skipline_events::OrderEvent;

pub struct ClearCart<'a> {
    pub cart: &'a dyn CartStore,
}

impl ClearCart<'_> {
    pub async fn handle(&self, event: SqsEvent) -> SqsBatchResponse {
        process_batch(event, |record| self.handle_record(record)).await
    }

    /// Deletes only while the item still holds this order, so a newer order is never lost;
    /// a missing item means the work is already done.
    async fn handle_record(&self, record: SqsMessage) -> Result<(), RecordError> {
        let event = decode_event(record.body.as_deref().unwrap_or_default())?;
        let OrderEvent::OrderCompleted { meta, .. } = &event else {
            return Ok(());
        };
        let outcome = self
            .cart
            .release(&meta.accountid, &meta.vendorid, &meta.orderid)
            .await
            .map_err(|e| RecordError(e.to_string()))?;
        match outcome {
            ReleaseOutcome::Released => tracing::info!(orderid = %meta.orderid, "cart item cleared"),
            ReleaseOutcome::Missing => tracing::info!(orderid = %meta.orderid, "cart item already gone"),
            ReleaseOutcome::HeldBy { orderid } => {
                tracing::info!(orderid = %meta.orderid, newer = %orderid, "cart holds a newer order; left alone")
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sqs::{event, failed_ids, record};
    use crate::testing::{MemoryCart, cart_item, completed_event_json};

    #[tokio::test]
    async fn clears_its_own_order_and_never_a_newer_one() {
        let cart = MemoryCart::holding([cart_item("a0", "v0", "o1"), cart_item("a0", "v1", "o-newer")]);
        let c = ClearCart { cart: &cart };
        let r = c
            .handle(event(vec![
                record("m1", &completed_event_json("o1", "a0", "v0")),
                record("m2", &completed_event_json("o-old", "a0", "v1")),
                record("m3", &completed_event_json("o9", "a9", "v9")),
            ]))
            .await;
        assert!(failed_ids(&r).is_empty());
        assert!(cart.get_sync("a0", "v0").is_none());
        assert_eq!(cart.get_sync("a0", "v1").unwrap().orderid, "o-newer");
    }

    #[tokio::test]
    async fn store_outage_fails_the_record() {
        let cart = MemoryCart::default();
        cart.fail_next("down");
        let r = ClearCart { cart: &cart }
            .handle(event(vec![record("m1", &completed_event_json("o1", "a0", "v0"))]))
            .await;
        assert_eq!(failed_ids(&r), vec!["m1".to_string()]);
    }
}
