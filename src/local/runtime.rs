//! The embedded runtime: one process that executes the state machine durably and runs the
//! consumers against the local queues.

use super::cart::SqliteCart;
use super::db::{Db, DbError};
use super::executions::{ExecutionRecord, ExecutionSink, Executions, checkpoint_states, resume_point};
use super::invoices::SqliteInvoices;
use super::invoker::{LocalInvoker, substitutions};
use super::queues::{QueueConfig, QueueError, Queues, Received};
use super::topic::Topic;
use super::vendors::SqliteVendors;
use aws_lambda_events::event::sqs::{SqsMessage, SqsMessageAttribute};
use skipline_engine::asl::{ExecutionContext, Resume, StateMachine, SystemClock};
use skipline_engine::filter::{FilterPolicy, FilterScope};
use skipline_handlers::clear_cart::ClearCart;
use skipline_handlers::notify_vendor::NotifyVendor;
use skipline_handlers::ports::{CartStore, Clock, InvoiceStore, WebhookClient, WebhookRequest};
use skipline_handlers::sqs::{event, failed_ids};
use skipline_http::HttpWebhookClient;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Notify, Semaphore, mpsc, watch};

/// The flow, compiled in so the binary runs without the repository; `--state-machine` overrides it.
pub const EMBEDDED_STATE_MACHINE: &str = include_str!("../../infra/statemachine/order_flow.asl.json");
pub const STATE_MACHINE_ARN: &str = "arn:aws:states:local:000000000000:stateMachine:OrderFlow";
pub const NOTIFY_QUEUE: &str = "notify-vendor";
pub const CLEAR_QUEUE: &str = "clear-cart";
/// The filter both consumer subscriptions use, on both backends.
pub const COMPLETED_FILTER: &str = r#"{"eventtype":["OrderCompleted"]}"#;
const DB_FILE: &str = "skipline.db";
const LOCK_FILE: &str = "serve.lock";

#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    pub data_dir: PathBuf,
    /// A state-machine file to run instead of the embedded one.
    pub state_machine: Option<PathBuf>,
    pub allow_private_endpoints: bool,
    pub visibility_timeout: Duration,
    pub max_receive_count: u32,
    pub webhook_timeout: Duration,
    /// Executions run at once; more wait their turn.
    pub max_concurrent_executions: usize,
    /// Apply the queue settings above to existing queues (serve, demo); other commands leave them.
    pub apply_queue_settings: bool,
    /// Pollers per consumer queue, like a Lambda event source mapping's concurrency.
    pub consumer_workers: usize,
    /// Messages one poller takes per transaction (an event source mapping's batch size; SQS's
    /// own ReceiveMessage limit of 10 applies to the queue API, not to this internal poller).
    pub consumer_batch: usize,
}

impl RuntimeConfig {
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            state_machine: None,
            allow_private_endpoints: false,
            visibility_timeout: Duration::from_secs(30),
            max_receive_count: 5,
            webhook_timeout: skipline_http::DEFAULT_TIMEOUT,
            max_concurrent_executions: 1024,
            apply_queue_settings: false,
            consumer_workers: 4,
            consumer_batch: 100,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("cannot use data directory {path}: {reason}")]
    DataDir { path: PathBuf, reason: String },
    #[error("another `skipline serve` is already running on {0} (it holds serve.lock)")]
    Locked(PathBuf),
    #[error("state machine {path}: {reason}")]
    StateMachine { path: String, reason: String },
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Queue(#[from] QueueError),
    #[error("{0}")]
    Setup(String),
}

/// Work for the dispatcher: an execution just created here (its record in hand, nothing to
/// read), or one found by name (resume, retry, or created by another process).
enum Submitted {
    Fresh(Box<ExecutionRecord>),
    Named(String),
}

/// How often the dispatcher looks for executions it was not handed: new rows since its last
/// look (cheap), and every `FULL_SCAN_EVERY` all running ones (a safety net).
const SCAN_EVERY: Duration = Duration::from_millis(500);
const FULL_SCAN_EVERY: Duration = Duration::from_secs(60);

/// Wraps the real invoice store, e.g. to inject the demo's outage.
pub type InvoiceWrapper = Arc<dyn Fn(Arc<dyn InvoiceStore>) -> Arc<dyn InvoiceStore> + Send + Sync>;

/// Told which messages a consumer finished (and deleted) on a queue; benchmarks time
/// completions with it instead of polling the database.
pub type ConsumedHook = Arc<dyn Fn(&str, &[Received]) + Send + Sync>;

