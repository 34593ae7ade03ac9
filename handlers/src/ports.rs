//! The ports: everything a handler needs from the outside world, as small traits.
//!
//! Each backend (SQLite locally, DynamoDB/S3/HTTP on AWS) implements these; handlers
//! never see an SDK or SQLite type.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use skipline_events::{Money, Order};

/// A storage failure. `Unavailable` is worth retrying; `Corrupt` is not.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("store unavailable: {0}")]
    Unavailable(String),
    #[error("stored record is unreadable: {0}")]
    Corrupt(String),
}

/// The active order of one customer at one vendor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CartItem {
    pub accountid: String,
    pub vendorid: String,
    pub orderid: String,
    pub order: Order,
    pub total: Money,
    #[serde(rename = "createdAt")]
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PutCartOutcome {
    Created,
    /// The slot already holds this very order: a re-run of the same step.
    AlreadyThisOrder,
    /// The slot holds another active order.
    HeldBy {
        orderid: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReleaseOutcome {
    Released,
    Missing,
    /// A newer order holds the slot; it is left alone.
    HeldBy {
        orderid: String,
    },
}

/// The cart table, keyed by (accountid, vendorid).
#[async_trait]
pub trait CartStore: Send + Sync {
    /// Writes the item unless the slot holds a different order (a conditional put).
    async fn put_if_free(&self, item: &CartItem) -> Result<PutCartOutcome, StoreError>;
    async fn get(&self, accountid: &str, vendorid: &str) -> Result<Option<CartItem>, StoreError>;
    /// Deletes the item only while it still holds `orderid` (a conditional delete).
    async fn release(&self, accountid: &str, vendorid: &str, orderid: &str) -> Result<ReleaseOutcome, StoreError>;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutBlobOutcome {
    Created,
    /// Something is already stored under the key; nothing was written.
    AlreadyExists,
}

/// Invoice documents by key (S3 on AWS, SQLite blobs locally).
#[async_trait]
pub trait InvoiceStore: Send + Sync {
    /// Writes only if nothing exists under `key` (S3 `If-None-Match: *`), durably.
    async fn put_new(&self, key: &str, body: &[u8]) -> Result<PutBlobOutcome, StoreError>;
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// [`InvoiceStore::put_new`], and, if the invoice was created, its index entry in the same
    /// durable write where the store holds both (the embedded one: one transaction, one write
    /// fewer per order). Returns whether the entry was recorded; if not, the caller records it
    /// through [`InvoiceIndex`], as it must anyway when the invoice already existed.
    async fn put_new_indexed(
        &self,
        key: &str,
        body: &[u8],
        _entry: &InvoiceIndexEntry,
    ) -> Result<(PutBlobOutcome, bool), StoreError> {
        Ok((self.put_new(key, body).await?, false))
    }
}

/// Where an invoice is found other than by its own key. Written by `put_object` together with
/// the invoice, so lookups never scan: DynamoDB items on AWS, SQLite rows locally.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceIndexEntry {
    pub orderid: String,
    pub accountid: String,
    pub invoice_key: String,
    /// `YYYY-MM` of the order's own date, and the invoice's place within it
    /// ([`skipline_events::invoice_rank`]); `None` for a date with no calendar month.
    pub month: Option<(String, String)>,
}

#[async_trait]
pub trait InvoiceIndex: Send + Sync {
    /// Idempotent: recording the same entry again changes nothing.
    async fn record(&self, entry: &InvoiceIndexEntry) -> Result<(), StoreError>;
    /// The invoice key of one order.
    async fn by_order(&self, orderid: &str) -> Result<Option<String>, StoreError>;
    /// The key of the account's highest-ranked invoice in `month` (`YYYY-MM`).
    async fn latest_in_month(&self, accountid: &str, month: &str) -> Result<Option<String>, StoreError>;
}

/// A vendor's webhook endpoint. The secret signs every ticket sent to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VendorEndpoint {
    pub vendorid: String,
    pub endpointid: String,
    pub url: String,
    pub secret: String,
    #[serde(rename = "createdAt")]
    pub created_at: String,
    /// A record without it was written before Standard Webhooks: see [`Signing::Legacy`].
    #[serde(default)]
    pub signing: Signing,
    /// The secret before the last rotation: it signs too until `previous_until`, so that a
    /// receiver can switch over without losing a ticket.
    #[serde(rename = "previousSecret", default, skip_serializing_if = "Option::is_none")]
    pub previous_secret: Option<String>,
    #[serde(rename = "previousUntil", default, skip_serializing_if = "Option::is_none")]
    pub previous_until: Option<jiff::Timestamp>,
    /// Whether it gets deliveries, and since when it has been failing.
    #[serde(flatten)]
    pub health: Health,
}

/// An endpoint's delivery health, written by the delivery consumer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    /// The first failed attempt since the last success: the auto-disable clock.
    #[serde(rename = "failingSince", default, skip_serializing_if = "Option::is_none")]
    pub failing_since: Option<jiff::Timestamp>,
    /// Set while disabled: no deliveries are attempted until `vendors enable`.
    #[serde(rename = "disabledAt", default, skip_serializing_if = "Option::is_none")]
    pub disabled_at: Option<jiff::Timestamp>,
    #[serde(rename = "disabledReason", default, skip_serializing_if = "Option::is_none")]
    pub disabled_reason: Option<String>,
}

