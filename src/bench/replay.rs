//! `skipline bench replay`: how fast a DLQ drains back into its queue.

use super::BenchError;
use crate::backend::local::LocalBackend;
use crate::backend::{Backend, Quiet, ReplayRequest};
use crate::local::db::now_ms;
use crate::local::queues::send_in;
use crate::local::runtime::{NOTIFY_QUEUE, Runtime, RuntimeConfig};
use serde::Serialize;
use skipline_events::MessageAttributes;
use std::path::Path;
use std::time::Instant;

#[derive(Debug, Clone, Serialize)]
pub struct ReplayResult {
    pub messages: u64,
    #[serde(rename = "elapsedS")]
    pub elapsed_s: f64,
    #[serde(rename = "messagesPerS")]
    pub messages_per_s: f64,
    /// Durable commits the replay took (one per batch).
    pub commits: u64,
}

/// Fills `notify-vendor-dlq` with `messages` order-sized messages, then times `replay` to the origin.
pub async fn run(root: &Path, messages: u64) -> Result<ReplayResult, BenchError> {
    let dir = root.join("replay");
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    let setup = |e: &dyn std::fmt::Display| BenchError::Setup(e.to_string());
    let rt = Runtime::open(RuntimeConfig::new(&dir), Default::default())
        .await
        .map_err(|e| setup(&e))?;
    let dlq = format!("{NOTIFY_QUEUE}-dlq");
    let body = serde_json::json!({"eventtype": "OrderCompleted", "eventid": "o.OrderCompleted", "version": 1,
        "occurredAt": "2026-11-25T07:45:00Z", "orderid": "o", "accountid": "a", "vendorid": "v", "city": "Sydney",
        "correlationid": "o", "invoiceKey": "invoices/2026/11/25/v/o.json", "total": "9.00"})
    .to_string();
    let mut left = messages;
    while left > 0 {
        let n = left.min(5000);
        left -= n;
        let (q, b) = (dlq.clone(), body.clone());
        rt.db
            .write_with(move |c| {
                let attrs = MessageAttributes::new();
                for i in 0..n {
                    send_in(c, &q, &format!("m-{left}-{i}"), &b, &attrs, now_ms())?;
                }
                Ok::<_, crate::local::queues::QueueError>(())
            })
            .await
            .map_err(|e| setup(&e))?;
    }
    let backend = LocalBackend::new(rt.clone());
    let before = rt.db.stats.snapshot();
    let start = Instant::now();
    let report = backend
        .replay(&ReplayRequest::redrive(dlq), &Quiet)
        .await
        .map_err(|e| BenchError::Failed(format!("replay failed: {e}")))?;
    let secs = start.elapsed().as_secs_f64().max(1e-9);
    let commits = (rt.db.stats.snapshot() - before).commits;
    if report.moved != messages {
        return Err(BenchError::Failed(format!(
            "replay moved {} of {messages} messages",
            report.moved
        )));
    }
    let depth = rt
        .queues
        .stats()
        .await
        .map_err(|e| setup(&e))?
        .into_iter()
        .find(|s| s.name == NOTIFY_QUEUE)
        .map(|s| s.visible)
        .unwrap_or(0);
    if depth != messages {
        return Err(BenchError::Failed(format!(
            "{NOTIFY_QUEUE} holds {depth} messages after replay, expected {messages}"
        )));
    }
    drop(backend);
    rt.stop();
    drop(rt);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(ReplayResult {
        messages,
        elapsed_s: secs,
        messages_per_s: messages as f64 / secs,
        commits,
    })
}
