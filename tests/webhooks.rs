//! Standard Webhooks signing end to end: `skipline serve` delivers tickets to a real receiver
//! on 127.0.0.1, and every signature is checked with the official `standardwebhooks` library
//! (see `support/official.rs`). Covers the migration of a data dir written before Standard
//! Webhooks (`tests/fixtures/make-legacy-vendors-dir.sh`) and secret rotation with its grace
//! period.

mod support;

use serde_json::{Value, json};
use skipline::receiver::{Delivery, WebhookReceiver};
use skipline_events::{LEGACY_HEADER_SIGNATURE, LEGACY_HEADER_TIMESTAMP};
use skipline_handlers::webhook::legacy_verify;
use std::path::Path;
use std::time::{Duration, Instant};
use support::{Serve, copy_dir, http_client, official, place};

/// The delivery of `orderid`'s ticket to `path`, waiting up to 30 s.
async fn ticket(receiver: &WebhookReceiver, path: &str, orderid: &str) -> Delivery {
    let eventid = format!("{orderid}.OrderCompleted");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(d) = receiver.deliveries(path).into_iter().find(|d| d.eventid == eventid) {
            return d;
        }
        assert!(Instant::now() < deadline, "no ticket for {orderid} on /{path}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn rotate(http: &reqwest::Client, base: &str, vendor: &str, endpoint: &str, body: Value) -> Value {
    let r = http
        .post(format!("{base}/vendors/{vendor}/endpoints/{endpoint}/rotate-secret"))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let v: Value = r.json().await.unwrap();
    assert_eq!(status, 200, "{v}");
    v
}

async fn endpoints(http: &reqwest::Client, base: &str, vendor: &str) -> Vec<Value> {
    let (status, v) = support::get(http, &format!("{base}/vendors/{vendor}/endpoints"))
        .await
        .unwrap();
    assert_eq!(status, 200);
    v["endpoints"].as_array().cloned().unwrap_or_default()
}

fn endpoint_id(list: &[Value], path: &str) -> String {
    list.iter()
        .find(|e| e["url"].as_str().is_some_and(|u| u.ends_with(path)))
        .and_then(|e| e["endpointid"].as_str())
        .unwrap()
        .to_string()
}

fn legacy_ok(d: &Delivery, secret: &str) -> bool {
    let (Some(ts), Some(sig)) = (d.header(LEGACY_HEADER_TIMESTAMP), d.header(LEGACY_HEADER_SIGNATURE)) else {
        return false;
    };
    ts.parse().is_ok_and(|ts| legacy_verify(secret, ts, &d.body, sig))
}

/// Endpoints created by the binary from before Standard Webhooks keep their old signature (so
/// their receivers keep working) and also get the standard one where the secret allows it.
/// Rotating moves an endpoint to Standard Webhooks only; during the grace period both secrets
/// verify with the official library, after a rotation with no grace only the new one does.
#[tokio::test]
async fn a_legacy_data_dir_keeps_its_signatures_until_rotation_and_rotation_has_a_grace_period() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/legacy-vendors-dir");
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&fixtures, dir.path());
    let data = dir.path().join("data");
    let read = |f: &str| std::fs::read_to_string(dir.path().join(f)).unwrap().trim().to_string();
    let (generated, supplied) = (read("generated-secret"), read("supplied-secret"));
    let receiver = WebhookReceiver::start().await.unwrap();
    // Point the fixture's endpoints (port 9, nowhere) at this test's receiver; nothing else changes.
    let db = rusqlite::Connection::open(data.join("skipline.db")).unwrap();
    let base_url = receiver.url("");
    db.execute(
        "UPDATE vendor_endpoints SET url = replace(url, 'http://127.0.0.1:9/', ?1)",
        [base_url.as_str()],
    )
    .unwrap();
    drop(db);

    let server = Serve::start(&data, &["--allow-private-endpoints"], &dir.path().join("serve.log"));
    let (http, base) = (http_client(), server.base.clone());
    let listed = endpoints(&http, &base, "v-legacy").await;
    assert!(listed.iter().all(|e| e["signing"] == "legacy"), "{listed:?}");
    let (gen_id, sup_id) = (endpoint_id(&listed, "/generated"), endpoint_id(&listed, "/supplied"));

    let first = place(&http, &base, "a-1", "v-legacy").await;
    let d = ticket(&receiver, "generated", &first).await;
    assert!(legacy_ok(&d, &generated), "the old receiver's check still passes");
    assert_eq!(
        official::verify(&generated, &d.headers, &d.body),
        Ok(()),
        "and so does the official one"
    );
    let bare: Value = serde_json::from_slice(&d.body).unwrap();
    assert_eq!(
        bare["orderid"],
        first.as_str(),
        "a legacy receiver gets the body it parses: {bare}"
    );
    let d = ticket(&receiver, "supplied", &first).await;
    assert!(legacy_ok(&d, &supplied));
    assert_eq!(
        d.header("webhook-signature"),
        None,
        "a secret that is not base64 cannot sign the standard way"
    );

    // Rotation with the default grace period: the old secret verifies beside the new one.
    let rotated = rotate(&http, &base, "v-legacy", &gen_id, json!({})).await;
    let new = rotated["secret"].as_str().unwrap().to_string();
    assert!(new.starts_with("whsec_") && new != generated);
    assert_eq!(rotated["signing"], "standard-webhooks");
    assert!(rotated["previousSecretUntil"].is_string(), "{rotated}");
    let second = place(&http, &base, "a-2", "v-legacy").await;
    let d = ticket(&receiver, "generated", &second).await;
    assert_eq!(
        d.header(LEGACY_HEADER_SIGNATURE),
        None,
        "rotated: no more legacy headers"
    );
    assert_eq!(official::verify(&new, &d.headers, &d.body), Ok(()));
    assert_eq!(
        official::verify(&generated, &d.headers, &d.body),
        Ok(()),
        "grace period"
    );
    assert_eq!(d.header("webhook-signature").map(|s| s.split(' ').count()), Some(2));
    let payload: Value = serde_json::from_slice(&d.body).unwrap();
    assert_eq!(
        payload["type"], "order.completed",
        "rotated: the Standard Webhooks envelope"
    );
    assert_eq!(payload["data"]["orderid"], second.as_str());
    // The untouched endpoint is still legacy.
    assert!(legacy_ok(&ticket(&receiver, "supplied", &second).await, &supplied));

    // A supplied secret and no grace: only it verifies.
    let mine = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let again = rotate(
        &http,
        &base,
        "v-legacy",
        &gen_id,
        json!({"secret": mine, "graceSeconds": 0}),
    )
    .await;
    assert!(again.get("previousSecretUntil").is_none(), "{again}");
    assert!(
        again["secret"].as_str().is_some_and(|s| s.starts_with('…')),
        "a supplied secret is not echoed: {again}"
    );
    let third = place(&http, &base, "a-3", "v-legacy").await;
    let d = ticket(&receiver, "generated", &third).await;
    assert_eq!(official::verify(mine, &d.headers, &d.body), Ok(()));
    for old in [&new, &generated] {
        let refused = official::verify(old, &d.headers, &d.body);
        assert!(
            refused.as_ref().is_err_and(|e| e.contains("No matching signature")),
            "{refused:?}"
        );
    }

    // The supplied-secret endpoint rotates too, to a generated Standard Webhooks secret.
    let sup = rotate(&http, &base, "v-legacy", &sup_id, json!({"graceSeconds": 60})).await;
    let sup_new = sup["secret"].as_str().unwrap().to_string();
    let fourth = place(&http, &base, "a-4", "v-legacy").await;
    let d = ticket(&receiver, "supplied", &fourth).await;
    assert_eq!(official::verify(&sup_new, &d.headers, &d.body), Ok(()));
    assert_eq!(
        d.header("webhook-signature").map(|s| s.split(' ').count()),
        Some(1),
        "the old secret was not base64: it cannot sign, even in its grace period"
    );
}

