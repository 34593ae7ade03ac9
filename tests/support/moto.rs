//! A real moto server per test, the stack's resources created on it with the SDK, and the
//! in-process drivers that stand in for what moto cannot do (invoke Lambda, run an SQS event
//! source mapping).
//!
//! moto is found at `$SKIPLINE_MOTO` or `<repo>/.venv/bin/moto_server`; if it is missing the
//! test fails with the install command (never skips). Only 127.0.0.1 is ever contacted, and
//! the clients carry dummy credentials, so a test cannot reach a real account.

#![allow(dead_code)]

use async_trait::async_trait;
use serde_json::{Value, json};
use skipline_aws::aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType, TimeToLiveSpecification,
};
use skipline_aws::aws_sdk_sqs::types::QueueAttributeName;
use skipline_aws::config::{AwsClients, Setting, Settings};
use skipline_aws::esm::EventSourceMapping;
use skipline_aws::invoker::{AwsIntegrations, FunctionArns};
use skipline_aws::{
    DynamoCart, DynamoDeliveryLog, DynamoInvoiceIndex, DynamoVendorDirectory, S3Invoices, SnsPublisher,
    SqsDeliveryQueue, SqsVisibility,
};
use skipline_engine::asl::{ExecutionContext, HistoryEvent, HistorySink, Outcome, Resume, StateMachine};
use skipline_engine::filter::FilterScope;
use skipline_handlers::clear_cart::ClearCart;
use skipline_handlers::deliver::DeliverTickets;
use skipline_handlers::esm::PollReport;
use skipline_handlers::notify_vendor::NotifyVendor;
use skipline_handlers::ports::{InvoiceStore, PutBlobOutcome, StoreError, SystemClock};
use skipline_handlers::schedule::Schedule;
use skipline_handlers::tasks::FlowInvoker;
use skipline_http::HttpWebhookClient;
use std::collections::HashSet;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const REGION: &str = "us-east-1";
/// moto's fixed account.
pub const ACCOUNT: &str = "123456789012";
/// Only completed orders reach the two consumers (infra/lib/messaging.ts).
pub const ORDER_COMPLETED_FILTER: &str = r#"{"eventtype":["OrderCompleted"]}"#;

fn moto_binary() -> PathBuf {
    match std::env::var_os("SKIPLINE_MOTO") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/moto_server"),
    }
}

/// A moto server on 127.0.0.1, killed on drop.
pub struct Moto {
    child: Child,
    pub endpoint: String,
}

impl Moto {
    /// Starts a moto server of this test's own. Its port is one no other test in this
    /// process has been given: the OS can hand a just-released port to a parallel test's probe,
    /// and that test's moto would then fail to bind while its readiness check reached ours.
    pub async fn start() -> Moto {
        let bin = moto_binary();
        assert!(
            bin.exists(),
            "moto_server not found at {}.\nInstall it with:\n  python3 -m venv {root}/.venv && {root}/.venv/bin/pip install 'moto[server]>=5.1,<5.3'\n\
             or set SKIPLINE_MOTO to a moto_server binary.",
            bin.display(),
            root = env!("CARGO_MANIFEST_DIR"),
        );
        let mut last_error = String::new();
        for _ in 0..3 {
            let port = unused_port();
            let child = Command::new(&bin)
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
            let mut moto = Moto {
                child,
                endpoint: format!("http://127.0.0.1:{port}"),
            };
            match moto.wait_ready(Duration::from_secs(20)).await {
                Ok(()) => return moto,
                Err(e) => last_error = e,
            }
            let _ = moto.child.kill();
        }
        panic!("moto_server did not come up: {last_error}");
    }

