//! The embedded runtime: one process that executes the state machine durably and runs the
//! consumers against the local queues.

//!
//! - this file: wiring (the adapters over one database, the state machine, start and stop);
//! - [`topology`]: the queues, DLQs and filters, and which consumer reads which queue;
//! - [`dispatcher`]: which executions run, and resuming them;
//! - [`consumers`]: the event source mapping loops and HTTP(S) subscription delivery.

mod consumers;
mod dispatcher;
pub mod topology;

use super::cart::SqliteCart;
use super::db::{Db, DbError};
use super::deliveries::SqliteDeliveries;
use super::executions::Executions;
use super::invoices::SqliteInvoices;
use super::invoker::{LocalIntegrations, resources};
use super::live::Live;
use super::queues::{QueueError, Queues};
use super::topic::Topic;
use super::vendors::SqliteVendors;
use aws_lambda_events::event::sqs::SqsMessage;
use dispatcher::Submitted;
use skipline_engine::asl::StateMachine;
use skipline_handlers::ports::{Clock, InvoiceStore, WebhookClient};
use skipline_handlers::schedule::Schedule;
use skipline_handlers::tasks::FlowInvoker;
use skipline_http::HttpWebhookClient;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Notify, mpsc, watch};
pub use topology::{CLEAR_QUEUE, COMPLETED_FILTER, CONSUMER_QUEUES, DELIVERY_CONSUMER, NOTIFY_QUEUE};

/// The flow, compiled in so the binary runs without the repository; `--state-machine` overrides it.
pub const EMBEDDED_STATE_MACHINE: &str = include_str!("../../infra/statemachine/order_flow.asl.json");
/// The embedded flow's name, as the CDK app names its state machine construct.
pub const EMBEDDED_MACHINE_NAME: &str = "OrderFlow";
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
    /// When a failed webhook delivery is tried again; it also sets the deliveries queue's
    /// retention and maxReceiveCount.
    pub delivery_schedule: Schedule,
    /// An endpoint that failed every attempt for this long is disabled.
    pub disable_after: Duration,
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
            delivery_schedule: Schedule::default(),
            disable_after: skipline_handlers::deliver::DEFAULT_DISABLE_AFTER,
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

/// Wraps the real invoice store, e.g. to inject the demo's outage.
pub type InvoiceWrapper = Arc<dyn Fn(Arc<dyn InvoiceStore>) -> Arc<dyn InvoiceStore> + Send + Sync>;

/// Told which messages a consumer finished (and deleted) on a queue; benchmarks time
/// completions with it instead of polling the database.
pub type ConsumedHook = Arc<dyn Fn(&str, &[SqsMessage]) + Send + Sync>;

/// Told when an execution's checkpoint became durable: the execution's name and the state it
/// is about to run (or `ExecutionSucceeded`, `ExecutionFailed`, `ExecutionTimedOut` at the end).
/// The benchmark's per-hop latencies come from it.
pub type CheckpointHook = Arc<dyn Fn(&str, &str) + Send + Sync>;

/// Changes to the default adapters.
#[derive(Default, Clone)]
pub struct Overrides {
    pub wrap_invoices: Option<InvoiceWrapper>,
}

