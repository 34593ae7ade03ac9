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
}

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
