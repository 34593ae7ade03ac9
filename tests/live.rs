//! `GET /events` on a real `skipline serve`: an order's whole way through the flow arrives on
//! the live feed (accepted, each state, succeeded, the vendor's ticket delivered, the cart
//! cleared) without polling, and the stream ends when the server stops.

mod support;

use serde_json::Value;
use std::time::{Duration, Instant};
use support::Stage;

/// Reads Server-Sent Events from a streaming response.
struct Feed {
    response: reqwest::Response,
    buffer: String,
}

impl Feed {
    /// The next `(event, data)`, or None when the stream ended; panics past `deadline`.
    async fn next(&mut self, deadline: Instant) -> Option<(String, Value)> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let field = |name: &str| {
                    block
                        .lines()
                        .find_map(|l| l.strip_prefix(name))
                        .map(|v| v.trim_start().to_string())
                };
                // Keep-alive comments carry no event.
                if let Some(event) = field("event:") {
                    let data = field("data:").unwrap_or_default();
                    return Some((event, serde_json::from_str(&data).unwrap_or(Value::Null)));
                }
                continue;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, self.response.chunk()).await {
                Err(_) => panic!("no event before the deadline; unread: {:?}", self.buffer),
                Ok(Ok(Some(bytes))) => self.buffer.push_str(&String::from_utf8_lossy(&bytes)),
                Ok(Ok(None)) | Ok(Err(_)) => return None,
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_is_followed_through_the_flow_on_the_live_feed() {
    let mut stage = Stage::start("").await;
    stage.subscribe("v-live", "ok").await;
    let response = stage.http.get(format!("{}/events", stage.base)).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let content_type = response.headers()["content-type"].to_str().unwrap().to_string();
    assert!(content_type.starts_with("text/event-stream"), "{content_type}");
    let mut feed = Feed {
        response,
        buffer: String::new(),
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    assert_eq!(feed.next(deadline).await.map(|(e, _)| e).as_deref(), Some("Ready"));

    let orderid = stage.place("a-live", "v-live").await;
    let (mut started, mut steps, mut status) = (None, Vec::new(), String::new());
    let (mut delivered, mut notified, mut cleared) = (false, false, false);
    while !(status == "SUCCEEDED" && delivered && notified && cleared) {
        let Some((event, data)) = feed.next(deadline).await else {
            panic!("the feed ended early; seen steps {steps:?}")
        };
        match event.as_str() {
            "Started" if data["name"] == orderid.as_str() => started = Some(data),
            "Execution" if data["name"] == orderid.as_str() => {
                steps.extend(
                    data["steps"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|s| s.as_str().unwrap().to_string()),
                );
                status = data["status"].as_str().unwrap().to_string();
            }
            "Delivery" if data["attempt"]["eventid"] == format!("{orderid}.OrderCompleted").as_str() => {
                assert_eq!(data["attempt"]["outcome"], "delivered", "{data}");
                assert_eq!(data["attempt"]["vendorid"], "v-live");
                delivered = true;
            }
            "Consumed"
                if data["orderids"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|o| o == orderid.as_str()) =>
            {
                match data["queue"].as_str().unwrap() {
                    "notify-vendor" => notified = true,
                    "clear-cart" => cleared = true,
                    _ => {}
                }
            }
            _ => {}
        }
    }
    let started = started.expect("a Started event for the order");
    assert_eq!(
        (&started["accountid"], &started["vendorid"]),
        (&Value::from("a-live"), &Value::from("v-live"))
    );
    // The states in the order the flow runs them, as durable history recorded them.
    let entered: Vec<&str> = steps
        .iter()
        .filter_map(|s| s.split_once("StateEntered:").map(|(_, state)| state))
        .collect();
    assert_eq!(entered.first(), Some(&"PutItem"), "{steps:?}");
    assert!(entered.contains(&"PutObject"), "{steps:?}");
    assert_eq!(
        steps.last().map(String::as_str),
        Some("ExecutionSucceeded"),
        "{steps:?}"
    );
    assert_eq!(stage.receiver.accepted().len(), 1, "one ticket reached the vendor");

    // Stopping ends the stream at once; the drain does not wait for the watcher.
    let (exit, took) = tokio::task::block_in_place(|| stage.server.terminate(Duration::from_secs(8)));
    assert!(
        exit.is_some_and(|s| s.success()),
        "{:?}\n{}",
        exit,
        stage.server.log_tail()
    );
    assert!(
        took < Duration::from_secs(5),
        "SIGTERM took {took:?} with a watcher open"
    );
    let end = Instant::now() + Duration::from_secs(2);
    while let Some((event, _)) = feed.next(end).await {
        assert_ne!(event, "Ready", "the stream went on after the server stopped");
    }
}

#[tokio::test]
async fn the_live_feed_needs_the_admin_scope_once_tokens_exist() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let reader = support::token(&data, "reader", &["orders:read"]);
    let admin = support::token(&data, "ops", &["admin"]);
    let serve = support::Serve::start(&data, &[], &dir.path().join("serve.log"));
    let http = support::http_client();
    let status = |path: &str, token: Option<&str>| {
        let mut req = http.get(format!("{}{path}", serve.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        async move { req.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(status("/events", None).await, 401);
    assert_eq!(status("/events", Some(&reader)).await, 403);
    assert_eq!(status("/events", Some(&admin)).await, 200);
    assert_eq!(status("/events?since=1", Some(&admin)).await, 400);
}

/// The console's access rules, over HTTP: a strict CSP on its static page; a token exchanged
/// for an HttpOnly, SameSite=Strict cookie that the feed accepts; state changes on that
/// cookie refused without the CSRF token or from another origin; a revoked token's session
/// ended.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_session_is_a_strict_cookie_with_csrf_for_changes() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let token = support::token(&data, "ops", &["admin"]);
    // A second token keeps the server closed once the first is revoked (with none it would be
    // open development mode on loopback).
    support::token(&data, "other", &["orders:read"]);
    let serve = support::Serve::start(&data, &[], &dir.path().join("serve.log"));
    let base = serve.base.clone();
    let host = base.trim_start_matches("http://").to_string();
    let http = support::http_client();

    let page = http.get(format!("{base}/console")).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 200, "the page itself is public");
    let csp = page.headers()["content-security-policy"].to_str().unwrap().to_string();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("script-src 'self'"),
        "{csp}"
    );
    assert!(!page.text().await.unwrap().contains("<script>"), "no inline script");

    let session = |body: String, origin: Option<String>| {
        let mut req = http
            .post(format!("{base}/console/session"))
            .header("content-type", "application/json")
            .body(body);
        if let Some(o) = origin {
            req = req.header("origin", o);
        }
        req.send()
    };
    let bad = session(r#"{"token":"stl_nope"}"#.into(), None).await.unwrap();
    assert_eq!(bad.status().as_u16(), 401);
    assert!(bad.headers().get("set-cookie").is_none());
    let foreign = session(format!(r#"{{"token":"{token}"}}"#), Some("https://evil.example".into()))
        .await
        .unwrap();
    assert_eq!(foreign.status().as_u16(), 403, "login CSRF from another origin");
    let ok = session(format!(r#"{{"token":"{token}"}}"#), Some(format!("http://{host}")))
        .await
        .unwrap();
    assert_eq!(ok.status().as_u16(), 200);
    let cookie_header = ok.headers()["set-cookie"].to_str().unwrap().to_string();
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie_header.contains(flag), "{cookie_header}");
    }
    assert!(!cookie_header.contains("Secure"), "plain HTTP: no Secure flag");
    let csrf = ok.json::<Value>().await.unwrap()["csrf"].as_str().unwrap().to_string();
    let cookie = cookie_header.split(';').next().unwrap().to_string();
    assert!(!cookie.contains(&token), "the cookie is not the token");

    // Reads work on the cookie alone; the feed too.
    let with_cookie = |path: &str| http.get(format!("{base}{path}")).header("cookie", &cookie).send();
    assert_eq!(with_cookie("/events").await.unwrap().status().as_u16(), 200);
    let flow = with_cookie("/flow").await.unwrap();
    assert_eq!(flow.status().as_u16(), 200);
    assert_eq!(flow.json::<Value>().await.unwrap()["definition"]["StartAt"], "PutItem");

    // A change on the cookie: refused without CSRF, with a wrong one, or from elsewhere.
    let replay = |csrf: Option<&str>, origin: &str| {
        let mut req = http
            .post(format!("{base}/queues/deliveries-dlq/replay"))
            .header("cookie", &cookie)
            .header("origin", origin)
            .header("content-type", "application/json")
            .body(r#"{"dryRun":true}"#);
        if let Some(c) = csrf {
            req = req.header("x-csrf-token", c);
        }
        req.send()
    };
    let same = format!("http://{host}");
    assert_eq!(replay(None, &same).await.unwrap().status().as_u16(), 403);
    assert_eq!(replay(Some("stl_wrong"), &same).await.unwrap().status().as_u16(), 403);
    assert_eq!(
        replay(Some(&csrf), "https://evil.example")
            .await
            .unwrap()
            .status()
            .as_u16(),
        403
    );
    assert_eq!(replay(Some(&csrf), &same).await.unwrap().status().as_u16(), 200);

    // Revoking the token ends its sessions (within the token cache's second).
    assert!(
        support::cli(&data, &["tokens", "revoke", "--name", "ops"])
            .status
            .success()
    );
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(with_cookie("/flow").await.unwrap().status().as_u16(), 401);
    // Signing out clears the cookie.
    let out = http
        .delete(format!("{base}/console/session"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status().as_u16(), 204);
    assert!(out.headers()["set-cookie"].to_str().unwrap().contains("Max-Age=0"));
}
