//! Vendor outages, against `skipline serve` and webhook receivers in the test process.
//!
//! - An outage shorter than the retry schedule: the endpoint comes back and gets every ticket
//!   exactly once, with no replay and nothing dead-lettered, while a healthy endpoint of the same
//!   vendor gets its tickets at once the whole time.
//! - 410 Gone disables the endpoint; a 429's `Retry-After` holds the next attempt back.
//! - An outage longer than a (short) schedule: one endpoint answers 500, another hangs past
//!   `--webhook-timeout`, a third stays healthy. The failing deliveries land in deliveries-dlq
//!   once the schedule is exhausted; the orders themselves complete regardless. When the
//!   endpoints recover, `skipline queues replay --from deliveries-dlq` (the CLI binary, against
//!   the data dir of the running server) delivers each ticket exactly once, by event id, and a
//!   second replay moves nothing.

mod support;

use serde_json::Value;
use std::collections::HashMap;
use std::time::{Duration, Instant};
use support::{Mode, Stage, cli, duplicates, get};

const FAILING: &str = "v-500";
const HANGING: &str = "v-hang";
const HEALTHY: &str = "v-ok";

fn run_cli(data: &std::path::Path, args: &[&str]) -> String {
    let out = cli(data, args);
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "skipline {}: {:?}\nstdout: {stdout}\nstderr: {}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn peek(data: &std::path::Path, queue: &str) -> Vec<Value> {
    let text = run_cli(data, &["--json", "queues", "peek", queue, "--max", "1000"]);
    serde_json::from_str::<Vec<Value>>(&text).unwrap_or_else(|e| panic!("peek {queue}: {e}: {text}"))
}

