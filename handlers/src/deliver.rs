//! Consumer: POST one ticket to one endpoint, and decide what happens next: done, retry on the
//! schedule, or disable the endpoint.
//!
//! Each message on the deliveries queue is one (event, endpoint), so its retries are its own:
//! the next attempt is scheduled by hiding the message for the next delay
//! ([`MessageVisibility`]), which a 429's or 503's `Retry-After` can lengthen. A 410 Gone
//! disables the endpoint at once; failing every attempt for `disable_after` does too. After the
//! schedule's last attempt the message is made visible at once, so that the queue's redrive
//! (`maxReceiveCount` = attempts) moves it to the DLQ.

use crate::ports::{
    Attempt, AttemptOutcome, Clock, DeliveryLog, EventPublisher, Health, MessageVisibility, Signing, StoreError,
    VendorDirectory, VendorEndpoint, WebhookClient, WebhookRequest,
};
use crate::schedule::Schedule;
use crate::sqs::{RecordError, process_batch};
use crate::webhook::{check_endpoint_url, signed_headers};
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use skipline_events::{Delivery, EndpointDisabled};
use std::time::{Duration, Instant};

/// The default auto-disable period: an endpoint that failed every attempt for a day is off.
pub const DEFAULT_DISABLE_AFTER: Duration = Duration::from_secs(24 * 3600);

/// What the delivery consumer needs; built once per process.
pub struct DeliverTickets<'a> {
    pub directory: &'a dyn VendorDirectory,
    pub log: &'a dyn DeliveryLog,
    pub webhooks: &'a dyn WebhookClient,
    pub visibility: &'a dyn MessageVisibility,
    pub events: &'a dyn EventPublisher,
    /// Signs `webhook-timestamp`: always the real clock outside unit tests, because receivers
    /// reject timestamps more than five minutes from their own.
    pub clock: &'a dyn Clock,
    pub schedule: &'a Schedule,
    pub disable_after: Duration,
    /// Lifts the SSRF guard for local use and tests.
    pub allow_private_endpoints: bool,
    /// A uniform number in [0, 1) per retry, for the jitter.
    pub jitter: &'a (dyn Fn() -> f64 + Send + Sync),
}

fn store(e: StoreError) -> RecordError {
    RecordError(e.to_string())
}

/// The receive count, which is the attempt number: one receive per attempt.
fn attempt_of(record: &SqsMessage) -> u32 {
    record
        .attributes
        .get("ApproximateReceiveCount")
        .and_then(|n| n.parse().ok())
        .unwrap_or(1)
}

/// What one POST came to.
struct Answer {
    status: Option<u16>,
    error: Option<String>,
    retry_after: Option<Duration>,
}

