//! The runtime's live feed: what just became durable, for `GET /events` (Server-Sent Events)
//! and the console built on it, so that watchers never poll the database in a loop.
//!
//! Each event is sent after the commit that made it true, by the store that committed it: an
//! execution's history (`Executions`), a webhook attempt (`SqliteDeliveries`), a consumer's
//! finished messages (the runtime's consumers). A watcher that falls behind loses the oldest
//! events and is told how many (`Lagged`), and can catch up from the API. With no watcher,
//! nothing is built or cloned: the hot path pays one atomic load.

use serde::Serialize;
use serde_json::Value;
use std::sync::Arc;
use tokio::sync::broadcast;

/// How many events a slow watcher may fall behind before it loses the oldest.
const CAPACITY: usize = 4096;

/// One thing that happened, as `GET /events` sends it (`event:` is the variant's name).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all_fields = "camelCase")]
pub enum LiveEvent {
    /// An execution was accepted (durably): for an order, its account and vendor.
    Started {
        name: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        accountid: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        vendorid: Option<String>,
    },
    /// An execution's history grew: its top-level states entered and exited, in order.
    Execution {
        /// The execution's name: the order id for orders placed through the API.
        name: String,
        /// `StateEntered:PutItem`, `StateExited:PutItem`, `ExecutionSucceeded`, …
        steps: Vec<String>,
        /// RUNNING, or how it ended.
        status: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        cause: Option<String>,
    },
    /// A consumer finished these messages on `queue` (the vendor was notified, the cart
    /// cleared, a ticket delivered); `orderids` are the orders they were about.
    Consumed { queue: String, orderids: Vec<String> },
    /// One webhook delivery attempt, as the delivery log recorded it.
    Delivery { attempt: Value },
    /// A replay through the API is moving messages: how far it has got, of `total`.
    Replay {
        queue: String,
        total: u64,
        moved: u64,
        skipped: u64,
        failed: u64,
        #[serde(rename = "dryRun")]
        dry_run: bool,
    },
    /// The server is stopping: watchers should close and reconnect later.
    Closing,
}

/// The sending side; cheap to clone, and shared by every store that reports.
#[derive(Clone)]
pub struct Live(broadcast::Sender<Arc<LiveEvent>>);

impl Default for Live {
    fn default() -> Self {
        Live(broadcast::channel(CAPACITY).0)
    }
}

impl Live {
    /// Whether anyone listens; check it before building an event.
    pub fn watched(&self) -> bool {
        self.0.receiver_count() > 0
    }

    /// Sends `event` to every watcher, built only if there is one.
    pub fn emit(&self, event: impl FnOnce() -> Option<LiveEvent>) {
        if self.watched()
            && let Some(e) = event()
        {
            // No receiver left since the check: nobody to tell.
            let _ = self.0.send(Arc::new(e));
        }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<LiveEvent>> {
        self.0.subscribe()
    }

    /// Tells watchers the server is stopping, so their streams end and a graceful shutdown
    /// does not wait for them.
    pub fn close(&self) {
        let _ = self.0.send(Arc::new(LiveEvent::Closing));
    }
}

/// A replay's progress, reported on the live feed (the console's progress bar).
pub struct ReplayProgress {
    pub live: Live,
    pub queue: String,
    pub total: std::sync::atomic::AtomicU64,
}

impl crate::backend::Progress for ReplayProgress {
    fn total(&self, total: u64) {
        self.total.store(total, std::sync::atomic::Ordering::Relaxed);
    }

    fn advance(&self, r: &crate::backend::ReplayReport) {
        self.live.emit(|| {
            Some(LiveEvent::Replay {
                queue: self.queue.clone(),
                total: self.total.load(std::sync::atomic::Ordering::Relaxed),
                moved: r.moved,
                skipped: r.skipped,
                failed: r.failed,
                dry_run: r.dry_run,
            })
        });
    }
}

/// The order a queue message is about: an event envelope's `orderid`, or a webhook delivery's
/// `eventid` (`{orderid}.OrderCompleted`).
pub fn orderid_of(body: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Envelope {
        orderid: Option<String>,
        eventid: Option<String>,
    }
    let e = serde_json::from_str::<Envelope>(body).ok()?;
    e.orderid.or_else(|| Some(e.eventid?.split_once('.')?.0.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn events_are_built_only_for_watchers_and_reach_each() {
        let live = Live::default();
        let mut built = 0;
        live.emit(|| {
            built += 1;
            Some(LiveEvent::Closing)
        });
        assert_eq!(built, 0, "no watcher: nothing built");
        let (mut a, mut b) = (live.subscribe(), live.subscribe());
        live.emit(|| {
            Some(LiveEvent::Consumed {
                queue: "clear-cart".into(),
                orderids: vec!["o1".into()],
            })
        });
        for rx in [&mut a, &mut b] {
            let e = rx.recv().await.unwrap();
            assert_eq!(
                serde_json::to_value(&*e).unwrap(),
                serde_json::json!({"type": "Consumed", "queue": "clear-cart", "orderids": ["o1"]})
            );
        }
    }

    #[tokio::test]
    async fn a_replay_reports_its_progress_against_its_total() {
        use crate::backend::{Progress, ReplayReport};
        let live = Live::default();
        let mut rx = live.subscribe();
        let progress = ReplayProgress {
            live: live.clone(),
            queue: "deliveries-dlq".into(),
            total: Default::default(),
        };
        progress.total(3);
        progress.advance(&ReplayReport {
            moved: 2,
            skipped: 1,
            failed: 0,
            dry_run: false,
        });
        let e = rx.recv().await.unwrap();
        assert_eq!(
            serde_json::to_value(&*e).unwrap(),
            serde_json::json!({"type": "Replay", "queue": "deliveries-dlq", "total": 3, "moved": 2,
                               "skipped": 1, "failed": 0, "dryRun": false})
        );
    }

    #[test]
    fn the_order_id_comes_from_the_envelope() {
        assert_eq!(
            orderid_of(r#"{"orderid":"o7","eventtype":"OrderCompleted"}"#),
            Some("o7".into())
        );
        assert_eq!(
            orderid_of(r#"{"vendorid":"v0","eventid":"o8.OrderCompleted"}"#),
            Some("o8".into())
        );
        assert_eq!(orderid_of("not json"), None);
        assert_eq!(orderid_of(r#"{"eventtype":"EndpointDisabled"}"#), None);
    }
}
