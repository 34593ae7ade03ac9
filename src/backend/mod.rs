//! The operations a user performs, independent of where the system runs.
//!
//! The CLI and the contract suite speak [`Backend`]; `local` implements it over the embedded
//! runtime's data directory, `aws` over the AWS SDK. Anything backend-specific stays behind it.

pub mod aws;
pub mod local;
pub mod requests;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use skipline_engine::filter::{FilterPolicy, FilterScope};
use skipline_events::MessageAttributes;
use skipline_handlers::ports::{
    Attempt, AttemptQuery, CartItem, Clock, DeliveryLog, DeliveryQueue, TicketQuery, VendorDirectory, VendorEndpoint,
};
use skipline_handlers::vendors::{self, Redelivered};
use std::sync::Arc;

/// Why an operation failed, mapped to one exit code / HTTP status per front door.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// The caller's input is wrong; nothing was written.
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    NotFound(String),
    /// The request conflicts with existing state (e.g. an idempotency key reused with another body).
    #[error("{0}")]
    Conflict(String),
    /// The operation is not available on this backend or endpoint.
    #[error("{0}")]
    Unsupported(String),
    /// The backend could not be reached or failed; worth retrying.
    #[error("{0}")]
    Unavailable(String),
}

impl From<skipline_handlers::QueryError> for BackendError {
    fn from(e: skipline_handlers::QueryError) -> Self {
        match e {
            skipline_handlers::QueryError::BadRequest(m) => BackendError::Invalid(m),
            skipline_handlers::QueryError::NotFound(m) => BackendError::NotFound(m),
            skipline_handlers::QueryError::Store(s) => s.into(),
        }
    }
}

impl From<skipline_handlers::ports::StoreError> for BackendError {
    fn from(e: skipline_handlers::ports::StoreError) -> Self {
        BackendError::Unavailable(e.to_string())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ExecStatus {
    Running,
    Succeeded,
    Failed,
}

impl ExecStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ExecStatus::Running => "RUNNING",
            ExecStatus::Succeeded => "SUCCEEDED",
            ExecStatus::Failed => "FAILED",
        }
    }
    pub fn parse(s: &str) -> Option<ExecStatus> {
        match s.to_ascii_uppercase().as_str() {
            "RUNNING" => Some(ExecStatus::Running),
            "SUCCEEDED" => Some(ExecStatus::Succeeded),
            "FAILED" | "TIMED_OUT" | "ABORTED" => Some(ExecStatus::Failed),
            _ => None,
        }
    }
}

/// The answer to placing an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Placed {
    pub orderid: String,
    #[serde(rename = "executionId")]
    pub execution_id: String,
    pub status: ExecStatus,
    /// False when an idempotency key matched an existing execution with the same body.
    #[serde(skip)]
    pub created: bool,
}

/// One entry of an execution's history, in a backend-neutral shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub id: u64,
    pub timestamp: String,
    /// A Step Functions history event type, e.g. `TaskStateEntered`, `LambdaFunctionFailed`,
    /// `ExecutionSucceeded`, the same on both backends.
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub detail: serde_json::Value,
}

/// Where an order is, and how it got there.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderStatus {
    pub orderid: String,
    #[serde(rename = "executionId")]
    pub execution_id: String,
    pub status: ExecStatus,
    #[serde(rename = "startedAt")]
    pub started_at: String,
    #[serde(rename = "stoppedAt", default, skip_serializing_if = "Option::is_none")]
    pub stopped_at: Option<String>,
    /// The rejection or failure name, e.g. `ActiveOrderExists`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    #[serde(rename = "invoiceKey", default, skip_serializing_if = "Option::is_none")]
    pub invoice_key: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<HistoryEntry>,
}

