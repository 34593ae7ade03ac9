//! The deliveries queue and the delivery log on AWS: SQS for the queue and its visibility,
//! DynamoDB for the log, SNS for `EndpointDisabled`.
//!
//! The delivery table holds three kinds of item under its key (PK `eventid`, SK `endpointid`),
//! each expired by DynamoDB TTL on `expiresAt` (epoch seconds):
//! - an acknowledgement: PK the event id, SK the endpoint id;
//! - an attempt: PK `attempts#{vendorid}`, SK `{at, ms}#{endpointid}#{eventid}#{attempt}`, so
//!   that one vendor's log is one Query, newest first;
//! - a kept ticket: PK `tickets#{vendorid}`, SK the event id, with `queuedMs`, for `redeliver`
//!   and so that a fan-out that comes again finds its own.
//!
//! Event ids never contain `#`, so the kinds cannot collide. Keeping all three in one table
//! keeps the stack's grants and tables as they were.

use crate::error::{AwsError, SdkFailure};
use crate::pages;
use async_trait::async_trait;
use aws_lambda_events::event::sqs::SqsMessage;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use skipline_events::{Delivery, MessageAttributes, TicketPayload};
use skipline_handlers::ports::{
    Attempt, AttemptQuery, Clock, DeliveryLog, DeliveryQueue, EventPublisher, MessageVisibility, StoreError,
    TicketQuery,
};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

type Item = HashMap<String, AttributeValue>;

/// How long a delivery, attempt or ticket is remembered: longer than any redelivery or replay
/// window (the deliveries queue keeps a schedule plus a day, DLQs 14 days).
pub const DELIVERY_RETENTION: Duration = Duration::from_secs(14 * 24 * 3600);

fn store(e: AwsError) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

/// Milliseconds, zero-padded so that string order is time order.
fn sort_ms(t: jiff::Timestamp) -> String {
    format!("{:015}", t.as_millisecond().max(0))
}

#[derive(Clone)]
pub struct DynamoDeliveryLog {
    client: Client,
    table: String,
    clock: Arc<dyn Clock>,
}

impl DynamoDeliveryLog {
    pub fn new(client: Client, table: impl Into<String>, clock: Arc<dyn Clock>) -> Self {
        Self {
            client,
            table: table.into(),
            clock,
        }
    }

    fn expires(&self) -> AttributeValue {
        AttributeValue::N((self.clock.now().as_second() + DELIVERY_RETENTION.as_secs() as i64).to_string())
    }

    async fn put(&self, item: Item) -> Result<(), StoreError> {
        put_item(&self.client, &self.table, item).await
    }

    /// Keeps a ticket for `redeliver`, which also marks its event as fanned out.
    pub async fn keep_ticket(&self, vendorid: &str, payload: &TicketPayload) -> Result<(), StoreError> {
        let now = self.clock.now();
        let body = serde_json::to_string(payload).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let mut item = Item::new();
        item.insert("eventid".into(), s(format!("tickets#{vendorid}")));
        item.insert("endpointid".into(), s(&payload.data.eventid));
        item.insert("queuedMs".into(), AttributeValue::N(now.as_millisecond().to_string()));
        item.insert("payload".into(), s(body));
        item.insert("expiresAt".into(), self.expires());
        self.put(item).await
    }

    async fn kept_ticket(&self, vendorid: &str, eventid: &str) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("eventid", s(format!("tickets#{vendorid}")))
            .key("endpointid", s(eventid))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| SdkFailure::new("DynamoDB GetItem", &e))?;
        Ok(out.item.filter(|i| !i.is_empty()))
    }
}