    async fn wait_ready(&mut self, limit: Duration) -> Result<(), String> {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + limit;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("moto_server exited with {status}"));
            }
            if let Ok(r) = client.get(format!("{}/moto-api/", self.endpoint)).send().await
                && r.status().is_success()
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!("no answer on {} within {limit:?}", self.endpoint));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn clients(&self) -> AwsClients {
        AwsClients::for_local_endpoint(&self.endpoint, REGION)
    }

    /// Forgets every resource on the server.
    pub async fn reset(&self) {
        let r = reqwest::Client::new()
            .post(format!("{}/moto-api/reset", self.endpoint))
            .send()
            .await;
        assert!(r.is_ok_and(|r| r.status().is_success()), "moto reset failed");
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Queue settings; tests use short visibility timeouts so redelivery is quick.
#[derive(Debug, Clone, Copy)]
pub struct StackOptions {
    pub visibility_timeout_secs: u32,
    pub max_receive_count: u32,
    /// An unfiltered raw subscription (`audit`), so a test can see every published event.
    pub audit_queue: bool,
    /// The deliveries queue's retry schedule, which sets its maxReceiveCount (as the stack does).
    pub delivery_schedule: &'static str,
}

impl Default for StackOptions {
    fn default() -> Self {
        Self {
            visibility_timeout_secs: 1,
            max_receive_count: 2,
            audit_queue: true,
            delivery_schedule: "1s",
        }
    }
}

/// The stack's resources, with the same keys and attributes as infra/lib/*.ts.
#[derive(Debug, Clone)]
pub struct Stack {
    pub clients: AwsClients,
    pub cart_table: String,
    pub vendor_table: String,
    pub delivery_table: String,
    pub invoice_index_table: String,
    pub bucket: String,
    pub topic_arn: String,
    pub notify_queue_url: String,
    pub notify_dlq_url: String,
    pub clear_queue_url: String,
    pub clear_dlq_url: String,
    pub delivery_queue_url: String,
    pub delivery_dlq_url: String,
    pub delivery_schedule: Schedule,
    pub audit_queue_url: Option<String>,
    pub state_machine_arn: String,
    pub functions: FunctionArns,
}

impl Stack {
    /// Creates everything; `prefix` keeps names unique when servers are shared.
    pub async fn create(clients: &AwsClients, prefix: &str, options: StackOptions) -> Stack {
        let ddb = &clients.dynamodb;
        let cart_table = format!("{prefix}skipline-cart");
        let vendor_table = format!("{prefix}skipline-vendors");
        let delivery_table = format!("{prefix}skipline-deliveries");
        let invoice_index_table = format!("{prefix}skipline-invoice-index");
        create_table(ddb, &cart_table, "accountid", "vendorid").await;
        create_table(ddb, &vendor_table, "vendorid", "endpointid").await;
        create_table(ddb, &delivery_table, "eventid", "endpointid").await;
        create_table(ddb, &invoice_index_table, "pk", "sk").await;
        ddb.update_time_to_live()
            .table_name(&delivery_table)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name("expiresAt")
                    .enabled(true)
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .expect("enable TTL");

        let bucket = format!("{prefix}skipline-invoices");
        clients
            .s3
            .create_bucket()
            .bucket(&bucket)
            .send()
            .await
            .expect("create bucket");

        let topic_arn = clients
            .sns
            .create_topic()
            .name(format!("{prefix}skipline-order-events"))
            .send()
            .await
            .expect("create topic")
            .topic_arn
            .expect("topic arn");

        let (notify_queue_url, notify_dlq_url) =
            consumer_queue(clients, &topic_arn, &format!("{prefix}notify-vendor"), options).await;
        let (clear_queue_url, clear_dlq_url) =
            consumer_queue(clients, &topic_arn, &format!("{prefix}clear-cart"), options).await;
        let delivery_schedule = Schedule::parse(options.delivery_schedule).expect("a valid schedule");
        let (delivery_queue_url, delivery_dlq_url) =
            delivery_queue(clients, &format!("{prefix}deliveries"), &delivery_schedule).await;
        let audit_queue_url = if options.audit_queue {
            let url = create_queue(clients, &format!("{prefix}audit"), &[]).await;
            let arn = skipline_aws::sqs::queue_arn(&clients.sqs, &url).await.unwrap();
            skipline_aws::sns::subscribe(
                &clients.sns,
                &topic_arn,
                "sqs",
                &arn,
                None,
                FilterScope::MessageAttributes,
                true,
            )
            .await
            .expect("subscribe audit queue");
            Some(url)
        } else {
            None
        };

        let functions = FunctionArns::for_account(REGION, ACCOUNT);
        let definition = substituted_definition(&functions, &topic_arn, &cart_table);
        let state_machine_arn = clients
            .sfn
            .create_state_machine()
            .name(format!("{prefix}skipline-order-flow"))
            .definition(definition)
            .role_arn(format!("arn:aws:iam::{ACCOUNT}:role/skipline-order-flow"))
            .send()
            .await
            .expect("create state machine")
            .state_machine_arn;

        Stack {
            clients: clients.clone(),
            cart_table,
            vendor_table,
            delivery_table,
            invoice_index_table,
            bucket,
            topic_arn,
            notify_queue_url,
            notify_dlq_url,
            clear_queue_url,
            clear_dlq_url,
            delivery_queue_url,
            delivery_dlq_url,
            delivery_schedule,
            audit_queue_url,
            state_machine_arn,
            functions,
        }
    }

    /// The settings a deployed stack's outputs would give.
    pub fn settings(&self) -> Settings {
        let mut s = Settings::default();
        s.set(Setting::CartTable, &self.cart_table)
            .set(Setting::VendorTable, &self.vendor_table)
            .set(Setting::DeliveryTable, &self.delivery_table)
            .set(Setting::InvoiceIndexTable, &self.invoice_index_table)
            .set(Setting::InvoiceBucket, &self.bucket)
            .set(Setting::TopicArn, &self.topic_arn)
            .set(Setting::StateMachineArn, &self.state_machine_arn)
            .set(Setting::NotifyVendorQueueUrl, &self.notify_queue_url)
            .set(Setting::NotifyVendorDlqUrl, &self.notify_dlq_url)
            .set(Setting::ClearCartQueueUrl, &self.clear_queue_url)
            .set(Setting::ClearCartDlqUrl, &self.clear_dlq_url)
            .set(Setting::DeliveryQueueUrl, &self.delivery_queue_url)
            .set(Setting::DeliveryDlqUrl, &self.delivery_dlq_url)
            .set(Setting::Region, REGION);
        s
    }

    pub fn cart(&self) -> DynamoCart {
        DynamoCart::new(self.clients.dynamodb.clone(), &self.cart_table)
    }

    pub fn invoices(&self) -> S3Invoices {
        S3Invoices::new(self.clients.s3.clone(), &self.bucket)
    }

    pub fn invoice_index(&self) -> DynamoInvoiceIndex {
        DynamoInvoiceIndex::new(self.clients.dynamodb.clone(), &self.invoice_index_table)
    }

    pub fn directory(&self) -> DynamoVendorDirectory {
        DynamoVendorDirectory::new(self.clients.dynamodb.clone(), &self.vendor_table)
    }

    /// Subscribes `url` for `vendor` (private addresses allowed), as `vendors subscribe` does.
    pub async fn subscribe(&self, vendor: &str, url: &str) -> skipline_handlers::vendors::Subscribed {
        let new = skipline_handlers::vendors::NewEndpoint::parse(vendor, url, None, true).expect("endpoint");
        skipline_handlers::vendors::subscribe_vendor(&self.directory(), &SystemClock, &new)
            .await
            .expect("subscribe")
    }

    pub fn deliveries(&self) -> DynamoDeliveryLog {
        DynamoDeliveryLog::new(
            self.clients.dynamodb.clone(),
            &self.delivery_table,
            Arc::new(SystemClock),
        )
    }

    /// The vendor's delivery log, newest first (up to 10), only failures when `failed_only`.
    pub async fn attempts(&self, vendorid: &str, failed_only: bool) -> Vec<skipline_handlers::ports::Attempt> {
        use skipline_handlers::ports::{AttemptQuery, DeliveryLog};
        let query = AttemptQuery {
            vendorid: vendorid.into(),
            failed_only,
            limit: 10,
            ..Default::default()
        };
        self.deliveries().attempts(&query).await.expect("delivery log")
    }

    /// Every body on the audit queue (all published events), consumed.
    pub async fn drain_audit(&self) -> Vec<Value> {
        let Some(url) = &self.audit_queue_url else {
            return Vec::new();
        };
        let mut events = Vec::new();
        loop {
            let batch = skipline_aws::sqs::receive(&self.clients.sqs, url, 10, None, 0)
                .await
                .unwrap();
            if batch.is_empty() {
                return events;
            }
            let handles: Vec<String> = batch.iter().filter_map(|m| m.receipt_handle.clone()).collect();
            events.extend(
                batch
                    .iter()
                    .map(|m| serde_json::from_str(m.body.as_deref().unwrap_or("null")).unwrap()),
            );
            skipline_aws::sqs::delete_batch(&self.clients.sqs, url, &handles)
                .await
                .unwrap();
        }
    }
}

/// The repository's one state-machine file with CDK's substitutions applied.
pub fn substituted_definition(functions: &FunctionArns, topic_arn: &str, cart_table: &str) -> String {
    let mut text = std::fs::read_to_string(definition_path()).expect("read order_flow.asl.json");
    for (name, value) in functions.resources(topic_arn, cart_table).substitutions() {
        text = text.replace(&format!("${{{name}}}"), &value);
    }
    text
}

pub fn definition_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("infra/statemachine/order_flow.asl.json")
}

