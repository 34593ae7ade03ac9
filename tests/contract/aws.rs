//! The contract suite's AWS harness: the real `AwsBackend` against a moto server, with the
//! parts of AWS that moto cannot run done in-process, as AWS would do them:
//!
//! - Step Functions: moto keeps every execution RUNNING and answers GetExecutionHistory with
//!   canned data (it can only execute definitions itself with Docker for the Lambda tasks).
//!   A background task picks up each execution started on moto and runs the repository's
//!   definition with the shared `FlowInvoker` and `AwsIntegrations` (the Lambdas' code and AWS adapters, real SNS/DynamoDB).
//!   Because moto cannot be told the outcome, [`MotoBackend`] reports status, output and history
//!   from those runs; everything else is `AwsBackend` unchanged.
//! - Lambda's SQS event source mappings: a background task polls both queues through
//!   `skipline_aws::esm` (real receive, partial batch failures, delete).

use crate::contract::Harness;
#[path = "../support/moto.rs"]
mod moto;

use async_trait::async_trait;
use moto::{Flow, Moto, Ran, Stack, StackOptions};
use skipline::backend::aws::AwsBackend;
use skipline::backend::local::history_entry;
use skipline::backend::*;
use skipline::receiver::WebhookReceiver;
use skipline_aws::aws_sdk_sfn::types::ExecutionStatus;
use skipline_engine::asl::Outcome;
use skipline_handlers::ports::{CartItem, DeliveryLog, DeliveryQueue};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::task::JoinHandle;

type Runs = Arc<Mutex<HashMap<String, Ran>>>;