impl Health {
    pub fn is_disabled(&self) -> bool {
        self.disabled_at.is_some()
    }
}

impl VendorEndpoint {
    /// The previous secret, if it still signs at `now`.
    pub fn previous_at(&self, now: jiff::Timestamp) -> Option<&str> {
        match (&self.previous_secret, self.previous_until) {
            (Some(secret), Some(until)) if now < until => Some(secret),
            _ => None,
        }
    }
}

/// How an endpoint's deliveries are signed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Signing {
    /// Standard Webhooks 1.0 headers only.
    #[serde(rename = "standard-webhooks")]
    Standard,
    /// Created before Standard Webhooks, when tickets were signed with `X-Skipline-*` headers
    /// keyed by the whole secret string. Its deliveries carry those headers as well as the
    /// standard ones, so that its receiver keeps working, until its secret is rotated.
    #[default]
    #[serde(rename = "legacy")]
    Legacy,
}

impl Signing {
    pub fn as_str(self) -> &'static str {
        match self {
            Signing::Standard => "standard-webhooks",
            Signing::Legacy => "legacy",
        }
    }

    pub fn parse(s: &str) -> Option<Signing> {
        [Signing::Standard, Signing::Legacy]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

/// Where vendors' endpoints are registered.
#[async_trait]
pub trait VendorDirectory: Send + Sync {
    async fn add(&self, endpoint: &VendorEndpoint) -> Result<(), StoreError>;
    /// All endpoints, or one vendor's, ordered by vendor then endpoint id.
    async fn list(&self, vendorid: Option<&str>) -> Result<Vec<VendorEndpoint>, StoreError>;
    /// Returns whether anything was removed.
    async fn remove(&self, vendorid: &str, endpointid: &str) -> Result<bool, StoreError>;
    /// Writes `endpoint` over the stored one with its ids, if there is one (a rotation).
    /// Returns whether there was.
    async fn replace(&self, endpoint: &VendorEndpoint) -> Result<bool, StoreError>;
    async fn get(&self, vendorid: &str, endpointid: &str) -> Result<Option<VendorEndpoint>, StoreError>;
    /// Writes only the health fields, so that a rotation racing a delivery loses neither.
    /// Returns whether the endpoint exists.
    async fn set_health(&self, vendorid: &str, endpointid: &str, health: &Health) -> Result<bool, StoreError>;
}

/// How one delivery attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AttemptOutcome {
    /// A 2xx: the endpoint acknowledged the event and is not sent it again.
    Delivered,
    /// Another answer, a timeout or a transport error: retried on the schedule.
    Failed,
    /// The last attempt of the schedule failed: the delivery goes to the DLQ.
    Exhausted,
    /// 410 Gone, or failing for the whole auto-disable period: the endpoint is now disabled.
    Disabled,
    /// Not attempted, because the endpoint is disabled.
    Skipped,
}

impl AttemptOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            AttemptOutcome::Delivered => "delivered",
            AttemptOutcome::Failed => "failed",
            AttemptOutcome::Exhausted => "exhausted",
            AttemptOutcome::Disabled => "disabled",
            AttemptOutcome::Skipped => "skipped",
        }
    }

    pub fn parse(s: &str) -> Option<AttemptOutcome> {
        use AttemptOutcome::*;
        [Delivered, Failed, Exhausted, Disabled, Skipped]
            .into_iter()
            .find(|o| o.as_str() == s)
    }
}

/// One delivery attempt, as the delivery log records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    pub eventid: String,
    pub vendorid: String,
    pub endpointid: String,
    /// 1 for the first attempt; the delivery message's receive count.
    pub attempt: u32,
    pub at: jiff::Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(rename = "latencyMs")]
    pub latency_ms: u64,
    pub outcome: AttemptOutcome,
    /// When the next attempt is due, if there is one.
    #[serde(rename = "nextAttemptAt", skip_serializing_if = "Option::is_none")]
    pub next_attempt_at: Option<jiff::Timestamp>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub redelivery: bool,
}