async fn create_table(ddb: &skipline_aws::aws_sdk_dynamodb::Client, name: &str, pk: &str, sk: &str) {
    let attr = |n: &str| {
        AttributeDefinition::builder()
            .attribute_name(n)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .unwrap()
    };
    let key = |n: &str, t: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(n)
            .key_type(t)
            .build()
            .unwrap()
    };
    ddb.create_table()
        .table_name(name)
        .attribute_definitions(attr(pk))
        .attribute_definitions(attr(sk))
        .key_schema(key(pk, KeyType::Hash))
        .key_schema(key(sk, KeyType::Range))
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap_or_else(|e| panic!("create table {name}: {e:?}"));
}

pub async fn create_queue(clients: &AwsClients, name: &str, attributes: &[(QueueAttributeName, String)]) -> String {
    let mut request = clients.sqs.create_queue().queue_name(name);
    for (k, v) in attributes {
        request = request.attributes(k.clone(), v);
    }
    request
        .send()
        .await
        .unwrap_or_else(|e| panic!("create queue {name}: {e:?}"))
        .queue_url
        .expect("queue url")
}

/// A consumer queue with its DLQ, subscribed raw with the OrderCompleted filter (as infra does).
async fn consumer_queue(clients: &AwsClients, topic_arn: &str, name: &str, options: StackOptions) -> (String, String) {
    let dlq_url = create_queue(clients, &format!("{name}-dlq"), &[]).await;
    let dlq_arn = skipline_aws::sqs::queue_arn(&clients.sqs, &dlq_url).await.unwrap();
    let redrive = json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": options.max_receive_count}).to_string();
    let url = create_queue(
        clients,
        name,
        &[
            (
                QueueAttributeName::VisibilityTimeout,
                options.visibility_timeout_secs.to_string(),
            ),
            (QueueAttributeName::RedrivePolicy, redrive),
        ],
    )
    .await;
    let arn = skipline_aws::sqs::queue_arn(&clients.sqs, &url).await.unwrap();
    skipline_aws::sns::subscribe(
        &clients.sns,
        topic_arn,
        "sqs",
        &arn,
        Some(ORDER_COMPLETED_FILTER),
        FilterScope::MessageAttributes,
        true,
    )
    .await
    .expect("subscribe consumer queue");
    (url, dlq_url)
}