/// The embedded runtime. Its stores are public for the tools that inspect a data dir (tests,
/// benchmarks); the wiring (invoker, webhook client) is its own.
pub struct Runtime {
    pub(crate) config: RuntimeConfig,
    pub db: Db,
    pub(crate) cart: Arc<SqliteCart>,
    pub(crate) invoices: Arc<dyn InvoiceStore>,
    pub stored_invoices: SqliteInvoices,
    pub(crate) vendors: Arc<SqliteVendors>,
    pub(crate) deliveries: Arc<SqliteDeliveries>,
    pub executions: Arc<Executions>,
    pub(crate) topic: Topic,
    pub queues: Queues,
    pub machine: Arc<StateMachine>,
    /// The state-machine file as loaded, for the console's graph.
    definition: Arc<str>,
    invoker: Arc<FlowInvoker>,
    pub(crate) clock: Arc<dyn Clock>,
    webhooks: Arc<dyn WebhookClient>,
    /// While set, the consumer loops receive nothing (tests and demos hold cart slots with it).
    pub consumers_paused: std::sync::atomic::AtomicBool,
    consumed: std::sync::OnceLock<ConsumedHook>,
    checkpointed: std::sync::OnceLock<CheckpointHook>,
    /// What just became durable, for watchers (`GET /events`).
    live: Live,
    /// When each consumer queue's pollers last went round their loop, for readiness.
    heartbeats: Mutex<std::collections::HashMap<&'static str, std::time::Instant>>,
    /// States whose `…StateEntered` must be durable before they run (see `ExecutionSink`).
    checkpoints: Arc<HashSet<String>>,
    /// New executions from this process, handed to the dispatcher without a database scan.
    submitted: mpsc::UnboundedSender<Submitted>,
    submissions: Mutex<Option<mpsc::UnboundedReceiver<Submitted>>>,
    wake: Arc<Notify>,
    active: Mutex<HashSet<String>>,
    shutdown: watch::Sender<bool>,
    _lock: Mutex<Option<std::fs::File>>,
}

/// The state machine's name, in its ARN and its executions' ARNs: the embedded flow's, or a
/// `--state-machine` file's stem (`variant.asl.json` → `variant`), kept to the characters
/// Step Functions allows in a name.
pub fn machine_name(file: Option<&Path>) -> String {
    let Some(file) = file else {
        return EMBEDDED_MACHINE_NAME.to_string();
    };
    let stem = file
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .trim_end_matches(".json")
        .trim_end_matches(".asl");
    let name: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(80)
        .collect();
    if name.is_empty() {
        EMBEDDED_MACHINE_NAME.to_string()
    } else {
        name
    }
}

