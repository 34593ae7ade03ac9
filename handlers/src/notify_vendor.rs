//! Consumer: send each completed order's ticket to every endpoint the vendor subscribed.

use crate::ports::{Clock, DeliveryLog, Signing, VendorDirectory, VendorEndpoint, WebhookClient, WebhookRequest};
use crate::sqs::{RecordError, decode_event, process_batch};
use crate::webhook::{check_endpoint_url, signed_headers};
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use skipline_events::TicketPayload;
use skipline_events::VendorTicket;

/// What the consumer needs; built once per process.
pub struct NotifyVendor<'a> {
    pub directory: &'a dyn VendorDirectory,
    pub deliveries: &'a dyn DeliveryLog,
    pub webhooks: &'a dyn WebhookClient,
    pub clock: &'a dyn Clock,
    /// Lifts the SSRF guard for local use and tests.
    pub allow_private_endpoints: bool,
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
        let body = serde_json::to_vec(&payload).map_err(|e| RecordError(e.to_string()))?;
        let ticket = &payload.data;
        // Legacy endpoints keep the body their receivers parse: the bare ticket.
        let legacy_body = serde_json::to_vec(ticket).map_err(|e| RecordError(e.to_string()))?;
        let endpoints = self
            .directory
            .list(Some(&ticket.vendorid))
            .await
            .map_err(|e| RecordError(e.to_string()))?;
        if endpoints.is_empty() {
            tracing::info!(orderid = %ticket.orderid, vendorid = %ticket.vendorid, "vendor has no endpoints; nothing to send");
        }
        let mut failures = Vec::new();
        for endpoint in &endpoints {
            let body = match endpoint.signing {
                Signing::Standard => &body,
                Signing::Legacy => &legacy_body,
            };
            if let Err(e) = self.deliver(endpoint, ticket, body).await {
                failures.push(format!("{}: {e}", endpoint.endpointid));
            }
        }
        if failures.is_empty() {
            Ok(())
        } else {
            Err(RecordError(failures.join("; ")))
        }
    }

    /// Sends once per (event, endpoint); an acknowledged event is never sent again.
    async fn deliver(&self, endpoint: &VendorEndpoint, ticket: &VendorTicket, body: &[u8]) -> Result<(), String> {
        let already = self
            .deliveries
            .was_delivered(&ticket.eventid, &endpoint.endpointid)
            .await
            .map_err(|e| e.to_string())?;
        if already {
            return Ok(());
        }
        check_endpoint_url(&endpoint.url, self.allow_private_endpoints).map_err(|e| e.to_string())?;
        let request = WebhookRequest {
            url: endpoint.url.clone(),
            headers: signed_headers(endpoint, &ticket.eventid, self.clock.now(), body),
            body: body.to_vec(),
        };
        let status = self.webhooks.post(&request).await.map_err(|e| e.to_string())?;
        if !(200..300).contains(&status) {
            return Err(format!("endpoint answered HTTP {status}"));
        }
        tracing::info!(orderid = %ticket.orderid, eventid = %ticket.eventid, endpoint = %endpoint.endpointid, "ticket delivered");
        self.deliveries
            .mark_delivered(&ticket.eventid, &endpoint.endpointid)
            .await
            .map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sqs::{event, failed_ids, record};
    use crate::testing::{
        FixedClock, MemoryDeliveries, MemoryDirectory, RecordingWebhooks, completed_event_json, endpoint, secret_for,
    };
    use crate::webhook::verify;
    use skipline_events::{HEADER_WEBHOOK_ID, HEADER_WEBHOOK_SIGNATURE, HEADER_WEBHOOK_TIMESTAMP, TICKET_TYPE};

    fn consumer<'a>(
        dir: &'a MemoryDirectory,
        log: &'a MemoryDeliveries,
        hooks: &'a RecordingWebhooks,
        clock: &'a FixedClock,
    ) -> NotifyVendor<'a> {
        NotifyVendor {
            directory: dir,
            deliveries: log,
            webhooks: hooks,
            clock,
            allow_private_endpoints: true,
        }
    }

    #[tokio::test]
    async fn sends_a_signed_ticket_once_even_when_redelivered() {
        let (dir, log, hooks, clock): (MemoryDirectory, MemoryDeliveries, RecordingWebhooks, FixedClock) =
            Default::default();
        dir.insert(endpoint("v0", "e1", "http://127.0.0.1:9/hook"));
        let c = consumer(&dir, &log, &hooks, &clock);
        let body = completed_event_json("o1", "a0", "v0");
        let r = c.handle(event(vec![record("m1", &body)])).await;
        assert!(failed_ids(&r).is_empty());
        let sent = hooks.sent();
        assert_eq!(sent.len(), 1);
        let header = |name: &str| {
            sent[0]
                .headers
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
                .unwrap()
        };
        assert_eq!(header(HEADER_WEBHOOK_ID), "o1.OrderCompleted");
        let ts: i64 = header(HEADER_WEBHOOK_TIMESTAMP).parse().unwrap();
        assert!(verify(
            &secret_for("e1"),
            "o1.OrderCompleted",
            ts,
            &sent[0].body,
            &header(HEADER_WEBHOOK_SIGNATURE)
        ));
        let payload: TicketPayload = serde_json::from_slice(&sent[0].body).unwrap();
        assert_eq!(payload.kind, TICKET_TYPE);
        assert_eq!(payload.timestamp, "2026-11-25T08:15:01Z", "when the order completed");
        assert_eq!(payload.data.items[0].quantity, 2);
        assert_eq!(payload.data.total.cents(), 700);

        let r = c.handle(event(vec![record("m1-again", &body)])).await;
        assert!(failed_ids(&r).is_empty());
        assert_eq!(hooks.sent().len(), 1, "a redelivered event must not be sent again");
    }

    #[tokio::test]
    async fn a_non_2xx_fails_only_that_record() {
        let (dir, log, hooks, clock): (MemoryDirectory, MemoryDeliveries, RecordingWebhooks, FixedClock) =
            Default::default();
        dir.insert(endpoint("v0", "e1", "http://127.0.0.1:9/ok"));
        dir.insert(endpoint("vbad", "e2", "http://127.0.0.1:9/down"));
        hooks.answer("http://127.0.0.1:9/down", 503);
        let c = consumer(&dir, &log, &hooks, &clock);
        let mut records: Vec<_> = (0..9)
            .map(|i| record(&format!("m{i}"), &completed_event_json(&format!("o{i}"), "a0", "v0")))
            .collect();
        records.insert(4, record("bad", &completed_event_json("ob", "a0", "vbad")));
        let r = c.handle(event(records)).await;
        assert_eq!(failed_ids(&r), vec!["bad".to_string()]);
        assert!(!log.contains("ob.OrderCompleted", "e2"));
    }

    #[tokio::test]
    async fn private_endpoints_are_refused_at_delivery_without_the_flag() {
        let (dir, log, hooks, clock): (MemoryDirectory, MemoryDeliveries, RecordingWebhooks, FixedClock) =
            Default::default();
        dir.insert(endpoint("v0", "e1", "http://127.0.0.1:9/hook"));
        let mut c = consumer(&dir, &log, &hooks, &clock);
        c.allow_private_endpoints = false;
        let r = c
            .handle(event(vec![record("m1", &completed_event_json("o1", "a0", "v0"))]))
            .await;
        assert_eq!(failed_ids(&r), vec!["m1".to_string()]);
        assert!(hooks.sent().is_empty());
    }

    #[tokio::test]
    async fn poison_messages_fail_and_other_events_are_skipped() {
        let (dir, log, hooks, clock): (MemoryDirectory, MemoryDeliveries, RecordingWebhooks, FixedClock) =
            Default::default();
        let c = consumer(&dir, &log, &hooks, &clock);
        let failed = r#"{"eventtype":"OrderFailed","eventid":"o.OrderFailed","version":1,"occurredAt":"t","orderid":"o",
            "accountid":"a","vendorid":"v","city":"c","correlationid":"o","error":"E","cause":"C"}"#;
        let r = c
            .handle(event(vec![record("poison", "{oops"), record("other", failed)]))
            .await;
        assert_eq!(failed_ids(&r), vec!["poison".to_string()]);
    }
}
