//! Knows when each benchmark order is fully complete: its signed ticket reached the vendor's
//! webhook (a real HTTP receiver on loopback) and the clear-cart consumer finished it.
//! The invoice is written before the completion event is published, so it precedes both.
//!
//! On the way it stamps each order's hops, for the per-hop breakdown: accepted (the 202),
//! committed (the cart item: the checkpoint entering `PutObject` is durable), invoiced (the
//! checkpoint entering `PublishCompleted`), published (`ExecutionSucceeded` is durable, which
//! follows the publish), delivered (the vendor's receiver got the ticket) and cleared.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use skipline_events::HEADER_WEBHOOK_ID;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// Order ids are `o{index}`, so the tracker indexes a vector instead of hashing strings.
pub fn order_id(index: usize) -> String {
    format!("o{index}")
}

fn index_of(orderid: &str) -> Option<usize> {
    orderid.strip_prefix('o')?.parse().ok()
}

#[derive(Default)]
struct Slot {
    /// Nanoseconds since the tracker's start, plus one (0 = not yet).
    sent: AtomicU64,
    accepted: AtomicU64,
    committed: AtomicU64,
    invoiced: AtomicU64,
    published: AtomicU64,
    webhook: AtomicU64,
    cleared: AtomicU64,
    complete: AtomicBool,
}

pub struct Tracker {
    start: Instant,
    slots: Vec<Slot>,
    secret: String,
    done: AtomicUsize,
    last_done_ns: AtomicU64,
    webhooks: AtomicUsize,
    bad_signatures: AtomicUsize,
    e2e_us: Mutex<Vec<u64>>,
    finished: Notify,
}

impl Tracker {
    pub fn new(orders: usize, secret: &str) -> Arc<Tracker> {
        Arc::new(Tracker {
            start: Instant::now(),
            slots: (0..orders).map(|_| Slot::default()).collect(),
            secret: secret.to_string(),
            done: AtomicUsize::new(0),
            last_done_ns: AtomicU64::new(0),
            webhooks: AtomicUsize::new(0),
            bad_signatures: AtomicUsize::new(0),
            e2e_us: Mutex::new(Vec::with_capacity(orders)),
            finished: Notify::new(),
        })
    }

    pub fn start(&self) -> Instant {
        self.start
    }

