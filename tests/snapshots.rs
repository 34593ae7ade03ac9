//! Snapshot tests (insta): the user-visible output of the CLI and of the local HTTP API, pinned
//! so that moving code in `src/cli/`, `src/api/` and `src/backend/` cannot change what a user
//! sees without a snapshot changing too.
//!
//! Run-specific values (timestamps, UUIDs, endpoint ids, generated secrets, temp paths, ports,
//! timeline offsets) are replaced by stable placeholders; everything else is kept verbatim.
//! Snapshots live in `tests/snapshots/`. To regenerate after an intended change:
//! `INSTA_UPDATE=always cargo test --test snapshots`, then review every changed `.snap` file.
//! With `CI=true` a missing or changed snapshot fails the test instead of being written.
//!
//! Everything runs on 127.0.0.1 only; vendor URLs are either `https://shop.example.com/…`
//! (subscribed but never delivered to) or `http://127.0.0.1:1/…`, which refuses connections.

mod support;

use serde_json::{Value, json};
use skipline::api::{ApiState, serve};
use skipline::backend::local::LocalBackend;
use skipline::local::runtime::{Overrides, Runtime, RuntimeConfig};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_skipline");

/// The secret tests give (16+ characters). It ends in letters that are not hex, so its redacted
/// form `…ixed` can never be mistaken for the tail of a generated (hex) secret.
const SECRET: &str = "whsec_c25hcHNob3QtdGVzdHMtZml4ZWQta2V5";

/// Filters for values that differ from run to run. Each placeholder keeps the width of what it
/// replaces where the output is column-aligned (endpoint ids, timeline offsets).
fn settings() -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    // RFC 3339 instants: started/stopped/created/sent/occurred times, `order place`'s orderdate.
    s.add_filter(
        r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})",
        "[TIMESTAMP]",
    );
    s.add_filter(
        r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
        "[UUID]",
    );
    s.add_filter(r"\bep_[0-9a-f]{16}\b", "ep_XXXXXXXXXXXXXXXX");
    // Generated secrets: 32 bytes in base64 (43 characters and one `=`).
    s.add_filter(r"\bwhsec_[A-Za-z0-9+/]{43}=", "whsec_[GENERATED]");
    // The timeline's offsets from the execution start (`{:>+8.3}s`, after two spaces).
    s.add_filter(r"(?m)^ +\+\d+\.\d{3}s  ", "   +N.NNNs  ");
    // Delivery latencies.
    s.add_filter(r" +\d+ ms\b", " N ms");
    s.add_filter(r#""latencyMs": \d+"#, r#""latencyMs": N"#);
    s
}

/// Literal replacements for values a test knows (temp paths, a generated secret's tail).
#[derive(Default)]
struct Scrub(Vec<(String, String)>);

impl Scrub {
    fn add(&mut self, from: impl Into<String>, to: &str) {
        let from = from.into();
        if !from.is_empty() {
            self.0.push((from, to.to_string()));
        }
    }
    fn apply(&self, text: &str) -> String {
        self.0
            .iter()
            .fold(text.to_string(), |t, (from, to)| t.replace(from, to))
    }
}

// ---------------------------------------------------------------------------------------------
// The CLI
// ---------------------------------------------------------------------------------------------

/// Runs `skipline --data-dir DATA ARGS...` with no stdin and a clean environment, bounded to
/// 60 s.
fn skipline(data: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.arg("--data-dir")
        .arg(data)
        .args(args)
        .env_remove("RUST_LOG")
        .env_remove("SKIPLINE_DATA_DIR")
        .env_remove("SKIPLINE_BACKEND")
        .env_remove("SKIPLINE_STACK_OUTPUTS")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn skipline");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match child.try_wait().expect("wait for skipline") {
            Some(_) => return child.wait_with_output().expect("collect output"),
            None if Instant::now() > deadline => {
                let _ = child.kill();
                panic!("skipline {args:?} did not finish within 60 s");
            }
            None => std::thread::sleep(Duration::from_millis(5)),
        }
    }
}

