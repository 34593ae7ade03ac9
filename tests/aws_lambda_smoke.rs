//! The built Lambda bootstraps, run as Lambda runs them: a child process whose
//! `AWS_LAMBDA_RUNTIME_API` points at a minimal Runtime API served here, talking to moto.
//!
//! The binaries come from `cargo lambda build --profile lambda -p skipline-aws` and are looked up in
//! `$SKIPLINE_LAMBDA_DIR` (default `<repo>/target/lambda`); the test fails if they are missing.

#[path = "support/moto.rs"]
mod moto;

#[path = "support/notebook.rs"]
mod notebook;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use moto::{Flow, Moto, Stack, StackOptions, order_input};
use serde_json::{Value, json};
use skipline_engine::asl::Outcome;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Mutex, mpsc};

const API: &str = "/2018-06-01/runtime";

#[derive(Debug)]
enum Reply {
    Response {
        id: String,
        body: Value,
    },
    Error {
        id: String,
        error_type: Option<String>,
        body: Value,
    },
    InitError {
        body: Value,
    },
}

#[derive(Clone)]
struct RuntimeApi {
    events: Arc<Mutex<mpsc::UnboundedReceiver<(String, Value)>>>,
    replies: mpsc::UnboundedSender<Reply>,
}

/// Hands out the next queued event; with none queued it waits, as the real API long-polls.
async fn next(State(api): State<RuntimeApi>) -> Response {
    let Some((id, event)) = api.events.lock().await.recv().await else {
        return std::future::pending::<Response>().await;
    };
    let deadline = (jiff::Timestamp::now().as_millisecond() + 30_000).to_string();
    let mut headers = HeaderMap::new();
    headers.insert("Lambda-Runtime-Aws-Request-Id", id.parse().unwrap());
    headers.insert("Lambda-Runtime-Deadline-Ms", deadline.parse().unwrap());
    headers.insert(
        "Lambda-Runtime-Invoked-Function-Arn",
        "arn:aws:lambda:us-east-1:123456789012:function:smoke".parse().unwrap(),
    );
    headers.insert(
        "Lambda-Runtime-Trace-Id",
        "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1".parse().unwrap(),
    );
    headers.insert("Content-Type", "application/json".parse().unwrap());
    (StatusCode::OK, headers, event.to_string()).into_response()
}

async fn response(State(api): State<RuntimeApi>, Path(id): Path<String>, body: String) -> StatusCode {
    let body = serde_json::from_str(&body).unwrap_or(Value::String(body));
    let _ = api.replies.send(Reply::Response { id, body });
    StatusCode::ACCEPTED
}

