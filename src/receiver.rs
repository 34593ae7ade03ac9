//! A vendor webhook receiver on loopback, as a shop would run one. The demo, the benchmarks and
//! the tests use it as the real HTTP peer of `notify_vendor`.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use skipline_events::HEADER_WEBHOOK_ID;
use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

/// One POST as received.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub path: String,
    /// `webhook-id`: the event id.
    pub eventid: String,
    /// Every header, names lower-cased.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Delivery {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Checks the Standard Webhooks signature as a receiver must, with the secret it was given
    /// at subscription.
    pub fn verify(&self, secret: &str) -> bool {
        skipline_handlers::webhook::verify_headers(secret, |n| self.header(n), &self.body)
    }
}

#[derive(Default)]
struct Inner {
    deliveries: Vec<Delivery>,
    /// Paths that answer 500 until healed.
    failing: HashSet<String>,
    hits: HashMap<String, u64>,
}

/// Records every POST to `/{path}`; answers 200, or 500 for paths set to fail.
#[derive(Clone, Default)]
pub struct WebhookReceiver {
    inner: Arc<Mutex<Inner>>,
    pub addr: Option<SocketAddr>,
}

/// A header's value as text; empty when it is absent or not text.
pub fn header_text(headers: &HeaderMap, name: &str) -> String {
    let value = headers.get(name).and_then(|v| v.to_str().ok());
    value.unwrap_or_default().to_string()
}

async fn receive(
    State(r): State<WebhookReceiver>,
    Path(path): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let mut inner = r.lock();
    *inner.hits.entry(path.clone()).or_default() += 1;
    if inner.failing.contains(&path) {
        return StatusCode::INTERNAL_SERVER_ERROR;
    }
    inner.deliveries.push(Delivery {
        path,
        eventid: header_text(&headers, HEADER_WEBHOOK_ID),
        headers: headers
            .iter()
            .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
            .collect(),
        body: body.to_vec(),
    });
    StatusCode::OK
}

impl WebhookReceiver {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Binds 127.0.0.1 on a free port and serves in the background.
    pub async fn start() -> std::io::Result<WebhookReceiver> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let receiver = WebhookReceiver {
            addr: Some(listener.local_addr()?),
            ..WebhookReceiver::default()
        };
        let app = Router::new()
            .route("/{path}", post(receive))
            .with_state(receiver.clone());
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(error = %e, "webhook receiver stopped");
            }
        });
        Ok(receiver)
    }

    pub fn url(&self, path: &str) -> String {
        match self.addr {
            Some(a) => format!("http://{a}/{path}"),
            None => format!("http://127.0.0.1:0/{path}"),
        }
    }

    pub fn fail(&self, path: &str, failing: bool) {
        let mut inner = self.lock();
        if failing {
            inner.failing.insert(path.to_string());
        } else {
            inner.failing.remove(path);
        }
    }

    pub fn deliveries(&self, path: &str) -> Vec<Delivery> {
        self.lock()
            .deliveries
            .iter()
            .filter(|d| d.path == path)
            .cloned()
            .collect()
    }

    pub fn all(&self) -> Vec<Delivery> {
        self.lock().deliveries.clone()
    }

    /// Requests seen on `path`, failed ones included.
    pub fn hits(&self, path: &str) -> u64 {
        self.lock().hits.get(path).copied().unwrap_or(0)
    }
}