pub struct AwsHarness {
    _moto: Moto,
    pub stack: Stack,
    pub flow: Arc<Flow>,
    backend: MotoBackend,
    receiver: WebhookReceiver,
    paused: Arc<AtomicBool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for AwsHarness {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// A moto server with the stack (queue visibility 1 s, maxReceiveCount 2), the executor and
/// both consumers running in the background, and a webhook receiver on 127.0.0.1.
pub async fn aws_harness() -> AwsHarness {
    let moto = Moto::start().await;
    let options = StackOptions {
        visibility_timeout_secs: 1,
        max_receive_count: 2,
        audit_queue: false,
        delivery_schedule: "1s",
    };
    let stack = Stack::create(&moto.clients(), "", options).await;
    let flow = Arc::new(Flow::new(stack.clone()).await);
    let runs: Runs = Arc::default();
    let paused = Arc::new(AtomicBool::new(false));
    let tasks = vec![
        tokio::spawn(run_started_executions(flow.clone(), runs.clone())),
        tokio::spawn(run_consumers(flow.clone(), paused.clone())),
    ];
    let backend = MotoBackend {
        inner: AwsBackend::new(stack.clients.clone(), stack.settings()),
        runs,
    };
    let receiver = WebhookReceiver::start().await.expect("webhook receiver");
    AwsHarness {
        _moto: moto,
        stack,
        flow,
        backend,
        receiver,
        paused,
        tasks,
    }
}

impl AwsHarness {
    /// The backend without the execution overlay, to check what AWS itself reports.
    pub fn aws_backend(&self) -> &AwsBackend {
        &self.backend.inner
    }

    /// Creates a plain queue (e.g. for a topic-subscription scenario); returns its URL.
    pub async fn create_queue(&self, name: &str) -> String {
        moto::create_queue(&self.stack.clients, name, &[]).await
    }
}

/// Step Functions' part: every execution moto holds as RUNNING is run once, in-process.
async fn run_started_executions(flow: Arc<Flow>, runs: Runs) {
    let sfn = flow.stack.clients.sfn.clone();
    let mut started: HashSet<String> = HashSet::new();
    loop {
        match skipline_aws::sfn::list(
            &sfn,
            &flow.stack.state_machine_arn,
            Some(ExecutionStatus::Running),
            1000,
        )
        .await
        {
            Ok(items) => {
                for item in items {
                    if !started.insert(item.name.clone()) {
                        continue;
                    }
                    let (flow, runs) = (flow.clone(), runs.clone());
                    tokio::spawn(async move {
                        let described = skipline_aws::sfn::describe(&flow.stack.clients.sfn, &item.arn).await;
                        let input = described
                            .ok()
                            .and_then(|d| d.input)
                            .and_then(|i| serde_json::from_str(&i).ok())
                            .unwrap_or_default();
                        let ran = flow.run(&item.name, input).await;
                        runs.lock().unwrap().insert(item.name, ran);
                    });
                }
            }
            Err(e) => eprintln!("aws harness: ListExecutions failed: {e}"),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Lambda's part: the three event source mappings, unless paused.
async fn run_consumers(flow: Arc<Flow>, paused: Arc<AtomicBool>) {
    loop {
        if paused.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        }
        let n = flow.notify_once().await;
        let c = flow.clear_once().await;
        let d = flow.deliver_once().await;
        if n.received == 0 && c.received == 0 && d.received == 0 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

#[async_trait]
impl Harness for AwsHarness {
    fn name(&self) -> &'static str {
        "aws(moto)"
    }

    fn backend(&self) -> &dyn Backend {
        &self.backend
    }

    fn receiver(&self) -> &WebhookReceiver {
        &self.receiver
    }

    async fn settle(&self, orderid: &str) -> OrderStatus {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        while !self.backend.runs.lock().unwrap().contains_key(orderid) {
            assert!(
                tokio::time::Instant::now() < deadline,
                "[aws(moto)] execution {orderid} did not finish"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.backend.order_status(orderid, false).await.expect("order status")
    }

    async fn pause_consumers(&self, paused: bool) {
        self.paused.store(paused, Ordering::SeqCst);
    }

    /// Invoice writes for the vendor go to a missing bucket: a real `NoSuchBucket` from moto.
    async fn break_invoices_for(&self, vendor: &str) -> bool {
        self.flow.invoices.break_vendor(vendor);
        true
    }

    fn delivery_dlq(&self) -> String {
        skipline_aws::sqs::queue_name(&self.stack.delivery_dlq_url).to_string()
    }
    async fn add_queue(&self, name: &str) {
        self.create_queue(name).await;
    }
}

/// `AwsBackend`, with execution status, output and history taken from the in-process runs
/// (moto cannot record them; see the module docs).
pub struct MotoBackend {
    inner: AwsBackend,
    runs: Runs,
}

impl MotoBackend {
    fn overlay(&self, status: &mut OrderStatus, with_history: bool) {
        let runs = self.runs.lock().unwrap();
        let Some(ran) = runs.get(&status.orderid) else { return };
        match &ran.outcome {
            Outcome::Succeeded { output } => {
                status.status = ExecStatus::Succeeded;
                status.invoice_key = output.get("invoiceKey").and_then(|k| k.as_str()).map(str::to_string);
            }
            Outcome::Failed { error, cause } | Outcome::TimedOut { error, cause } => {
                status.status = ExecStatus::Failed;
                status.error = Some(error.clone());
                status.cause = Some(cause.clone());
            }
        }
        status.stopped_at = ran.history.last().map(|(t, _)| t.clone());
        if with_history {
            status.history = ran
                .history
                .iter()
                .enumerate()
                .map(|(i, (t, e))| history_entry(i as u64 + 1, t.clone(), e))
                .collect();
        }
    }
}

#[async_trait]
impl Backend for MotoBackend {
    async fn place_order(&self, body: &[u8], idempotency_key: Option<&str>) -> Result<Placed, BackendError> {
        let mut placed = self.inner.place_order(body, idempotency_key).await?;
        if let Some(ran) = self.runs.lock().unwrap().get(&placed.orderid) {
            placed.status = if matches!(ran.outcome, Outcome::Succeeded { .. }) {
                ExecStatus::Succeeded
            } else {
                ExecStatus::Failed
            };
        }
        Ok(placed)
    }
    async fn order_status(&self, orderid: &str, with_history: bool) -> Result<OrderStatus, BackendError> {
        // moto's history is canned ("A State"), so it is not asked for.
        let mut status = self.inner.order_status(orderid, false).await?;
        self.overlay(&mut status, with_history);
        Ok(status)
    }
    async fn list_executions(
        &self,
        status: Option<ExecStatus>,
        limit: usize,
    ) -> Result<Vec<ExecutionSummary>, BackendError> {
        let mut all = self.inner.list_executions(None, usize::MAX).await?;
        let runs = self.runs.lock().unwrap();
        for e in &mut all {
            if let Some(ran) = runs.get(&e.orderid) {
                e.status = if matches!(ran.outcome, Outcome::Succeeded { .. }) {
                    ExecStatus::Succeeded
                } else {
                    ExecStatus::Failed
                };
                e.stopped_at = ran.history.last().map(|(t, _)| t.clone());
            }
        }
        all.retain(|e| status.is_none_or(|s| e.status == s));
        all.truncate(limit);
        Ok(all)
    }
    async fn cart_item(&self, accountid: &str, vendorid: &str) -> Result<Option<CartItem>, BackendError> {
        self.inner.cart_item(accountid, vendorid).await
    }
    async fn invoice(&self, key: &str) -> Result<serde_json::Value, BackendError> {
        self.inner.invoice(key).await
    }
    async fn order_invoice(&self, orderid: &str) -> Result<serde_json::Value, BackendError> {
        self.inner.order_invoice(orderid).await
    }
    async fn vendor_ports(&self, write: bool) -> Result<VendorPorts, BackendError> {
        self.inner.vendor_ports(write).await
    }
    async fn delivery_log(&self) -> Result<Arc<dyn DeliveryLog>, BackendError> {
        self.inner.delivery_log().await
    }
    async fn delivery_queue(&self) -> Result<Arc<dyn DeliveryQueue>, BackendError> {
        self.inner.delivery_queue().await
    }
    async fn topic_subscribe(&self, sub: NewSubscription) -> Result<SubscriptionInfo, BackendError> {
        self.inner.topic_subscribe(sub).await
    }
    async fn topic_subscriptions(&self) -> Result<Vec<SubscriptionInfo>, BackendError> {
        self.inner.topic_subscriptions().await
    }
    async fn queues(&self) -> Result<Vec<QueueInfo>, BackendError> {
        self.inner.queues().await
    }
    async fn peek(&self, queue: &str, max: usize) -> Result<Vec<PeekedMessage>, BackendError> {
        self.inner.peek(queue, max).await
    }
    async fn replay(&self, request: &ReplayRequest, progress: &dyn Progress) -> Result<ReplayReport, BackendError> {
        self.inner.replay(request, progress).await
    }
}