/// The deliveries queue with its DLQ, as infra builds it: not subscribed to the topic (the
/// notify-vendor consumer fills it), maxReceiveCount and retention from the schedule.
async fn delivery_queue(clients: &AwsClients, name: &str, schedule: &Schedule) -> (String, String) {
    let dlq_url = create_queue(clients, &format!("{name}-dlq"), &[]).await;
    let dlq_arn = skipline_aws::sqs::queue_arn(&clients.sqs, &dlq_url).await.unwrap();
    let redrive = json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": schedule.max_receive_count()}).to_string();
    let url = create_queue(
        clients,
        name,
        &[
            (QueueAttributeName::VisibilityTimeout, "30".into()),
            (
                QueueAttributeName::MessageRetentionPeriod,
                schedule.retention().as_secs().to_string(),
            ),
            (QueueAttributeName::RedrivePolicy, redrive),
        ],
    )
    .await;
    (url, dlq_url)
}

/// Retry delays are not waited for: the executor's backoff is the engine's concern, tested there.
pub struct NoWaitClock;

#[async_trait]
impl skipline_engine::asl::Clock for NoWaitClock {
    fn now(&self) -> jiff::Timestamp {
        jiff::Timestamp::now()
    }
    async fn sleep(&self, _d: Duration) {
        tokio::task::yield_now().await;
    }
}

/// History kept in memory, with the time each event was recorded.
#[derive(Default)]
pub struct MemoryHistory(Mutex<Vec<(String, HistoryEvent)>>);

