//! [`Backend`] on a deployed stack: Step Functions, DynamoDB, S3, SNS and SQS through
//! `skipline-aws`. Resource names come from the CDK outputs file and/or the environment.
//!
//! Queue names: the stack's queues can be named by their local aliases (`notify-vendor`,
//! `notify-vendor-dlq`, `clear-cart`, `clear-cart-dlq`, `deliveries`, `deliveries-dlq`) as well as
//! by real name, URL or ARN, so the same commands work on both backends.

use super::*;
use requests::{OrderStart, TopicEndpoint};
use skipline_aws::config::{AwsClients, ConfigError, Setting, Settings, load_sdk_config};
use skipline_aws::sfn::{self, StartOutcome};
use skipline_aws::sqs::Received;
use skipline_aws::{
    AwsError, DynamoCart, DynamoDeliveryLog, DynamoInvoiceIndex, DynamoVendorDirectory, S3Invoices, SqsDeliveryQueue,
    sns, sqs,
};
use skipline_handlers::get_object::{get_object, get_order_invoice};
use skipline_handlers::ports::{CartStore, DeliveryLog, DeliveryQueue, SystemClock};
use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

/// How long replay hides the messages it has received, so one pass never sees a message twice.
/// Skipped and unsent messages are made visible again at the end of the pass.
const REPLAY_VISIBILITY_SECS: i32 = 120;

pub struct AwsBackend {
    clients: AwsClients,
    settings: Settings,
}

impl From<AwsError> for BackendError {
    fn from(e: AwsError) -> Self {
        match e {
            AwsError::NotFound(m) => BackendError::NotFound(m),
            AwsError::Rejected(f) => BackendError::Invalid(f.message),
            AwsError::Unavailable(f) => BackendError::Unavailable(f.message),
            AwsError::Unexpected(m) => BackendError::Unavailable(m),
        }
    }
}

impl From<ConfigError> for BackendError {
    fn from(e: ConfigError) -> Self {
        BackendError::Invalid(e.to_string())
    }
}

impl AwsBackend {
    pub fn new(clients: AwsClients, settings: Settings) -> Self {
        Self { clients, settings }
    }

    /// Settings from `stack_outputs` (`cdk deploy --outputs-file`) with environment overrides,
    /// and the SDK's standard credential chain. A missing setting is reported when an
    /// operation needs it, naming the variable and the output key.
    pub async fn from_env(stack_outputs: Option<&Path>) -> Result<AwsBackend, BackendError> {
        let settings = Settings::load(stack_outputs)?;
        let sdk = load_sdk_config(settings.get(Setting::Region)).await;
        Ok(AwsBackend::new(AwsClients::new(&sdk), settings))
    }

    fn setting(&self, s: Setting) -> Result<&str, BackendError> {
        Ok(self.settings.require(s)?)
    }

    fn cart(&self) -> Result<DynamoCart, BackendError> {
        let table = self.setting(Setting::CartTable)?;
        Ok(DynamoCart::new(self.clients.dynamodb.clone(), table))
    }

    fn invoices(&self) -> Result<S3Invoices, BackendError> {
        let bucket = self.setting(Setting::InvoiceBucket)?;
        Ok(S3Invoices::new(self.clients.s3.clone(), bucket))
    }

    fn invoice_index(&self) -> Result<DynamoInvoiceIndex, BackendError> {
        let table = self.setting(Setting::InvoiceIndexTable)?;
        Ok(DynamoInvoiceIndex::new(self.clients.dynamodb.clone(), table))
    }

    fn dynamo_delivery_log(&self) -> Result<DynamoDeliveryLog, BackendError> {
        let table = self.setting(Setting::DeliveryTable)?;
        let clock = Arc::new(SystemClock);
        Ok(DynamoDeliveryLog::new(self.clients.dynamodb.clone(), table, clock))
    }

