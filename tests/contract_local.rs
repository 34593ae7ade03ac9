//! The contract suite on the embedded backend: a real runtime on a temp data dir.

mod contract;

use async_trait::async_trait;
use contract::Harness;
use skipline::backend::local::LocalBackend;
use skipline::backend::{Backend, ExecStatus, OrderStatus};
use skipline::local::runtime::{Overrides, Runtime, RuntimeConfig};
use skipline::receiver::WebhookReceiver;
use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

struct LocalHarness {
    _dir: tempfile::TempDir,
    runtime: Arc<Runtime>,
    backend: LocalBackend,
    receiver: WebhookReceiver,
    broken: Arc<Mutex<HashSet<String>>>,
}

struct BreakableInvoices {
    inner: Arc<dyn skipline_handlers::ports::InvoiceStore>,
    broken: Arc<Mutex<HashSet<String>>>,
}

#[async_trait]
impl skipline_handlers::ports::InvoiceStore for BreakableInvoices {
    async fn put_new(
        &self,
        key: &str,
        body: &[u8],
    ) -> Result<skipline_handlers::ports::PutBlobOutcome, skipline_handlers::ports::StoreError> {
        let vendor = key.split('/').nth(2).unwrap_or_default().to_string();
        if self.broken.lock().unwrap().contains(&vendor) {
            return Err(skipline_handlers::ports::StoreError::Unavailable(
                "injected outage".into(),
            ));
        }
        self.inner.put_new(key, body).await
    }
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, skipline_handlers::ports::StoreError> {
        self.inner.get(key).await
    }
}

/// The embedded default runs order_flow.asl.json; `Some(file)` runs another definition from
/// infra/statemachine, as `serve --state-machine` would.
async fn harness(machine: Option<&str>) -> LocalHarness {
    let dir = tempfile::tempdir().unwrap();
    let mut config = RuntimeConfig::new(dir.path());
    config.state_machine = machine.map(|file| {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("infra/statemachine")
            .join(file)
    });
    config.allow_private_endpoints = true;
    config.visibility_timeout = Duration::from_millis(300);
    config.max_receive_count = 2;
    config.delivery_schedule = skipline_handlers::schedule::Schedule::parse("300ms").unwrap();
    config.apply_queue_settings = true;
    let broken: Arc<Mutex<HashSet<String>>> = Arc::default();
    let b2 = broken.clone();
    let overrides = Overrides {
        wrap_invoices: Some(Arc::new(move |inner| {
            Arc::new(BreakableInvoices {
                inner,
                broken: b2.clone(),
            })
        })),
    };
    let runtime = Runtime::open(config, overrides).await.unwrap();
    let language = if machine.is_some_and(|f| f.contains("jsonata")) {
        "JSONata"
    } else {
        "JSONPath"
    };
    assert_eq!(
        runtime.machine.query_language("PutItem"),
        Some(language),
        "the flow under test"
    );
    runtime.start_background();
    let receiver = WebhookReceiver::start().await.unwrap();
    LocalHarness {
        _dir: dir,
        backend: LocalBackend::new(runtime.clone()),
        runtime,
        receiver,
        broken,
    }
}

#[async_trait]
impl Harness for LocalHarness {
    fn name(&self) -> &'static str {
        "local"
    }
    fn backend(&self) -> &dyn Backend {
        &self.backend
    }
    fn receiver(&self) -> &WebhookReceiver {
        &self.receiver
    }
    async fn settle(&self, orderid: &str) -> OrderStatus {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let s = self.backend.order_status(orderid, false).await.unwrap();
            if s.status != ExecStatus::Running || tokio::time::Instant::now() > deadline {
                return s;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    async fn pause_consumers(&self, paused: bool) {
        self.runtime.consumers_paused.store(paused, Ordering::SeqCst);
    }
    async fn break_invoices_for(&self, vendor: &str) -> bool {
        self.broken.lock().unwrap().insert(vendor.to_string());
        true
    }
    fn delivery_dlq(&self) -> String {
        "deliveries-dlq".into()
    }
    async fn add_queue(&self, name: &str) {
        let config = Default::default();
        self.runtime.queues.create(name, &config).await.expect("create queue");
    }
}

/// Every scenario, once per definition of the order flow: both must keep the same contract.
macro_rules! scenarios_on {
    ($module:ident, $machine:expr) => {
        mod $module {
            use super::*;
            crate::contract::scenario_tests!(harness($machine));
        }
    };
}

scenarios_on!(jsonpath, None);
scenarios_on!(jsonata, Some("order_flow.jsonata.asl.json"));
