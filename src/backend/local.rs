//! [`Backend`] over the embedded runtime's data directory.

use super::*;
use crate::local::db::DbError;
use crate::local::executions::{ExecutionRecord, Started};
use crate::local::queues::QueueError;
use crate::local::replay::{ReplayError, replay};
use crate::local::runtime::{Overrides, Runtime, RuntimeConfig, RuntimeError, db_path};
use crate::local::topic::TopicError;
use requests::TopicEndpoint;
use skipline_engine::asl::HistoryEvent;
use skipline_handlers::QueryError;
use skipline_handlers::get_item::get_item;
use skipline_handlers::get_object::{get_object, get_order_invoice};
use std::sync::Arc;
use tokio::sync::OnceCell;

pub struct LocalBackend {
    runtime: OnceCell<Arc<Runtime>>,
    /// How to open the runtime when it is first needed (see [`LocalBackend::lazy`]).
    config: Option<RuntimeConfig>,
}

impl From<DbError> for BackendError {
    fn from(e: DbError) -> Self {
        BackendError::Unavailable(e.to_string())
    }
}

/// A queue error means to a backend caller what it means to the topic: a missing queue is not
/// found, anything else the caller sent is invalid.
impl From<QueueError> for BackendError {
    fn from(e: QueueError) -> Self {
        TopicError::from(e).into()
    }
}

impl From<RuntimeError> for BackendError {
    fn from(e: RuntimeError) -> Self {
        match e {
            RuntimeError::StateMachine { .. } | RuntimeError::DataDir { .. } => BackendError::Invalid(e.to_string()),
            RuntimeError::Locked(_) => BackendError::Conflict(e.to_string()),
            _ => BackendError::Unavailable(e.to_string()),
        }
    }
}

impl From<ReplayError> for BackendError {
    fn from(e: ReplayError) -> Self {
        match e {
            ReplayError::Queue(q) => q.into(),
            ReplayError::Topic(t) => t.into(),
            ReplayError::Invalid(m) => BackendError::Invalid(m),
        }
    }
}

impl From<TopicError> for BackendError {
    fn from(e: TopicError) -> Self {
        match e {
            TopicError::Invalid(m) => BackendError::Invalid(m),
            TopicError::NotFound(m) => BackendError::NotFound(m),
            TopicError::Conflict(m) => BackendError::Conflict(m),
            TopicError::Db(d) => d.into(),
        }
    }
}

fn summary(r: &ExecutionRecord) -> ExecutionSummary {
    ExecutionSummary {
        orderid: r.name.clone(),
        execution_id: r.execution_id.clone(),
        status: ExecStatus::parse(&r.status).unwrap_or(ExecStatus::Running),
        started_at: r.started_at.clone(),
        stopped_at: r.stopped_at.clone(),
    }
}

/// Flattens an engine event into the neutral history shape.
pub fn history_entry(id: u64, timestamp: String, event: &HistoryEvent) -> HistoryEntry {
    let value = serde_json::to_value(event).unwrap_or_default();
    let kind = value
        .get("type")
        .and_then(|t| t.as_str())
        .unwrap_or("Unknown")
        .to_string();
    // Inside a Parallel branch or Map iteration the state is shown under its scope:
    // `Fan/0/Publish` is state `Publish` in branch 0 of `Fan`.
    let state = value
        .get("state")
        .and_then(|s| s.as_str())
        .map(|s| match event.scope() {
            Some(scope) => format!("{scope}/{s}"),
            None => s.to_string(),
        });
    let mut detail = value;
    if let Some(map) = detail.as_object_mut() {
        map.remove("type");
        map.remove("state");
        map.remove("scope");
    }
    let detail = if detail.as_object().is_some_and(|m| m.is_empty()) {
        serde_json::Value::Null
    } else {
        detail
    };
    HistoryEntry {
        id,
        timestamp,
        kind,
        state,
        detail,
    }
}