    /// The stack's queues by alias.
    fn aliases(&self) -> [(&'static str, Setting); 6] {
        [
            ("notify-vendor", Setting::NotifyVendorQueueUrl),
            ("notify-vendor-dlq", Setting::NotifyVendorDlqUrl),
            ("clear-cart", Setting::ClearCartQueueUrl),
            ("clear-cart-dlq", Setting::ClearCartDlqUrl),
            ("deliveries", Setting::DeliveryQueueUrl),
            ("deliveries-dlq", Setting::DeliveryDlqUrl),
        ]
    }

    async fn queue_url(&self, queue: &str) -> Result<String, BackendError> {
        if let Some(url) = self
            .aliases()
            .iter()
            .find(|(a, _)| *a == queue)
            .and_then(|(_, s)| self.settings.get(*s))
        {
            return Ok(url.to_string());
        }
        Ok(sqs::queue_url(&self.clients.sqs, queue).await?)
    }

    fn execution_arn(&self, orderid: &str) -> Result<String, BackendError> {
        Ok(sfn::execution_arn(self.setting(Setting::StateMachineArn)?, orderid))
    }

    async fn describe(&self, orderid: &str) -> Result<Option<sfn::Execution>, BackendError> {
        match sfn::describe(&self.clients.sfn, &self.execution_arn(orderid)?).await {
            Ok(e) => Ok(Some(e)),
            Err(AwsError::NotFound(_)) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    fn same_input(existing: Option<&str>, input: &serde_json::Value) -> bool {
        existing
            .and_then(|s| serde_json::from_str::<serde_json::Value>(s).ok())
            .as_ref()
            == Some(input)
    }

    /// Receives one batch for replay, hidden for the rest of the pass.
    async fn replay_batch(&self, url: &str, max: usize) -> Result<Vec<Received>, BackendError> {
        Ok(sqs::receive_plain(&self.clients.sqs, url, max, Some(REPLAY_VISIBILITY_SECS), 0).await?)
    }
}

fn exec_status(s: &sfn::Status) -> ExecStatus {
    ExecStatus::parse(s.as_str()).unwrap_or(ExecStatus::Running)
}

fn handles(messages: &[&Received]) -> Vec<String> {
    messages
        .iter()
        .filter(|m| !m.receipt_handle.is_empty())
        .map(|m| m.receipt_handle.clone())
        .collect()
}

fn subscription_info(s: sns::Subscription) -> SubscriptionInfo {
    SubscriptionInfo::new(s.arn, s.protocol, s.endpoint, s.filter_policy, s.scope, s.raw)
}

fn summary(e: sfn::ExecutionListItem) -> ExecutionSummary {
    ExecutionSummary {
        orderid: e.name,
        execution_id: e.arn,
        status: exec_status(&e.status),
        started_at: e.started_at,
        stopped_at: e.stopped_at,
    }
}

#[async_trait]
impl Backend for AwsBackend {
    /// Validates first (nothing starts on invalid input); the order id names the execution, so
    /// a retried request with the same Idempotency-Key and body finds the same execution.
    async fn place_order(&self, body: &[u8], idempotency_key: Option<&str>) -> Result<Placed, BackendError> {
        let OrderStart { orderid, input, keyed } = requests::place_order(body, idempotency_key)?;
        // Step Functions returns the existing execution for the same name and input, but does not
        // say it existed; describing first tells a retry from a new order.
        if keyed && let Some(existing) = self.describe(&orderid).await? {
            if !Self::same_input(existing.input.as_deref(), &input) {
                return Err(requests::key_reused(&orderid));
            }
            return Ok(Placed {
                orderid,
                execution_id: existing.arn,
                status: exec_status(&existing.status),
                created: false,
            });
        }
        let sm = self.setting(Setting::StateMachineArn)?;
        match sfn::start(&self.clients.sfn, sm, &orderid, &input.to_string()).await? {
            StartOutcome::Started { execution_arn } => Ok(Placed {
                orderid,
                execution_id: execution_arn,
                status: ExecStatus::Running,
                created: true,
            }),
            StartOutcome::NameTakenWithOtherInput => Err(requests::key_reused(&orderid)),
        }
    }

    async fn order_status(&self, orderid: &str, with_history: bool) -> Result<OrderStatus, BackendError> {
        requests::ids(&[("orderid", orderid)])?;
        let e = self
            .describe(orderid)
            .await?
            .ok_or_else(|| BackendError::NotFound(format!("no order {orderid}")))?;
        let history = if with_history {
            sfn::neutral_events(&self.clients.sfn, &e.arn)
                .await?
                .into_iter()
                .map(|n| HistoryEntry {
                    id: n.id,
                    timestamp: n.timestamp,
                    kind: n.kind,
                    state: n.state,
                    detail: n.detail,
                })
                .collect()
        } else {
            Vec::new()
        };
        let output = e.output.as_deref().and_then(|o| serde_json::from_str(o).ok());
        let (error, cause) = (e.error, e.cause);
        let item = sfn::ExecutionListItem {
            arn: e.arn,
            name: e.name,
            status: e.status,
            started_at: e.started_at,
            stopped_at: e.stopped_at,
        };
        Ok(OrderStatus::new(summary(item), error, cause, output.as_ref(), history))
    }

    /// `Failed` also lists timed-out and aborted executions, as [`ExecStatus::parse`] folds them.
    async fn list_executions(
        &self,
        status: Option<ExecStatus>,
        limit: usize,
    ) -> Result<Vec<ExecutionSummary>, BackendError> {
        let sm = self.setting(Setting::StateMachineArn)?;
        let filters: Vec<Option<sfn::Status>> = match status {
            None => vec![None],
            Some(ExecStatus::Running) => vec![Some(sfn::Status::Running)],
            Some(ExecStatus::Succeeded) => vec![Some(sfn::Status::Succeeded)],
            Some(ExecStatus::Failed) => {
                vec![
                    Some(sfn::Status::Failed),
                    Some(sfn::Status::TimedOut),
                    Some(sfn::Status::Aborted),
                ]
            }
        };
        let mut items = Vec::new();
        for filter in filters {
            items.extend(sfn::list(&self.clients.sfn, sm, filter, limit).await?);
        }
        items.sort_by(|a, b| b.started_at.cmp(&a.started_at));
        items.truncate(limit);
        Ok(items.into_iter().map(summary).collect())
    }

    async fn cart_item(&self, accountid: &str, vendorid: &str) -> Result<Option<CartItem>, BackendError> {
        requests::ids(&[("accountid", accountid), ("vendorid", vendorid)])?;
        Ok(self.cart()?.get(accountid, vendorid).await?)
    }

    async fn invoice(&self, key: &str) -> Result<serde_json::Value, BackendError> {
        Ok(get_object(&self.invoices()?, &self.invoice_index()?, Some(key)).await?)
    }

    async fn order_invoice(&self, orderid: &str) -> Result<serde_json::Value, BackendError> {
        Ok(get_order_invoice(&self.invoices()?, &self.invoice_index()?, orderid).await?)
    }

    async fn vendor_ports(&self, _write: bool) -> Result<VendorPorts, BackendError> {
        let table = self.setting(Setting::VendorTable)?;
        let directory = DynamoVendorDirectory::new(self.clients.dynamodb.clone(), table);
        Ok(VendorPorts {
            directory: Arc::new(directory),
            clock: Arc::new(SystemClock),
        })
    }

    async fn delivery_log(&self) -> Result<Arc<dyn DeliveryLog>, BackendError> {
        Ok(Arc::new(self.dynamo_delivery_log()?))
    }

    async fn delivery_queue(&self) -> Result<Arc<dyn DeliveryQueue>, BackendError> {
        Ok(Arc::new(SqsDeliveryQueue {
            sqs: self.clients.sqs.clone(),
            queue_url: self.setting(Setting::DeliveryQueueUrl)?.to_string(),
            log: self.dynamo_delivery_log()?,
        }))
    }

    /// For `sqs`, the queue (name, URL or ARN) must exist; a queue without a policy gets one that
    /// lets only this topic send, as CDK's `SqsSubscription` does.
    async fn topic_subscribe(&self, sub: NewSubscription) -> Result<SubscriptionInfo, BackendError> {
        let topic = self.setting(Setting::TopicArn)?;
        // SNS delivers from AWS, so a private address is never reachable: the guard stays on.
        let (protocol, endpoint) = match requests::topic_endpoint(&sub, false)? {
            TopicEndpoint::Queue(queue) => {
                let url = self.queue_url(&queue).await?;
                let arn = sqs::queue_arn(&self.clients.sqs, &url).await?;
                if !sqs::allow_topic(&self.clients.sqs, &url, &arn, topic).await? {
                    tracing::warn!(queue = %arn, "the queue's policy does not mention the topic; SNS may be unable to deliver");
                }
                ("sqs", arn)
            }
            TopicEndpoint::Url { protocol, url } => (protocol, url.to_string()),
        };
        let (text, scope) = match &sub.filter_policy {
            Some((text, policy)) => (Some(text.as_str()), policy.scope()),
            None => (None, skipline_engine::filter::FilterScope::default()),
        };
        let arn = sns::subscribe(&self.clients.sns, topic, protocol, &endpoint, text, scope, sub.raw).await?;
        let policy = text.map(str::to_string);
        Ok(SubscriptionInfo::new(
            arn,
            protocol.to_string(),
            endpoint,
            policy,
            scope,
            sub.raw,
        ))
    }

    async fn topic_subscriptions(&self) -> Result<Vec<SubscriptionInfo>, BackendError> {
        let topic = self.setting(Setting::TopicArn)?;
        Ok(sns::subscriptions(&self.clients.sns, topic)
            .await?
            .into_iter()
            .map(subscription_info)
            .collect())
    }

    /// The stack's four queues plus every queue subscribed to the topic.
    async fn queues(&self) -> Result<Vec<QueueInfo>, BackendError> {
        let mut urls: Vec<String> = self
            .aliases()
            .iter()
            .filter_map(|(_, s)| self.settings.get(*s).map(str::to_string))
            .collect();
        if let Some(topic) = self.settings.get(Setting::TopicArn) {
            for s in sns::subscriptions(&self.clients.sns, topic).await? {
                if s.protocol == "sqs" {
                    match sqs::queue_url(&self.clients.sqs, &s.endpoint).await {
                        Ok(url) => urls.push(url),
                        Err(AwsError::NotFound(_)) => {}
                        Err(e) => return Err(e.into()),
                    }
                }
            }
        }
        let mut seen = HashSet::new();
        urls.retain(|u| seen.insert(sqs::queue_name(u).to_string()));
        let mut infos = Vec::with_capacity(urls.len());
        for url in urls {
            let stats = sqs::queue_stats(&self.clients.sqs, &url).await?;
            infos.push(QueueInfo {
                name: sqs::queue_name(&url).to_string(),
                visible: stats.visible,
                in_flight: stats.in_flight,
                delayed: stats.delayed,
                dlq: stats.redrive.as_ref().map(|(arn, _)| sqs::queue_name(arn).to_string()),
                max_receive_count: stats.redrive.map(|(_, n)| n),
            });
        }
        infos.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(infos)
    }

    /// Receives with VisibilityTimeout=0 so messages stay available. SQS has no true peek: each
    /// look counts as a receive (ApproximateReceiveCount grows), so peeking a queue with a
    /// RedrivePolicy moves its messages towards the DLQ.
    async fn peek(&self, queue: &str, max: usize) -> Result<Vec<PeekedMessage>, BackendError> {
        requests::peek_max(max)?;
        let url = self.queue_url(queue).await?;
        // Every receive counts, so receive no more than needed: up to the approximate depth.
        let depth = usize::try_from(sqs::queue_stats(&self.clients.sqs, &url).await?.visible).unwrap_or(usize::MAX);
        let wanted = max.min(depth);
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        if wanted == 0 {
            return Ok(out);
        }
        // Receives sample the queue; stop when a receive brings nothing new.
        loop {
            let batch = sqs::receive_plain(&self.clients.sqs, &url, wanted - out.len(), Some(0), 0).await?;
            let before = out.len();
            for m in batch {
                if !seen.insert(m.message_id.clone()) {
                    continue;
                }
                out.push(PeekedMessage::new(
                    m.message_id,
                    m.body,
                    m.attributes,
                    m.receive_count,
                    m.sent_ms,
                ));
            }
            if out.len() == before || out.len() >= wanted {
                return Ok(out);
            }
        }
    }

    /// Receive → filter → copy (body and message attributes kept, so the event id a consumer
    /// dedupes on survives) or re-publish → delete from the source only after the copy was
    /// accepted. Not StartMessageMoveTask: it cannot filter, and moto does not implement it.
    async fn replay(&self, request: &ReplayRequest, progress: &dyn Progress) -> Result<ReplayReport, BackendError> {
        let from = self.queue_url(&request.from).await?;
        enum Dest {
            Queue(String),
            Topic(String),
        }
        let dest = match &request.to {
            ReplayTarget::Origin => {
                let sources = sqs::dead_letter_sources(&self.clients.sqs, &from).await?;
                let first = sources.into_iter().next().ok_or_else(|| {
                    BackendError::Invalid(format!(
                        "no queue dead-letters into {}; give --to QUEUE or --to-topic",
                        request.from
                    ))
                })?;
                Dest::Queue(first)
            }
            ReplayTarget::Queue(q) => {
                let url = self.queue_url(q).await?;
                requests::replay_target(&from, &url)?;
                Dest::Queue(url)
            }
            ReplayTarget::Topic => Dest::Topic(self.setting(Setting::TopicArn)?.to_string()),
        };
        let stats = sqs::queue_stats(&self.clients.sqs, &from).await?;
        let limit = request.max.unwrap_or(u64::MAX);
        progress.total(stats.visible.min(limit));
        let mut report = ReplayReport {
            dry_run: request.dry_run,
            ..ReplayReport::default()
        };
        let mut release: Vec<String> = Vec::new();
        let result: Result<(), BackendError> = async {
            while report.moved < limit {
                let want = usize::try_from(limit - report.moved)
                    .unwrap_or(sqs::MAX_BATCH)
                    .min(sqs::MAX_BATCH);
                let batch = self.replay_batch(&from, want).await?;
                if batch.is_empty() {
                    break;
                }
                let (chosen, skipped): (Vec<&Received>, Vec<&Received>) = batch.iter().partition(|m| {
                    request
                        .filter
                        .as_ref()
                        .is_none_or(|f| f.matches(&m.attributes, &m.body))
                });
                report.skipped += skipped.len() as u64;
                release.extend(handles(&skipped));
                if request.dry_run {
                    report.moved += chosen.len() as u64;
                    release.extend(handles(&chosen));
                    progress.advance(&report);
                    continue;
                }
                let accepted: Vec<bool> = match &dest {
                    Dest::Queue(url) => sqs::send_copies(&self.clients.sqs, url, &chosen).await?,
                    Dest::Topic(topic) => {
                        let mut ok = Vec::with_capacity(chosen.len());
                        for m in &chosen {
                            ok.push(
                                sns::publish(&self.clients.sns, topic, &m.body, &m.attributes)
                                    .await
                                    .is_ok(),
                            );
                        }
                        ok
                    }
                };
                let (sent, unsent): (Vec<(&Received, bool)>, Vec<(&Received, bool)>) =
                    chosen.iter().copied().zip(accepted).partition(|(_, ok)| *ok);
                let sent: Vec<&Received> = sent.into_iter().map(|(m, _)| m).collect();
                let unsent: Vec<&Received> = unsent.into_iter().map(|(m, _)| m).collect();
                report.failed += unsent.len() as u64;
                release.extend(handles(&unsent));
                let undeleted = sqs::delete_batch(&self.clients.sqs, &from, &handles(&sent)).await?;
                if !undeleted.is_empty() {
                    // The copy exists; the original will reappear. Consumers dedupe on the event id.
                    tracing::warn!(
                        count = undeleted.len(),
                        "replayed messages could not be deleted from the source"
                    );
                }
                report.moved += sent.len() as u64;
                progress.advance(&report);
            }
            Ok(())
        }
        .await;
        // Whatever was looked at but not moved is visible again now, not after the replay's timeout.
        if let Err(e) = sqs::release_batch(&self.clients.sqs, &from, &release).await {
            tracing::warn!(error = %e, "could not make skipped messages visible again; they reappear after the visibility timeout");
        }
        result.map(|()| report)
    }
}