impl DeliverTickets<'_> {
    /// Handles a batch concurrently, so a slow endpoint holds back no other delivery in it;
    /// records to retry come back as `batchItemFailures`.
    pub async fn handle(&self, event: SqsEvent) -> SqsBatchResponse {
        process_batch(event, |record| self.handle_record(record)).await
    }

    async fn handle_record(&self, record: SqsMessage) -> Result<(), RecordError> {
        let delivery: Delivery = serde_json::from_str(record.body.as_deref().unwrap_or_default())
            .map_err(|e| RecordError(format!("not a delivery: {e}")))?;
        let Some(endpoint) = self
            .directory
            .get(&delivery.vendorid, &delivery.endpointid)
            .await
            .map_err(store)?
        else {
            tracing::info!(eventid = %delivery.eventid, endpoint = %delivery.endpointid, "endpoint removed; delivery dropped");
            return Ok(());
        };
        let attempt = attempt_of(&record);
        let mut entry = Attempt {
            eventid: delivery.eventid.clone(),
            vendorid: delivery.vendorid.clone(),
            endpointid: delivery.endpointid.clone(),
            attempt,
            at: self.clock.now(),
            status: None,
            error: None,
            latency_ms: 0,
            outcome: AttemptOutcome::Skipped,
            next_attempt_at: None,
            redelivery: delivery.redelivery,
        };
        if endpoint.health.is_disabled() {
            entry.error = Some(format!(
                "endpoint disabled: {}",
                endpoint
                    .health
                    .disabled_reason
                    .as_deref()
                    .unwrap_or("no reason recorded")
            ));
            return self.log.record_attempt(&entry).await.map_err(store);
        }
        if !delivery.redelivery
            && self
                .log
                .was_delivered(&delivery.eventid, &delivery.endpointid)
                .await
                .map_err(store)?
        {
            return Ok(());
        }
        let started = Instant::now();
        let answer = self.post(&endpoint, &delivery).await?;
        entry.latency_ms = started.elapsed().as_millis() as u64;
        entry.status = answer.status;
        entry.error = answer.error.clone();
        let now = self.clock.now();
        match answer.status {
            Some(s) if (200..300).contains(&s) => {
                entry.outcome = AttemptOutcome::Delivered;
                self.log.record_attempt(&entry).await.map_err(store)?;
                if endpoint.health.failing_since.is_some() {
                    self.set_health(&endpoint, Health::default()).await?;
                }
                tracing::info!(eventid = %delivery.eventid, endpoint = %endpoint.endpointid, attempt, "ticket delivered");
                Ok(())
            }
            Some(410) => {
                entry.outcome = AttemptOutcome::Disabled;
                self.log.record_attempt(&entry).await.map_err(store)?;
                self.disable(&endpoint, format!("answered 410 Gone at {now}"), now)
                    .await?;
                Ok(())
            }
            _ => self.retry_or_give_up(&record, &endpoint, entry, answer, now).await,
        }
    }

    async fn post(&self, endpoint: &VendorEndpoint, delivery: &Delivery) -> Result<Answer, RecordError> {
        // Endpoints from before Standard Webhooks keep the body their receivers parse.
        let body = match endpoint.signing {
            Signing::Standard => serde_json::to_vec(&delivery.payload),
            Signing::Legacy => serde_json::to_vec(&delivery.payload.data),
        }
        .map_err(|e| RecordError(e.to_string()))?;
        if let Err(e) = check_endpoint_url(&endpoint.url, self.allow_private_endpoints) {
            return Ok(Answer {
                status: None,
                error: Some(e.to_string()),
                retry_after: None,
            });
        }
        let request = WebhookRequest {
            url: endpoint.url.clone(),
            headers: signed_headers(endpoint, &delivery.eventid, self.clock.now(), &body),
            body,
        };
        Ok(match self.webhooks.post(&request).await {
            Ok(r) => Answer {
                status: Some(r.status),
                error: (!r.is_success()).then(|| format!("endpoint answered HTTP {}", r.status)),
                retry_after: matches!(r.status, 429 | 503).then_some(r.retry_after).flatten(),
            },
            Err(e) => Answer {
                status: None,
                error: Some(e.to_string()),
                retry_after: None,
            },
        })
    }

    /// A failed attempt: disable the endpoint if it has failed for the whole period, else hide
    /// the message until the next attempt, or hand it to the DLQ after the last.
    async fn retry_or_give_up(
        &self,
        record: &SqsMessage,
        endpoint: &VendorEndpoint,
        mut entry: Attempt,
        answer: Answer,
        now: jiff::Timestamp,
    ) -> Result<(), RecordError> {
        let failing_since = endpoint.health.failing_since.unwrap_or(now);
        let failing_for: Duration = now.duration_since(failing_since).try_into().unwrap_or_default();
        if failing_for >= self.disable_after {
            entry.outcome = AttemptOutcome::Disabled;
            self.log.record_attempt(&entry).await.map_err(store)?;
            let reason = format!(
                "failed every attempt since {failing_since} ({}), last: {}",
                crate::schedule::format_delay(Duration::from_secs(failing_for.as_secs())),
                answer.error.as_deref().unwrap_or("no answer")
            );
            return self.disable(endpoint, reason, now).await;
        }
        if endpoint.health.failing_since.is_none() {
            let health = Health {
                failing_since: Some(now),
                ..Health::default()
            };
            self.set_health(endpoint, health).await?;
        }
        let next = self
            .schedule
            .next_delay(entry.attempt, answer.retry_after, (self.jitter)());
        entry.outcome = if next.is_some() {
            AttemptOutcome::Failed
        } else {
            AttemptOutcome::Exhausted
        };
        entry.next_attempt_at = next.and_then(|d| now.checked_add(d).ok());
        self.log.record_attempt(&entry).await.map_err(store)?;
        // After the last attempt, visible at once: the next receive moves it to the DLQ.
        let delay = next.unwrap_or(Duration::ZERO);
        self.visibility.retry_in(record, delay).await.map_err(store)?;
        Err(RecordError(format!(
            "attempt {} of {} to {} failed: {}",
            entry.attempt,
            self.schedule.attempts(),
            endpoint.endpointid,
            answer.error.unwrap_or_default()
        )))
    }

    async fn set_health(&self, endpoint: &VendorEndpoint, health: Health) -> Result<(), RecordError> {
        self.directory
            .set_health(&endpoint.vendorid, &endpoint.endpointid, &health)
            .await
            .map(|_| ())
            .map_err(store)
    }

    async fn disable(
        &self,
        endpoint: &VendorEndpoint,
        reason: String,
        now: jiff::Timestamp,
    ) -> Result<(), RecordError> {
        let health = Health {
            failing_since: endpoint.health.failing_since,
            disabled_at: Some(now),
            disabled_reason: Some(reason.clone()),
        };
        self.set_health(endpoint, health).await?;
        tracing::warn!(vendorid = %endpoint.vendorid, endpoint = %endpoint.endpointid, %reason, "endpoint disabled");
        let event = EndpointDisabled::new(&endpoint.vendorid, &endpoint.endpointid, &endpoint.url, &reason, now);
        let message = serde_json::to_string(&event).map_err(|e| RecordError(e.to_string()))?;
        self.events.publish(&message, &event.attributes()).await.map_err(store)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sqs::{event, failed_ids, record};
    use crate::testing::{
        FixedClock, MemoryDeliveries, MemoryDirectory, MemoryTopic, MemoryVisibility, RecordingWebhooks,
        completed_event_json, endpoint, secret_for,
    };
    use crate::webhook::verify;
    use skipline_events::{HEADER_WEBHOOK_ID, HEADER_WEBHOOK_SIGNATURE, HEADER_WEBHOOK_TIMESTAMP, TicketPayload};

    #[derive(Default)]
    struct World {
        dir: MemoryDirectory,
        log: MemoryDeliveries,
        hooks: RecordingWebhooks,
        clock: FixedClock,
        visibility: MemoryVisibility,
        topic: MemoryTopic,
    }

    const HALF: &(dyn Fn() -> f64 + Send + Sync) = &|| 0.5;

    impl World {
        /// Vendor v0's endpoint e1 at `http://127.0.0.1:9/{path}`, answering `status` (else 200).
        fn with_endpoint(path: &str, status: Option<u16>) -> World {
            let w = World::default();
            let url = format!("http://127.0.0.1:9/{path}");
            w.dir.insert(endpoint("v0", "e1", &url));
            if let Some(status) = status {
                w.hooks.answer(&url, status);
            }
            w
        }

        fn consumer<'a>(&'a self, schedule: &'a Schedule) -> DeliverTickets<'a> {
            DeliverTickets {
                directory: &self.dir,
                log: &self.log,
                webhooks: &self.hooks,
                visibility: &self.visibility,
                events: &self.topic,
                clock: &self.clock,
                schedule,
                disable_after: DEFAULT_DISABLE_AFTER,
                allow_private_endpoints: true,
                jitter: HALF,
            }
        }
    }

    fn delivery(orderid: &str, vendor: &str, endpointid: &str) -> String {
        let e = crate::sqs::decode_event(&completed_event_json(orderid, "a0", vendor)).unwrap();
        let payload = TicketPayload::from_event(&e).unwrap();
        serde_json::to_string(&Delivery::new(vendor, endpointid, &payload, false)).unwrap()
    }

    fn received(id: &str, body: &str, count: u32) -> SqsMessage {
        let mut r = record(id, body);
        r.attributes.insert("ApproximateReceiveCount".into(), count.to_string());
        r
    }

    #[tokio::test]
    async fn a_delivered_ticket_is_signed_logged_and_never_sent_again() {
        let w = World::with_endpoint("hook", None);
        let schedule = Schedule::default();
        let c = w.consumer(&schedule);
        let body = delivery("o1", "v0", "e1");
        assert!(failed_ids(&c.handle(event(vec![received("m1", &body, 1)])).await).is_empty());
        let sent = w.hooks.sent();
        assert_eq!(sent.len(), 1);
        let header = |name: &str| sent[0].headers.iter().find(|(k, _)| k == name).unwrap().1.clone();
        assert_eq!(header(HEADER_WEBHOOK_ID), "o1.OrderCompleted");
        let ts: i64 = header(HEADER_WEBHOOK_TIMESTAMP).parse().unwrap();
        assert!(verify(
            &secret_for("e1"),
            "o1.OrderCompleted",
            ts,
            &sent[0].body,
            &header(HEADER_WEBHOOK_SIGNATURE)
        ));
        let attempts = w.log.all();
        assert_eq!(attempts.len(), 1);
        assert_eq!(
            (attempts[0].outcome, attempts[0].status),
            (AttemptOutcome::Delivered, Some(200))
        );
        // The same delivery again (a duplicate fan-out, or a replay) sends nothing.
        assert!(failed_ids(&c.handle(event(vec![received("m2", &body, 1)])).await).is_empty());
        assert_eq!(w.hooks.sent().len(), 1);
        // …unless it is a redelivery, which keeps the webhook-id.
        let mut again: Delivery = serde_json::from_str(&body).unwrap();
        again.redelivery = true;
        let again = serde_json::to_string(&again).unwrap();
        assert!(failed_ids(&c.handle(event(vec![received("m3", &again, 1)])).await).is_empty());
        assert_eq!(w.hooks.sent().len(), 2);
        assert_eq!(
            w.hooks.sent()[1].headers,
            sent[0].headers,
            "same id, same clock, same signature"
        );
    }

    #[tokio::test]
    async fn a_failure_hides_the_message_for_the_next_delay_and_marks_the_endpoint_failing() {
        let w = World::with_endpoint("down", Some(500));
        let schedule = Schedule::parse("10s,1m").unwrap();
        let c = w.consumer(&schedule);
        let body = delivery("o1", "v0", "e1");
        let r = c.handle(event(vec![received("m1", &body, 1)])).await;
        assert_eq!(failed_ids(&r), ["m1"]);
        assert_eq!(w.visibility.changes(), [("m1".to_string(), Duration::from_secs(10))]);
        let ep = w.dir.get("v0", "e1").await.unwrap().unwrap();
        assert_eq!(ep.health.failing_since, Some(w.clock.now()));
        let r = c.handle(event(vec![received("m1", &body, 2)])).await;
        assert_eq!(failed_ids(&r), ["m1"]);
        // The last attempt: visible at once, for the redrive to move it to the DLQ.
        let r = c.handle(event(vec![received("m1", &body, 3)])).await;
        assert_eq!(failed_ids(&r), ["m1"]);
        let changes = w.visibility.changes();
        assert_eq!(changes[1].1, Duration::from_secs(60));
        assert_eq!(changes[2].1, Duration::ZERO);
        let outcomes: Vec<_> = w.log.all().iter().map(|a| (a.attempt, a.outcome, a.status)).collect();
        assert_eq!(
            outcomes,
            [
                (1, AttemptOutcome::Failed, Some(500)),
                (2, AttemptOutcome::Failed, Some(500)),
                (3, AttemptOutcome::Exhausted, Some(500))
            ]
        );
        assert_eq!(
            w.log.all()[0].next_attempt_at,
            w.clock.now().checked_add(Duration::from_secs(10)).ok()
        );
        // A success clears the failing mark.
        w.hooks.answer("http://127.0.0.1:9/down", 204);
        assert!(
            failed_ids(
                &c.handle(event(vec![received("m2", &delivery("o2", "v0", "e1"), 1)]))
                    .await
            )
            .is_empty()
        );
        assert_eq!(w.dir.get("v0", "e1").await.unwrap().unwrap().health, Health::default());
    }

    #[tokio::test]
    async fn retry_after_on_429_and_503_delays_the_next_attempt() {
        let w = World::default();
        w.dir.insert(endpoint("v0", "e1", "http://127.0.0.1:9/busy"));
        w.dir.insert(endpoint("v0", "e2", "http://127.0.0.1:9/broken"));
        w.hooks
            .answer_with("http://127.0.0.1:9/busy", 429, Some(Duration::from_secs(120)));
        w.hooks
            .answer_with("http://127.0.0.1:9/broken", 500, Some(Duration::from_secs(120)));
        let schedule = Schedule::parse("10s").unwrap();
        let c = w.consumer(&schedule);
        let r = c
            .handle(event(vec![
                received("busy", &delivery("o1", "v0", "e1"), 1),
                received("broken", &delivery("o1", "v0", "e2"), 1),
            ]))
            .await;
        assert_eq!(failed_ids(&r).len(), 2);
        let mut changes = w.visibility.changes();
        changes.sort();
        assert_eq!(
            changes,
            [
                ("broken".to_string(), Duration::from_secs(10)),
                ("busy".to_string(), Duration::from_secs(120))
            ],
            "Retry-After is honoured on 429 and 503 only"
        );
    }

    #[tokio::test]
    async fn gone_disables_the_endpoint_and_publishes_why() {
        let w = World::with_endpoint("gone", Some(410));
        let schedule = Schedule::default();
        let c = w.consumer(&schedule);
        let r = c
            .handle(event(vec![received("m1", &delivery("o1", "v0", "e1"), 1)]))
            .await;
        assert!(failed_ids(&r).is_empty(), "done with: no retry");
        let ep = w.dir.get("v0", "e1").await.unwrap().unwrap();
        assert!(ep.health.disabled_reason.unwrap().contains("410 Gone"));
        let published = w.topic.published();
        assert_eq!(published.len(), 1);
        assert_eq!(published[0].1["eventtype"].string_value, "EndpointDisabled");
        // Further deliveries are not attempted, but logged as skipped.
        let r = c
            .handle(event(vec![received("m2", &delivery("o2", "v0", "e1"), 1)]))
            .await;
        assert!(failed_ids(&r).is_empty());
        assert_eq!(w.hooks.attempts("http://127.0.0.1:9/gone"), 1);
        assert_eq!(w.log.all().last().unwrap().outcome, AttemptOutcome::Skipped);
    }

    #[tokio::test]
    async fn failing_for_the_whole_period_disables_the_endpoint() {
        let w = World::default();
        let mut ep = endpoint("v0", "e1", "http://127.0.0.1:9/down");
        ep.health.failing_since = w.clock.now().checked_sub(DEFAULT_DISABLE_AFTER).ok();
        w.dir.insert(ep);
        w.hooks.answer("http://127.0.0.1:9/down", 502);
        let schedule = Schedule::default();
        let c = w.consumer(&schedule);
        let r = c
            .handle(event(vec![received("m1", &delivery("o1", "v0", "e1"), 4)]))
            .await;
        assert!(failed_ids(&r).is_empty());
        let ep = w.dir.get("v0", "e1").await.unwrap().unwrap();
        assert!(
            ep.health
                .disabled_reason
                .unwrap()
                .contains("failed every attempt since")
        );
        assert_eq!(w.topic.published().len(), 1);
    }

    #[tokio::test]
    async fn removed_endpoints_and_poison_messages() {
        let w = World::default();
        let schedule = Schedule::default();
        let c = w.consumer(&schedule);
        let r = c
            .handle(event(vec![
                received("gone", &delivery("o1", "v0", "nope"), 1),
                received("poison", "{oops", 1),
            ]))
            .await;
        assert_eq!(failed_ids(&r), ["poison"]);
        assert!(w.hooks.sent().is_empty());
    }

    #[tokio::test]
    async fn private_endpoints_are_refused_at_delivery_without_the_flag() {
        let w = World::with_endpoint("hook", None);
        let schedule = Schedule::default();
        let mut c = w.consumer(&schedule);
        c.allow_private_endpoints = false;
        let r = c
            .handle(event(vec![received("m1", &delivery("o1", "v0", "e1"), 1)]))
            .await;
        assert_eq!(failed_ids(&r), ["m1"]);
        assert!(w.hooks.sent().is_empty());
        assert!(w.log.all()[0].error.as_deref().unwrap_or_default().contains("http"));
    }
}