async fn wait_for(what: &str, limit: Duration, mut done: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done().await {
        assert!(
            Instant::now() < deadline,
            "timed out after {limit:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_a_short_schedule_tickets_dead_letter_and_are_replayed_once() {
    let started = Instant::now();
    // Three attempts in about a second and a half, then the DLQ.
    let schedule = "--delivery-schedule 500ms,1s";
    let args = format!("--visibility-timeout 1s --max-receive-count 2 --webhook-timeout 500ms {schedule}");
    let mut stage = Stage::start(&args).await;
    let Stage {
        data,
        base,
        http,
        receiver,
        ..
    } = &stage;
    for v in [FAILING, HANGING, HEALTHY] {
        stage.subscribe(v, v).await;
    }
    receiver.set_mode(FAILING, Mode::Fail);
    receiver.set_mode(HANGING, Mode::Hang(Duration::from_secs(2)));

    // Orders: four per broken vendor, two for the healthy one.
    let mut orders: Vec<(String, &str)> = Vec::new();
    for (vendor, n) in [(FAILING, 4), (HANGING, 4), (HEALTHY, 2)] {
        for i in 0..n {
            orders.push((stage.place(&format!("acct-{vendor}-{i}"), vendor).await, vendor));
        }
    }
    let broken = orders.iter().filter(|(_, v)| *v != HEALTHY).count();

    // The outage: orders complete, healthy tickets arrive, broken ones dead-letter once their
    // schedule is exhausted.
    for (id, _) in &orders {
        let url = format!("{base}/orders/{id}");
        wait_for("executions to succeed", Duration::from_secs(30), async || {
            get(http, &url).await.unwrap().1["status"] == "SUCCEEDED"
        })
        .await;
    }
    wait_for("the broken tickets in the DLQ", Duration::from_secs(45), async || {
        peek(data, "deliveries-dlq").len() == broken
    })
    .await;
    let accepted = receiver.accepted();
    assert!(
        accepted.iter().all(|h| h.path == HEALTHY),
        "nothing reached a broken vendor as accepted"
    );
    assert_eq!(
        accepted.len(),
        2,
        "the healthy vendor got its tickets during the outage"
    );
    let attempts_500 = receiver.attempts(FAILING);
    let attempts_hang = receiver.attempts(HANGING);
    assert_eq!(attempts_500, 12, "each failing ticket was tried the schedule's 3 times");
    assert_eq!(
        attempts_hang, 12,
        "each hanging ticket was tried the schedule's 3 times"
    );
    let dead = peek(data, "deliveries-dlq");
    let dead_events: Vec<String> = dead
        .iter()
        .map(|m| {
            let body: Value = serde_json::from_str(m["body"].as_str().unwrap()).unwrap();
            body["payload"]["data"]["orderid"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    for (id, vendor) in orders.iter().filter(|(_, v)| *v != HEALTHY) {
        assert!(
            dead_events.contains(id),
            "order {id} for {vendor} dead-lettered: {dead_events:?}"
        );
    }
    // The carts were cleared regardless (clear-cart is a separate queue).
    for (i, (_, vendor)) in orders.iter().enumerate() {
        let account = format!(
            "acct-{vendor}-{}",
            if i < 4 {
                i
            } else if i < 8 {
                i - 4
            } else {
                i - 8
            }
        );
        let (code, _) = get(http, &format!("{base}/order?accountid={account}&vendorid={vendor}"))
            .await
            .unwrap();
        assert_eq!(code, 404, "cart of {account} at {vendor} cleared");
    }

    // Recovery: a DLQ is not redriven by itself.
    receiver.set_mode(FAILING, Mode::Ok);
    receiver.set_mode(HANGING, Mode::Ok);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(receiver.accepted().len(), 2, "no delivery before the replay");

    let dry = run_cli(data, &["queues", "replay", "--from", "deliveries-dlq", "--dry-run"]);
    assert!(dry.contains(&format!("would have moved {broken} ")), "{dry}");
    assert_eq!(peek(data, "deliveries-dlq").len(), broken, "a dry run moves nothing");
    let replayed = run_cli(data, &["queues", "replay", "--from", "deliveries-dlq"]);
    assert!(
        replayed.contains(&format!("moved {broken} skipped 0 failed 0")),
        "{replayed}"
    );
    wait_for("every ticket after the replay", Duration::from_secs(30), async || {
        receiver.accepted().len() >= orders.len()
    })
    .await;
    // Longer than two visibility timeouts: any redelivery would have happened by now.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let again = run_cli(data, &["queues", "replay", "--from", "deliveries-dlq"]);
    assert!(again.contains("moved 0 skipped 0 failed 0"), "{again}");
    tokio::time::sleep(Duration::from_millis(1000)).await;

    let hooks = receiver.accepted();
    let mut per_event: HashMap<String, usize> = HashMap::new();
    for h in &hooks {
        *per_event.entry(h.eventid.clone()).or_default() += 1;
    }
    for (id, vendor) in &orders {
        let eventid = format!("{id}.OrderCompleted");
        assert_eq!(per_event.get(&eventid), Some(&1), "{eventid} delivered exactly once");
        assert!(
            hooks
                .iter()
                .any(|h| h.eventid == eventid && h.path == *vendor && h.signature_ok),
            "{eventid} reached {vendor}, signed"
        );
    }
    let (dups, mixed) = duplicates(&hooks);
    assert_eq!((dups, mixed.len()), (0, 0), "{mixed:?}");
    assert_eq!(hooks.len(), orders.len(), "no extra deliveries");
    assert!(peek(data, "deliveries-dlq").is_empty(), "the DLQ is empty");
    assert!(peek(data, "deliveries").is_empty(), "the queue is drained");
    assert!(peek(data, "notify-vendor-dlq").is_empty(), "the fan-out never failed");
    stage.assert_alive();
    println!(
        "outage: orders {} dead-lettered {} attempts during outage (500 {}, hang {}) \
         delivered after replay {} duplicates {} ({:.1}s)",
        orders.len(),
        broken,
        attempts_500,
        attempts_hang,
        hooks.len() - 2,
        dups,
        started.elapsed().as_secs_f64()
    );
}

/// Two endpoints of one vendor; one is down for far longer than the notify-vendor queue's own
/// redrive window (1 s visibility × 2 receives, which is what dead-lettered tickets before
/// per-delivery schedules), and shorter than the compressed schedule (about 15 s). Nobody
/// replays anything.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_shorter_than_the_schedule_needs_nobody() {
    let args = "--visibility-timeout 1s --max-receive-count 2 --delivery-schedule 500ms,1s,2s,4s,8s";
    let mut stage = Stage::start(args).await;
    let Stage { data, receiver, .. } = &stage;
    let vendor = "v-shop";
    stage.subscribe(vendor, "tablet").await;
    stage.subscribe(vendor, "till").await;
    receiver.set_mode("tablet", Mode::Fail);

    // Orders arrive all through the outage, which lasts 6 s.
    let outage = Instant::now();
    let mut orders = Vec::new();
    let mut placed_at = HashMap::new();
    for i in 0..6 {
        let id = stage.place(&format!("acct-{i}"), vendor).await;
        placed_at.insert(format!("{id}.OrderCompleted"), Instant::now());
        orders.push(id);
        tokio::time::sleep(Duration::from_millis(1000)).await;
    }
    let down_for = outage.elapsed();
    assert!(down_for >= Duration::from_secs(6));
    // The healthy endpoint got every ticket, each soon after its order, with the other down.
    let till: Vec<_> = receiver.accepted().into_iter().filter(|h| h.path == "till").collect();
    assert_eq!(till.len(), orders.len(), "the healthy endpoint is not held back");
    for hook in &till {
        let lag = hook.at.duration_since(placed_at[&hook.eventid]);
        assert!(
            lag < Duration::from_secs(3),
            "{} reached the till {lag:?} after its order",
            hook.eventid
        );
        assert!(hook.signature_ok, "the official library verifies it");
    }
    assert!(
        receiver.attempts("tablet") >= orders.len() as u64,
        "the tablet was tried"
    );
    assert!(
        receiver.accepted().iter().all(|h| h.path != "tablet"),
        "nothing was accepted by the tablet while it was down"
    );

    // Back up: the schedule delivers the rest with nobody doing anything.
    receiver.set_mode("tablet", Mode::Ok);
    wait_for("every ticket on the tablet", Duration::from_secs(30), async || {
        receiver.accepted().iter().filter(|h| h.path == "tablet").count() >= orders.len()
    })
    .await;
    // Longer than the longest wait still possible: nothing is sent twice.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let hooks = receiver.accepted();
    for path in ["tablet", "till"] {
        let mut events: Vec<&str> = hooks
            .iter()
            .filter(|h| h.path == path)
            .map(|h| h.eventid.as_str())
            .collect();
        events.sort_unstable();
        let mut expected: Vec<String> = orders.iter().map(|o| format!("{o}.OrderCompleted")).collect();
        expected.sort_unstable();
        assert_eq!(events, expected, "{path}: every ticket exactly once");
        assert!(hooks.iter().filter(|h| h.path == path).all(|h| h.signature_ok));
    }
    assert!(peek(data, "deliveries-dlq").is_empty(), "nothing dead-lettered");
    assert!(peek(data, "notify-vendor-dlq").is_empty());

    // Every attempt is in the delivery log: failures then one delivery per ticket.
    let log: Vec<Value> = serde_json::from_str(&run_cli(
        data,
        &["--json", "vendors", "deliveries", "--vendor", vendor, "--limit", "1000"],
    ))
    .unwrap();
    let tablet_id = endpoint_id(data, vendor, "tablet");
    let tablet: Vec<&Value> = log.iter().filter(|a| a["endpointid"] == tablet_id.as_str()).collect();
    let delivered = tablet.iter().filter(|a| a["outcome"] == "delivered").count();
    let failed = tablet.iter().filter(|a| a["outcome"] == "failed").count();
    assert_eq!(delivered, orders.len());
    assert_eq!(
        failed as u64,
        receiver.attempts("tablet") - orders.len() as u64,
        "every attempt logged"
    );
    assert!(
        tablet
            .iter()
            .filter(|a| a["outcome"] == "failed")
            .all(|a| a["status"] == 500 && a["nextAttemptAt"].is_string())
    );
    let failing = run_cli(data, &["vendors", "list", "--vendor-id", vendor]);
    assert!(
        !failing.contains("failing since") && !failing.contains("DISABLED"),
        "healthy again: {failing}"
    );
    println!(
        "outage of {:.1}s: {} tickets, {} attempts on the tablet, none dead-lettered, no replay",
        down_for.as_secs_f64(),
        orders.len(),
        receiver.attempts("tablet")
    );
    stage.assert_alive();
}

/// The id of the endpoint at `path` of the receiver.
fn endpoint_id(data: &std::path::Path, vendor: &str, path: &str) -> String {
    let list: Vec<Value> =
        serde_json::from_str(&run_cli(data, &["--json", "vendors", "list", "--vendor-id", vendor])).unwrap();
    list.iter()
        .find(|e| e["url"].as_str().is_some_and(|u| u.ends_with(&format!("/{path}"))))
        .and_then(|e| e["endpointid"].as_str())
        .unwrap_or_else(|| panic!("no endpoint for /{path}: {list:?}"))
        .to_string()
}

/// 410 disables the endpoint at once and nothing more is sent to it until it is enabled; a
/// 429's Retry-After holds the next attempt back past the schedule's own delay; an endpoint
/// that fails every attempt for --disable-after is disabled too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gone_disables_and_retry_after_holds_back() {
    let mut stage = Stage::start("--delivery-schedule 200ms,200ms,200ms,1s,1s,1s --disable-after 1500ms").await;
    let Stage { data, receiver, .. } = &stage;
    for (vendor, path) in [("v-gone", "gone"), ("v-busy", "busy"), ("v-dead", "dead")] {
        stage.subscribe(vendor, path).await;
    }
    receiver.set_mode("gone", Mode::Gone);
    receiver.set_mode("busy", Mode::Busy(3));
    receiver.set_mode("dead", Mode::Fail);
    stage.place("acct-4", "v-dead").await;

    let first = stage.place("acct-1", "v-gone").await;
    stage.place("acct-2", "v-busy").await;
    wait_for("the 410", Duration::from_secs(20), async || {
        receiver.attempts("gone") == 1
    })
    .await;
    wait_for("the endpoint disabled", Duration::from_secs(10), async || {
        run_cli(data, &["vendors", "list", "--vendor-id", "v-gone"]).contains("DISABLED")
    })
    .await;
    let listed: Vec<Value> =
        serde_json::from_str(&run_cli(data, &["--json", "vendors", "list", "--vendor-id", "v-gone"])).unwrap();
    assert_eq!(listed[0]["state"], "disabled");
    assert!(
        listed[0]["disabledReason"].as_str().unwrap().contains("410 Gone"),
        "{listed:?}"
    );
    // The topic got an EndpointDisabled event.
    let db = rusqlite::Connection::open(data.join("skipline.db")).unwrap();
    let disabled: Vec<String> = db
        .prepare("SELECT body FROM topic_log WHERE body LIKE '%\"eventtype\":\"EndpointDisabled\"%'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(!disabled.is_empty(), "{disabled:?}");
    let event: Value = disabled
        .iter()
        .map(|b| serde_json::from_str::<Value>(b).unwrap())
        .find(|e| e["vendorid"] == "v-gone")
        .unwrap_or_else(|| panic!("no EndpointDisabled for v-gone: {disabled:?}"));
    assert_eq!(
        (
            event["vendorid"].as_str(),
            event["reason"].as_str().map(|r| r.contains("410"))
        ),
        (Some("v-gone"), Some(true))
    );

    // Another order: nothing is attempted on a disabled endpoint, but the log says why.
    stage.place("acct-3", "v-gone").await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(receiver.attempts("gone"), 1, "no attempt after the 410");

    // The 429 with Retry-After: 3 s is not retried after the schedule's 200 ms.
    let busy = receiver.attempt_times("busy");
    assert!(!busy.is_empty());
    wait_for("the retry after Retry-After", Duration::from_secs(15), async || {
        receiver.attempts("busy") >= 2
    })
    .await;
    let busy = receiver.attempt_times("busy");
    let gap = busy[1].duration_since(busy[0]);
    assert!(
        gap >= Duration::from_secs(3),
        "the second attempt came {gap:?} after the 429"
    );

    // Failing every attempt for 1.5 s disables it, before the schedule runs out.
    wait_for("the failing endpoint disabled", Duration::from_secs(15), async || {
        run_cli(data, &["vendors", "list", "--vendor-id", "v-dead"]).contains("DISABLED")
    })
    .await;
    let dead: Vec<Value> =
        serde_json::from_str(&run_cli(data, &["--json", "vendors", "list", "--vendor-id", "v-dead"])).unwrap();
    assert!(
        dead[0]["disabledReason"]
            .as_str()
            .unwrap()
            .contains("failed every attempt since"),
        "{dead:?}"
    );
    let tries = receiver.attempts("dead");
    assert!(
        (3..7).contains(&tries),
        "disabled after {tries} attempts, before the schedule's 7"
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(receiver.attempts("dead"), tries, "no attempt once disabled");
    assert!(peek(data, "deliveries-dlq").is_empty(), "disabled, not dead-lettered");

    // Enable, then redeliver what it missed, with the same webhook-ids.
    receiver.set_mode("gone", Mode::Ok);
    let gone_id = endpoint_id(data, "v-gone", "gone");
    let enabled = run_cli(
        data,
        &["vendors", "enable", "--vendor", "v-gone", "--endpoint", &gone_id],
    );
    assert!(enabled.contains("enabled"), "{enabled}");
    let redelivered = run_cli(data, &["vendors", "redeliver", "--vendor", "v-gone", "--since", "1h"]);
    assert!(
        redelivered.contains("queued 2 deliveries for 2 tickets"),
        "the 410'd one and the skipped one: {redelivered}"
    );
    let event_only = run_cli(
        data,
        &[
            "vendors",
            "redeliver",
            "--vendor",
            "v-gone",
            "--event",
            &format!("{first}.OrderCompleted"),
        ],
    );
    assert!(event_only.contains("queued 1 delivery"), "{event_only}");
    wait_for("the redeliveries", Duration::from_secs(15), async || {
        receiver.accepted().iter().filter(|h| h.path == "gone").count() >= 3
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let got: Vec<_> = receiver.accepted().into_iter().filter(|h| h.path == "gone").collect();
    assert_eq!(got.len(), 3, "two tickets, and the first once more");
    let first_event = format!("{first}.OrderCompleted");
    assert_eq!(
        got.iter().filter(|h| h.eventid == first_event).count(),
        2,
        "same webhook-id both times"
    );
    assert!(got.iter().all(|h| h.signature_ok));
    let log: Vec<Value> = serde_json::from_str(&run_cli(
        data,
        &["--json", "vendors", "deliveries", "--vendor", "v-gone", "--failed"],
    ))
    .unwrap();
    let outcomes: Vec<&str> = log.iter().filter_map(|a| a["outcome"].as_str()).collect();
    assert!(
        outcomes.contains(&"disabled") && outcomes.contains(&"skipped"),
        "{outcomes:?}"
    );
    stage.assert_alive();
}