/// Bad rotation requests are refused with a reason and change nothing.
#[tokio::test]
async fn bad_rotations_are_refused_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Serve::start(&data, &["--allow-private-endpoints"], &dir.path().join("serve.log"));
    let (http, base) = (http_client(), server.base.clone());
    support::subscribe(&http, &base, "v0", "http://127.0.0.1:9/hook").await;
    let id = endpoints(&http, &base, "v0").await[0]["endpointid"]
        .as_str()
        .unwrap()
        .to_string();
    let before = support::snapshot(&data.join("skipline.db"));
    for (path, body, status, says) in [
        (
            format!("/vendors/v0/endpoints/{id}/rotate-secret"),
            json!({"secret": "short"}),
            400,
            "whsec_",
        ),
        (
            format!("/vendors/v0/endpoints/{id}/rotate-secret"),
            json!({"graceSeconds": 8 * 86_400}),
            400,
            "at most 168 hours",
        ),
        (
            format!("/vendors/v0/endpoints/{id}/rotate-secret"),
            json!({"nope": 1}),
            400,
            "unknown field",
        ),
        (
            format!("/vendors/v0/endpoints/{id}/rotate-secret"),
            json!({"secret": support::SECRET}),
            400,
            "current one",
        ),
        (
            "/vendors/v0/endpoints/ep_missing/rotate-secret".to_string(),
            json!({}),
            404,
            "no endpoint",
        ),
        (
            format!("/vendors/v%2F0/endpoints/{id}/rotate-secret"),
            json!({}),
            400,
            "vendorid",
        ),
    ] {
        let r = http.post(format!("{base}{path}")).json(&body).send().await.unwrap();
        let code = r.status().as_u16();
        let text = r.text().await.unwrap();
        assert_eq!(code, status, "{path} {body}: {text}");
        assert!(text.contains(says), "{path} {body}: {text}");
    }
    assert_eq!(
        support::diff(&before, &support::snapshot(&data.join("skipline.db"))),
        ""
    );
}