#[async_trait]
impl DeliveryLog for DynamoDeliveryLog {
    /// A record past `expiresAt` that TTL has not removed yet still counts: TTL deletion is lazy,
    /// and treating it as delivered is the safe side for a dedupe log.
    async fn was_delivered(&self, eventid: &str, endpointid: &str) -> Result<bool, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("eventid", s(eventid))
            .key("endpointid", s(endpointid))
            .consistent_read(true)
            .projection_expression("eventid")
            .send()
            .await
            .map_err(|e| SdkFailure::new("DynamoDB GetItem", &e))?;
        Ok(out.item.is_some_and(|i| !i.is_empty()))
    }

    /// The attempt first, then the acknowledgement: a crash between them leaves an event that
    /// is sent once more, which the receiver dedupes by `webhook-id`.
    async fn record_attempt(&self, a: &Attempt) -> Result<(), StoreError> {
        let mut item = Item::new();
        let record = serde_json::to_string(a).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        item.insert("attempt".into(), s(record));
        item.insert("eventid".into(), s(format!("attempts#{}", a.vendorid)));
        item.insert(
            "endpointid".into(),
            s(format!(
                "{}#{}#{}#{:04}",
                sort_ms(a.at),
                a.endpointid,
                a.eventid,
                a.attempt
            )),
        );
        item.insert("expiresAt".into(), self.expires());
        self.put(item).await?;
        if a.outcome == skipline_handlers::ports::AttemptOutcome::Delivered {
            let mut ack = Item::new();
            ack.insert("eventid".into(), s(&a.eventid));
            ack.insert("endpointid".into(), s(&a.endpointid));
            ack.insert("deliveredAt".into(), s(a.at.to_string()));
            ack.insert("expiresAt".into(), self.expires());
            self.put(ack).await?;
        }
        Ok(())
    }

    async fn attempts(&self, q: &AttemptQuery) -> Result<Vec<Attempt>, StoreError> {
        // DynamoDB refuses an empty key bound; every sort key starts with a digit.
        let from = q.since.map(sort_ms).unwrap_or_else(|| "0".into());
        // `~` sorts after every digit and '#', so the upper bound takes the whole millisecond.
        let to = q
            .until
            .map(|t| sort_ms(t - jiff::SignedDuration::from_millis(1)) + "~")
            .unwrap_or_else(|| "~".into());
        // Filtering is client-side, so page until `limit` matches or the partition ends.
        pages::collect(q.limit, |start, _| {
            let (from, to) = (&from, &to);
            async move {
                let page = self
                    .client
                    .query()
                    .table_name(&self.table)
                    .key_condition_expression("eventid = :pk AND endpointid BETWEEN :from AND :to")
                    .expression_attribute_values(":pk", s(format!("attempts#{}", q.vendorid)))
                    .expression_attribute_values(":from", s(from))
                    .expression_attribute_values(":to", s(to))
                    .scan_index_forward(false)
                    .consistent_read(true)
                    .set_exclusive_start_key(start)
                    .send()
                    .await
                    .map_err(|e| SdkFailure::new("DynamoDB Query", &e))?;
                let mut kept = Vec::new();
                for item in page.items.unwrap_or_default() {
                    let Some(AttributeValue::S(record)) = item.get("attempt") else {
                        continue;
                    };
                    let attempt: Attempt = serde_json::from_str(record)
                        .map_err(|e| StoreError::Corrupt(format!("delivery attempt: {e}")))?;
                    let keep = q.endpointid.as_ref().is_none_or(|e| *e == attempt.endpointid)
                        && q.eventid.as_ref().is_none_or(|e| *e == attempt.eventid)
                        && (!q.failed_only || attempt.outcome != skipline_handlers::ports::AttemptOutcome::Delivered);
                    if keep {
                        kept.push(attempt);
                    }
                }
                Ok((kept, page.last_evaluated_key))
            }
        })
        .await
    }

    async fn tickets(
        &self,
        vendorid: &str,
        query: &TicketQuery,
        limit: usize,
    ) -> Result<Vec<TicketPayload>, StoreError> {
        let items = match query {
            TicketQuery::Event(eventid) => self.kept_ticket(vendorid, eventid).await?.into_iter().collect(),
            TicketQuery::Between { since, until } => {
                let mut items = self.between(vendorid, *since, *until).await?;
                items.sort_by_key(|i| match i.get("queuedMs") {
                    Some(AttributeValue::N(n)) => n.parse::<i64>().unwrap_or(0),
                    _ => 0,
                });
                items
            }
        };
        items
            .iter()
            .take(limit)
            .filter_map(|item| match item.get("payload") {
                Some(AttributeValue::S(p)) => Some(p),
                _ => None,
            })
            .map(|p| serde_json::from_str(p).map_err(|e| StoreError::Corrupt(format!("kept ticket: {e}"))))
            .collect()
    }
}

impl DynamoDeliveryLog {
    /// The vendor's kept tickets queued in [since, until): one Query of its partition, filtered
    /// on `queuedMs` (the sort key is the event id, so that a fan-out can find its own).
    async fn between(
        &self,
        vendorid: &str,
        since: jiff::Timestamp,
        until: Option<jiff::Timestamp>,
    ) -> Result<Vec<Item>, StoreError> {
        pages::collect(pages::ALL, |start, _| async move {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("eventid = :pk")
                .filter_expression("queuedMs >= :since AND queuedMs < :until")
                .expression_attribute_values(":pk", s(format!("tickets#{vendorid}")))
                .expression_attribute_values(":since", AttributeValue::N(since.as_millisecond().to_string()))
                .expression_attribute_values(
                    ":until",
                    AttributeValue::N(until.map_or(i64::MAX, |t| t.as_millisecond()).to_string()),
                )
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| SdkFailure::new("DynamoDB Query", &e))?;
            Ok((out.items.unwrap_or_default(), out.last_evaluated_key))
        })
        .await
    }
}

