//! A restart mid-flow: `skipline serve` is killed with SIGKILL while an execution is between
//! states, restarted on the same data dir, and the execution resumes and completes.

use serde_json::{Value, json};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

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
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // The real flow with a pause between the cart and the invoice, so the kill lands mid-flow.
    let mut machine: Value = serde_json::from_str(skipline::local::runtime::EMBEDDED_STATE_MACHINE).unwrap();
    machine["States"]["PutItem"]["Next"] = json!("Pause");
    machine["States"]["Pause"] = json!({"Type": "Wait", "Seconds": 2, "Next": "PutObject"});
    let machine_path = dir.path().join("paused.asl.json");
    std::fs::write(&machine_path, machine.to_string()).unwrap();

    let http = reqwest::Client::new();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut server = serve(&data, &machine_path, port);
    wait_up(&http, &base).await;
    let body = json!({"order": {"accountid": "a-r", "vendorid": "v-r", "orderdate": "2026-11-25", "city": "Perth",
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

    let mut paused = false;
    for _ in 0..200 {
        let s = status(&http, &base, &id).await;
        if s["history"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["type"] == "StateEntered" && e["state"] == "Pause")
        {
            paused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(paused, "the execution reached the pause");
    server.0.kill().unwrap(); // SIGKILL
    server.0.wait().unwrap();
    drop(server);

    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let _server = serve(&data, &machine_path, port);
    wait_up(&http, &base).await;
    let mut last = Value::Null;
    for _ in 0..300 {
        last = status(&http, &base, &id).await;
        if last["status"] != "RUNNING" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(last["status"], "SUCCEEDED", "{last}");
    let entered: Vec<&str> = last["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "StateEntered")
        .map(|e| e["state"].as_str().unwrap())
        .collect();
    assert_eq!(
        entered.iter().filter(|s| **s == "PutItem").count(),
        1,
        "PutItem ran before the kill only: {entered:?}"
    );
    assert!(
        entered.iter().filter(|s| **s == "Pause").count() >= 2,
        "resumed at the checkpoint: {entered:?}"
    );
    let invoice = http.get(format!("{base}/orders/{id}/invoice")).send().await.unwrap();
    assert_eq!(invoice.status().as_u16(), 200);
}