impl OrderStatus {
    /// `output` is the execution's output, which holds the invoice key once the flow has one.
    pub(crate) fn new(
        summary: ExecutionSummary,
        error: Option<String>,
        cause: Option<String>,
        output: Option<&serde_json::Value>,
        history: Vec<HistoryEntry>,
    ) -> Self {
        let invoice_key = output.and_then(|o| o.get("invoiceKey")).and_then(|k| k.as_str());
        OrderStatus {
            orderid: summary.orderid,
            execution_id: summary.execution_id,
            status: summary.status,
            started_at: summary.started_at,
            stopped_at: summary.stopped_at,
            error,
            cause,
            invoice_key: invoice_key.map(str::to_string),
            history,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecutionSummary {
    pub orderid: String,
    #[serde(rename = "executionId")]
    pub execution_id: String,
    pub status: ExecStatus,
    #[serde(rename = "startedAt")]
    pub started_at: String,
    #[serde(rename = "stoppedAt", default, skip_serializing_if = "Option::is_none")]
    pub stopped_at: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Sqs,
    Http,
    Https,
}

/// A topic subscription request.
#[derive(Debug, Clone)]
pub struct NewSubscription {
    pub protocol: Protocol,
    /// Queue name or ARN for `sqs`; URL for `http`/`https`.
    pub endpoint: String,
    /// Already validated, so nothing invalid reaches a backend.
    pub filter_policy: Option<(String, FilterPolicy)>,
    pub raw: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriptionInfo {
    #[serde(rename = "subscriptionId")]
    pub id: String,
    pub protocol: String,
    pub endpoint: String,
    #[serde(rename = "filterPolicy", default, skip_serializing_if = "Option::is_none")]
    pub filter_policy: Option<String>,
    #[serde(rename = "filterPolicyScope")]
    pub scope: FilterScope,
    #[serde(rename = "rawMessageDelivery")]
    pub raw: bool,
}

impl SubscriptionInfo {
    /// Positional, so that each backend's conversion is one line.
    pub(crate) fn new(
        id: String,
        protocol: String,
        endpoint: String,
        filter_policy: Option<String>,
        scope: FilterScope,
        raw: bool,
    ) -> Self {
        SubscriptionInfo {
            id,
            protocol,
            endpoint,
            filter_policy,
            scope,
            raw,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueInfo {
    pub name: String,
    /// Messages ready to receive.
    pub visible: u64,
    #[serde(rename = "inFlight")]
    pub in_flight: u64,
    pub delayed: u64,
    /// The dead-letter queue this queue redrives to, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dlq: Option<String>,
    #[serde(rename = "maxReceiveCount", default, skip_serializing_if = "Option::is_none")]
    pub max_receive_count: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeekedMessage {
    #[serde(rename = "messageId")]
    pub message_id: String,
    pub body: String,
    pub attributes: MessageAttributes,
    #[serde(rename = "receiveCount")]
    pub receive_count: u32,
    #[serde(rename = "sentAt")]
    pub sent_at: String,
}

impl PeekedMessage {
    /// `sent_ms` is epoch milliseconds, shown as a timestamp (empty when out of range).
    pub(crate) fn new(
        message_id: String,
        body: String,
        attributes: MessageAttributes,
        receive_count: u32,
        sent_ms: i64,
    ) -> Self {
        let sent_at = jiff::Timestamp::from_millisecond(sent_ms).map(|t| t.to_string());
        PeekedMessage {
            message_id,
            body,
            attributes,
            receive_count,
            sent_at: sent_at.unwrap_or_default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplayTarget {
    /// The queue that dead-letters into the source (the usual redrive).
    Origin,
    Queue(String),
    /// Re-publish to the topic, so filter policies apply again.
    Topic,
}

#[derive(Debug, Clone)]
pub struct ReplayRequest {
    pub from: String,
    pub to: ReplayTarget,
    pub max: Option<u64>,
    /// Only messages matching this policy move; the rest stay and count as skipped.
    pub filter: Option<FilterPolicy>,
    pub dry_run: bool,
}

impl ReplayRequest {
    /// The usual redrive: every message of `from` back to the queue that dead-letters into it.
    pub fn redrive(from: impl Into<String>) -> Self {
        ReplayRequest {
            from: from.into(),
            to: ReplayTarget::Origin,
            max: None,
            filter: None,
            dry_run: false,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplayReport {
    pub moved: u64,
    pub skipped: u64,
    pub failed: u64,
    #[serde(rename = "dryRun")]
    pub dry_run: bool,
}

/// Progress callback for long operations; the CLI draws a bar or prints lines.
pub trait Progress: Send + Sync {
    fn total(&self, _total: u64) {}
    fn advance(&self, _report: &ReplayReport) {}
}

/// No progress output.
pub struct Quiet;
impl Progress for Quiet {}

/// Where a backend keeps its vendor endpoints, and its clock.
pub struct VendorPorts {
    pub directory: Arc<dyn VendorDirectory>,
    pub clock: Arc<dyn Clock>,
}

/// Every user operation, on either backend. The vendor operations are provided: they are the
/// handlers' own, over the ports a backend names, so both backends check and answer alike.
#[async_trait]
pub trait Backend: Send + Sync {
    /// Starts the order flow. `body` is the raw request body; it is validated before anything is written.
    async fn place_order(&self, body: &[u8], idempotency_key: Option<&str>) -> Result<Placed, BackendError>;
    async fn order_status(&self, orderid: &str, with_history: bool) -> Result<OrderStatus, BackendError>;
    async fn list_executions(
        &self,
        status: Option<ExecStatus>,
        limit: usize,
    ) -> Result<Vec<ExecutionSummary>, BackendError>;
    async fn cart_item(&self, accountid: &str, vendorid: &str) -> Result<Option<CartItem>, BackendError>;
    /// An invoice by `objectKey`: our key, or the original sample's `{year}/{month}/{accountid}`.
    async fn invoice(&self, key: &str) -> Result<serde_json::Value, BackendError>;
    /// An order's invoice, from the order id alone (through the invoice index).
    async fn order_invoice(&self, orderid: &str) -> Result<serde_json::Value, BackendError>;

    /// The vendor directory and clock; `write` is for an operation that adds data (the local
    /// backend creates its data dir for it, and only for it).
    async fn vendor_ports(&self, write: bool) -> Result<VendorPorts, BackendError>;
    async fn delivery_log(&self) -> Result<Arc<dyn DeliveryLog>, BackendError>;
    async fn delivery_queue(&self) -> Result<Arc<dyn DeliveryQueue>, BackendError>;

    async fn subscribe_vendor(
        &self,
        vendorid: &str,
        url: &str,
        secret: Option<&str>,
        allow_private: bool,
    ) -> Result<(VendorEndpoint, bool), BackendError> {
        let new = vendors::NewEndpoint::parse(vendorid, url, secret, allow_private)?;
        let ports = self.vendor_ports(true).await?;
        let s = vendors::subscribe_vendor(ports.directory.as_ref(), ports.clock.as_ref(), &new).await?;
        Ok((s.endpoint, s.secret_generated))
    }

    async fn list_vendor_endpoints(&self, vendorid: Option<&str>) -> Result<Vec<VendorEndpoint>, BackendError> {
        if let Some(v) = vendorid {
            requests::ids(&[("vendorid", v)])?;
        }
        Ok(self.vendor_ports(false).await?.directory.list(vendorid).await?)
    }

    async fn unsubscribe_vendor(&self, vendorid: &str, endpointid: &str) -> Result<(), BackendError> {
        requests::ids(&[("vendorid", vendorid), ("endpointid", endpointid)])?;
        let ports = self.vendor_ports(false).await?;
        Ok(vendors::unsubscribe_vendor(ports.directory.as_ref(), vendorid, endpointid).await?)
    }

    /// A new signing secret for the endpoint (see [`skipline_handlers::vendors::rotate_secret`]);
    /// the flag says whether it was generated (and is to be shown, once). `grace` defaults to
    /// [`skipline_handlers::vendors::DEFAULT_ROTATION_GRACE`].
    async fn rotate_vendor_secret(
        &self,
        vendorid: &str,
        endpointid: &str,
        secret: Option<&str>,
        grace: Option<std::time::Duration>,
    ) -> Result<(VendorEndpoint, bool), BackendError> {
        let rotation = vendors::Rotation::parse(vendorid, endpointid, secret, grace)?;
        let ports = self.vendor_ports(false).await?;
        let r = vendors::rotate_secret(ports.directory.as_ref(), ports.clock.as_ref(), &rotation).await?;
        Ok((r.endpoint, r.secret_generated))
    }

    /// Lets a disabled endpoint get deliveries again (see [`skipline_handlers::vendors::enable`]).
    async fn enable_vendor_endpoint(&self, vendorid: &str, endpointid: &str) -> Result<VendorEndpoint, BackendError> {
        requests::ids(&[("vendorid", vendorid), ("endpointid", endpointid)])?;
        let ports = self.vendor_ports(false).await?;
        Ok(vendors::enable(ports.directory.as_ref(), vendorid, endpointid).await?)
    }

    /// The delivery log: attempts, newest first (a query from [`requests::attempt_query`]).
    async fn vendor_deliveries(&self, query: &AttemptQuery) -> Result<Vec<Attempt>, BackendError> {
        Ok(self.delivery_log().await?.attempts(query).await?)
    }

    /// Resends kept tickets with the same `webhook-id` (see [`skipline_handlers::vendors::redeliver`]).
    async fn redeliver(
        &self,
        vendorid: &str,
        endpointid: Option<&str>,
        query: &TicketQuery,
    ) -> Result<Redelivered, BackendError> {
        let (log, queue) = (self.delivery_log().await?, self.delivery_queue().await?);
        let directory = self.vendor_ports(false).await?.directory;
        Ok(vendors::redeliver(
            directory.as_ref(),
            log.as_ref(),
            queue.as_ref(),
            vendorid,
            endpointid,
            query,
        )
        .await?)
    }

    async fn topic_subscribe(&self, sub: NewSubscription) -> Result<SubscriptionInfo, BackendError>;
    async fn topic_subscriptions(&self) -> Result<Vec<SubscriptionInfo>, BackendError>;

    async fn queues(&self) -> Result<Vec<QueueInfo>, BackendError>;
    async fn peek(&self, queue: &str, max: usize) -> Result<Vec<PeekedMessage>, BackendError>;
    async fn replay(&self, request: &ReplayRequest, progress: &dyn Progress) -> Result<ReplayReport, BackendError>;

    /// Whether the backend can do its work now (`GET /readyz`); the reason when not. A backend
    /// whose parts are managed services is ready when it is configured.
    async fn readiness(&self) -> Result<(), String> {
        Ok(())
    }

    /// The live feed of what becomes durable (`GET /events`): only the embedded runtime, while
    /// it runs, has one. On AWS the same facts are CloudWatch's and the stack's event sources.
    fn live(&self) -> Option<crate::local::live::Live> {
        None
    }

    /// The running state machine's name and definition, for the console's graph: the embedded
    /// runtime's (on AWS, the Step Functions console draws the deployed one).
    fn definition(&self) -> Option<(String, String)> {
        None
    }
}