/// Which attempts to list: one vendor's, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AttemptQuery {
    pub vendorid: String,
    pub endpointid: Option<String>,
    /// Only attempts that did not deliver.
    pub failed_only: bool,
    pub since: Option<jiff::Timestamp>,
    pub until: Option<jiff::Timestamp>,
    pub eventid: Option<String>,
    pub limit: usize,
}

/// Which tickets to redeliver: one vendor's, by event or by when they were sent out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TicketQuery {
    Event(String),
    Between {
        since: jiff::Timestamp,
        until: Option<jiff::Timestamp>,
    },
}

/// Every attempt, and which endpoints acknowledged which events, so that redelivery and replay
/// never notify twice unless asked to.
#[async_trait]
pub trait DeliveryLog: Send + Sync {
    async fn was_delivered(&self, eventid: &str, endpointid: &str) -> Result<bool, StoreError>;
    /// Records the attempt; a [`AttemptOutcome::Delivered`] one also marks the event acknowledged
    /// by the endpoint, in the same write.
    async fn record_attempt(&self, attempt: &Attempt) -> Result<(), StoreError>;
    async fn attempts(&self, query: &AttemptQuery) -> Result<Vec<Attempt>, StoreError>;
    /// The tickets fanned out to the vendor's endpoints (kept by [`DeliveryQueue::enqueue`]),
    /// oldest first, at most `limit`.
    async fn tickets(
        &self,
        vendorid: &str,
        query: &TicketQuery,
        limit: usize,
    ) -> Result<Vec<skipline_events::TicketPayload>, StoreError>;
}

/// The deliveries queue, as the fan-out writes to it.
#[async_trait]
pub trait DeliveryQueue: Send + Sync {
    /// Queues one message per delivery and keeps each ticket for `vendors redeliver`. An event
    /// already fanned out (its ticket is kept) is not queued again, unless as a redelivery: a
    /// notify-vendor message that comes back after a stale delete must not double its deliveries.
    async fn enqueue(&self, deliveries: &[skipline_events::Delivery]) -> Result<(), StoreError>;
}

/// What a consumer may do to the message it is handling, beyond failing it: SQS's
/// `ChangeMessageVisibility`, by the record's receipt handle and source queue.
#[async_trait]
pub trait MessageVisibility: Send + Sync {
    async fn retry_in(
        &self,
        record: &aws_lambda_events::event::sqs::SqsMessage,
        delay: std::time::Duration,
    ) -> Result<(), StoreError>;
}

/// The receipt handle [`MessageVisibility`] acts by; a record without one cannot be retried.
pub fn receipt_handle(record: &aws_lambda_events::event::sqs::SqsMessage) -> Result<&str, StoreError> {
    record
        .receipt_handle
        .as_deref()
        .ok_or_else(|| StoreError::Corrupt("the record has no receipt handle".into()))
}

/// The topic, for events a consumer publishes itself ([`skipline_events::EndpointDisabled`]).
#[async_trait]
pub trait EventPublisher: Send + Sync {
    async fn publish(&self, message: &str, attributes: &skipline_events::MessageAttributes) -> Result<(), StoreError>;
}

/// One signed POST to a vendor endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookRequest {
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeliveryError {
    #[error("endpoint refused by policy: {0}")]
    Forbidden(String),
    #[error("timed out: {0}")]
    Timeout(String),
    #[error("could not connect: {0}")]
    Connect(String),
}

/// What an endpoint answered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WebhookResponse {
    pub status: u16,
    /// `Retry-After`, in seconds or as an HTTP date, as a delay from when it was received.
    pub retry_after: Option<std::time::Duration>,
}

impl WebhookResponse {
    pub fn status(status: u16) -> WebhookResponse {
        WebhookResponse {
            status,
            retry_after: None,
        }
    }

    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// Sends webhooks. Implementations re-check the endpoint policy after DNS resolution.
#[async_trait]
pub trait WebhookClient: Send + Sync {
    /// Returns the answer; transport failures are errors.
    async fn post(&self, request: &WebhookRequest) -> Result<WebhookResponse, DeliveryError>;
}

/// Wall-clock time, injectable so tests and replays are deterministic.
pub trait Clock: Send + Sync {
    fn now(&self) -> jiff::Timestamp;
}

/// The real clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> jiff::Timestamp {
        jiff::Timestamp::now()
    }
}