impl MemoryHistory {
    pub fn events(&self) -> Vec<(String, HistoryEvent)> {
        self.0.lock().unwrap().clone()
    }
}

#[async_trait]
impl HistorySink for MemoryHistory {
    async fn record(&self, event: &HistoryEvent) -> Result<(), String> {
        self.0
            .lock()
            .unwrap()
            .push((jiff::Timestamp::now().to_string(), event.clone()));
        Ok(())
    }
}

/// Invoice writes for some vendors go to a bucket that does not exist, so they fail with a
/// real S3 error (`NoSuchBucket`) from moto, as an outage would.
pub struct BreakableInvoices {
    healthy: S3Invoices,
    broken: S3Invoices,
    vendors: Mutex<HashSet<String>>,
}

impl BreakableInvoices {
    pub fn new(stack: &Stack) -> Self {
        Self {
            healthy: stack.invoices(),
            broken: S3Invoices::new(stack.clients.s3.clone(), format!("{}-missing", stack.bucket)),
            vendors: Mutex::new(HashSet::new()),
        }
    }

    pub fn break_vendor(&self, vendor: &str) {
        self.vendors.lock().unwrap().insert(vendor.to_string());
    }

    fn store_for(&self, key: &str) -> &S3Invoices {
        let broken = self
            .vendors
            .lock()
            .unwrap()
            .iter()
            .any(|v| key.contains(&format!("/{v}/")));
        if broken { &self.broken } else { &self.healthy }
    }
}

#[async_trait]
impl InvoiceStore for BreakableInvoices {
    async fn put_new(&self, key: &str, body: &[u8]) -> Result<PutBlobOutcome, StoreError> {
        self.store_for(key).put_new(key, body).await
    }
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.store_for(key).get(key).await
    }
}

/// The flow as AWS runs it: the real definition in the in-process executor with the AWS task
/// invoker, and both consumers behind in-process event source mappings.
pub struct Flow {
    pub stack: Stack,
    pub machine: StateMachine,
    pub invoker: FlowInvoker,
    pub invoices: Arc<BreakableInvoices>,
    pub notify_esm: EventSourceMapping,
    pub clear_esm: EventSourceMapping,
    pub deliver_esm: EventSourceMapping,
    cart: DynamoCart,
    directory: DynamoVendorDirectory,
    deliveries: DynamoDeliveryLog,
    webhooks: HttpWebhookClient,
}

/// What one in-process execution did.
#[derive(Clone)]
pub struct Ran {
    pub outcome: Outcome,
    pub history: Vec<(String, HistoryEvent)>,
}

impl Flow {
    pub async fn new(stack: Stack) -> Flow {
        let invoices = Arc::new(BreakableInvoices::new(&stack));
        let invoker = FlowInvoker {
            resources: stack.functions.resources(&stack.topic_arn, &stack.cart_table),
            cart: Arc::new(stack.cart()),
            invoices: invoices.clone(),
            invoice_index: Arc::new(stack.invoice_index()),
            clock: Arc::new(SystemClock),
            integrations: Arc::new(AwsIntegrations {
                dynamodb: stack.clients.dynamodb.clone(),
                sns: stack.clients.sns.clone(),
            }),
        };
        let definition = std::fs::read_to_string(definition_path()).unwrap();
        let machine = StateMachine::load(&definition, &invoker.substitutions(), &invoker)
            .expect("the order flow loads with the AWS invoker");
        let notify_esm = EventSourceMapping::new(stack.clients.sqs.clone(), &stack.notify_queue_url)
            .await
            .unwrap();
        let clear_esm = EventSourceMapping::new(stack.clients.sqs.clone(), &stack.clear_queue_url)
            .await
            .unwrap();
        let deliver_esm = EventSourceMapping::new(stack.clients.sqs.clone(), &stack.delivery_queue_url)
            .await
            .unwrap();
        Flow {
            cart: stack.cart(),
            directory: stack.directory(),
            deliveries: stack.deliveries(),
            // The equivalent of --allow-private-endpoints: the receiver is on 127.0.0.1.
            webhooks: HttpWebhookClient::new(Duration::from_secs(5), true).unwrap(),
            machine,
            invoker,
            invoices,
            notify_esm,
            clear_esm,
            deliver_esm,
            stack,
        }
    }

