//! API tokens on a real `skipline serve`: every route × no token / a malformed header / an
//! unknown token / a revoked one / the wrong scope / the right scope, with nothing written on a
//! refusal; revocation while serving; and the refusal of a non-loopback bind with no token.

mod support;

use serde_json::Value;
use std::time::Duration;
use support::{Serve, cli, diff, http_client, order_body, snapshot, token};

/// One route: method, path, body, the scope it needs (None: public), and the status the right
/// token gets.
struct Route {
    method: &'static str,
    path: String,
    body: Option<String>,
    scope: Option<&'static str>,
    ok: u16,
}

fn route(method: &'static str, path: &str, body: Option<String>, scope: Option<&'static str>, ok: u16) -> Route {
    Route {
        method,
        path: path.to_string(),
        body,
        scope,
        ok,
    }
}

async fn call(http: &reqwest::Client, base: &str, r: &Route, auth: Option<&str>) -> (u16, Value, Option<String>) {
    let mut req = match r.method {
        "GET" => http.get(format!("{base}{}", r.path)),
        "POST" => http.post(format!("{base}{}", r.path)),
        "DELETE" => http.delete(format!("{base}{}", r.path)),
        m => panic!("method {m}"),
    };
    if let Some(b) = &r.body {
        req = req.header("content-type", "application/json").body(b.clone());
    }
    if let Some(a) = auth {
        req = req.header("authorization", a);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let challenge = resp
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_string());
    (status, resp.json().await.unwrap_or(Value::Null), challenge)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_answers_401_403_or_its_answer_and_a_refusal_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let admin = token(&data, "admin", &["admin"]);
    let writer = token(&data, "shop-app", &["orders:write"]);
    let reader = token(&data, "reporting", &["orders:read"]);
    let revoked = token(&data, "old", &["admin", "orders:read", "orders:write"]);
    assert!(cli(&data, &["tokens", "revoke", "--name", "old"]).status.success());
    let server = Serve::start(&data, &["--allow-private-endpoints"], &dir.path().join("serve.log"));
    let base = server.base.clone();
    let http = http_client();
    let log = std::fs::read_to_string(&server.log).unwrap();
    assert!(log.contains("API tokens are required"), "{log}");

    // An order to read back, placed with the writer's token.
    let order = order_body("acct-1", "v0").to_string();
    let place = route("POST", "/order", Some(order.clone()), Some("orders:write"), 202);
    let (code, placed, _) = call(&http, &base, &place, Some(&format!("Bearer {writer}"))).await;
    assert_eq!(code, 202, "{placed}");
    let orderid = placed["orderid"].as_str().unwrap().to_string();
    tokio::time::sleep(Duration::from_millis(500)).await;

    let subscribe = r#"{"url":"http://127.0.0.1:9/hook"}"#.to_string();
    let routes = [
        route("GET", "/healthz", None, None, 200),
        route("GET", "/readyz", None, None, 200),
        route("GET", "/schema/place-order", None, None, 200),
        route("GET", "/openapi.json", None, None, 200),
        route("GET", &format!("/orders/{orderid}"), None, Some("orders:read"), 200),
        route(
            "GET",
            &format!("/prod/orders/{orderid}"),
            None,
            Some("orders:read"),
            200,
        ),
        route(
            "GET",
            &format!("/orders/{orderid}/invoice"),
            None,
            Some("orders:read"),
            200,
        ),
        route(
            "GET",
            "/order?accountid=acct-9&vendorid=v0",
            None,
            Some("orders:read"),
            404,
        ),
        route(
            "GET",
            "/invoice?objectKey=invoices/a/v/o.json",
            None,
            Some("orders:read"),
            404,
        ),
        route("GET", "/executions", None, Some("admin"), 200),
        route("GET", "/vendors/v0/endpoints", None, Some("admin"), 200),
        route("GET", "/vendors/v0/deliveries", None, Some("admin"), 200),
        route("POST", "/vendors/v0/endpoints", Some(subscribe), Some("admin"), 201),
        route(
            "POST",
            "/vendors/v0/redeliver",
            Some(r#"{"since":"1h"}"#.into()),
            Some("admin"),
            202,
        ),
        route("DELETE", "/vendors/v9/endpoints/ep_none", None, Some("admin"), 404),
        route("GET", "/topic/subscriptions", None, Some("admin"), 200),
        route("GET", "/queues", None, Some("admin"), 200),
        route("GET", "/queues/deliveries-dlq/messages", None, Some("admin"), 200),
        route(
            "POST",
            "/queues/deliveries-dlq/replay",
            Some(r#"{"dryRun":true}"#.into()),
            Some("admin"),
            200,
        ),
        route("GET", "/metrics", None, Some("admin"), 200),
        route("GET", "/no-such-route", None, Some("admin"), 404),
        place,
    ];
    let token_for = |scope: &str| match scope {
        "admin" => &admin,
        "orders:write" => &writer,
        _ => &reader,
    };
    let wrong_for = |scope: &str| match scope {
        "orders:read" => &writer,
        _ => &reader,
    };
    let db = data.join("skipline.db");
    for r in &routes {
        let Some(scope) = r.scope else {
            let (code, body, _) = call(&http, &base, r, None).await;
            assert_eq!(code, r.ok, "{} {} is public: {body}", r.method, r.path);
            continue;
        };
        let before = snapshot(&db);
        let refusals = [
            (None, 401, "needs a token with scope"),
            (
                Some("Basic YWRtaW46YWRtaW4=".to_string()),
                401,
                "must be `Bearer <token>`",
            ),
            (Some("Bearer".to_string()), 401, "must be `Bearer <token>`"),
            (Some("Bearer stl_not-a-real-token".to_string()), 401, "not valid"),
            (Some(format!("Bearer {revoked}")), 401, "not valid"),
            (Some(format!("Bearer {}", wrong_for(scope))), 403, "lacks scope"),
        ];
        for (auth, status, says) in refusals {
            let (code, body, challenge) = call(&http, &base, r, auth.as_deref()).await;
            assert_eq!(code, status, "{} {} with {auth:?}: {body}", r.method, r.path);
            let message = body["error"]["message"].as_str().unwrap_or_default();
            assert!(
                message.contains(says),
                "{} {}: {message:?} should say {says:?}",
                r.method,
                r.path
            );
            if status == 401 {
                assert_eq!(challenge.as_deref(), Some("Bearer"));
            }
            assert!(
                !message.contains("stl_") || message.contains("stl_not"),
                "no token echoed: {message}"
            );
        }
        let after = snapshot(&db);
        assert!(
            before == after,
            "{} {}: a refusal wrote:\n{}",
            r.method,
            r.path,
            diff(&before, &after)
        );
        let (code, body, _) = call(&http, &base, r, Some(&format!("Bearer {}", token_for(scope)))).await;
        assert_eq!(code, r.ok, "{} {} with its scope: {body}", r.method, r.path);
    }

    // Revoked while serving: refused within the cache's second.
    assert!(
        cli(&data, &["tokens", "revoke", "--name", "reporting"])
            .status
            .success()
    );
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let read = route("GET", &format!("/orders/{orderid}"), None, Some("orders:read"), 200);
    let (code, _, _) = call(&http, &base, &read, Some(&format!("Bearer {reader}"))).await;
    assert_eq!(code, 401, "a revoked token is refused");
    // The server log never holds a token.
    let log = std::fs::read_to_string(&server.log).unwrap();
    for t in [&admin, &writer, &reader, &revoked] {
        assert!(!log.contains(t.as_str()), "a token reached the log");
    }
    let listed = String::from_utf8(cli(&data, &["tokens", "list"]).stdout).unwrap();
    assert!(listed.contains("reporting") && listed.contains("revoked"), "{listed}");
    assert!(!listed.contains("stl_"), "list never shows a token: {listed}");
}

#[test]
fn a_non_loopback_bind_needs_a_token() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // The refusal comes before anything listens, so no port is ever opened beyond loopback.
    let out = cli(&data, &["serve", "--bind", "0.0.0.0:0"]);
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("refusing to serve 0.0.0.0:0 without authentication"),
        "{err}"
    );
    assert!(err.contains("--insecure-no-auth"), "{err}");
    assert!(!data.exists(), "a refused serve creates no data dir");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loopback_without_tokens_is_open_development_mode() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Serve::start(&data, &[], &dir.path().join("serve.log"));
    let log = std::fs::read_to_string(&server.log).unwrap();
    assert!(log.contains("open development mode"), "{log}");
    let http = http_client();
    let r = http.get(format!("{}/executions", server.base)).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttled_requests_get_429_with_retry_after_per_token_and_overall() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let a = token(&data, "app-a", &["admin"]);
    let b = token(&data, "app-b", &["admin"]);
    let server = Serve::start(
        &data,
        &["--token-rate", "1", "--token-burst", "3", "--global-burst", "100"],
        &dir.path().join("serve.log"),
    );
    let http = http_client();
    let get = |t: String| {
        let (http, url) = (http.clone(), format!("{}/executions", server.base));
        async move { http.get(url).bearer_auth(t).send().await.unwrap() }
    };
    for _ in 0..3 {
        assert_eq!(get(a.clone()).await.status().as_u16(), 200);
    }
    let throttled = get(a.clone()).await;
    assert_eq!(throttled.status().as_u16(), 429);
    let retry: u64 = throttled.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=2).contains(&retry), "Retry-After {retry}");
    let body: Value = throttled.json().await.unwrap();
    assert_eq!(body["error"]["code"], "TooManyRequests");
    assert_eq!(
        get(b.clone()).await.status().as_u16(),
        200,
        "another token has its own bucket"
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(get(a).await.status().as_u16(), 200, "refilled after Retry-After");
    drop(server);

    // Overall: checked before any token, so even unauthenticated floods are held.
    let dir = tempfile::tempdir().unwrap();
    let server = Serve::start(
        &dir.path().join("data"),
        &["--global-rate", "1", "--global-burst", "2"],
        &dir.path().join("serve.log"),
    );
    let url = format!("{}/healthz", server.base);
    let codes: Vec<u16> = {
        let mut v = Vec::new();
        for _ in 0..3 {
            v.push(http.get(&url).send().await.unwrap().status().as_u16());
        }
        v
    };
    assert_eq!(codes, [200, 200, 429]);
}
