//! The CLI as a user runs it: real `skipline` processes on a temp data dir.

use serde_json::{Value, json};
use skipline::local::runtime::{Overrides, Runtime, RuntimeConfig};
use std::process::{Command, Output};

fn skipline(data: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_skipline"))
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn test_filter_prints_match_no_match_or_the_error() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // `skipline topic test-filter --policy POLICY FLAG VALUE`, FLAG being --attributes or --body.
    let test_filter = |policy, flag, value| skipline(d, &["topic", "test-filter", "--policy", policy, flag, value]);
    let attrs =
        r#"{"total":{"DataType":"Number","StringValue":"12.5"},"city":{"DataType":"String","StringValue":"Sydney"}}"#;
    let o = test_filter(r#"{"total":[{"numeric":[">=",10]}]}"#, "--attributes", attrs);
    assert_eq!(
        (o.status.code(), String::from_utf8_lossy(&o.stdout).trim()),
        (Some(0), "match"),
        "{}",
        text(&o)
    );
    let o = test_filter(r#"{"city":["Perth"]}"#, "--attributes", attrs);
    assert_eq!(
        (o.status.code(), String::from_utf8_lossy(&o.stdout).trim()),
        (Some(1), "no match")
    );
    let o = test_filter(r#"{"city":"Perth"}"#, "--attributes", attrs);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("Invalid parameter"), "{}", text(&o));
    let o = test_filter(
        r#"{"order":{"city":["Sydney"]}}"#,
        "--body",
        r#"{"order":{"city":"Sydney"}}"#,
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    // As delivery does, and as SNS does ("Filter policies for the message body assume that the
    // message payload is a well-formed JSON object"): a body that is not one is no match.
    for body in ["not json", "{", "[1]"] {
        let o = test_filter(r#"{"a":["b"]}"#, "--body", body);
        assert_eq!(
            (o.status.code(), String::from_utf8_lossy(&o.stdout).trim()),
            (Some(1), "no match"),
            "{body}: {}",
            text(&o)
        );
        assert!(text(&o).contains("not a JSON object"), "{}", text(&o));
    }
    // Dotted policy keys address nested objects, as on AWS.
    let o = test_filter(r#"{"object.nested":["v"]}"#, "--body", r#"{"object":{"nested":"v"}}"#);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = test_filter(
        r#"{"a":["b"]}"#,
        "--attributes",
        r#"{"a":{"DataType":"Bogus","StringValue":"b"}}"#,
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("DataType"), "{}", text(&o));
    assert!(
        !d.join("skipline.db").exists(),
        "test-filter needs no data dir and creates none"
    );
}

#[test]
fn read_commands_refuse_a_missing_data_dir_and_create_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("absent");
    for args in [
        &["queues", "list"][..],
        &["executions", "list"],
        &["order", "status", "x"],
        &["vendors", "list"],
    ] {
        let o = skipline(&d, args);
        assert_eq!(o.status.code(), Some(3), "{args:?}: {}", text(&o));
        assert!(text(&o).contains("no Skip the Line data"), "{}", text(&o));
    }
    let private = "https://192.168.1.10/hook";
    let o = skipline(
        &d,
        &["vendors", "subscribe", "--vendor-id", "v0", "--endpoint", private],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("private address"), "{}", text(&o));
    assert!(!d.exists(), "a refused command must not create the data dir");
}

#[tokio::test]
async fn an_interrupted_replay_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let rt = Runtime::open(RuntimeConfig::new(dir.path()), Overrides::default())
        .await
        .unwrap();
    rt.queues.create("parking", &Default::default()).await.unwrap();
    const N: usize = 20_000;
    rt.db
        .write_with(|c| {
            for i in 0..N {
                let attrs = skipline_events::MessageAttributes::new();
                skipline::local::queues::send_in(
                    c,
                    "notify-vendor-dlq",
                    &format!("m{i}"),
                    &format!("{{\"n\":{i}}}"),
                    &attrs,
                    0,
                )?;
            }
            Ok::<_, skipline::local::queues::QueueError>(())
        })
        .await
        .unwrap();
    drop(rt);
    let mut child = Command::new(env!("CARGO_BIN_EXE_skipline"))
        .arg("--data-dir")
        .arg(dir.path())
        .args(["queues", "replay", "--from", "notify-vendor-dlq", "--to", "parking"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(120));
    child.kill().unwrap(); // SIGKILL, mid-replay
    child.wait().unwrap();

    let conn = rusqlite::Connection::open(dir.path().join("skipline.db")).unwrap();
    let count = |q: &str| -> usize {
        conn.query_row("SELECT count(*) FROM messages WHERE queue = ?1", [q], |r| {
            r.get::<_, i64>(0)
        })
        .unwrap() as usize
    };
    let (left, moved) = (count("notify-vendor-dlq"), count("parking"));
    let distinct: usize = conn
        .query_row("SELECT count(DISTINCT message_id) FROM messages", [], |r| {
            r.get::<_, i64>(0)
        })
        .unwrap() as usize;
    eprintln!("replay interrupted: {moved} moved, {left} left");
    assert_eq!(left + moved, N, "no message lost or duplicated");
    assert_eq!(distinct, N);

    let o = skipline(
        dir.path(),
        &["queues", "replay", "--from", "notify-vendor-dlq", "--to", "parking"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(count("parking"), N, "a second run finishes the job");
}

#[tokio::test]
async fn http_topic_subscriptions_receive_the_sns_envelope() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = RuntimeConfig::new(dir.path());
    config.allow_private_endpoints = true;
    let rt = Runtime::open(config, Overrides::default()).await.unwrap();
    rt.start_background();
    let receiver = skipline::receiver::WebhookReceiver::start().await.unwrap();
    let backend = skipline::backend::local::LocalBackend::new(rt.clone());
    use skipline::backend::Backend;
    let text = r#"{"eventtype":["OrderCompleted"]}"#.to_string();
    let policy = skipline_engine::filter::FilterPolicy::parse(&text, Default::default()).unwrap();
    backend
        .topic_subscribe(skipline::backend::NewSubscription {
            protocol: skipline::backend::Protocol::Http,
            endpoint: receiver.url("sns"),
            filter_policy: Some((text, policy)),
            raw: false,
        })
        .await
        .unwrap();
    let body = json!({"order": {"accountid": "a1", "vendorid": "v1", "orderdate": "2026-11-25", "city": "Sydney",
        "details": {"coffeetype": "Latte", "coffeesize": "Small", "unitprice": "4", "quantity": 1}, "eventtype": ["new_order"]}});
    let placed = backend.place_order(body.to_string().as_bytes(), None).await.unwrap();
    for _ in 0..200 {
        if !receiver.deliveries("sns").is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    let got = receiver.deliveries("sns");
    assert_eq!(got.len(), 1);
    let envelope: serde_json::Value = serde_json::from_slice(&got[0].body).unwrap();
    assert_eq!(envelope["Type"], "Notification");
    assert_eq!(envelope["MessageAttributes"]["eventtype"]["Value"], "OrderCompleted");
    let event: serde_json::Value = serde_json::from_str(envelope["Message"].as_str().unwrap()).unwrap();
    assert_eq!(event["orderid"], placed.orderid.as_str());
}

#[test]
fn topic_subscribe_takes_a_queue_by_name_arn_or_url_and_a_refusal_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("data");
    // Refused before anything is opened: no data dir appears.
    let o = skipline(&d, &["topic", "subscribe", "--protocol", "sqs", "--endpoint", "../etc"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("queue name"), "{}", text(&o));
    assert!(!d.exists(), "a refused subscribe creates no data dir");
    // The AWS backend takes queue URLs; the embedded one resolves them to the queue's name.
    let url = "https://sqs.us-east-1.amazonaws.com/123456789012/notify-vendor-dlq";
    let o = skipline(
        &d,
        &["--json", "topic", "subscribe", "--protocol", "sqs", "--endpoint", url],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let info: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(info["endpoint"], "notify-vendor-dlq");
    let arn = "arn:aws:sqs:us-east-1:123456789012:clear-cart-dlq";
    let o = skipline(&d, &["topic", "subscribe", "--protocol", "sqs", "--endpoint", arn]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}

#[test]
fn states_validate_lists_every_problem_and_touches_no_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let flow = concat!(env!("CARGO_MANIFEST_DIR"), "/infra/statemachine/order_flow.asl.json");
    let o = skipline(&data, &["states", "validate", flow]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        text(&o).contains("valid (what `serve --state-machine` runs)"),
        "{}",
        text(&o)
    );

    // A Lambda the embedded runtime does not have, a dangling Next, a DISTRIBUTED Map.
    let bad = dir.path().join("bad.asl.json");
    std::fs::write(
        &bad,
        json!({"StartAt": "A", "States": {
            "A": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:f", "Next": "B"},
            "B": {"Type": "Pass", "Next": "Nowhere"},
            "M": {"Type": "Map", "End": true, "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED"},
                  "StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}}
        }})
        .to_string(),
    )
    .unwrap();
    let bad = bad.to_str().unwrap();
    let o = skipline(&data, &["states", "validate", bad]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(2), "{out}");
    for problem in [
        "state `A`, field `Resource`",
        "state `B`, field `Next`: no state named `Nowhere`",
        "state `M`, field `ItemProcessor.ProcessorConfig.Mode`",
        "3 problems",
        "line 1, column ",
    ] {
        assert!(out.contains(problem), "{problem} in {out}");
    }
    // Bound for AWS: any Lambda is fine, the DISTRIBUTED Map is valid but not checked here.
    let o = skipline(&data, &["--json", "states", "validate", bad, "--language-only"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["valid"], false);
    assert_eq!(report["problems"].as_array().map(Vec::len), Some(1), "{report}");
    assert_eq!(report["unchecked"].as_array().map(Vec::len), Some(1), "{report}");

    let o = skipline(&data, &["states", "validate", "/nonexistent.asl.json"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("cannot read /nonexistent.asl.json"), "{}", text(&o));
    assert!(!data.exists(), "states validate never creates a data dir");
}

#[test]
fn states_validate_and_test_speak_jsonata() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let file = dir.path().join("flow.asl.json");
    let write = |text: &str| std::fs::write(&file, text).unwrap();
    let path = file.to_str().unwrap();
    write(
        r#"{"QueryLanguage": "JSONata", "StartAt": "Price", "States": {
  "Price": {"Type": "Task", "Resource": "arn:aws:lambda:eu-west-1:123456789012:function:price",
    "Arguments": {"sku": "{% $states.input.sku %}"},
    "Output": {"sku": "{% $states.input.sku %}", "total": "{% $states.result.cents / 100 %}"},
    "End": true}}}"#,
    );
    let o = skipline(&data, &["states", "validate", path, "--language-only"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = skipline(
        &data,
        &[
            "--json",
            "states",
            "test",
            path,
            "--state",
            "Price",
            "--input",
            r#"{"sku": "latte"}"#,
            "--mock-result",
            r#"{"cents": 450}"#,
            "--inspection-level",
            "DEBUG",
            "--language-only",
        ],
    );
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_default();
    assert_eq!(report["output"], json!({"sku": "latte", "total": 4.5}), "{}", text(&o));
    assert_eq!(
        report["inspectionData"]["attempts"][0]["afterArguments"],
        json!({"sku": "latte"})
    );
    // A JSONPath field in a JSONata state is named with its line and column.
    write(
        "{\"QueryLanguage\": \"JSONata\", \"StartAt\": \"S\",\n \"States\": {\"S\": {\"Type\": \"Pass\",\n  \"ResultPath\": \"$.x\", \"End\": true}}}",
    );
    let o = skipline(&data, &["states", "validate", path, "--language-only"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("line 3"), "{}", text(&o));
    assert!(
        text(&o).contains("is a JSONPath field and this state's QueryLanguage is JSONata"),
        "{}",
        text(&o)
    );
    assert!(!data.exists(), "states commands never create a data dir");
}

/// The JSONata twin of the order flow builds the same events as the JSONPath file, state by
/// state: what one reads from its input, the other reads from its variables.
#[test]
fn the_jsonata_twin_describes_orders_as_the_jsonpath_flow_does() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let flows = concat!(env!("CARGO_MANIFEST_DIR"), "/infra/statemachine/");
    let (jsonpath, jsonata) = (
        format!("{flows}order_flow.asl.json"),
        format!("{flows}order_flow.jsonata.asl.json"),
    );
    let run = |file: &str, state: &str, input: &Value, variables: &Value, extra: &[&str]| {
        let (input, variables) = (input.to_string(), variables.to_string());
        let mut args = vec![
            "--json",
            "states",
            "test",
            file,
            "--state",
            state,
            "--input",
            &input,
            "--variables",
            &variables,
        ];
        args.extend_from_slice(extra);
        let o = skipline(&data, &args);
        assert_eq!(o.status.code(), Some(0), "{state} in {file}: {}", text(&o));
        serde_json::from_slice::<Value>(&o.stdout).unwrap()
    };
    let order = json!({"accountid": "a1", "vendorid": "v1", "city": "Sydney"});
    let error = json!({"Error": "StoreUnavailable", "Cause": "the disk is full"});
    let vars = json!({"orderid": "o-1", "order": order, "cart": order, "error": error});
    let state = json!({"orderid": "o-1", "order": order, "error": error});
    for (describe, publish, kind) in [
        ("DescribeRejection", "PublishRejected", "OrderRejected"),
        ("DescribeFailure", "PublishFailed", "OrderFailed"),
    ] {
        let path_event = run(&jsonpath, describe, &state, &json!({}), &[])["output"]["event"].clone();
        let mut ata_event = run(&jsonata, describe, &json!({}), &vars, &[])["output"].clone();
        assert_eq!(ata_event["eventid"], format!("o-1.{kind}"));
        // The entered time is the test's own clock: equal in shape, not in value.
        for event in [&path_event, &ata_event] {
            assert!(
                event["occurredAt"].as_str().is_some_and(|t| t.ends_with('Z')),
                "{event}"
            );
        }
        ata_event["occurredAt"] = path_event["occurredAt"].clone();
        assert_eq!(ata_event, path_event, "{describe}");
        // What each publishes: the same message and attributes.
        let mut with_event = state.clone();
        with_event["event"] = path_event.clone();
        let sent = |report: Value| report["inspectionData"]["attempts"][0]["afterParameters"].clone();
        let debug = ["--inspection-level", "DEBUG", "--mock-result", "{}"];
        let path_sent = sent(run(&jsonpath, publish, &with_event, &json!({}), &debug));
        let ata_report = run(&jsonata, publish, &path_event, &vars, &debug);
        let ata_sent = ata_report["inspectionData"]["attempts"][0]["afterArguments"].clone();
        assert_eq!(
            ata_sent["MessageAttributes"], path_sent["MessageAttributes"],
            "{publish}"
        );
        let message = |sent: &Value| serde_json::from_str::<Value>(sent["Message"].as_str().unwrap()).unwrap();
        assert_eq!(message(&ata_sent), message(&path_sent), "{publish}");
        assert_eq!(ata_report["nextState"], kind);
    }
}

#[test]
fn states_test_runs_one_state_with_mocks_like_test_state() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let flow = concat!(env!("CARGO_MANIFEST_DIR"), "/infra/statemachine/order_flow.asl.json");
    let input = r#"{"orderid": "o-1", "order": {"accountid": "a"}}"#;
    let run = |extra: &[&str]| {
        let mut args = vec!["--json", "states", "test", flow, "--state", "PutItem", "--input", input];
        args.extend_from_slice(extra);
        let o = skipline(&data, &args);
        let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_default();
        (o.status.code(), report, text(&o))
    };
    // The mocked result goes through ResultSelector and ResultPath to the next state.
    let (code, report, out) = run(&[
        "--mock-result",
        r#"{"orderid": "o-1", "order": {}, "total": "4.50", "extra": 1}"#,
    ]);
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(report["status"], "SUCCEEDED");
    assert_eq!(report["nextState"], "PutObject");
    assert_eq!(
        report["output"]["cart"],
        json!({"orderid": "o-1", "order": {}, "total": "4.50"})
    );
    // A mocked error is caught by the state's Catch; DEBUG shows what the task was sent.
    let (code, report, out) = run(&["--mock-error", "ActiveOrderExists:held", "--inspection-level", "DEBUG"]);
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(report["status"], "CAUGHT_ERROR");
    assert_eq!(report["nextState"], "DescribeRejection");
    assert_eq!(
        report["output"]["error"],
        json!({"Error": "ActiveOrderExists", "Cause": "held"})
    );
    assert_eq!(
        report["inspectionData"]["attempts"][0]["afterParameters"],
        json!({"orderid": "o-1", "order": {"accountid": "a"}})
    );
    // Retried errors are retried (without waiting), then caught; TRACE lists the events.
    let (_, report, out) = run(&["--mock-error", "StoreUnavailable", "--inspection-level", "TRACE"]);
    let scheduled = report["events"]
        .as_array()
        .map(|e| e.iter().filter(|e| e["type"] == "LambdaFunctionScheduled").count());
    assert_eq!(scheduled, Some(4), "MaxAttempts 3 after the first try: {out}");
    // A Task needs a mock; bad input is refused with exit 2; nothing made a data dir.
    let (code, _, out) = run(&[]);
    assert_eq!(code, Some(2));
    assert!(out.contains("give --mock-result"), "{out}");
    let (code, _, out) = run(&["--mock-result", "{nope"]);
    assert_eq!(code, Some(2));
    assert!(out.contains("--mock-result is not JSON"), "{out}");
    let o = skipline(&data, &["states", "test", flow, "--state", "OrderRejected"]);
    assert_eq!(o.status.code(), Some(1), "a Fail state fails: {}", text(&o));
    assert!(text(&o).contains("ActiveOrderExists"), "{}", text(&o));
    assert!(!data.exists(), "states test never creates a data dir");
}
