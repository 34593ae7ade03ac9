//! Shared helpers for the reliability tests (crash, hostile input, outage, soak): `skipline
//! serve` as a child process, a vendor webhook receiver that can fail or hang on demand, a
//! snapshot of every SQLite row, and small HTTP helpers. Everything talks to 127.0.0.1 only.
//!
//! Each test binary uses a different part of this module.
#![allow(dead_code)]

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use serde_json::{Value, json};
use skipline_events::HEADER_WEBHOOK_ID;
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_skipline");

/// Every vendor's signing secret in these tests: a Standard Webhooks secret, as the API requires.
pub const SECRET: &str = "whsec_cmVsaWFiaWxpdHktdGVzdHMtc2VjcmV0LTAwMDEteHg=";

pub mod official;

/// `skipline serve` on 127.0.0.1 with a port chosen by the OS, killed (SIGKILL) on drop.
pub struct Serve {
    child: Child,
    pub base: String,
    pub pid: u32,
    pub log: PathBuf,
}

impl Serve {
    /// Starts `skipline --data-dir DATA serve --bind 127.0.0.1:0 ARGS...`, with stdout and
    /// stderr in `log`, and waits (up to 60 s) for the "listening on" line.
    pub fn start(data: &Path, args: &[&str], log: &Path) -> Serve {
        let out = std::fs::File::create(log).expect("create serve log");
        let err = out.try_clone().expect("clone serve log");
        let mut child = Command::new(BIN)
            .arg("--data-dir")
            .arg(data)
            .args(["serve", "--bind", "127.0.0.1:0"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err))
            .spawn()
            .expect("spawn skipline serve");
        let pid = child.id();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let text = std::fs::read_to_string(log).unwrap_or_default();
            if let Some(rest) = text.split("skipline listening on ").nth(1)
                && let Some(url) = rest.split_whitespace().next()
            {
                return Serve {
                    child,
                    base: url.to_string(),
                    pid,
                    log: log.to_path_buf(),
                };
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!("skipline serve exited with {status} before listening:\n{text}");
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("skipline serve did not start within 60 s:\n{text}");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// SIGKILL, then reap: no shutdown code runs.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Still running?
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// SIGTERM, then waits up to `limit` for the exit: its status (None if still running) and
    /// how long it took.
    pub fn terminate(&mut self, limit: Duration) -> (Option<std::process::ExitStatus>, Duration) {
        let sent = Instant::now();
        let kill = Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status()
            .expect("run kill");
        assert!(kill.success(), "kill -TERM {} failed", self.pid);
        while sent.elapsed() < limit {
            if let Ok(Some(status)) = self.child.try_wait() {
                return (Some(status), sent.elapsed());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        (None, sent.elapsed())
    }

    /// Resident set size in KiB, from /proc/PID/status.
    pub fn rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid)).ok()?;
        status
            .lines()
            .find(|l| l.starts_with("VmRSS:"))?
            .split_whitespace()
            .nth(1)?
            .parse()
            .ok()
    }

    pub fn log_tail(&self) -> String {
        tail(&self.log, 40)
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        self.kill9();
    }
}

pub fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Runs the `skipline` CLI against a data dir, with no stdin, bounded to 60 s.
pub fn cli(data: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.arg("--data-dir").arg(data).args(args);
    run_bounded(cmd, Duration::from_secs(60))
}

/// Runs a command with no stdin, killing it if it takes longer than `limit`.
pub fn run_bounded(mut cmd: Command, limit: Duration) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn skipline");
    let deadline = Instant::now() + limit;
    loop {
        match child.try_wait() {
            Ok(Some(_)) => return child.wait_with_output().expect("collect output"),
            Ok(None) if Instant::now() > deadline => {
                let _ = child.kill();
                let out = child.wait_with_output().expect("collect output");
                panic!(
                    "command {cmd:?} did not finish within {limit:?}; stderr: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => panic!("waiting for {cmd:?}: {e}"),
        }
    }
}

/// The seed client's `POST /order` body.
pub fn order_body(account: &str, vendor: &str) -> Value {
    json!({"order": {"accountid": account, "vendorid": vendor, "orderdate": "2026-11-25T08:15:00Z", "city": "Sydney",
        "details": {"coffeetype": "Flat white", "coffeesize": "Large", "unitprice": "4.50", "quantity": 2},
        "eventtype": ["new_order"]}})
}

pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("http client")
}

/// GET and parse JSON (Null if the body is not JSON).
pub async fn get(http: &reqwest::Client, url: &str) -> Result<(u16, Value), reqwest::Error> {
    let r = http.get(url).send().await?;
    let status = r.status().as_u16();
    let bytes = r.bytes().await?;
    Ok((status, serde_json::from_slice(&bytes).unwrap_or(Value::Null)))
}

/// Places an order over HTTP and returns its id; panics unless 202.
pub async fn place(http: &reqwest::Client, base: &str, account: &str, vendor: &str) -> String {
    let r = http
        .post(format!("{base}/order"))
        .json(&order_body(account, vendor))
        .send()
        .await
        .expect("order request");
    assert_eq!(r.status().as_u16(), 202);
    let v: Value = r.json().await.expect("order answer");
    v["orderid"].as_str().expect("orderid").to_string()
}

/// Copies a directory tree (a fixture data dir into a test's temp dir).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create dir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("dir entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy file");
        }
    }
}