/// What a user sees: the command, its exit code, stdout and stderr.
fn transcript(args: &[&str], o: &Output) -> String {
    let shown: Vec<String> = args
        .iter()
        .map(|a| {
            if a.is_empty() || a.contains(|c: char| c.is_whitespace() || "\"{}[]<>|&;*?$'".contains(c)) {
                format!("'{a}'")
            } else {
                a.to_string()
            }
        })
        .collect();
    format!(
        "$ skipline --data-dir [DATA] {}\nexit: {}\n--- stdout\n{}--- stderr\n{}",
        shown.join(" "),
        o.status.code().map_or("signal".to_string(), |c| c.to_string()),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr),
    )
}

/// A data dir for CLI runs, and the literal values to scrub from their output.
struct CliEnv {
    dir: tempfile::TempDir,
    data: PathBuf,
    scrub: Scrub,
}

impl CliEnv {
    fn new() -> CliEnv {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let mut scrub = Scrub::default();
        scrub.add(data.display().to_string(), "[DATA]");
        scrub.add(dir.path().display().to_string(), "[TMP]");
        CliEnv { dir, data, scrub }
    }

    /// Runs the command and returns its scrubbed transcript.
    fn run(&self, args: &[&str]) -> String {
        self.scrub.apply(&transcript(args, &skipline(&self.data, args)))
    }

    /// Snapshots the transcript of each command under its name, in order.
    fn snap_runs(&self, cases: &[(&str, &[&str])]) {
        for (name, args) in cases {
            snap(name, &self.run(args));
        }
    }

