//! The webhook sender: reqwest, with the endpoint policy enforced on every resolved address.
//!
//! Checking the URL at subscribe time is not enough: a name can resolve to a private address
//! later (DNS rebinding). So name resolution goes through [`GuardedResolver`], which refuses
//! forbidden addresses, and IP-literal URLs are checked before the request is made.

use async_trait::async_trait;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use skipline_handlers::ports::{DeliveryError, WebhookClient, WebhookRequest, WebhookResponse};
use skipline_handlers::webhook::{check_endpoint_url, forbidden_ip};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// How long one delivery may take before it counts as failed.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// Resolves names with the system resolver and drops forbidden addresses; fails if none remain.
#[derive(Debug, Clone, Copy)]
pub struct GuardedResolver;

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let host = name.as_str().to_string();
            let resolved: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = resolved
                .iter()
                .copied()
                .filter(|a| forbidden_ip(a.ip()).is_none())
                .collect();
            if allowed.is_empty() {
                let reason = resolved
                    .first()
                    .and_then(|a| forbidden_ip(a.ip()))
                    .unwrap_or("unresolvable");
                return Err(format!("{host} resolves only to refused addresses ({reason})").into());
            }
            let addrs: Addrs = Box::new(allowed.into_iter());
            Ok(addrs)
        })
    }
}

/// Posts signed tickets. No redirects are followed: a redirect could point anywhere.
#[derive(Debug, Clone)]
pub struct HttpWebhookClient {
    client: reqwest::Client,
    allow_private: bool,
}

impl HttpWebhookClient {
    /// `allow_private` lifts the guard for local use and tests (`--allow-private-endpoints`).
    pub fn new(timeout: Duration, allow_private: bool) -> Result<Self, DeliveryError> {
        let mut builder = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("skipline/", env!("CARGO_PKG_VERSION")));
        if !allow_private {
            builder = builder.dns_resolver(Arc::new(GuardedResolver));
        }
        let client = builder.build().map_err(|e| DeliveryError::Connect(e.to_string()))?;
        Ok(Self { client, allow_private })
    }
}

#[async_trait]
impl WebhookClient for HttpWebhookClient {
    async fn post(&self, request: &WebhookRequest) -> Result<WebhookResponse, DeliveryError> {
        let url = check_endpoint_url(&request.url, self.allow_private)
            .map_err(|e| DeliveryError::Forbidden(e.to_string()))?;
        let mut builder = self.client.post(url).body(request.body.clone());
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        match builder.send().await {
            Ok(response) => Ok(WebhookResponse {
                status: response.status().as_u16(),
                retry_after: response
                    .headers()
                    .get(reqwest::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| skipline_handlers::schedule::parse_retry_after(v, jiff::Timestamp::now())),
            }),
            Err(e) if e.is_timeout() => Err(DeliveryError::Timeout(e.to_string())),
            Err(e) => Err(DeliveryError::Connect(error_chain(&e))),
        }
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::routing::post;

    async fn server(status: u16) -> String {
        let app = Router::new().route(
            "/hook",
            post(move || async move { axum::http::StatusCode::from_u16(status).unwrap_or(axum::http::StatusCode::OK) }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        format!("http://{addr}/hook")
    }

    fn request(url: &str) -> WebhookRequest {
        WebhookRequest {
            url: url.into(),
            headers: vec![("X-Test".into(), "1".into())],
            body: b"{}".to_vec(),
        }
    }

    #[tokio::test]
    async fn posts_and_reports_the_status() {
        let url = server(204).await;
        let client = HttpWebhookClient::new(DEFAULT_TIMEOUT, true).unwrap();
        assert_eq!(client.post(&request(&url)).await.unwrap().status, 204);
        let url = server(500).await;
        assert_eq!(client.post(&request(&url)).await.unwrap().status, 500);
    }

    #[tokio::test]
    async fn reads_retry_after() {
        let app = Router::new().route(
            "/hook",
            post(|| async { (axum::http::StatusCode::TOO_MANY_REQUESTS, [("retry-after", "90")]) }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        let client = HttpWebhookClient::new(DEFAULT_TIMEOUT, true).unwrap();
        let answer = client.post(&request(&format!("http://{addr}/hook"))).await.unwrap();
        assert_eq!(answer.status, 429);
        assert_eq!(answer.retry_after, Some(std::time::Duration::from_secs(90)));
    }

    #[tokio::test]
    async fn the_guard_refuses_loopback_literals_and_names() {
        let url = server(200).await;
        let client = HttpWebhookClient::new(DEFAULT_TIMEOUT, false).unwrap();
        assert!(matches!(
            client.post(&request(&url)).await,
            Err(DeliveryError::Forbidden(_))
        ));
        // A name that resolves to loopback is refused by the resolver, after DNS.
        let https_name = url.replace("http://127.0.0.1", "https://localhost.");
        assert!(client.post(&request(&https_name)).await.is_err());
        let resolved = GuardedResolver.resolve("localhost".parse().unwrap()).await;
        assert!(resolved.is_err(), "localhost must not resolve through the guard");
    }

    #[tokio::test]
    async fn a_closed_port_is_a_connect_error() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let client = HttpWebhookClient::new(Duration::from_secs(2), true).unwrap();
        let r = client.post(&request(&format!("http://127.0.0.1:{port}/hook"))).await;
        assert!(matches!(r, Err(DeliveryError::Connect(_))), "{r:?}");
    }
}