/// What a webhook test runs against: `skipline serve` on a fresh data dir, with private
/// endpoints allowed (the receiver is on 127.0.0.1), an HTTP client and a [`Receiver`].
pub struct Stage {
    /// Kept so the data dir outlives the server.
    pub dir: tempfile::TempDir,
    pub data: PathBuf,
    pub server: Serve,
    pub base: String,
    pub http: reqwest::Client,
    pub receiver: Receiver,
}

impl Stage {
    /// `serve --allow-private-endpoints ARGS`, logging to `serve.log` beside the data dir.
    /// `args` is written as on a command line (no argument has a space).
    pub async fn start(args: &str) -> Stage {
        let dir = tempfile::tempdir().expect("temp dir");
        let data = dir.path().join("data");
        let args: Vec<&str> = std::iter::once("--allow-private-endpoints")
            .chain(args.split_whitespace())
            .collect();
        let server = Serve::start(&data, &args, &dir.path().join("serve.log"));
        let base = server.base.clone();
        Stage {
            dir,
            data,
            server,
            base,
            http: http_client(),
            receiver: Receiver::start().await,
        }
    }

    /// Subscribes the receiver's `path` for `vendor` (see [`subscribe`]).
    pub async fn subscribe(&self, vendor: &str, path: &str) {
        subscribe(&self.http, &self.base, vendor, &self.receiver.url(path)).await;
    }

    pub async fn place(&self, account: &str, vendor: &str) -> String {
        place(&self.http, &self.base, account, vendor).await
    }

    /// Asserts the server is still running, with its log's tail if not.
    pub fn assert_alive(&mut self) {
        assert!(self.server.alive(), "{}", self.server.log_tail());
    }
}

/// Registers `url` for `vendor` with [`SECRET`]; panics unless 201.
pub async fn subscribe(http: &reqwest::Client, base: &str, vendor: &str, url: &str) {
    let r = http
        .post(format!("{base}/vendors/{vendor}/endpoints"))
        .json(&json!({"url": url, "secret": SECRET}))
        .send()
        .await
        .expect("subscribe request");
    let status = r.status().as_u16();
    let body = r.text().await.unwrap_or_default();
    assert_eq!(status, 201, "subscribing {vendor} to {url}: {body}");
}

/// Every row of every table of a skipline.db, each table's rows rendered and sorted.
/// Equal snapshots mean nothing was written.
pub fn snapshot(db: &Path) -> BTreeMap<String, Vec<String>> {
    use rusqlite::types::ValueRef;
    let conn = rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .unwrap_or_else(|e| panic!("open {}: {e}", db.display()));
    conn.busy_timeout(Duration::from_secs(10)).expect("busy timeout");
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .expect("list tables");
    let mut out = BTreeMap::new();
    for table in tables {
        let mut stmt = conn.prepare(&format!("SELECT * FROM \"{table}\"")).expect("select");
        let n = stmt.column_count();
        let mut rows: Vec<String> = stmt
            .query_map([], |r| {
                let mut cells = Vec::with_capacity(n);
                for i in 0..n {
                    cells.push(match r.get_ref(i)? {
                        ValueRef::Null => "NULL".to_string(),
                        ValueRef::Integer(v) => v.to_string(),
                        ValueRef::Real(v) => v.to_string(),
                        ValueRef::Text(t) => format!("{:?}", String::from_utf8_lossy(t)),
                        ValueRef::Blob(b) => format!("x'{}'", hex::encode(b)),
                    });
                }
                Ok(cells.join("|"))
            })
            .and_then(|rows| rows.collect())
            .expect("read rows");
        rows.sort();
        out.insert(table, rows);
    }
    out
}