    /// Runs the command with `--json` and parses stdout.
    fn json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.push("--json");
        let o = skipline(&self.data, &all);
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{all:?}: {e}: {}", transcript(&all, &o)))
    }

    /// Polls `check` on the command's `--json` output until it holds (up to 30 s).
    fn wait_for(&self, args: &[&str], what: &str, check: impl Fn(&Value) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let v = self.json(args);
            if check(&v) {
                return;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}; last: {v:#}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// `skipline serve --bind 127.0.0.1:0 ARGS...` as a child process; killed on drop.
struct Serve {
    child: Child,
    banner: String,
}

impl Serve {
    fn start(data: &Path, args: &[&str], log: &Path) -> Serve {
        let out = std::fs::File::create(log).unwrap();
        let err = out.try_clone().unwrap();
        let mut child = Command::new(BIN)
            .arg("--data-dir")
            .arg(data)
            .args(["serve", "--bind", "127.0.0.1:0"])
            .args(args)
            .env_remove("RUST_LOG")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err))
            .spawn()
            .expect("spawn skipline serve");
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let text = std::fs::read_to_string(log).unwrap_or_default();
            if let Some(line) = text.lines().find(|l| l.starts_with("skipline listening on ")) {
                return Serve {
                    child,
                    banner: format!("{line}\n"),
                };
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!("skipline serve exited with {status} before listening:\n{text}");
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("skipline serve did not start within 60 s:\n{text}");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn snap(name: &str, text: &str) {
    settings().bind(|| insta::assert_snapshot!(name, text));
}

/// Commands that need no data dir, or refuse one that is missing: nothing is ever created.
#[test]
fn cli_without_a_data_dir() {
    let env = CliEnv::new();
    let attrs =
        r#"{"total":{"DataType":"Number","StringValue":"12.50"},"city":{"DataType":"String","StringValue":"Sydney"}}"#;
    // `topic test-filter --policy POLICY FLAG VALUE`, FLAG being --attributes or --body.
    let test_filter = |policy, flag, value| ["topic", "test-filter", "--policy", policy, flag, value];
    let cases: &[(&str, &[&str])] = &[
        (
            "cli_topic_test_filter_match",
            &test_filter(r#"{"total":[{"numeric":[">=",10]}]}"#, "--attributes", attrs),
        ),
        (
            "cli_topic_test_filter_no_match",
            &test_filter(r#"{"city":["Perth"]}"#, "--attributes", attrs),
        ),
        (
            "cli_topic_test_filter_invalid_policy",
            &test_filter(r#"{"city":"Perth"}"#, "--attributes", attrs),
        ),
        (
            "cli_topic_test_filter_invalid_attributes",
            &test_filter(
                r#"{"a":["b"]}"#,
                "--attributes",
                r#"{"a":{"DataType":"Bogus","StringValue":"b"}}"#,
            ),
        ),
        (
            "cli_topic_test_filter_body_match",
            &test_filter(r#"{"order.city":["Perth"]}"#, "--body", r#"{"order":{"city":"Perth"}}"#),
        ),
        (
            "cli_topic_test_filter_body_not_an_object",
            &test_filter(r#"{"a":["b"]}"#, "--body", "not json"),
        ),
        ("cli_missing_data_dir_order_status", &["order", "status", "x"]),
        ("cli_missing_data_dir_queues_list", &["queues", "list"]),
        (
            "cli_vendors_subscribe_private_address",
            &[
                "vendors",
                "subscribe",
                "--vendor-id",
                "v0",
                "--endpoint",
                "https://192.168.1.10/hook",
            ],
        ),
    ];
    env.snap_runs(cases);
    assert!(!env.data.exists(), "none of these commands may create the data dir");
}

/// The embedded backend end to end through the CLI: orders placed before and while `serve`
/// runs, their status and timeline, vendors, the topic, and a dead-lettered ticket.
#[test]
fn cli_on_the_embedded_backend() {
    let env = CliEnv::new();
    let d = &env.data;

    // Queues for `topic subscribe`; the CLI has no command to create one.
    {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            let runtime = Runtime::open(RuntimeConfig::new(d), Overrides::default())
                .await
                .unwrap();
            for queue in ["some-queue", "other-queue"] {
                runtime.queues.create(queue, &Default::default()).await.unwrap();
            }
        });
    }

    // Vendor v0's only endpoint refuses connections, so its ticket is dead-lettered.
    snap(
        "cli_vendors_subscribe_with_secret",
        &env.run(&[
            "vendors",
            "subscribe",
            "--vendor-id",
            "v0",
            "--endpoint",
            "http://127.0.0.1:1/hook",
            "--allow-private-endpoints",
            "--secret",
            SECRET,
        ]),
    );

    // No `serve` yet: the order is accepted and waits, with a note.
    let place = [
        "order",
        "place",
        "--account",
        "a0",
        "--vendor",
        "v0",
        "--coffee",
        "Flat white",
        "--size",
        "Large",
        "--price",
        "4.50",
        "--idempotency-key",
        "order-1",
    ];
    snap("cli_order_place_without_serve", &env.run(&place));
    snap("cli_order_status_running", &env.run(&["order", "status", "order-1"]));
    snap(
        "cli_order_status_running_json",
        &env.run(&["order", "status", "order-1", "--json"]),
    );
    // The same flags again: `order place` stamps orderdate with the current time, so the body
    // differs and the key is refused (current behaviour, pinned as it is).
    snap("cli_order_place_same_flags_again", &env.run(&place));

    let body = json!({"order": {"accountid": "a1", "vendorid": "v1", "orderdate": "2026-11-25 08:15:00",
        "city": "Melbourne", "details": {"coffeetype": "Cappuccino", "coffeesize": "Medium",
        "unitprice": "3.5", "quantity": 2}, "eventtype": ["new_order"]}})
    .to_string();

    // Invalid input (exit 2) and not found (exit 3), before anything runs.
    let invalid: &[(&str, &[&str])] = &[
        ("cli_order_place_no_arguments", &["order", "place"]),
        (
            "cli_order_place_invalid_order",
            &[
                "order",
                "place",
                "--account",
                "a b",
                "--vendor",
                "v0",
                "--coffee",
                "Latte",
                "--size",
                "Huge",
                "--price",
                "0",
                "--quantity",
                "99",
            ],
        ),
        (
            "cli_order_place_invalid_idempotency_key",
            &["order", "place", "--body", &body, "--idempotency-key", "bad key"],
        ),
        ("cli_order_status_invalid_id", &["order", "status", "bad/id"]),
        ("cli_order_status_not_found", &["order", "status", "no-such-order"]),
        (
            "cli_executions_show_not_found",
            &["executions", "show", "no-such-order"],
        ),
        ("cli_queues_peek_no_such_queue", &["queues", "peek", "no-such-queue"]),
        (
            "cli_vendors_unsubscribe_not_found",
            &[
                "vendors",
                "unsubscribe",
                "--vendor-id",
                "v0",
                "--endpoint-id",
                "ep_nosuchendpoint",
            ],
        ),
        (
            "cli_vendors_subscribe_plain_http",
            &[
                "vendors",
                "subscribe",
                "--vendor-id",
                "v2",
                "--endpoint",
                "http://shop.example.com/hook",
            ],
        ),
        (
            "cli_topic_subscribe_no_such_queue",
            &["topic", "subscribe", "--protocol", "sqs", "--endpoint", "no-such-queue"],
        ),
        (
            "cli_topic_subscribe_invalid_queue_name",
            &["topic", "subscribe", "--protocol", "sqs", "--endpoint", "bad name!"],
        ),
    ];
    for (name, args) in invalid {
        snap(name, &env.run(args));
    }

    // Now `serve`: order-1 resumes; a failed delivery is dead-lettered after its two attempts.
    let log = env.dir.path().join("serve.log");
    let serve = Serve::start(
        d,
        &[
            "--allow-private-endpoints",
            "--max-receive-count",
            "1",
            "--visibility-timeout",
            "200ms",
            "--delivery-schedule",
            "200ms",
        ],
        &log,
    );
    let mut banner = env.scrub.apply(&serve.banner);
    if let Some(port) = banner
        .split("http://127.0.0.1:")
        .nth(1)
        .and_then(|r| r.split(' ').next())
    {
        banner = banner.replace(&format!("127.0.0.1:{port} "), "127.0.0.1:[PORT] ");
    }
    snap("cli_serve_banner", &banner);
    env.wait_for(&["order", "status", "order-1"], "order-1 to finish", |v| {
        v["status"] != "RUNNING"
    });

    let place2 = ["order", "place", "--body", &body, "--idempotency-key", "order-2"];
    let mut wait = place2.to_vec();
    wait.push("--wait");
    snap("cli_order_place_wait", &env.run(&wait));
    snap("cli_order_place_same_body_again", &env.run(&place2));
    let other = body.replace("Cappuccino", "Mocha");
    snap(
        "cli_order_place_key_reused_for_another_order",
        &env.run(&["order", "place", "--body", &other, "--idempotency-key", "order-2"]),
    );

    // Settled: every consumer queue empty, order-1's ticket in the DLQ.
    env.wait_for(&["queues", "list"], "the queues to settle", |v| {
        v.as_array().is_some_and(|qs| {
            qs.iter().all(|q| {
                let n = q["visible"].as_u64().unwrap_or(0)
                    + q["inFlight"].as_u64().unwrap_or(0)
                    + q["delayed"].as_u64().unwrap_or(0);
                n == u64::from(q["name"] == "deliveries-dlq")
            })
        })
    });

    snap("cli_order_status_succeeded", &env.run(&["order", "status", "order-1"]));
    snap(
        "cli_order_status_succeeded_json",
        &env.run(&["order", "status", "order-1", "--json"]),
    );
    snap(
        "cli_order_status_history",
        &env.run(&["order", "status", "order-1", "--history"]),
    );
    snap("cli_executions_list", &env.run(&["executions", "list"]));
    snap(
        "cli_executions_list_failed_none",
        &env.run(&["executions", "list", "--status", "FAILED"]),
    );
    snap("cli_executions_show", &env.run(&["executions", "show", "order-2"]));

    snap("cli_queues_list", &env.run(&["queues", "list"]));
    snap("cli_queues_list_json", &env.run(&["queues", "list", "--json"]));
    snap(
        "cli_queues_peek_dlq",
        &env.run(&["queues", "peek", "deliveries-dlq", "--max", "5"]),
    );
    snap("cli_queues_peek_empty", &env.run(&["queues", "peek", "clear-cart-dlq"]));
    snap(
        "cli_queues_replay_dry_run",
        &env.run(&["queues", "replay", "--from", "deliveries-dlq", "--dry-run"]),
    );
    // The delivery log of the dead-lettered ticket, and what can be done about it.
    env.snap_runs(&[
        ("cli_vendors_deliveries", &["vendors", "deliveries", "--vendor", "v0"]),
        (
            "cli_vendors_deliveries_json",
            &["vendors", "deliveries", "--vendor", "v0", "--failed", "--json"],
        ),
        (
            "cli_vendors_deliveries_none",
            &[
                "vendors",
                "deliveries",
                "--vendor",
                "v0",
                "--since",
                "2020-01-01T00:00:00Z",
                "--until",
                "2020-01-02T00:00:00Z",
            ],
        ),
        (
            "cli_vendors_deliveries_bad_since",
            &["vendors", "deliveries", "--vendor", "v0", "--since", "yesterday"],
        ),
        (
            "cli_vendors_redeliver_unknown_event",
            &[
                "vendors",
                "redeliver",
                "--vendor",
                "v0",
                "--event",
                "nope.OrderCompleted",
            ],
        ),
        (
            "cli_vendors_redeliver_needs_event_or_since",
            &["vendors", "redeliver", "--vendor", "v0"],
        ),
        (
            "cli_vendors_enable_not_found",
            &["vendors", "enable", "--vendor", "v0", "--endpoint", "ep_missing"],
        ),
    ]);

    // The topic. No order is placed after this, so nothing reaches these queues.
    env.snap_runs(&[
        (
            "cli_topic_subscribe_sqs",
            &["topic", "subscribe", "--protocol", "sqs", "--endpoint", "some-queue"],
        ),
        (
            "cli_topic_subscribe_sqs_duplicate",
            &["topic", "subscribe", "--protocol", "sqs", "--endpoint", "some-queue"],
        ),
        (
            "cli_topic_subscribe_sqs_filtered_raw",
            &[
                "topic",
                "subscribe",
                "--protocol",
                "sqs",
                "--endpoint",
                "other-queue",
                "--filter-policy",
                r#"{"city":["Sydney"]}"#,
                "--raw",
            ],
        ),
        ("cli_topic_list_subscriptions", &["topic", "list-subscriptions"]),
    ]);

    // Vendors: a generated secret is shown once, then only its last four characters.
    let subscribe = |vendor| {
        [
            "vendors",
            "subscribe",
            "--vendor-id",
            vendor,
            "--endpoint",
            "https://shop.example.com/hook",
        ]
    };
    let generated = env.json(&subscribe("v2"));
    let mut scrub = Scrub::default();
    let secret = generated["secret"].as_str().unwrap();
    scrub.add(format!("…{}", &secret[secret.len() - 4..]), "…[GENERATED-TAIL]");
    env.snap_runs(&[
        ("cli_vendors_subscribe_generated_secret", &subscribe("v3")),
        ("cli_vendors_subscribe_duplicate", &subscribe("v2")),
    ]);
    let list = env.json(&["vendors", "list"]);
    for e in list.as_array().unwrap() {
        if e["vendorid"] == "v3" {
            let tail = e["secret"].as_str().unwrap();
            scrub.add(tail, "…[GENERATED-TAIL]");
        }
    }
    snap("cli_vendors_list", &scrub.apply(&env.run(&["vendors", "list"])));
    snap(
        "cli_vendors_list_one_vendor",
        &env.run(&["vendors", "list", "--vendor-id", "v0"]),
    );
    let id = generated["endpointid"].as_str().unwrap();
    let unsubscribe = ["vendors", "unsubscribe", "--vendor-id", "v2", "--endpoint-id", id];
    snap("cli_vendors_unsubscribe", &env.run(&unsubscribe));
    snap("cli_vendors_unsubscribe_again", &env.run(&unsubscribe));
    drop(serve);
}

// ---------------------------------------------------------------------------------------------
// The local HTTP API
// ---------------------------------------------------------------------------------------------

struct Api {
    dir: tempfile::TempDir,
    _runtime: Arc<Runtime>,
    base: String,
    http: reqwest::Client,
}

/// The in-process API on a random port, with the consumers paused so that cart items stay
/// (deterministic `GET /order` and rejections) and nothing is delivered.
async fn api() -> Api {
    let dir = tempfile::tempdir().unwrap();
    let mut config = RuntimeConfig::new(dir.path().join("data"));
    config.apply_queue_settings = true;
    let runtime = Runtime::open(config, Overrides::default()).await.unwrap();
    runtime.consumers_paused.store(true, Ordering::SeqCst);
    runtime.start_background();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let state = ApiState {
        backend: Arc::new(LocalBackend::new(runtime.clone())),
        allow_private_endpoints: false,
        auth: Default::default(),
        limits: None,
    };
    tokio::spawn(serve(listener, state, std::future::pending()));
    Api {
        dir,
        _runtime: runtime,
        base,
        http: reqwest::Client::new(),
    }
}

/// The response headers a client relies on; others (date, content-length) are left out.
const HEADERS: &[&str] = &["content-type", "location", "allow"];

impl Api {
    /// Sends a request and renders it with the status, the headers of interest, and the body
    /// (pretty JSON when it is JSON).
    async fn call(&self, method: &str, path: &str, headers: &[(&str, &str)], body: Option<&str>) -> (Value, String) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self.http.request(method.clone(), format!("{}{path}", self.base));
        let mut shown = format!("{method} {path}\n");
        for (k, v) in headers {
            req = req.header(*k, *v);
            shown.push_str(&format!("{k}: {v}\n"));
        }
        if let Some(b) = body {
            req = req.body(b.to_string());
            if b.len() <= 600 {
                shown.push_str(&format!("\n{b}\n"));
            } else {
                shown.push_str(&format!("\n({} bytes)\n", b.len()));
            }
        }
        let r = req.send().await.unwrap();
        shown.push_str(&format!("--- response\nstatus: {}\n", r.status()));
        for name in HEADERS {
            if let Some(v) = r.headers().get(*name) {
                shown.push_str(&format!("{name}: {}\n", v.to_str().unwrap()));
            }
        }
        let bytes = r.bytes().await.unwrap();
        let value = serde_json::from_slice::<Value>(&bytes).unwrap_or(Value::Null);
        shown.push_str("--- body\n");
        if bytes.is_empty() {
            shown.push_str("(empty)\n");
        } else if value.is_null() {
            shown.push_str(&format!("{}\n", String::from_utf8_lossy(&bytes)));
        } else {
            shown.push_str(&format!("{}\n", serde_json::to_string_pretty(&value).unwrap()));
        }
        (value, shown)
    }

    async fn get(&self, path: &str) -> (Value, String) {
        self.call("GET", path, &[], None).await
    }

    async fn post(&self, path: &str, headers: &[(&str, &str)], body: &str) -> (Value, String) {
        let mut all = vec![("content-type", "application/json")];
        all.extend_from_slice(headers);
        self.call("POST", path, &all, Some(body)).await
    }

    /// Snapshots `GET path` under each name, in order: a table, since most read-only checks
    /// differ only in those two.
    async fn snap_gets(&self, cases: &[(&str, &str)]) {
        for (name, path) in cases {
            snap(name, &self.get(path).await.1);
        }
    }

    async fn settled(&self, orderid: &str) -> Value {
        let path = format!("/orders/{orderid}");
        support::until_finished(orderid, || async { self.get(&path).await.0 }).await
    }
}

/// The seed client's body, with a fixed local orderdate.
fn seed(account: &str, vendor: &str) -> String {
    json!({"order": {"accountid": account, "vendorid": vendor, "orderdate": "2026-11-25 08:15:00",
        "city": "Sydney", "details": {"coffeetype": "Cappuccino", "coffeesize": "Small", "unitprice": "3.5",
        "quantity": 1}, "eventtype": ["new_order"]}})
    .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_api() {
    let s = api().await;

    // Orders: accepted, replayed with the same key, settled, invoiced, held in the cart.
    let (_, shown) = s
        .post("/order", &[("Idempotency-Key", "api-order-1")], &seed("a0", "v0"))
        .await;
    snap("api_post_order_202", &shown);
    // Replays are answered after the order settles, so the status they report is fixed.
    s.settled("api-order-1").await;
    let (_, shown) = s
        .post("/order", &[("Idempotency-Key", "api-order-1")], &seed("a0", "v0"))
        .await;
    snap("api_post_order_same_key_same_body_200", &shown);
    let (_, shown) = s
        .post(
            "/order",
            &[("Idempotency-Key", "api-order-1")],
            &seed("a0", "v0").replace("Cappuccino", "Mocha"),
        )
        .await;
    snap("api_post_order_same_key_other_body_409", &shown);
    s.snap_gets(&[
        ("api_get_order_status_succeeded", "/orders/api-order-1"),
        ("api_get_order_invoice", "/orders/api-order-1/invoice"),
        (
            "api_get_invoice_by_our_key",
            "/invoice?objectKey=invoices/a0/v0/api-order-1.json",
        ),
        ("api_get_invoice_by_month_key", "/invoice?objectKey=2026/11/a0"),
        (
            "api_get_invoice_by_unpadded_month_key_not_found",
            "/invoice?objectKey=2026/3/a0",
        ),
        ("api_get_cart_item_held", "/order?accountid=a0&vendorid=v0"),
        ("api_get_cart_item_none_404", "/order?accountid=a9&vendorid=v0"),
    ])
    .await;

    // A second order at the same vendor while the first is held: rejected.
    let (_, shown) = s
        .post("/order", &[("Idempotency-Key", "api-order-2")], &seed("a0", "v0"))
        .await;
    snap("api_post_order_second_at_same_vendor_202", &shown);
    s.settled("api-order-2").await;
    snap("api_get_order_status_rejected", &s.get("/orders/api-order-2").await.1);
    // The same rejected execution as the CLI shows it.
    let data = s.dir.path().join("data");
    let mut scrub = Scrub::default();
    scrub.add(data.display().to_string(), "[DATA]");
    let cli = |args: &'static [&'static str]| {
        let data = data.clone();
        tokio::task::spawn_blocking(move || transcript(args, &skipline(&data, args)))
    };
    let shown = cli(&["executions", "show", "api-order-2"]).await.unwrap();
    snap("cli_executions_show_rejected", &scrub.apply(&shown));
    let shown = cli(&["executions", "list", "--status", "FAILED"]).await.unwrap();
    snap("cli_executions_list_failed", &scrub.apply(&shown));
    s.snap_gets(&[
        ("api_get_order_invoice_of_rejected_404", "/orders/api-order-2/invoice"),
        ("api_get_executions", "/executions"),
        ("api_get_executions_failed", "/executions?status=FAILED&limit=20"),
    ])
    .await;

    // Vendor endpoints: the secret is shown once (when generated), then redacted. One endpoint
    // per vendor: a vendor's endpoints are listed by their (random) endpoint id.
    let (_, shown) = s
        .post(
            "/vendors/v0/endpoints",
            &[],
            &json!({"url": "https://shop.example.com/skipline", "secret": SECRET}).to_string(),
        )
        .await;
    snap("api_post_vendor_endpoint_with_secret_201", &shown);
    let other = r#"{"url": "https://shop.example.com/other"}"#;
    let (created, shown) = s.post("/vendors/v1/endpoints", &[], other).await;
    snap("api_post_vendor_endpoint_generated_secret_201", &shown);
    let (_, shown) = s.post("/vendors/v1/endpoints", &[], other).await;
    snap("api_post_vendor_endpoint_duplicate_409", &shown);
    snap("api_get_vendor_endpoints", &s.get("/vendors/v0/endpoints").await.1);
    let secret = created["secret"].as_str().unwrap();
    let mut scrub = Scrub::default();
    scrub.add(format!("…{}", &secret[secret.len() - 4..]), "…[GENERATED-TAIL]");
    snap(
        "api_get_vendor_endpoints_generated_secret_redacted",
        &scrub.apply(&s.get("/vendors/v1/endpoints").await.1),
    );
    snap("api_get_vendor_endpoints_none", &s.get("/vendors/v9/endpoints").await.1);
    let id = created["endpointid"].as_str().unwrap();
    let path = format!("/vendors/v1/endpoints/{id}");
    snap(
        "api_delete_vendor_endpoint_204",
        &s.call("DELETE", &path, &[], None).await.1,
    );
    snap(
        "api_delete_vendor_endpoint_again_404",
        &s.call("DELETE", &path, &[], None).await.1,
    );

    s.snap_gets(&[
        ("api_get_schema_place_order", "/schema/place-order"),
        ("api_get_healthz", "/healthz"),
        ("api_get_healthz_under_prod_stage", "/prod/healthz"),
    ])
    .await;

    // Error bodies.
    let bad = seed("a/0", "v0")
        .replace("\"Small\"", "\"Bucket\"")
        .replace("\"quantity\":1", "\"quantity\":0")
        .replace("\"3.5\"", "\"3.555\"");
    snap("api_post_order_invalid_400", &s.post("/order", &[], &bad).await.1);
    let bad = bad.replace("\"city\"", "\"town\"");
    snap("api_post_order_unknown_field_400", &s.post("/order", &[], &bad).await.1);
    snap("api_post_order_malformed_json_400", &s.post("/order", &[], "{").await.1);
    snap(
        "api_post_order_bad_idempotency_key_400",
        &s.post("/order", &[("Idempotency-Key", "has space")], &seed("a0", "v0"))
            .await
            .1,
    );
    snap(
        "api_post_order_unknown_query_parameter_400",
        &s.post("/order?x=1", &[], &seed("a0", "v0")).await.1,
    );
    snap(
        "api_post_order_too_large_413",
        &s.post("/order", &[], &"x".repeat(17 * 1024)).await.1,
    );
    snap(
        "api_post_order_text_plain_415",
        &s.call(
            "POST",
            "/order",
            &[("content-type", "text/plain")],
            Some(&seed("a0", "v0")),
        )
        .await
        .1,
    );
    snap("api_delete_order_405", &s.call("DELETE", "/order", &[], None).await.1);
    s.snap_gets(&[
        ("api_get_order_missing_vendorid_400", "/order?accountid=a0"),
        ("api_get_invoice_bad_key_400", "/invoice?objectKey=../../etc/passwd"),
        ("api_get_invoice_missing_key_400", "/invoice"),
        (
            "api_get_invoice_no_such_invoice_404",
            "/invoice?objectKey=invoices/a0/v0/none.json",
        ),
        ("api_get_order_status_not_found_404", "/orders/unknown-order"),
        ("api_get_order_status_invalid_id_400", "/orders/..%2F..%2Fetc"),
        ("api_get_executions_bad_status_400", "/executions?status=DONE"),
        ("api_get_executions_bad_limit_400", "/executions?limit=0"),
    ])
    .await;
    snap(
        "api_post_vendor_endpoint_private_address_400",
        &s.post("/vendors/v0/endpoints", &[], r#"{"url":"https://10.0.0.8/hook"}"#)
            .await
            .1,
    );
    snap(
        "api_post_vendor_endpoint_unknown_field_400",
        &s.post(
            "/vendors/v0/endpoints",
            &[],
            r#"{"url":"https://shop.example.com/x","secrett":"abc"}"#,
        )
        .await
        .1,
    );
    snap("api_get_unknown_route_404", &s.get("/nope").await.1);
}