    fn stamp(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.start).as_nanos())
            .unwrap_or(u64::MAX - 1)
            .saturating_add(1)
    }

    /// Records when order `index` was sent (or scheduled, for open-loop runs).
    pub fn sent(&self, index: usize, at: Instant) {
        if let Some(s) = self.slots.get(index) {
            s.sent.store(self.stamp(at), Ordering::SeqCst);
        }
    }

    /// Order `index` was answered 202.
    pub fn accepted(&self, index: usize) {
        if let Some(s) = self.slots.get(index) {
            s.accepted.store(self.stamp(Instant::now()), Ordering::SeqCst);
        }
    }

    /// A checkpoint of execution `orderid` became durable before `next` (a state, or the
    /// execution's end). The flows' state names are the same in JSONPath and JSONata.
    pub fn checkpoint(&self, orderid: &str, next: &str) {
        let Some(slot) = index_of(orderid).and_then(|i| self.slots.get(i)) else {
            return;
        };
        let stamp = match next {
            "PutObject" => &slot.committed,
            "PublishCompleted" => &slot.invoiced,
            "ExecutionSucceeded" => &slot.published,
            _ => return,
        };
        let _ = stamp.compare_exchange(0, self.stamp(Instant::now()), Ordering::SeqCst, Ordering::SeqCst);
    }

    /// Each hop's latencies in microseconds, over the orders that have every stamp, in the
    /// order of [`HOPS`].
    pub fn hops_us(&self) -> Vec<Vec<u64>> {
        let mut out = vec![Vec::with_capacity(self.slots.len()); HOPS.len()];
        for s in &self.slots {
            let t = [
                &s.sent,
                &s.accepted,
                &s.committed,
                &s.invoiced,
                &s.published,
                &s.webhook,
                &s.cleared,
            ]
            .map(|a| a.load(Ordering::SeqCst));
            if t.contains(&0) {
                continue;
            }
            // Delivered and cleared both follow the publish; the rest follow each other.
            let from = [t[0], t[1], t[2], t[3], t[4], t[4]];
            for (i, hop) in out.iter_mut().enumerate() {
                hop.push(t[i + 1].saturating_sub(from[i]) / 1000);
            }
        }
        out
    }

    fn mark(&self, orderid: &str, webhook: bool) {
        let Some(slot) = index_of(orderid).and_then(|i| self.slots.get(i)) else {
            return;
        };
        let now = self.stamp(Instant::now());
        let (mine, other) = if webhook {
            (&slot.webhook, &slot.cleared)
        } else {
            (&slot.cleared, &slot.webhook)
        };
        let _ = mine.compare_exchange(0, now, Ordering::SeqCst, Ordering::SeqCst);
        if other.load(Ordering::SeqCst) == 0 || slot.complete.swap(true, Ordering::SeqCst) {
            return;
        }
        let sent = slot.sent.load(Ordering::SeqCst);
        let e2e_ns = now.saturating_sub(sent);
        self.e2e_us
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(e2e_ns / 1000);
        self.last_done_ns.fetch_max(now, Ordering::SeqCst);
        if self.done.fetch_add(1, Ordering::SeqCst) + 1 == self.slots.len() {
            self.finished.notify_one();
        }
    }

    /// The clear-cart consumer finished `orderid`.
    pub fn cleared(&self, orderid: &str) {
        self.mark(orderid, false);
    }

    pub fn done(&self) -> usize {
        self.done.load(Ordering::SeqCst)
    }

    pub fn webhooks(&self) -> usize {
        self.webhooks.load(Ordering::SeqCst)
    }

    pub fn bad_signatures(&self) -> usize {
        self.bad_signatures.load(Ordering::SeqCst)
    }

    /// Time from the tracker's start to the last completion.
    pub fn last_done(&self) -> Duration {
        Duration::from_nanos(self.last_done_ns.load(Ordering::SeqCst).saturating_sub(1))
    }

    pub fn take_e2e_us(&self) -> Vec<u64> {
        std::mem::take(&mut *self.e2e_us.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Waits until every order is complete; false on timeout.
    pub async fn wait_all(&self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.finished.notified();
            if self.done() >= self.slots.len() {
                return true;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return self.done() >= self.slots.len();
            }
        }
    }
}

/// The hops of [`Tracker::hops_us`]: each from the one before, but delivered and cleared both
/// from published, since the topic fans out to the two at once.
pub const HOPS: [&str; 6] = ["accepted", "committed", "invoiced", "published", "delivered", "cleared"];

/// A vendor's webhook: checks the signature as a shop must, then marks the order.
async fn receive(State(t): State<Arc<Tracker>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default();
    t.webhooks.fetch_add(1, Ordering::SeqCst);
    let valid = skipline_handlers::webhook::verify_headers(&t.secret, |n| headers.get(n)?.to_str().ok(), &body);
    if !valid {
        t.bad_signatures.fetch_add(1, Ordering::SeqCst);
        return StatusCode::UNAUTHORIZED;
    }
    if let Some(orderid) = header(HEADER_WEBHOOK_ID).strip_suffix(".OrderCompleted") {
        t.mark(orderid, true);
    }
    StatusCode::OK
}

/// Serves the vendor webhooks on 127.0.0.1 until `stop` resolves; returns the bound address.
pub async fn serve_webhooks(
    tracker: Arc<Tracker>,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let app = Router::new().route("/hook/{vendor}", post(receive)).with_state(tracker);
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).with_graceful_shutdown(stop).await {
            tracing::error!(error = %e, "benchmark webhook receiver stopped");
        }
    });
    Ok((addr, task))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn completes_once_when_both_halves_arrive() {
        let t = Tracker::new(2, "s");
        t.sent(0, Instant::now());
        t.sent(1, Instant::now());
        t.mark("o0", true);
        assert_eq!(t.done(), 0);
        t.cleared("o0");
        t.cleared("o0");
        t.mark("o0", true);
        assert_eq!(t.done(), 1);
        t.cleared("o1");
        t.mark("o1", true);
        t.cleared("bogus");
        assert!(t.wait_all(Duration::from_millis(10)).await);
        assert_eq!(t.take_e2e_us().len(), 2);
    }
}