/// The tables that differ between two snapshots, with row counts, for an assertion message.
pub fn diff(before: &BTreeMap<String, Vec<String>>, after: &BTreeMap<String, Vec<String>>) -> String {
    let mut out = Vec::new();
    for name in before.keys().chain(after.keys()) {
        let (b, a) = (before.get(name), after.get(name));
        if b != a {
            let added: Vec<_> = a
                .into_iter()
                .flatten()
                .filter(|r| !b.is_some_and(|b| b.contains(r)))
                .take(3)
                .collect();
            out.push(format!(
                "{name}: {} rows before, {} after; new rows e.g. {added:?}",
                b.map_or(0, Vec::len),
                a.map_or(0, Vec::len)
            ));
        }
    }
    out.dedup();
    out.join("\n")
}

/// How the receiver answers a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// 200, and the delivery is recorded as accepted.
    Ok,
    /// 500 at once.
    Fail,
    /// Sleeps this long, then 503: past the sender's timeout, this is an outage that hangs.
    Hang(Duration),
    /// 410 Gone: the endpoint is no more.
    Gone,
    /// 429 with `Retry-After` of this many seconds.
    Busy(u64),
}

/// One delivery the receiver acknowledged with a 2xx.
#[derive(Debug, Clone)]
pub struct Hook {
    pub path: String,
    pub eventid: String,
    pub body: Vec<u8>,
    pub signature_ok: bool,
    /// When it arrived.
    pub at: std::time::Instant,
}

impl Hook {
    /// The ticket's `orderid` (the payload's `data.orderid`).
    pub fn orderid(&self) -> String {
        serde_json::from_slice::<Value>(&self.body)
            .ok()
            .and_then(|v| v["data"]["orderid"].as_str().map(str::to_string))
            .unwrap_or_default()
    }
}

#[derive(Default)]
struct ReceiverState {
    modes: HashMap<String, Mode>,
    accepted: Vec<Hook>,
    attempts: HashMap<String, Vec<std::time::Instant>>,
}

/// A vendor webhook receiver in the test process, on 127.0.0.1; `POST /{path}`.
#[derive(Clone)]
pub struct Receiver {
    pub addr: SocketAddr,
    state: Arc<Mutex<ReceiverState>>,
}