    /// Runs one execution to its end with `input`, as Step Functions would after StartExecution.
    pub async fn run(&self, name: &str, input: Value) -> Ran {
        let ctx = ExecutionContext {
            execution_id: skipline_aws::sfn::execution_arn(&self.stack.state_machine_arn, name),
            name: name.to_string(),
            start_time: jiff::Timestamp::now(),
            state_machine_id: self.stack.state_machine_arn.clone(),
            state_machine_name: "skipline-order-flow".into(),
            input: input.clone(),
        };
        let sink = MemoryHistory::default();
        let outcome = self
            .machine
            .run(&ctx, Resume::Start { input }, &self.invoker, &NoWaitClock, &sink)
            .await
            .expect("no infrastructure error while running");
        Ran {
            outcome,
            history: sink.events(),
        }
    }

    /// One notify_vendor batch (the fan-out) through the event source mapping.
    pub async fn notify_once(&self) -> PollReport {
        let queue = SqsDeliveryQueue {
            sqs: self.stack.clients.sqs.clone(),
            queue_url: self.stack.delivery_queue_url.clone(),
            log: self.deliveries.clone(),
        };
        let consumer = NotifyVendor {
            directory: &self.directory,
            deliveries: &queue,
        };
        self.notify_esm
            .poll_once(|event| consumer.handle(event))
            .await
            .expect("notify poll")
    }

    /// One deliver_ticket batch through the event source mapping.
    pub async fn deliver_once(&self) -> PollReport {
        let visibility = SqsVisibility {
            sqs: self.stack.clients.sqs.clone(),
            queue_url: self.stack.delivery_queue_url.clone(),
        };
        let events = SnsPublisher {
            sns: self.stack.clients.sns.clone(),
            topic_arn: self.stack.topic_arn.clone(),
        };
        let jitter = || 0.5;
        let consumer = DeliverTickets {
            directory: &self.directory,
            log: &self.deliveries,
            webhooks: &self.webhooks,
            visibility: &visibility,
            events: &events,
            clock: &SystemClock,
            schedule: &self.stack.delivery_schedule,
            disable_after: skipline_handlers::deliver::DEFAULT_DISABLE_AFTER,
            allow_private_endpoints: true,
            jitter: &jitter,
        };
        self.deliver_esm
            .poll_once(|event| consumer.handle(event))
            .await
            .expect("deliver poll")
    }

    /// One clear_cart batch through the event source mapping.
    pub async fn clear_once(&self) -> PollReport {
        let consumer = ClearCart { cart: &self.cart };
        self.clear_esm
            .poll_once(|event| consumer.handle(event))
            .await
            .expect("clear poll")
    }

    /// Polls both consumers until both queues return nothing, or `limit` passes.
    pub async fn drain(&self, limit: Duration) {
        let deadline = Instant::now() + limit;
        loop {
            let n = self.notify_once().await;
            let c = self.clear_once().await;
            let d = self.deliver_once().await;
            if n.received == 0 && c.received == 0 && d.received == 0 || Instant::now() > deadline {
                return;
            }
        }
    }
}

/// A state input as the backend builds it.
pub fn order_input(orderid: &str, account: &str, vendor: &str) -> Value {
    json!({"orderid": orderid, "order": {"accountid": account, "vendorid": vendor, "orderdate": "2026-11-25T08:15:00Z",
        "city": "Sydney", "details": {"coffeetype": "Latte", "coffeesize": "Large", "unitprice": "4.50", "quantity": 2},
        "eventtype": ["new_order"]}})
}

/// A cart item for `order_input`'s order.
pub fn cart_item(account: &str, vendor: &str, orderid: &str) -> skipline_handlers::ports::CartItem {
    let order = skipline_events::parse_order_value(&order_input(orderid, account, vendor)["order"]).unwrap();
    skipline_handlers::ports::CartItem {
        accountid: account.into(),
        vendorid: vendor.into(),
        orderid: orderid.into(),
        total: order.total(),
        order,
        created_at: "2026-11-25T08:15:00Z".into(),
    }
}

/// A free port on 127.0.0.1 that this process has not handed out before.
fn unused_port() -> u16 {
    static GIVEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    let mut given = GIVEN.lock().unwrap_or_else(|p| p.into_inner());
    loop {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port on 127.0.0.1");
        if !given.contains(&port) {
            given.push(port);
            return port;
        }
    }
}