async fn error(State(api): State<RuntimeApi>, Path(id): Path<String>, headers: HeaderMap, body: String) -> StatusCode {
    let error_type = headers
        .get("Lambda-Runtime-Function-Error-Type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = serde_json::from_str(&body).unwrap_or(Value::String(body));
    let _ = api.replies.send(Reply::Error { id, error_type, body });
    StatusCode::ACCEPTED
}

async fn init_error(State(api): State<RuntimeApi>, body: String) -> StatusCode {
    let body = serde_json::from_str(&body).unwrap_or(Value::String(body));
    let _ = api.replies.send(Reply::InitError { body });
    StatusCode::ACCEPTED
}

/// A Runtime API on 127.0.0.1 and a bootstrap process using it; the process is killed on drop.
struct Function {
    events: mpsc::UnboundedSender<(String, Value)>,
    replies: mpsc::UnboundedReceiver<Reply>,
    child: Child,
    next_id: u32,
}

impl Drop for Function {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn bootstrap(bin: &str) -> PathBuf {
    let dir = std::env::var_os("SKIPLINE_LAMBDA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/lambda"));
    let path = dir.join(bin).join("bootstrap");
    assert!(
        path.exists(),
        "{} not found: build the Lambdas first with\n  cargo lambda build --profile lambda -p skipline-aws --x86-64\n\
         (pip install cargo-lambda==1.9.2), or set SKIPLINE_LAMBDA_DIR to the directory holding <bin>/bootstrap",
        path.display()
    );
    path
}

impl Function {
    async fn start(bin: &str, moto: &Moto, env: &[(&str, &str)]) -> Function {
        let (event_tx, event_rx) = mpsc::unbounded_channel();
        let (reply_tx, reply_rx) = mpsc::unbounded_channel();
        let api = RuntimeApi {
            events: Arc::new(Mutex::new(event_rx)),
            replies: reply_tx,
        };
        let app = Router::new()
            .route(&format!("{API}/invocation/next"), get(next))
            .route(&format!("{API}/invocation/{{id}}/response"), post(response))
            .route(&format!("{API}/invocation/{{id}}/error"), post(error))
            .route(&format!("{API}/init/error"), post(init_error))
            .with_state(api);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });

        // A clean environment: dummy credentials and moto's endpoint only, never a real account.
        let mut command = Command::new(bootstrap(bin));
        command
            .env_clear()
            .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", bin)
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{bin}"))
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "smoke")
            .env("AWS_REGION", moto::REGION)
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_ENDPOINT_URL", &moto.endpoint)
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        for (k, v) in env {
            command.env(k, v);
        }
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start the {bin} bootstrap: {e}"));
        Function {
            events: event_tx,
            replies: reply_rx,
            child,
            next_id: 0,
        }
    }

    async fn invoke(&mut self, event: Value) -> Reply {
        self.next_id += 1;
        let id = format!("req-{}", self.next_id);
        self.events.send((id.clone(), event)).unwrap();
        let reply = tokio::time::timeout(Duration::from_secs(30), self.replies.recv())
            .await
            .unwrap_or_else(|_| panic!("no reply to {id} within 30 s"))
            .expect("runtime API closed");
        match &reply {
            Reply::Response { id: got, .. } | Reply::Error { id: got, .. } => assert_eq!(got, &id),
            Reply::InitError { body } => panic!("the function failed to initialise: {body}"),
        }
        reply
    }
}

/// An API Gateway REST proxy event, as the stage `prod` delivers it to a Lambda integration.
fn proxy_request(resource: &str, path: &str, query: Value, path_parameters: Value) -> Value {
    json!({"resource": resource, "path": path, "httpMethod": "GET", "headers": {}, "multiValueHeaders": {},
        "queryStringParameters": query, "multiValueQueryStringParameters": {}, "pathParameters": path_parameters,
        "stageVariables": null, "requestContext": {"accountId": "123456789012", "resourceId": "r", "stage": "prod",
        "requestId": "x", "identity": {}, "resourcePath": resource, "httpMethod": "GET", "apiId": "api"},
        "body": null, "isBase64Encoded": false})
}

/// `GET /invoice?objectKey=KEY`.
fn invoice_request(key: &str) -> Value {
    proxy_request("/invoice", "/invoice", json!({ "objectKey": key }), Value::Null)
}

fn get_order_request(query: Value) -> Value {
    proxy_request("/order", "/order", query, Value::Null)
}

/// The status and JSON body of a proxy response.
fn answer(reply: Reply) -> (i64, Value) {
    let Reply::Response { body, .. } = reply else {
        panic!("a proxy integration answers with a response, got {reply:?}")
    };
    let status = body["statusCode"].as_i64().unwrap_or_default();
    let json = serde_json::from_str(body["body"].as_str().unwrap_or_default()).unwrap_or(Value::Null);
    (status, json)
}

/// A moto server and the stack's resources on it, without the audit queue.
async fn stack() -> (Moto, Stack) {
    let moto = Moto::start().await;
    let options = StackOptions {
        audit_queue: false,
        ..Default::default()
    };
    let stack = Stack::create(&moto.clients(), "", options).await;
    (moto, stack)
}