/// An unconditional PutItem, as the delivery log and the vendor directory write.
pub(crate) async fn put_item(client: &Client, table: &str, item: Item) -> Result<(), StoreError> {
    client
        .put_item()
        .table_name(table)
        .set_item(Some(item))
        .send()
        .await
        .map_err(|e| SdkFailure::new("DynamoDB PutItem", &e))?;
    Ok(())
}

/// The deliveries queue on SQS; tickets are kept in the delivery table.
#[derive(Clone)]
pub struct SqsDeliveryQueue {
    pub sqs: aws_sdk_sqs::Client,
    pub queue_url: String,
    pub log: DynamoDeliveryLog,
}

#[async_trait]
impl DeliveryQueue for SqsDeliveryQueue {
    /// An event whose ticket is kept was fanned out before: its deliveries are not queued
    /// again. The ticket is kept after its messages are sent, so a failure in between sends
    /// them once more (the receiver dedupes by `webhook-id`) rather than never. Two copies of
    /// one notify-vendor message handled at the very same moment can still both send: SQS
    /// standard queues are at-least-once.
    async fn enqueue(&self, deliveries: &[Delivery]) -> Result<(), StoreError> {
        let mut events: Vec<(&str, &str)> = Vec::new();
        for d in deliveries.iter().filter(|d| !d.redelivery) {
            if !events.contains(&(d.vendorid.as_str(), d.eventid.as_str())) {
                events.push((&d.vendorid, &d.eventid));
            }
        }
        let mut fanned_out = std::collections::HashSet::new();
        for (vendorid, eventid) in &events {
            if self.log.kept_ticket(vendorid, eventid).await?.is_some() {
                fanned_out.insert(*eventid);
            }
        }
        let send: Vec<&Delivery> = deliveries
            .iter()
            .filter(|d| d.redelivery || !fanned_out.contains(d.eventid.as_str()))
            .collect();
        let bodies = send
            .iter()
            .map(serde_json::to_string)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let accepted = crate::sqs::send_bodies(&self.sqs, &self.queue_url, &bodies)
            .await
            .map_err(store)?;
        let refused = accepted.iter().filter(|ok| !**ok).count();
        if refused > 0 {
            return Err(StoreError::Unavailable(format!(
                "SQS refused {refused} of {} deliveries; the event is retried",
                bodies.len()
            )));
        }
        for d in deliveries.iter().filter(|d| !d.redelivery) {
            if fanned_out.insert(d.eventid.as_str()) {
                self.log.keep_ticket(&d.vendorid, &d.payload).await?;
            }
        }
        Ok(())
    }
}

/// `ChangeMessageVisibility` on the deliveries queue.
#[derive(Clone)]
pub struct SqsVisibility {
    pub sqs: aws_sdk_sqs::Client,
    pub queue_url: String,
}

#[async_trait]
impl MessageVisibility for SqsVisibility {
    /// SQS counts whole seconds: a delay is rounded up, so a retry is never early.
    async fn retry_in(&self, record: &SqsMessage, delay: Duration) -> Result<(), StoreError> {
        let receipt = skipline_handlers::ports::receipt_handle(record)?;
        let secs = delay.as_secs() + u64::from(delay.subsec_nanos() > 0);
        let secs = i32::try_from(secs.min(skipline_handlers::schedule::MAX_DELAY.as_secs())).unwrap_or(43_200);
        crate::sqs::change_visibility(&self.sqs, &self.queue_url, receipt, secs)
            .await
            .map_err(store)
    }
}

/// The order-events topic, for `EndpointDisabled`.
#[derive(Clone)]
pub struct SnsPublisher {
    pub sns: aws_sdk_sns::Client,
    pub topic_arn: String,
}

#[async_trait]
impl EventPublisher for SnsPublisher {
    async fn publish(&self, message: &str, attributes: &MessageAttributes) -> Result<(), StoreError> {
        crate::sns::publish(&self.sns, &self.topic_arn, message, attributes)
            .await
            .map(|_| ())
            .map_err(store)
    }
}
