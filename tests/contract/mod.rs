//! The contract suite: behaviours written once against [`Backend`], run on every backend.
//!
//! A [`Harness`] provides a backend plus what a test needs around it: a real webhook receiver
//! on 127.0.0.1, a way to let executions finish, and a switch for the consumers.

#![allow(dead_code)]

pub mod scenarios;

#[path = "../support/official.rs"]
pub mod official;

use async_trait::async_trait;
use skipline::backend::{Backend, OrderStatus};
use skipline::receiver::WebhookReceiver;

#[async_trait]
pub trait Harness: Send + Sync {
    fn name(&self) -> &'static str;
    fn backend(&self) -> &dyn Backend;
    fn receiver(&self) -> &WebhookReceiver;
    /// Waits until the order's execution leaves RUNNING (driving it where the backend needs that).
    async fn settle(&self, orderid: &str) -> OrderStatus;
    /// Stops or restarts the queue consumers (clear_cart and notify_vendor).
    async fn pause_consumers(&self, paused: bool);
    /// Makes invoice writes fail for orders at `vendor`; false if this harness cannot.
    async fn break_invoices_for(&self, vendor: &str) -> bool;
    /// The name of the DLQ behind the deliveries queue, where a ticket goes once its schedule is exhausted.
    fn delivery_dlq(&self) -> String;
    /// Creates an empty queue with default settings.
    async fn add_queue(&self, name: &str);
}

/// One `#[tokio::test]` per scenario, each on a fresh harness from `$harness`, so that every
/// backend runs every scenario.
macro_rules! scenario_tests {
    ($harness:expr) => {
        $crate::contract::scenario_tests!($harness;
            happy_path,
            duplicate_active_order_is_rejected,
            idempotent_place_order,
            invalid_input_writes_nothing,
            failing_endpoint_dead_letters_then_replays_once,
            deliveries_are_logged_and_redelivered,
            invoice_failure_is_compensated,
        );

        #[tokio::test]
        async fn topic_subscription_filters() {
            let h = $harness.await;
            h.add_queue("rejections").await;
            $crate::contract::scenarios::topic_subscription_filters(&h, "rejections").await;
        }
    };
    ($harness:expr; $($scenario:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $scenario() {
                $crate::contract::scenarios::$scenario(&$harness.await).await;
            }
        )*
    };
}
pub(crate) use scenario_tests;

pub use skipline::demo::eventually;

/// A valid request body for `account` at `vendor`.
pub fn order_body(account: &str, vendor: &str) -> Vec<u8> {
    serde_json::json!({"order": {"accountid": account, "vendorid": vendor, "orderdate": "2026-11-25T08:15:00Z",
        "city": "Sydney", "details": {"coffeetype": "Latte", "coffeesize": "Large", "unitprice": "4.5", "quantity": 2},
        "eventtype": ["new_order"]}})
    .to_string()
    .into_bytes()
}

/// A unique id per test run, so scenarios never collide on shared backends.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", &uuid::Uuid::new_v4().simple().to_string()[..12])
}
