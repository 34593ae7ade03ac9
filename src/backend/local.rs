//! [`Backend`] over the embedded runtime's data directory.

use super::*;
use crate::local::db::DbError;
use crate::local::executions::{ExecutionRecord, Started};
use crate::local::queues::QueueError;
use crate::local::replay::{ReplayError, replay};
use crate::local::runtime::Runtime;
use crate::local::topic::TopicError;
use skipline_engine::asl::HistoryEvent;
use skipline_events::{OrderRequest, check_id, parse_place_order};
use skipline_handlers::get_object::{get_object, get_order_invoice};
use skipline_handlers::ports::{CartStore, VendorDirectory};
use skipline_handlers::vendors::{subscribe_vendor, unsubscribe_vendor};
use std::sync::Arc;

pub struct LocalBackend {
    pub runtime: Arc<Runtime>,
}

impl From<DbError> for BackendError {
    fn from(e: DbError) -> Self {
        BackendError::Unavailable(e.to_string())
    }
}

impl From<QueueError> for BackendError {
    fn from(e: QueueError) -> Self {
        match e {
            QueueError::NoSuchQueue(_) => BackendError::NotFound(e.to_string()),
            QueueError::Invalid(m) => BackendError::Invalid(m),
            QueueError::InvalidReceipt => BackendError::Invalid(e.to_string()),
            QueueError::Db(d) => d.into(),
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
    let state = value.get("state").and_then(|s| s.as_str()).map(str::to_string);
    let mut detail = value;
    if let Some(map) = detail.as_object_mut() {
        map.remove("type");
        map.remove("state");
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

impl LocalBackend {
    pub fn new(runtime: Arc<Runtime>) -> Self {
        Self { runtime }
    }
}

#[async_trait]
impl Backend for LocalBackend {
    async fn place_order(&self, body: &[u8], idempotency_key: Option<&str>) -> Result<Placed, BackendError> {
        let order = parse_place_order(body).map_err(|e| BackendError::Invalid(e.to_string()))?;
        let orderid = match idempotency_key {
            Some(key) => {
                if let Some(p) = check_id("Idempotency-Key", key) {
                    return Err(BackendError::Invalid(p.to_string()));
                }
                key.to_string()
            }
            None => uuid::Uuid::new_v4().to_string(),
        };
        let input = serde_json::json!({"orderid": orderid, "order": OrderRequest::from(&order)});
        match self.runtime.executions.start(&orderid, &input).await? {
            Started::Created(r) => {
                let execution_id = r.execution_id.clone();
                self.runtime.submit(r);
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
            Started::Existing { same_input: false, .. } => Err(BackendError::Conflict(format!(
                "Idempotency-Key {orderid} was already used for a different order"
            ))),
        }
    }

    async fn order_status(&self, orderid: &str, with_history: bool) -> Result<OrderStatus, BackendError> {
        if let Some(p) = check_id("orderid", orderid) {
            return Err(BackendError::Invalid(p.to_string()));
        }
        let record = self
            .runtime
            .executions
            .get(orderid)
            .await?
            .ok_or_else(|| BackendError::NotFound(format!("no order {orderid}")))?;
        let history = if with_history {
            self.runtime
                .executions
                .history(orderid)
                .await?
                .into_iter()
                .map(|(id, ts, e)| history_entry(id, ts, &e))
                .collect()
        } else {
            Vec::new()
        };
        let invoice_key = record
            .output
            .as_ref()
            .and_then(|o| o.get("invoiceKey"))
            .and_then(|k| k.as_str())
            .map(str::to_string);
        Ok(OrderStatus {
            orderid: record.name.clone(),
            execution_id: record.execution_id.clone(),
            status: ExecStatus::parse(&record.status).unwrap_or(ExecStatus::Running),
            started_at: record.started_at.clone(),
            stopped_at: record.stopped_at.clone(),
            error: record.error.clone(),
            cause: record.cause.clone(),
            invoice_key,
            history,
        })
    }

    async fn list_executions(
        &self,
        status: Option<ExecStatus>,
        limit: usize,
    ) -> Result<Vec<ExecutionSummary>, BackendError> {
        let records = self
            .runtime
            .executions
            .list(status.map(ExecStatus::as_str), limit)
            .await?;
        Ok(records.iter().map(summary).collect())
    }

    async fn cart_item(&self, accountid: &str, vendorid: &str) -> Result<Option<CartItem>, BackendError> {
        for (field, value) in [("accountid", accountid), ("vendorid", vendorid)] {
            if let Some(p) = check_id(field, value) {
                return Err(BackendError::Invalid(p.to_string()));
            }
        }
        Ok(self.runtime.cart.get(accountid, vendorid).await?)
    }

    async fn invoice(&self, key: &str) -> Result<serde_json::Value, BackendError> {
        let rt = &self.runtime;
        Ok(get_object(rt.invoices.as_ref(), &rt.stored_invoices, Some(key)).await?)
    }

    async fn order_invoice(&self, orderid: &str) -> Result<serde_json::Value, BackendError> {
        let rt = &self.runtime;
        Ok(get_order_invoice(rt.invoices.as_ref(), &rt.stored_invoices, orderid).await?)
    }

    async fn subscribe_vendor(
        &self,
        vendorid: &str,
        url: &str,
        secret: Option<&str>,
        allow_private: bool,
    ) -> Result<(VendorEndpoint, bool), BackendError> {
        let s = subscribe_vendor(
            self.runtime.vendors.as_ref(),
            self.runtime.clock.as_ref(),
            vendorid,
            url,
            secret,
            allow_private,
        )
        .await?;
        Ok((s.endpoint, s.secret_generated))
    }

    async fn list_vendor_endpoints(&self, vendorid: Option<&str>) -> Result<Vec<VendorEndpoint>, BackendError> {
        if let Some(v) = vendorid
            && let Some(p) = check_id("vendorid", v)
        {
            return Err(BackendError::Invalid(p.to_string()));
        }
        Ok(self.runtime.vendors.list(vendorid).await?)
    }

    async fn unsubscribe_vendor(&self, vendorid: &str, endpointid: &str) -> Result<(), BackendError> {
        Ok(unsubscribe_vendor(self.runtime.vendors.as_ref(), vendorid, endpointid).await?)
    }

    async fn topic_subscribe(&self, sub: NewSubscription) -> Result<SubscriptionInfo, BackendError> {
        let endpoint = match sub.protocol {
            Protocol::Sqs => {
                let name = sub.endpoint.rsplit(':').next().unwrap_or_default().to_string();
                crate::local::queues::check_queue_name(&name)?;
                name
            }
            Protocol::Http | Protocol::Https => {
                let allow_private = self.runtime.config.allow_private_endpoints;
                let url = skipline_handlers::webhook::check_endpoint_url(&sub.endpoint, allow_private)
                    .map_err(|e| BackendError::Invalid(e.to_string()))?;
                let wanted = if sub.protocol == Protocol::Https {
                    "https"
                } else {
                    "http"
                };
                if url.scheme() != wanted {
                    return Err(BackendError::Invalid(format!(
                        "--protocol {wanted} needs an {wanted}:// endpoint"
                    )));
                }
                url.to_string()
            }
        };
        let protocol = match sub.protocol {
            Protocol::Sqs => "sqs",
            Protocol::Http => "http",
            Protocol::Https => "https",
        };
        let (policy, text) = match &sub.filter_policy {
            Some((text, policy)) => (Some(policy), Some(text.as_str())),
            None => (None, None),
        };
        let s = self
            .runtime
            .topic
            .subscribe(protocol, &endpoint, policy, text, sub.raw)
            .await?;
        Ok(SubscriptionInfo {
            id: s.id,
            protocol: s.protocol,
            endpoint: s.endpoint,
            filter_policy: s.filter_policy,
            scope: s.scope,
            raw: s.raw,
        })
    }

    async fn topic_subscriptions(&self) -> Result<Vec<SubscriptionInfo>, BackendError> {
        Ok(self
            .runtime
            .topic
            .subscriptions()
            .await?
            .into_iter()
            .map(|s| SubscriptionInfo {
                id: s.id,
                protocol: s.protocol,
                endpoint: s.endpoint,
                filter_policy: s.filter_policy,
                scope: s.scope,
                raw: s.raw,
            })
            .collect())
    }

    async fn queues(&self) -> Result<Vec<QueueInfo>, BackendError> {
        Ok(self
            .runtime
            .queues
            .stats()
            .await?
            .into_iter()
            .map(|s| QueueInfo {
                name: s.name,
                visible: s.visible,
                in_flight: s.in_flight,
                delayed: s.delayed,
                dlq: s.dlq,
                max_receive_count: s.max_receive_count,
            })
            .collect())
    }

    async fn peek(&self, queue: &str, max: usize) -> Result<Vec<PeekedMessage>, BackendError> {
        if max == 0 || max > 1000 {
            return Err(BackendError::Invalid("--max must be between 1 and 1000".into()));
        }
        Ok(self
            .runtime
            .queues
            .peek(queue, max)
            .await?
            .into_iter()
            .map(|m| PeekedMessage {
                message_id: m.message_id,
                body: m.body,
                attributes: m.attributes,
                receive_count: m.receive_count,
                sent_at: jiff::Timestamp::from_millisecond(m.sent_ms)
                    .map(|t| t.to_string())
                    .unwrap_or_default(),
            })
            .collect())
    }

    async fn replay(&self, request: &ReplayRequest, progress: &dyn Progress) -> Result<ReplayReport, BackendError> {
        Ok(replay(&self.runtime.queues, &self.runtime.topic, request, progress).await?)
    }
}