fn data_dir_error(path: &Path, e: impl std::fmt::Display) -> RuntimeError {
    RuntimeError::DataDir {
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}

/// Loads and validates a state-machine definition against the local integrations.
pub fn load_state_machine(text: &str, origin: &str, invoker: &FlowInvoker) -> Result<StateMachine, RuntimeError> {
    StateMachine::load(text, &invoker.substitutions(), invoker).map_err(|e| RuntimeError::StateMachine {
        path: origin.to_string(),
        reason: match e.locate(text) {
            Some(at) => format!("{at}: {e}"),
            None => e.to_string(),
        },
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
            // Secrets and orders live here: owner only. A directory we cannot restrict is refused.
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
                .map_err(|e| data_dir_error(dir, format!("cannot make it owner-only (chmod 0700): {e}")))?;
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
        let machine_name = machine_name(config.state_machine.as_deref());
        let queues = Queues::new(db.clone());
        let topic = Topic::new(db.clone(), queues.signals.clone());
        let live = Live::default();
        let deliveries = Arc::new(SqliteDeliveries::new(db.clone(), queues.clone()).with_live(live.clone()));
        let clock: Arc<dyn Clock> = Arc::new(skipline_handlers::ports::SystemClock);
        let invoker = Arc::new(FlowInvoker {
            resources: resources(),
            cart: cart.clone(),
            invoices: invoices.clone(),
            invoice_index: Arc::new(stored_invoices.clone()),
            clock: clock.clone(),
            integrations: Arc::new(LocalIntegrations {
                cart: cart.clone(),
                topic: topic.clone(),
            }),
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
        let checkpoints = machine.checkpoint_states().map(str::to_string).collect();
        let state_types = machine
            .state_names()
            .filter_map(|n| Some((n.to_string(), machine.state_type(n)?)))
            .collect();
        let executions = Arc::new(
            Executions::new(db.clone(), &machine_name)
                .with_state_types(state_types)
                .with_live(live.clone()),
        );
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
            deliveries,
            executions,
            topic,
            queues,
            machine,
            invoker,
            clock,
            webhooks,
            consumers_paused: std::sync::atomic::AtomicBool::new(false),
            consumed: std::sync::OnceLock::new(),
            checkpointed: std::sync::OnceLock::new(),
            live,
            definition: text.into(),
            heartbeats: Mutex::default(),
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

    /// The state machine's name and its file as loaded.
    pub fn definition(&self) -> (&str, &str) {
        (self.executions.machine(), &self.definition)
    }

    /// The live feed: watchers subscribe to what becomes durable from now on.
    pub fn live(&self) -> &Live {
        &self.live
    }

    /// Sets the hook called after consumers delete finished messages; the first call wins.
    pub fn on_consumed(&self, hook: ConsumedHook) {
        let _ = self.consumed.set(hook);
    }

    /// Sets the hook called after each durable checkpoint; the first call wins.
    pub fn on_checkpoint(&self, hook: CheckpointHook) {
        let _ = self.checkpointed.set(hook);
    }

    /// Starts the dispatcher (which also resumes unfinished executions) and the consumers.
    pub fn start_background(self: &Arc<Self>) -> Vec<tokio::task::JoinHandle<()>> {
        let mut handles = vec![
            tokio::spawn(self.clone().dispatch()),
            tokio::spawn(self.clone().deliver_http()),
            tokio::spawn(self.clone().purge_deliveries()),
        ];
        for _ in 0..self.config.consumer_workers.max(1) {
            for queue in &CONSUMER_QUEUES {
                handles.push(tokio::spawn(self.clone().consume(queue)));
            }
            for _ in 0..consumers::DELIVERY_POLLERS_PER_WORKER {
                handles.push(tokio::spawn(self.clone().consume(&DELIVERY_CONSUMER)));
            }
        }
        handles
    }

    /// Keeps the delivery log to its retention: once at start, then hourly.
    async fn purge_deliveries(self: Arc<Self>) {
        let mut shutdown = self.shutdown.subscribe();
        while !self.stopped() {
            match self.deliveries.purge_expired().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(rows = n, "purged delivery log rows past retention"),
                Err(e) => tracing::warn!(error = %e, "cannot purge the delivery log"),
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(3600)) => {}
                _ = shutdown.changed() => {}
            }
        }
    }

    /// Records that a poller of `queue` went round its loop.
    fn beat(&self, queue: &'static str) {
        self.heartbeats
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(queue, std::time::Instant::now());
    }

    /// Whether this runtime can do its work: the database takes a write within two seconds
    /// (so the writer is not stalled), and every consumer queue's pollers went round their loop
    /// recently. The reason when not; for `GET /readyz`.
    pub async fn readiness(&self) -> Result<(), String> {
        match tokio::time::timeout(Duration::from_secs(2), self.db.write(|_| Ok(()))).await {
            Err(_) => return Err("the database writer did not commit within 2 s".into()),
            Ok(Err(e)) => return Err(format!("the database is not writable: {e}")),
            Ok(Ok(())) => {}
        }
        // A poller's turn is a long poll (0.5 s) and one batch, bounded by the webhook timeout.
        let stale = Duration::from_secs(30).max(self.config.webhook_timeout * 2 + Duration::from_secs(5));
        let beats = self.heartbeats.lock().unwrap_or_else(|p| p.into_inner()).clone();
        for queue in CONSUMER_QUEUES.iter().chain([&DELIVERY_CONSUMER]).map(|c| c.queue) {
            match beats.get(queue) {
                None => return Err(format!("the {queue} consumer has not started")),
                Some(at) if at.elapsed() > stale => {
                    return Err(format!(
                        "the {queue} consumer has not polled for {} s",
                        at.elapsed().as_secs()
                    ));
                }
                Some(_) => {}
            }
        }
        Ok(())
    }

    /// Stops background loops at their next turn.
    pub fn stop(&self) {
        let _ = self.shutdown.send(true);
        self.wake.notify_waiters();
    }

    /// After [`Runtime::stop`]: waits until no execution is running, or until `deadline`, and
    /// returns how many were still running. Each one left is safe: it resumes from its last
    /// durable checkpoint at the next start.
    pub async fn drain(&self, deadline: tokio::time::Instant) -> usize {
        loop {
            let running = self.active.lock().unwrap_or_else(|p| p.into_inner()).len();
            if running == 0 || tokio::time::Instant::now() >= deadline {
                return running;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }

    fn stopped(&self) -> bool {
        *self.shutdown.borrow()
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}

pub fn db_path(data_dir: &Path) -> PathBuf {
    data_dir.join(DB_FILE)
}