/// Changes to the default adapters.
#[derive(Default, Clone)]
pub struct Overrides {
    pub wrap_invoices: Option<InvoiceWrapper>,
}

pub struct Runtime {
    pub config: RuntimeConfig,
    pub db: Db,
    pub cart: Arc<SqliteCart>,
    pub invoices: Arc<dyn InvoiceStore>,
    pub stored_invoices: SqliteInvoices,
    pub vendors: Arc<SqliteVendors>,
    pub executions: Arc<Executions>,
    pub topic: Topic,
    pub queues: Queues,
    pub machine: Arc<StateMachine>,
    pub invoker: Arc<LocalInvoker>,
    pub clock: Arc<dyn Clock>,
    pub webhooks: Arc<dyn WebhookClient>,
    /// While set, the consumer loops receive nothing (tests and demos hold cart slots with it).
    pub consumers_paused: std::sync::atomic::AtomicBool,
    consumed: std::sync::OnceLock<ConsumedHook>,
    /// States whose `StateEntered` must be durable before they run (see `ExecutionSink`).
    checkpoints: Arc<HashSet<String>>,
    /// New executions from this process, handed to the dispatcher without a database scan.
    submitted: mpsc::UnboundedSender<Submitted>,
    submissions: Mutex<Option<mpsc::UnboundedReceiver<Submitted>>>,
    wake: Arc<Notify>,
    active: Mutex<HashSet<String>>,
    shutdown: watch::Sender<bool>,
    _lock: Mutex<Option<std::fs::File>>,
}