/// Why a read found no data dir: reads never create one.
fn no_data(dir: &std::path::Path) -> BackendError {
    BackendError::NotFound(format!(
        "no Skip the Line data in {} (start `skipline serve`, or pass --data-dir)",
        dir.display()
    ))
}

impl LocalBackend {
    /// Over a runtime that is already open (the server, the demo, tests).
    pub fn new(runtime: Arc<Runtime>) -> Self {
        Self {
            runtime: OnceCell::new_with(Some(runtime)),
            config: None,
        }
    }

    /// Opens the data dir only when an operation needs it, after its input has been checked:
    /// a refused command leaves no data dir behind, and a read never creates one.
    pub fn lazy(config: RuntimeConfig) -> Self {
        Self {
            runtime: OnceCell::new(),
            config: Some(config),
        }
    }

    /// The runtime for an operation that writes: opens (and creates) the data dir.
    pub async fn writer(&self) -> Result<&Arc<Runtime>, BackendError> {
        self.runtime
            .get_or_try_init(|| async {
                let config = self
                    .config
                    .clone()
                    .ok_or_else(|| BackendError::Unavailable("no runtime".into()))?;
                Ok(Runtime::open(config, Overrides::default()).await?)
            })
            .await
    }

    /// The runtime for an operation that only reads: a data dir that does not exist is not found.
    async fn reader(&self) -> Result<&Arc<Runtime>, BackendError> {
        if let (None, Some(config)) = (self.runtime.get(), &self.config)
            && !db_path(&config.data_dir).exists()
        {
            return Err(no_data(&config.data_dir));
        }
        self.writer().await
    }
}

fn subscription_info(s: crate::local::topic::Subscription) -> SubscriptionInfo {
    SubscriptionInfo::new(s.id, s.protocol, s.endpoint, s.filter_policy, s.scope, s.raw)
}

#[async_trait]
impl Backend for LocalBackend {
    async fn place_order(&self, body: &[u8], idempotency_key: Option<&str>) -> Result<Placed, BackendError> {
        let start = requests::place_order(body, idempotency_key)?;
        let rt = self.writer().await?;
        let orderid = start.orderid;
        match rt.executions.start(&orderid, &start.input).await? {
            Started::Created(r) => {
                let execution_id = r.execution_id.clone();
                rt.submit(r);
                Ok(Placed {
                    orderid,
                    execution_id,
                    status: ExecStatus::Running,
                    created: true,
                })
            }
            Started::Existing {
                record,
                same_input: true,
            } => Ok(Placed {
                orderid,
                execution_id: record.execution_id.clone(),
                status: ExecStatus::parse(&record.status).unwrap_or(ExecStatus::Running),
                created: false,
            }),
            Started::Existing { same_input: false, .. } => Err(requests::key_reused(&orderid)),
        }
    }

    async fn order_status(&self, orderid: &str, with_history: bool) -> Result<OrderStatus, BackendError> {
        requests::ids(&[("orderid", orderid)])?;
        let rt = self.reader().await?;
        let record = rt
            .executions
            .get(orderid)
            .await?
            .ok_or_else(|| BackendError::NotFound(format!("no order {orderid}")))?;
        let history = if with_history {
            rt.executions
                .history(orderid)
                .await?
                .into_iter()
                .map(|(id, ts, e)| history_entry(id, ts, &e))
                .collect()
        } else {
            Vec::new()
        };
        let (error, cause) = (record.error.clone(), record.cause.clone());
        Ok(OrderStatus::new(
            summary(&record),
            error,
            cause,
            record.output.as_ref(),
            history,
        ))
    }

    async fn list_executions(
        &self,
        status: Option<ExecStatus>,
        limit: usize,
    ) -> Result<Vec<ExecutionSummary>, BackendError> {
        let records = self
            .reader()
            .await?
            .executions
            .list(status.map(ExecStatus::as_str), limit)
            .await?;
        Ok(records.iter().map(summary).collect())
    }

