//! Prometheus metrics for `skipline serve`, through the `metrics` facade and rendered by
//! `metrics-exporter-prometheus` at `GET /metrics`.
//!
//! Recording is a no-op until [`install`] runs (only `serve` does), so the CLI and the tests
//! that run a runtime in-process pay nothing. Queue depths are read at scrape time.

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;

/// Executions that finished, by `outcome` (`succeeded`, `failed`, `timed_out`).
pub const ORDERS: &str = "skipline_orders_total";
/// From the execution's start to its end, by `outcome`.
pub const ORDER_SECONDS: &str = "skipline_order_duration_seconds";
/// Each state's run, from entering to leaving it, by `state`.
pub const STATE_SECONDS: &str = "skipline_state_duration_seconds";
/// Webhook delivery attempts, by `outcome` (`delivered`, `failed`, `exhausted`, `disabled`, `skipped`).
pub const DELIVERIES: &str = "skipline_webhook_deliveries_total";
/// How long each delivery's POST took.
pub const DELIVERY_SECONDS: &str = "skipline_webhook_delivery_duration_seconds";
/// Writes carried by one group commit.
pub const COMMIT_WRITES: &str = "skipline_db_group_commit_writes";
/// Time in `COMMIT`, which is where the fsync happens.
pub const COMMIT_SECONDS: &str = "skipline_db_commit_seconds";
/// Messages per queue, by `queue` and `state` (`visible`, `in_flight`, `delayed`).
pub const QUEUE_MESSAGES: &str = "skipline_queue_messages";
/// Messages in the queue's dead-letter queue, by `queue`.
pub const DLQ_MESSAGES: &str = "skipline_queue_dlq_messages";

/// Seconds buckets from 1 ms to 1 min, for requests, deliveries, states and commits.
const SECONDS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 60.0,
];
/// Writes per group commit.
const WRITES: [f64; 9] = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0];

static HANDLE: OnceLock<Result<PrometheusHandle, String>> = OnceLock::new();

/// Installs the process's recorder, once; later calls return the same handle.
pub fn install() -> Result<&'static PrometheusHandle, String> {
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    metrics_exporter_prometheus::Matcher::Full(COMMIT_WRITES.into()),
                    &WRITES,
                )
                .and_then(|b| b.set_buckets(&SECONDS))
                .map_err(|e| e.to_string())?;
            let handle = builder.install_recorder().map_err(|e| e.to_string())?;
            describe();
            Ok(handle)
        })
        .as_ref()
        .map_err(|e| format!("cannot install the metrics recorder: {e}"))
}

/// The installed handle, if `serve` installed one.
pub fn handle() -> Option<&'static PrometheusHandle> {
    HANDLE.get().and_then(|h| h.as_ref().ok())
}

fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!(ORDERS, "Executions that finished, by outcome");
    describe_histogram!(ORDER_SECONDS, Unit::Seconds, "From an execution's start to its end");
    describe_histogram!(STATE_SECONDS, Unit::Seconds, "Each state's run, by state");
    describe_counter!(DELIVERIES, "Webhook delivery attempts, by outcome");
    describe_histogram!(DELIVERY_SECONDS, Unit::Seconds, "Each webhook delivery attempt's POST");
    describe_histogram!(COMMIT_WRITES, "Writes carried by one group commit");
    describe_histogram!(COMMIT_SECONDS, Unit::Seconds, "Time in COMMIT (the fsync)");
    describe_gauge!(QUEUE_MESSAGES, "Messages per queue, by state");
    describe_gauge!(DLQ_MESSAGES, "Messages in each queue's dead-letter queue");
}