fn data_dir_error(path: &Path, e: impl std::fmt::Display) -> RuntimeError {
    RuntimeError::DataDir {
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}

/// Loads and validates a state-machine definition against the local integrations.
pub fn load_state_machine(text: &str, origin: &str, invoker: &LocalInvoker) -> Result<StateMachine, RuntimeError> {
    StateMachine::load(text, &substitutions(), invoker).map_err(|e| RuntimeError::StateMachine {
        path: origin.to_string(),
        reason: e.to_string(),
    })
}

impl Runtime {
    /// Opens the data directory (creating it), the database and the default topology.
    pub async fn open(config: RuntimeConfig, overrides: Overrides) -> Result<Arc<Runtime>, RuntimeError> {
        let dir = &config.data_dir;
        std::fs::create_dir_all(dir).map_err(|e| data_dir_error(dir, e))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            // Secrets and orders live here: owner only.
            let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
        }
        let db = Db::open(&dir.join(DB_FILE)).map_err(|e| data_dir_error(dir, e))?;
        let cart = Arc::new(SqliteCart::new(db.clone()));
        let stored_invoices = SqliteInvoices::new(db.clone());
        let base: Arc<dyn InvoiceStore> = Arc::new(stored_invoices.clone());
        let invoices = match &overrides.wrap_invoices {
            Some(wrap) => wrap(base),
            None => base,
        };
        let vendors = Arc::new(SqliteVendors::new(db.clone()));
        let executions = Arc::new(Executions::new(db.clone()));
        let topic = Topic::new(db.clone());
        let queues = Queues::new(db.clone());
        let clock: Arc<dyn Clock> = Arc::new(skipline_handlers::ports::SystemClock);
        let signals = queues.signals.clone();
        let invoker = Arc::new(LocalInvoker {
            cart: cart.clone(),
            invoices: invoices.clone(),
            invoice_index: Arc::new(stored_invoices.clone()),
            clock: clock.clone(),
            topic: topic.clone(),
            on_publish: Arc::new(move |qs: &[String]| qs.iter().for_each(|q| signals.wake(q))),
        });
        let (text, origin) = match &config.state_machine {
            Some(path) => (
                std::fs::read_to_string(path).map_err(|e| RuntimeError::StateMachine {
                    path: path.display().to_string(),
                    reason: e.to_string(),
                })?,
                path.display().to_string(),
            ),
            None => (
                EMBEDDED_STATE_MACHINE.to_string(),
                "infra/statemachine/order_flow.asl.json (embedded)".to_string(),
            ),
        };
        let machine = Arc::new(load_state_machine(&text, &origin, &invoker)?);
        let checkpoints = serde_json::from_str(&text)
            .map(|definition| checkpoint_states(&definition))
            .unwrap_or_default();
        let (submitted, submissions) = mpsc::unbounded_channel();
        let webhooks: Arc<dyn WebhookClient> = Arc::new(
            HttpWebhookClient::new(config.webhook_timeout, config.allow_private_endpoints)
                .map_err(|e| RuntimeError::Setup(e.to_string()))?,
        );
        let (shutdown, _) = watch::channel(false);
        let rt = Arc::new(Runtime {
            config,
            db,
            cart,
            invoices,
            stored_invoices,
            vendors,
            executions,
            topic,
            queues,
            machine,
            invoker,
            clock,
            webhooks,
            consumers_paused: std::sync::atomic::AtomicBool::new(false),
            consumed: std::sync::OnceLock::new(),
            checkpoints: Arc::new(checkpoints),
            submitted,
            submissions: Mutex::new(Some(submissions)),
            wake: Arc::new(Notify::new()),
            active: Mutex::new(HashSet::new()),
            shutdown,
            _lock: Mutex::new(None),
        });
        rt.ensure_topology().await?;
        Ok(rt)
    }

    /// The consumer queues, their DLQs and subscriptions, as the CDK stack defines them.
    async fn ensure_topology(&self) -> Result<(), RuntimeError> {
        let dlq_config = QueueConfig {
            retention: Duration::from_secs(14 * 24 * 3600),
            ..QueueConfig::default()
        };
        let existing: HashSet<String> = self
            .topic
            .subscriptions()
            .await
            .map_err(|e| RuntimeError::Setup(e.to_string()))?
            .into_iter()
            .map(|s| s.endpoint)
            .collect();
        for queue in [NOTIFY_QUEUE, CLEAR_QUEUE] {
            let dlq = format!("{queue}-dlq");
            self.queues.create_if_missing(&dlq, &dlq_config).await?;
            let config = QueueConfig {
                visibility_timeout: self.config.visibility_timeout,
                redrive: Some((dlq, self.config.max_receive_count)),
                ..QueueConfig::default()
            };
            if self.config.apply_queue_settings {
                self.queues.create(queue, &config).await?;
            } else {
                self.queues.create_if_missing(queue, &config).await?;
            }
            if !existing.contains(queue) {
                let policy = FilterPolicy::parse(COMPLETED_FILTER, FilterScope::MessageAttributes)
                    .map_err(|e| RuntimeError::Setup(e.to_string()))?;
                self.topic
                    .subscribe("sqs", queue, Some(&policy), Some(COMPLETED_FILTER), true)
                    .await
                    .map_err(|e| RuntimeError::Setup(e.to_string()))?;
            }
        }
        Ok(())
    }

    /// Takes the data directory's serve lock, so only one process executes its executions.
    pub fn lock_for_serving(&self) -> Result<(), RuntimeError> {
        let path = self.config.data_dir.join(LOCK_FILE);
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| data_dir_error(&self.config.data_dir, e))?;
        file.try_lock()
            .map_err(|_| RuntimeError::Locked(self.config.data_dir.clone()))?;
        *self._lock.lock().unwrap_or_else(|p| p.into_inner()) = Some(file);
        Ok(())
    }

    /// Sets the hook called after consumers delete finished messages; the first call wins.
    pub fn on_consumed(&self, hook: ConsumedHook) {
        let _ = self.consumed.set(hook);
    }

    /// Wakes the dispatcher to look for new executions in the database.
    pub fn kick(&self) {
        self.wake.notify_one();
    }

    /// Hands an execution just created by this process to the dispatcher: no scan, no reads.
    pub fn submit(&self, record: ExecutionRecord) {
        if self.submitted.send(Submitted::Fresh(Box::new(record))).is_err() {
            self.kick();
        }
    }

    /// Starts the dispatcher (which also resumes unfinished executions) and the consumers.
    pub fn start_background(self: &Arc<Self>) -> Vec<tokio::task::JoinHandle<()>> {
        let mut handles = vec![
            tokio::spawn(self.clone().dispatch()),
            tokio::spawn(self.clone().deliver_http()),
        ];
        for _ in 0..self.config.consumer_workers.max(1) {
            handles.push(tokio::spawn(self.clone().consume(NOTIFY_QUEUE)));
            handles.push(tokio::spawn(self.clone().consume(CLEAR_QUEUE)));
        }
        handles
    }

    /// Stops background loops at their next turn.
    pub fn stop(&self) {
        let _ = self.shutdown.send(true);
        self.wake.notify_waiters();
    }

    fn stopped(&self) -> bool {
        *self.shutdown.borrow()
    }

    /// Runs executions handed over by [`Runtime::submit`] at once, and finds the others
    /// (unfinished at startup, created by another process, interrupted) by scanning: all
    /// running ones at startup and every minute, new rows every half second. At most
    /// `max_concurrent_executions` run at once; the rest wait for a permit in arrival order.
    async fn dispatch(self: Arc<Self>) {
        let mut shutdown = self.shutdown.subscribe();
        let Some(mut submissions) = self.submissions.lock().unwrap_or_else(|p| p.into_inner()).take() else {
            tracing::error!("the dispatcher is already running");
            return;
        };
        let permits = Arc::new(Semaphore::new(self.config.max_concurrent_executions.max(1)));
        let mut seen_rowid = 0_i64;
        let mut last_full = tokio::time::Instant::now();
        let mut scan_due = true;
        while !self.stopped() {
            if scan_due {
                if last_full.elapsed() >= FULL_SCAN_EVERY {
                    seen_rowid = 0;
                    last_full = tokio::time::Instant::now();
                }
                match self.executions.running_since(seen_rowid).await {
                    Ok((names, max_rowid)) => {
                        seen_rowid = seen_rowid.max(max_rowid);
                        for name in names {
                            self.launch(Submitted::Named(name), &permits);
                        }
                    }
                    Err(e) => tracing::error!(error = %e, "cannot list running executions"),
                }
                scan_due = false;
            }
            tokio::select! {
                work = submissions.recv() => match work {
                    Some(work) => self.launch(work, &permits),
                    None => break,
                },
                _ = self.wake.notified() => scan_due = true,
                _ = tokio::time::sleep(SCAN_EVERY) => scan_due = true,
                _ = shutdown.changed() => {}
            }
        }
    }

    fn launch(self: &Arc<Self>, work: Submitted, permits: &Arc<Semaphore>) {
        let name = match &work {
            Submitted::Fresh(r) => r.name.clone(),
            Submitted::Named(n) => n.clone(),
        };
        if !self
            .active
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(name.clone())
        {
            return;
        }
        let (rt, permits) = (self.clone(), permits.clone());
        tokio::spawn(async move {
            let Ok(_permit) = permits.acquire_owned().await else {
                return;
            };
            let result = rt.execute(work).await;
            rt.active.lock().unwrap_or_else(|p| p.into_inner()).remove(&name);
            if let Err(e) = result {
                tracing::error!(execution = %name, error = %e, "execution interrupted; it will be resumed");
                tokio::time::sleep(Duration::from_secs(1)).await;
                if !rt.stopped() {
                    let _ = rt.submitted.send(Submitted::Named(name));
                }
            }
        });
    }

    async fn execute(&self, work: Submitted) -> Result<(), String> {
        let (record, state, input) = match work {
            // Just created here: no history beyond ExecutionStarted, so it starts at StartAt.
            Submitted::Fresh(record) => {
                let input = record.input.clone();
                (*record, self.machine.start_at().to_string(), input)
            }
            Submitted::Named(name) => {
                let record = self
                    .executions
                    .get(&name)
                    .await
                    .map_err(|e| e.to_string())?
                    .ok_or("execution vanished")?;
                if record.status != "RUNNING" {
                    return Ok(());
                }
                let history = self.executions.history(&name).await.map_err(|e| e.to_string())?;
                let (state, input) = resume_point(&history)
                    .unwrap_or_else(|| (self.machine.start_at().to_string(), record.input.clone()));
                (record, state, input)
            }
        };
        let ctx = ExecutionContext {
            execution_id: record.execution_id.clone(),
            name: record.name.clone(),
            start_time: record.started_at.parse().unwrap_or_else(|_| jiff::Timestamp::now()),
            state_machine_id: STATE_MACHINE_ARN.to_string(),
            state_machine_name: "OrderFlow".to_string(),
            input: record.input.clone(),
        };
        let sink = ExecutionSink::new(
            self.executions.clone(),
            &record.name,
            self.checkpoints.clone(),
            (state.clone(), input.clone()),
        );
        self.machine
            .run(
                &ctx,
                Resume::At { state, input },
                self.invoker.as_ref(),
                &SystemClock,
                &sink,
            )
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    /// Like a Lambda event source mapping: receive batches, invoke the consumer, delete successes.
    async fn consume(self: Arc<Self>, queue: &'static str) {
        let notify = NotifyVendor {
            directory: self.vendors.as_ref(),
            deliveries: self.vendors.as_ref(),
            webhooks: self.webhooks.as_ref(),
            clock: self.clock.as_ref(),
            allow_private_endpoints: self.config.allow_private_endpoints,
        };
        let cart: &dyn CartStore = self.cart.as_ref();
        let clear = ClearCart { cart };
        while !self.stopped() {
            if self.consumers_paused.load(std::sync::atomic::Ordering::Relaxed) {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
            let batch = match self
                .queues
                .receive_batch(queue, self.config.consumer_batch, Duration::from_millis(500))
                .await
            {
                Ok(b) => b,
                Err(e) => {
                    tracing::error!(queue, error = %e, "receive failed");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            if batch.is_empty() {
                continue;
            }
            if self.consumers_paused.load(std::sync::atomic::Ordering::Relaxed) {
                // Paused while the long poll was open: hand the messages back untouched.
                for m in &batch {
                    let _ = self.queues.change_visibility(queue, &m.receipt, Duration::ZERO).await;
                }
                continue;
            }
            let mut done = Vec::with_capacity(batch.len());
            // One invocation per poll, as an event source mapping with this batch size does;
            // the consumers handle their records concurrently.
            let records = batch.iter().map(|m| sqs_record(queue, m)).collect();
            let response = if queue == NOTIFY_QUEUE {
                notify.handle(event(records)).await
            } else {
                clear.handle(event(records)).await
            };
            let failed: HashSet<String> = failed_ids(&response).into_iter().collect();
            let finished: Vec<Received> = batch.into_iter().filter(|m| !failed.contains(&m.message_id)).collect();
            // One write for the whole poll's deletions.
            let receipts: Vec<String> = finished.iter().map(|m| m.receipt.clone()).collect();
            match self.queues.delete_batch(queue, &receipts).await {
                Ok(deleted) => {
                    for (m, ok) in finished.into_iter().zip(deleted) {
                        if ok {
                            done.push(m);
                        } else {
                            tracing::warn!(queue, message_id = %m.message_id, "receipt went stale; the message will be redelivered");
                        }
                    }
                }
                Err(e) => tracing::warn!(queue, error = %e, "delete failed; the messages will be redelivered"),
            }
            if let Some(hook) = self.consumed.get() {
                hook(queue, &done);
            }
        }
    }

    /// Delivers HTTP(S) topic subscriptions from their queues, as SNS's HTTP delivery does.
    async fn deliver_http(self: Arc<Self>) {
        while !self.stopped() {
            let subs = self.topic.subscriptions().await.unwrap_or_default();
            let mut idle = true;
            for sub in subs.iter().filter(|s| s.protocol != "sqs") {
                let queue = sub.queue();
                let Ok(batch) = self.queues.receive(&queue, 10, Duration::ZERO, None).await else {
                    continue;
                };
                for m in batch {
                    idle = false;
                    let request = WebhookRequest {
                        url: sub.endpoint.clone(),
                        headers: vec![
                            ("Content-Type".into(), "text/plain; charset=UTF-8".into()),
                            ("x-amz-sns-message-type".into(), "Notification".into()),
                            ("x-amz-sns-message-id".into(), m.message_id.clone()),
                            ("x-amz-sns-topic-arn".into(), super::topic::LOCAL_TOPIC_ARN.into()),
                            ("x-amz-sns-subscription-arn".into(), sub.id.clone()),
                        ],
                        body: m.body.clone().into_bytes(),
                    };
                    match self.webhooks.post(&request).await {
                        Ok(status) if (200..300).contains(&status) => {
                            let _ = self.queues.delete(&queue, &m.receipt).await;
                        }
                        Ok(status) => {
                            tracing::warn!(endpoint = %sub.endpoint, status, "HTTP subscription delivery failed; will retry")
                        }
                        Err(e) => {
                            tracing::warn!(endpoint = %sub.endpoint, error = %e, "HTTP subscription delivery failed; will retry")
                        }
                    }
                }
            }
            if idle {
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        }
    }
}

/// An SQS record as Lambda would see it.
fn sqs_record(queue: &str, m: &Received) -> SqsMessage {
    let mut r = SqsMessage::default();
    r.message_id = Some(m.message_id.clone());
    r.receipt_handle = Some(m.receipt.clone());
    r.body = Some(m.body.clone());
    r.event_source = Some("aws:sqs".into());
    r.event_source_arn = Some(format!("arn:aws:sqs:local:000000000000:{queue}"));
    r.attributes
        .insert("ApproximateReceiveCount".into(), m.receive_count.to_string());
    r.attributes.insert("SentTimestamp".into(), m.sent_ms.to_string());
    for (name, value) in &m.attributes {
        let mut a = SqsMessageAttribute::default();
        a.data_type = Some(value.data_type.clone());
        a.string_value = Some(value.string_value.clone());
        r.message_attributes.insert(name.clone(), a);
    }
    r
}

impl Drop for Runtime {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}

pub fn db_path(data_dir: &Path) -> PathBuf {
    data_dir.join(DB_FILE)
}