    async fn cart_item(&self, accountid: &str, vendorid: &str) -> Result<Option<CartItem>, BackendError> {
        let rt = self.reader().await?;
        match get_item(rt.cart.as_ref(), Some(accountid), Some(vendorid)).await {
            Ok(item) => Ok(Some(item)),
            Err(QueryError::NotFound(_)) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    async fn invoice(&self, key: &str) -> Result<serde_json::Value, BackendError> {
        let rt = self.reader().await?;
        Ok(get_object(rt.invoices.as_ref(), &rt.stored_invoices, Some(key)).await?)
    }

    async fn order_invoice(&self, orderid: &str) -> Result<serde_json::Value, BackendError> {
        let rt = self.reader().await?;
        Ok(get_order_invoice(rt.invoices.as_ref(), &rt.stored_invoices, orderid).await?)
    }

    async fn vendor_ports(&self, write: bool) -> Result<VendorPorts, BackendError> {
        let rt = if write {
            self.writer().await?
        } else {
            self.reader().await?
        };
        Ok(VendorPorts {
            directory: rt.vendors.clone(),
            clock: rt.clock.clone(),
        })
    }

    async fn delivery_log(&self) -> Result<Arc<dyn DeliveryLog>, BackendError> {
        Ok(self.reader().await?.deliveries.clone())
    }

    async fn delivery_queue(&self) -> Result<Arc<dyn DeliveryQueue>, BackendError> {
        Ok(self.reader().await?.deliveries.clone())
    }

    fn definition(&self) -> Option<(String, String)> {
        let rt = self.runtime.get()?;
        let (name, text) = rt.definition();
        Some((name.to_string(), text.to_string()))
    }

    fn live(&self) -> Option<crate::local::live::Live> {
        self.runtime.get().map(|rt| rt.live().clone())
    }

    async fn readiness(&self) -> Result<(), String> {
        match self.runtime.get() {
            Some(rt) => rt.readiness().await,
            None => Err("the runtime is not open".into()),
        }
    }

    async fn topic_subscribe(&self, sub: NewSubscription) -> Result<SubscriptionInfo, BackendError> {
        let allow_private = match (self.runtime.get(), &self.config) {
            (Some(rt), _) => rt.config.allow_private_endpoints,
            (None, Some(config)) => config.allow_private_endpoints,
            (None, None) => false,
        };
        let (protocol, endpoint) = match requests::topic_endpoint(&sub, allow_private)? {
            TopicEndpoint::Queue(q) => ("sqs", TopicEndpoint::queue_name(&q).to_string()),
            TopicEndpoint::Url { protocol, url } => (protocol, url.to_string()),
        };
        let (policy, text) = match &sub.filter_policy {
            Some((text, policy)) => (Some(policy), Some(text.as_str())),
            None => (None, None),
        };
        let rt = self.writer().await?;
        let s = rt.topic.subscribe(protocol, &endpoint, policy, text, sub.raw).await?;
        Ok(subscription_info(s))
    }

    async fn topic_subscriptions(&self) -> Result<Vec<SubscriptionInfo>, BackendError> {
        Ok(self
            .reader()
            .await?
            .topic
            .subscriptions()
            .await?
            .into_iter()
            .map(subscription_info)
            .collect())
    }

    async fn queues(&self) -> Result<Vec<QueueInfo>, BackendError> {
        Ok(self.reader().await?.queues.stats().await?)
    }

    async fn peek(&self, queue: &str, max: usize) -> Result<Vec<PeekedMessage>, BackendError> {
        requests::peek_max(max)?;
        Ok(self
            .reader()
            .await?
            .queues
            .peek(queue, max)
            .await?
            .into_iter()
            .map(|m| PeekedMessage::new(m.message_id, m.body, m.attributes, m.receive_count, m.sent_ms))
            .collect())
    }

    async fn replay(&self, request: &ReplayRequest, progress: &dyn Progress) -> Result<ReplayReport, BackendError> {
        if let ReplayTarget::Queue(to) = &request.to {
            requests::replay_target(&request.from, to)?;
        }
        let rt = self.reader().await?;
        Ok(replay(&rt.queues, &rt.topic, request, progress).await?)
    }
}