#[tokio::test]
async fn put_item_and_get_item_bootstraps_answer_through_the_runtime_api() {
    let (moto, stack) = stack().await;
    let table = [("CART_TABLE", stack.cart_table.as_str())];

    let mut put_item = Function::start("put_item", &moto, &table).await;
    let Reply::Response { body, .. } = put_item.invoke(order_input("o-1", "a0", "v0")).await else {
        panic!("put_item should succeed")
    };
    assert_eq!(body["orderid"], "o-1");
    assert_eq!(body["total"], "9.00");
    // Another order for the same slot: the error type is the name the state machine catches.
    let Reply::Error { error_type, body, .. } = put_item.invoke(order_input("o-2", "a0", "v0")).await else {
        panic!("put_item should refuse a second active order")
    };
    assert_eq!(body["errorType"], "ActiveOrderExists", "{body}");
    assert!(
        body["errorMessage"].as_str().unwrap().contains("active order o-1"),
        "{body}"
    );
    // The header only says "unhandled"; Step Functions takes the error name from the body.
    assert!(error_type.is_some(), "the error header is set");

    let mut get_item = Function::start("get_item", &moto, &table).await;
    let (status, item) = answer(
        get_item
            .invoke(get_order_request(json!({"accountid": "a0", "vendorid": "v0"})))
            .await,
    );
    assert_eq!(status, 200, "{item}");
    assert_eq!(item["orderid"], "o-1");
    let (status, error) = answer(get_item.invoke(get_order_request(json!({"accountid": "a0"}))).await);
    assert_eq!(status, 400);
    assert_eq!(error["error"]["code"], "BadRequest");
}

/// The notebook's requests, answered by the real `get_item` and `get_object` bootstraps over
/// the flow's results on moto, with the same statuses and bodies as `tests/seed_client.rs` gets
/// from `skipline serve`. (On a deployed stack API Gateway also requires SigV4; see the README.)
#[tokio::test]
async fn the_notebooks_requests_get_the_same_answers_from_the_lambdas() {
    let (moto, stack) = stack().await;
    let flow = Flow::new(stack.clone()).await;
    let now = jiff::Zoned::now().datetime();
    let orders = notebook::orders(now);
    let mut ids = Vec::new();
    for (n, order) in orders.iter().enumerate() {
        // What API Gateway's request template starts: {"order": <body.order>, "orderid": <id>}.
        let id = format!("notebook-{n}");
        let ran = flow
            .run(&id, json!({"order": order.body["order"], "orderid": id}))
            .await;
        assert!(
            matches!(ran.outcome, Outcome::Succeeded { .. }),
            "{} {}: {:?}",
            order.accountid,
            order.size,
            ran.outcome
        );
        ids.push(id);
    }
    flow.drain(Duration::from_secs(30)).await;

    let env = [
        ("CART_TABLE", stack.cart_table.as_str()),
        ("INVOICE_BUCKET", stack.bucket.as_str()),
        ("INVOICE_INDEX_TABLE", stack.invoice_index_table.as_str()),
    ];
    let mut get_item = Function::start("get_item", &moto, &env).await;
    let (status, body) = answer(
        get_item
            .invoke(get_order_request(json!({"accountid": "a0", "vendorid": "v0"})))
            .await,
    );
    assert_eq!((status, &body["error"]["code"]), (404, &json!("NotFound")), "{body}");

    let mut get_object = Function::start("get_object", &moto, &env).await;
    let key = notebook::invoice_key(now, "a0");
    let (status, invoice) = answer(get_object.invoke(invoice_request(&key)).await);
    assert_eq!(status, 200, "{key}: {invoice}");
    assert_eq!(invoice["orderid"], ids[0].as_str());
    assert_eq!(invoice["total"], notebook::total(&orders[0]).as_str());

    // GET /orders/{orderid}/invoice needs only the order id here too.
    let (status, by_order) = answer(
        get_object
            .invoke(proxy_request(
                "/orders/{orderid}/invoice",
                &format!("/orders/{}/invoice", ids[0]),
                Value::Null,
                json!({"orderid": ids[0]}),
            ))
            .await,
    );
    assert_eq!((status, &by_order), (200, &invoice));

    let key = notebook::xlarge_invoice_key(now, &orders);
    let (status, invoice) = answer(get_object.invoke(invoice_request(&key)).await);
    notebook::assert_xlarge_line(status, &invoice);

    let (status, e) = answer(get_object.invoke(invoice_request("2026-12-a0")).await);
    assert_eq!(status, 400, "{e}");
    let message = e["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("invoices/{accountid}") && message.contains("{year}/{month}/{accountid}"),
        "{message}"
    );
    let (status, e) = answer(get_object.invoke(invoice_request("1999/1/a0")).await);
    assert_eq!(status, 404, "{e}");
}

