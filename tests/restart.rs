//! A restart mid-flow: `skipline serve` is killed with SIGKILL while an execution is between
//! states, restarted on the same data dir, and the execution resumes and completes.

mod support;

use serde_json::{Value, json};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use support::copy_dir;

struct Serve(Child);

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn serve(data: &std::path::Path, machine: &std::path::Path, port: u16) -> Serve {
    let child = Command::new(env!("CARGO_BIN_EXE_skipline"))
        .args([
            "--data-dir",
            data.to_str().unwrap(),
            "serve",
            "--bind",
            &format!("127.0.0.1:{port}"),
        ])
        .args(["--state-machine", machine.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    Serve(child)
}

async fn wait_up(http: &reqwest::Client, base: &str) {
    for _ in 0..200 {
        if http.get(format!("{base}/healthz")).send().await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("server did not start");
}

async fn status(http: &reqwest::Client, base: &str, id: &str) -> Value {
    http.get(format!("{base}/orders/{id}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn an_execution_resumes_after_kill_9() {
    // The real flow with a pause between the cart and the invoice, so the kill lands mid-flow.
    let mut machine: Value = serde_json::from_str(skipline::local::runtime::EMBEDDED_STATE_MACHINE).unwrap();
    machine["States"]["PutItem"]["Next"] = json!("Pause");
    // A variable assigned before the kill must be there after it.
    machine["States"]["PutItem"]["Assign"] = json!({"committedTotal.$": "$.total"});
    machine["States"]["Pause"] = json!({"Type": "Wait", "Seconds": 2, "Next": "Recall"});
    machine["States"]["Recall"] = json!({"Type": "Pass", "Parameters": {"total.$": "$committedTotal"}, "ResultPath": "$.recalled", "Next": "PutObject"});
    let resumed = kill_when(machine, |h| {
        h.iter()
            .any(|e| e["type"] == "WaitStateEntered" && e["state"] == "Pause")
    })
    .await;
    let last = &resumed.last;
    assert_eq!(last["status"], "SUCCEEDED", "{last}");
    let entered: Vec<String> = types(last)
        .into_iter()
        .filter(|(t, _)| t.ends_with("StateEntered"))
        .map(|(_, s)| s)
        .collect();
    assert_eq!(
        entered.iter().filter(|s| *s == "PutItem").count(),
        1,
        "PutItem ran before the kill only: {entered:?}"
    );
    assert!(
        entered.iter().filter(|s| *s == "Pause").count() >= 2,
        "resumed at the checkpoint: {entered:?}"
    );
    let recalled = last["history"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == "PassStateExited" && e["state"] == "Recall")
        .map(|e| e["detail"]["output"]["recalled"].clone());
    assert_eq!(
        recalled,
        Some(json!({"total": "4.00"})),
        "the variable survived the kill"
    );
    let invoice = reqwest::get(format!("{}/orders/{}/invoice", resumed.base, resumed.orderid))
        .await
        .unwrap();
    assert_eq!(invoice.status().as_u16(), 200);
}

fn types(status: &Value) -> Vec<(String, String)> {
    status["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["type"].as_str().unwrap_or_default().to_string(),
                e["state"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// A data dir written by the binary from before histories used Step Functions' names (see
/// `tests/fixtures/make-legacy-data-dir.sh`): its paused execution resumes and finishes without
/// re-running the committed cart step, and both histories read in the new names.
#[tokio::test]
async fn a_data_dir_from_before_the_step_functions_vocabulary_resumes_and_reads_in_it() {
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&fixtures.join("legacy-data-dir"), dir.path());
    let data = dir.path().join("data");
    let read = |f: &str| std::fs::read_to_string(dir.path().join(f)).unwrap().trim().to_string();
    let (paused, rejected) = (read("paused-orderid"), read("rejected-orderid"));
    // The same file name: the machine's name, in the executions' ARNs, comes from it.
    let machine_path = dir.path().join("legacy-paused.asl.json");
    std::fs::copy(fixtures.join("legacy-paused.asl.json"), &machine_path).unwrap();

    let http = reqwest::Client::new();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let _server = serve(&data, &machine_path, port);
    wait_up(&http, &base).await;

    let failed = status(&http, &base, &rejected).await;
    assert_eq!(failed["status"], "FAILED", "{failed}");
    let seen = types(&failed);
    let kinds: Vec<&str> = seen.iter().map(|(t, _)| t.as_str()).collect();
    for legacy in ["StateEntered", "StateExited", "ErrorCaught", "RetryScheduled"] {
        assert!(!kinds.contains(&legacy), "{legacy} in {kinds:?}");
    }
    let failure = kinds.iter().position(|k| *k == "LambdaFunctionFailed");
    assert!(
        failure.is_some_and(|i| kinds[i + 1] == "TaskStateExited"),
        "a caught error reads as on AWS: {seen:?}"
    );
    assert_eq!(
        seen[1],
        ("TaskStateEntered".to_string(), "PutItem".to_string()),
        "{seen:?}"
    );

    let mut last = Value::Null;
    for _ in 0..400 {
        last = status(&http, &base, &paused).await;
        if last["status"] != "RUNNING" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(last["status"], "SUCCEEDED", "{last}");
    let seen = types(&last);
    let put_item = seen
        .iter()
        .filter(|(t, s)| t == "TaskStateEntered" && s == "PutItem")
        .count();
    assert_eq!(put_item, 1, "the cart step is not re-run: {seen:?}");
    assert!(
        seen.iter()
            .filter(|(t, s)| t == "WaitStateEntered" && s == "Pause")
            .count()
            >= 2,
        "resumed at the old checkpoint: {seen:?}"
    );
    assert!(seen.iter().any(|(t, _)| t == "SucceedStateEntered"), "{seen:?}");
}

/// The order after a kill and a restart, and the restarted server (running until dropped).
struct Resumed {
    last: Value,
    orderid: String,
    base: String,
    _server: Serve,
    _dir: tempfile::TempDir,
}

/// Serves `machine`, places an order, kills the server with SIGKILL once `mid` holds for the
/// durable history, restarts it on the same data dir and waits for the order to finish and
/// its cart item to be cleared.
async fn kill_when(machine: Value, mid: impl Fn(&[Value]) -> bool) -> Resumed {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let machine_path = dir.path().join("containers.asl.json");
    std::fs::write(&machine_path, machine.to_string()).unwrap();
    let http = reqwest::Client::new();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut server = serve(&data, &machine_path, port);
    wait_up(&http, &base).await;
    let body = json!({"order": {"accountid": "a-k", "vendorid": "v-k", "orderdate": "2026-11-25", "city": "Perth",
        "details": {"coffeetype": "Latte", "coffeesize": "Small", "unitprice": "4", "quantity": 1}, "eventtype": ["new_order"]}});
    let placed: Value = http
        .post(format!("{base}/order"))
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = placed["orderid"].as_str().unwrap().to_string();
    let mut reached = false;
    for _ in 0..400 {
        let s = status(&http, &base, &id).await;
        if mid(s["history"].as_array().unwrap()) {
            reached = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(reached, "the execution reached the middle");
    server.0.kill().unwrap(); // SIGKILL
    server.0.wait().unwrap();
    drop(server);

    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let server = serve(&data, &machine_path, port);
    wait_up(&http, &base).await;
    let mut last = Value::Null;
    for _ in 0..500 {
        last = status(&http, &base, &id).await;
        if last["status"] != "RUNNING" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The consumer clears the cart after the completion event; give it time.
    let mut cart = 0;
    for _ in 0..250 {
        let url = format!("{base}/order?accountid=a-k&vendorid=v-k");
        cart = http.get(url).send().await.unwrap().status().as_u16();
        if cart == 404 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(cart, 404, "the cart was cleared once the order completed");
    Resumed {
        last,
        orderid: id,
        base,
        _server: server,
        _dir: dir,
    }
}

fn count(history: &Value, kind: &str, state: &str) -> usize {
    history
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == kind && e["state"] == state)
        .count()
}

/// Asserts how often each (event type, state) is in the history; the text says what it means.
/// Asserts that the resumed execution `last` succeeded and that its history has `expected`
/// counts of (event type, state), saying why each is expected; returns that history.
fn assert_succeeded_with<'a>(last: &'a Value, expected: &[(&str, &str, usize, &str)]) -> &'a Value {
    assert_eq!(last["status"], "SUCCEEDED", "{last}");
    let history = &last["history"];
    for (kind, state, n, why) in expected {
        assert_eq!(count(history, kind, state), *n, "{kind} of {state}: {why}");
    }
    history
}

/// SIGKILL in the middle of a Map: the Map continues its interrupted attempt, keeping the
/// iteration that had finished, and the execution ends with every iteration's output, in order.
#[tokio::test]
async fn an_execution_killed_in_the_middle_of_a_map_resumes_with_the_right_output() {
    let mut machine: Value = serde_json::from_str(skipline::local::runtime::EMBEDDED_STATE_MACHINE).unwrap();
    machine["States"]["PutItem"]["Next"] = json!("Items");
    machine["States"]["Items"] = json!({"Type": "Pass", "Parameters": {"items.$": "States.ArrayRange(1, 3, 1)"},
        "ResultPath": "$.iter", "Next": "Ticks"});
    machine["States"]["Ticks"] = json!({"Type": "Map", "ItemsPath": "$.iter.items", "MaxConcurrency": 1,
        "ItemProcessor": {"StartAt": "Tick", "States": {"Tick": {"Type": "Wait", "Seconds": 1, "End": true}}},
        "ResultPath": "$.ticks", "Next": "PutObject"});
    let last = kill_when(machine, |h| {
        h.iter()
            .any(|e| e["type"] == "WaitStateEntered" && e["state"] == "Ticks/1/Tick")
    })
    .await
    .last;
    let history = assert_succeeded_with(
        &last,
        &[
            ("MapStateEntered", "Ticks", 2, "re-entered at its checkpoint"),
            ("MapStateStarted", "Ticks", 1, "the same attempt goes on"),
            (
                "WaitStateEntered",
                "Ticks/0/Tick",
                1,
                "the finished iteration is not run again",
            ),
            ("WaitStateEntered", "Ticks/1/Tick", 2, "the cut-off one resumes"),
            ("WaitStateEntered", "Ticks/2/Tick", 1, "the last one runs once"),
            ("TaskStateEntered", "PutItem", 1, "the cart step is not re-run"),
        ],
    );
    let exited = history
        .as_array()
        .unwrap()
        .iter()
        .rfind(|e| e["type"] == "MapStateExited")
        .map(|e| e["detail"]["output"]["ticks"].clone());
    assert_eq!(
        exited,
        Some(json!([1, 2, 3])),
        "every iteration's output, in item order"
    );
}

/// SIGKILL in the middle of a Parallel whose first branch has committed the cart: the Parallel
/// continues its interrupted attempt, the finished branch is not run again, and the order
/// completes once.
#[tokio::test]
async fn an_execution_killed_in_the_middle_of_a_parallel_resumes_and_its_effects_stay_single() {
    let mut machine: Value = serde_json::from_str(skipline::local::runtime::EMBEDDED_STATE_MACHINE).unwrap();
    let mut put_item = machine["States"]["PutItem"].clone();
    let obj = put_item.as_object_mut().unwrap();
    obj.remove("Catch");
    obj.remove("Next");
    obj.insert("End".into(), json!(true));
    machine["States"]["PutItem"] = json!({"Type": "Parallel", "Next": "PutObject",
        "Branches": [
            {"StartAt": "PutItem", "States": {"PutItem": put_item}},
            {"StartAt": "Pause", "States": {"Pause": {"Type": "Wait", "Seconds": 2, "End": true}}}
        ],
        // Branch 0's output is the input with the cart, as the flow's PutItem leaves it.
        "OutputPath": "$[0]"});
    let last = kill_when(machine, |h| {
        let seen = |kind: &str, state: &str| h.iter().any(|e| e["type"] == kind && e["state"] == state);
        seen("WaitStateEntered", "PutItem/1/Pause") && seen("TaskStateExited", "PutItem/0/PutItem")
    })
    .await
    .last;
    assert_succeeded_with(
        &last,
        &[
            ("ParallelStateEntered", "PutItem", 2, "re-entered at its checkpoint"),
            ("ParallelStateSucceeded", "PutItem", 1, "it succeeds once"),
            (
                "LambdaFunctionScheduled",
                "PutItem/0/PutItem",
                1,
                "the finished branch's cart commit is not run again",
            ),
            ("WaitStateEntered", "PutItem/1/Pause", 2, "the cut-off branch resumes"),
            ("LambdaFunctionScheduled", "PutObject", 1, "one invoice"),
        ],
    );
}
