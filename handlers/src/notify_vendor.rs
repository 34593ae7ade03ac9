//! Consumer: fan each completed order's ticket out into one delivery per endpoint the vendor
//! subscribed, on the deliveries queue. The delivery consumer ([`crate::deliver`]) sends each
//! on its own schedule, so that one endpoint's outage or `Retry-After` touches no other.

use crate::ports::{DeliveryQueue, VendorDirectory};
use crate::sqs::{RecordError, decode_event, process_batch};
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use skipline_events::{Delivery, TicketPayload};

/// What the consumer needs; built once per process.
pub struct NotifyVendor<'a> {
    pub directory: &'a dyn VendorDirectory,
    pub deliveries: &'a dyn DeliveryQueue,
}

impl NotifyVendor<'_> {
    /// Handles a batch; failed records come back as `batchItemFailures`.
    pub async fn handle(&self, event: SqsEvent) -> SqsBatchResponse {
        process_batch(event, |record| self.handle_record(record)).await
    }

    async fn handle_record(&self, record: SqsMessage) -> Result<(), RecordError> {
        let event = decode_event(record.body.as_deref().unwrap_or_default())?;
        let Some(payload) = TicketPayload::from_event(&event) else {
            // Only completions make tickets; anything else the filter let through is done with.
            return Ok(());
        };
        let vendorid = &payload.data.vendorid;
        let endpoints = self
            .directory
            .list(Some(vendorid))
            .await
            .map_err(|e| RecordError(e.to_string()))?;
        // Disabled endpoints get a delivery too, which the delivery consumer logs as skipped
        // without sending: the ticket is kept and the log says what was missed, so that
        // `vendors redeliver --since` can send it once the endpoint is enabled.
        let deliveries: Vec<Delivery> = endpoints
            .iter()
            .map(|e| Delivery::new(vendorid, &e.endpointid, &payload, false))
            .collect();
        if deliveries.is_empty() {
            tracing::info!(orderid = %payload.data.orderid, %vendorid, "vendor has no endpoints; nothing to send");
            return Ok(());
        }
        // A redelivered event fans out again; the delivery consumer skips what was acknowledged.
        self.deliveries
            .enqueue(&deliveries)
            .await
            .map_err(|e| RecordError(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::Health;
    use crate::sqs::{event, failed_ids, record};
    use crate::testing::{MemoryDeliveries, MemoryDirectory, completed_event_json, endpoint};

    #[tokio::test]
    async fn one_delivery_per_endpoint_of_the_vendor() {
        let (dir, queue) = (MemoryDirectory::default(), MemoryDeliveries::default());
        dir.insert(endpoint("v0", "e1", "http://127.0.0.1:9/a"));
        dir.insert(endpoint("v0", "e2", "http://127.0.0.1:9/b"));
        let mut off = endpoint("v0", "e3", "http://127.0.0.1:9/c");
        off.health = Health {
            disabled_at: Some(jiff::Timestamp::UNIX_EPOCH),
            disabled_reason: Some("answered 410 Gone".into()),
            ..Health::default()
        };
        dir.insert(off);
        dir.insert(endpoint("v1", "e4", "http://127.0.0.1:9/d"));
        let c = NotifyVendor {
            directory: &dir,
            deliveries: &queue,
        };
        let r = c
            .handle(event(vec![record("m1", &completed_event_json("o1", "a0", "v0"))]))
            .await;
        assert!(failed_ids(&r).is_empty());
        let queued = queue.queued();
        let targets: Vec<_> = queued.iter().map(|d| d.endpointid.as_str()).collect();
        assert_eq!(
            targets,
            ["e1", "e2", "e3"],
            "the disabled one too, to be logged as skipped"
        );
        assert!(queued.iter().all(|d| d.eventid == "o1.OrderCompleted" && !d.redelivery));
        assert_eq!(queued[0].payload.data.total.cents(), 700);
        assert_eq!(
            queued[0].payload.timestamp, "2026-11-25T08:15:01Z",
            "when the order completed"
        );
    }

    #[tokio::test]
    async fn poison_messages_fail_and_other_events_are_skipped() {
        let (dir, queue) = (MemoryDirectory::default(), MemoryDeliveries::default());
        let c = NotifyVendor {
            directory: &dir,
            deliveries: &queue,
        };
        let failed = r#"{"eventtype":"OrderFailed","eventid":"o.OrderFailed","version":1,"occurredAt":"t","orderid":"o",
            "accountid":"a","vendorid":"v","city":"c","correlationid":"o","error":"E","cause":"C"}"#;
        let r = c
            .handle(event(vec![record("poison", "{oops"), record("other", failed)]))
            .await;
        assert_eq!(failed_ids(&r), vec!["poison".to_string()]);
        assert!(queue.queued().is_empty());
    }
}