/// The two delivery bootstraps on moto: `notify_vendor` fans a completion out onto the
/// deliveries queue, and `deliver_ticket` tries it, logs the attempt and hides the message for
/// the schedule's delay through ChangeMessageVisibility. On AWS the SSRF guard is always on, so
/// the receiver on 127.0.0.1 is refused: a failed attempt, which is what this checks.
#[tokio::test]
async fn notify_vendor_fans_out_and_deliver_ticket_schedules_the_retry() {
    use skipline_aws::esm::EventSourceMapping;
    use skipline_handlers::ports::AttemptOutcome;
    let (moto, stack) = stack().await;
    let flow = Flow::new(stack.clone()).await;
    stack.subscribe("v0", "http://127.0.0.1:9/hook").await;
    assert!(matches!(
        flow.run("o-1", order_input("o-1", "a0", "v0")).await.outcome,
        Outcome::Succeeded { .. }
    ));
    let sqs = &stack.clients.sqs;
    let batch = |url: String| {
        let sqs = sqs.clone();
        async move {
            let esm = EventSourceMapping::new(sqs.clone(), &url).await.unwrap();
            let messages = skipline_aws::sqs::receive(&sqs, &url, 10, None, 1).await.unwrap();
            assert_eq!(messages.len(), 1, "{url}");
            serde_json::to_value(esm.event(&messages)).unwrap()
        }
    };

    let env = [
        ("VENDOR_TABLE", stack.vendor_table.as_str()),
        ("DELIVERY_TABLE", stack.delivery_table.as_str()),
        ("DELIVERY_QUEUE_URL", stack.delivery_queue_url.as_str()),
        ("TOPIC_ARN", stack.topic_arn.as_str()),
        ("DELIVERY_SCHEDULE", "2s"),
    ];
    let mut notify = Function::start("notify_vendor", &moto, &env).await;
    let Reply::Response { body, .. } = notify.invoke(batch(stack.notify_queue_url.clone()).await).await else {
        panic!("notify_vendor answers with a batch response")
    };
    assert_eq!(body["batchItemFailures"], json!([]), "{body}");

    let event = batch(stack.delivery_queue_url.clone()).await;
    let id = event["Records"][0]["messageId"].clone();
    let mut deliver = Function::start("deliver_ticket", &moto, &env).await;
    let Reply::Response { body, .. } = deliver.invoke(event).await else {
        panic!("deliver_ticket answers with a batch response")
    };
    assert_eq!(body["batchItemFailures"], json!([{"itemIdentifier": id}]), "{body}");
    let log = stack.attempts("v0", false).await;
    assert_eq!((log.len(), log[0].outcome), (1, AttemptOutcome::Failed), "{log:?}");
    assert!(log[0].error.as_deref().unwrap_or_default().contains("https"), "{log:?}");
    // Hidden for the schedule's 2 s (±10%, rounded up to 3 s at most), not the queue's 30 s.
    let retried = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let m = skipline_aws::sqs::receive(sqs, &stack.delivery_queue_url, 1, Some(0), 1)
                .await
                .unwrap();
            if !m.is_empty() {
                return m;
            }
        }
    })
    .await
    .expect("the delivery is visible again after the schedule's delay");
    assert_eq!(retried[0].message_id.as_deref(), id.as_str());
}