async fn receive(
    State(state): State<Arc<Mutex<ReceiverState>>>,
    UrlPath(path): UrlPath<String>,
    headers: HeaderMap,
    body: Bytes,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let mode = {
        let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
        s.attempts
            .entry(path.clone())
            .or_default()
            .push(std::time::Instant::now());
        s.modes.get(&path).copied().unwrap_or(Mode::Ok)
    };
    match mode {
        Mode::Fail => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        Mode::Gone => StatusCode::GONE.into_response(),
        Mode::Busy(secs) => (StatusCode::TOO_MANY_REQUESTS, [("retry-after", secs.to_string())]).into_response(),
        Mode::Hang(d) => {
            tokio::time::sleep(d).await;
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
        Mode::Ok => {
            let signature_ok = official::verify(SECRET, &official::headers_of(&headers), &body).is_ok();
            state.lock().unwrap_or_else(|p| p.into_inner()).accepted.push(Hook {
                path,
                eventid: skipline::receiver::header_text(&headers, HEADER_WEBHOOK_ID),
                body: body.to_vec(),
                signature_ok,
                at: std::time::Instant::now(),
            });
            StatusCode::OK.into_response()
        }
    }
}

impl Receiver {
    pub async fn start() -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind receiver");
        let addr = listener.local_addr().expect("receiver addr");
        let state: Arc<Mutex<ReceiverState>> = Arc::default();
        let app = Router::new().route("/{path}", post(receive)).with_state(state.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Receiver { addr, state }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}/{path}", self.addr)
    }

    pub fn set_mode(&self, path: &str, mode: Mode) {
        self.lock().modes.insert(path.to_string(), mode);
    }

    /// Deliveries acknowledged with 200, in arrival order.
    pub fn accepted(&self) -> Vec<Hook> {
        self.lock().accepted.clone()
    }

    /// Requests seen on `path`, whatever the answer.
    pub fn attempts(&self, path: &str) -> u64 {
        self.lock().attempts.get(path).map_or(0, |a| a.len() as u64)
    }

    /// When each request on `path` arrived, whatever the answer.
    pub fn attempt_times(&self, path: &str) -> Vec<std::time::Instant> {
        self.lock().attempts.get(path).cloned().unwrap_or_default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ReceiverState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Median of a slice (sorted copy); 0 for an empty one.
pub fn median(values: &[u64]) -> u64 {
    let mut v = values.to_vec();
    v.sort_unstable();
    v.get(v.len() / 2).copied().unwrap_or(0)
}

/// An integer from the environment, or `default`.
pub fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

/// Why an accepted order is not complete, or `None` if it is: execution SUCCEEDED with the
/// expected invoice key, cart cleared (404), invoice readable for this order, and the vendor's
/// endpoint holding a correctly signed ticket with event id `{orderid}.OrderCompleted`.
pub async fn incomplete(
    http: &reqwest::Client,
    base: &str,
    orderid: &str,
    account: &str,
    vendor: &str,
    hooks: &HashMap<String, Vec<Hook>>,
) -> Option<String> {
    let status = match get(http, &format!("{base}/orders/{orderid}")).await {
        Ok((200, v)) => v,
        Ok((code, v)) => return Some(format!("GET /orders/{orderid} → {code} {v}")),
        Err(e) => return Some(format!("GET /orders/{orderid}: {e}")),
    };
    if status["status"] != "SUCCEEDED" {
        return Some(format!(
            "execution {} {}",
            status["status"],
            status["error"].as_str().unwrap_or_default()
        ));
    }
    let key = format!("invoices/{account}/{vendor}/{orderid}.json");
    if status["invoiceKey"] != json!(key) {
        return Some(format!("invoiceKey {} (expected {key})", status["invoiceKey"]));
    }
    match get(http, &format!("{base}/order?accountid={account}&vendorid={vendor}")).await {
        Ok((404, _)) => {}
        Ok((code, v)) => return Some(format!("cart not cleared: GET /order → {code} {v}")),
        Err(e) => return Some(format!("GET /order: {e}")),
    }
    match get(http, &format!("{base}/orders/{orderid}/invoice")).await {
        Ok((200, v)) if v["orderid"] == json!(orderid) => {}
        Ok((code, v)) => return Some(format!("invoice: {code} {v}")),
        Err(e) => return Some(format!("GET invoice: {e}")),
    }
    let eventid = format!("{orderid}.OrderCompleted");
    match hooks.get(&eventid) {
        Some(list) if list.iter().any(|h| h.path == vendor && h.signature_ok) => None,
        Some(list) => Some(format!(
            "ticket {eventid} arrived but not signed/addressed right: {:?}",
            list.iter().map(|h| (&h.path, h.signature_ok)).collect::<Vec<_>>()
        )),
        None => Some(format!("vendor {vendor} never acknowledged ticket {eventid}")),
    }
}

/// Accepted deliveries keyed by event id.
pub fn by_event(hooks: &[Hook]) -> HashMap<String, Vec<Hook>> {
    let mut out: HashMap<String, Vec<Hook>> = HashMap::new();
    for h in hooks {
        out.entry(h.eventid.clone()).or_default().push(h.clone());
    }
    out
}

/// Deliveries beyond the first per event id, and orders whose deliveries carry more than one
/// event id (which would make receiver-side dedup impossible).
pub fn duplicates(hooks: &[Hook]) -> (usize, Vec<String>) {
    let events = by_event(hooks);
    let dups = events.values().map(|v| v.len() - 1).sum();
    let mut ids_per_order: HashMap<String, std::collections::HashSet<String>> = HashMap::new();
    for h in hooks {
        ids_per_order.entry(h.orderid()).or_default().insert(h.eventid.clone());
    }
    let mixed = ids_per_order
        .into_iter()
        .filter(|(o, ids)| ids.len() != 1 || !ids.contains(&format!("{o}.OrderCompleted")))
        .map(|(o, ids)| format!("{o}: {ids:?}"))
        .collect();
    (dups, mixed)
}

/// Creates an API token with `scopes` on the data dir, through the CLI; returns the secret.
pub fn token(data: &Path, name: &str, scopes: &[&str]) -> String {
    let mut args = vec!["--json", "tokens", "create", "--name", name];
    for s in scopes {
        args.extend(["--scope", s]);
    }
    let out = cli(data, &args);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).expect("tokens create --json");
    v["token"].as_str().expect("a token").to_string()
}

/// Reads an order's status with `get` every 20 ms until it has finished; panics after 30 s.
pub async fn until_finished<F, Fut>(orderid: &str, mut get: F) -> Value
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Value>,
{
    for _ in 0..1500 {
        let v = get().await;
        if v["status"] != "RUNNING" {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("order {orderid} did not finish");
}
