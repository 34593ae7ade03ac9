//! Request throttling for `skipline serve`, through `tower_governor` (GCRA token buckets).
//!
//! Two limits: one overall, checked first and before authentication, so a flood costs no token
//! lookups; and one per authenticated token (keyed by the name [`super::auth`] found), so one
//! client cannot starve the others. Requests without a token (open development mode) share one
//! bucket. A throttled request gets 429 with `Retry-After`.

use super::error::AppError;
use axum::body::Body;
use axum::http::{HeaderValue, Request, Response, header};
use axum::response::IntoResponse;
use std::sync::Arc;
use tower_governor::GovernorError;
use tower_governor::governor::{GovernorConfig, GovernorConfigBuilder};
use tower_governor::key_extractor::{GlobalKeyExtractor, KeyExtractor};

/// Our stack's API Gateway stage: 50 requests/s with a burst of 100, for the whole API.
pub const API_GATEWAY_RATE: u32 = 50;
pub const API_GATEWAY_BURST: u32 = 100;

/// The defaults: well above API Gateway's, because one `serve` is often one shop's whole
/// backend and its tests, demo and load generator must not trip them.
pub const DEFAULT_TOKEN_RATE: u32 = 500;
pub const DEFAULT_TOKEN_BURST: u32 = 1000;
pub const DEFAULT_GLOBAL_RATE: u32 = 2000;
pub const DEFAULT_GLOBAL_BURST: u32 = 4000;

/// Requests per second and burst, per token and overall.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub token_rate: u32,
    pub token_burst: u32,
    pub global_rate: u32,
    pub global_burst: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            token_rate: DEFAULT_TOKEN_RATE,
            token_burst: DEFAULT_TOKEN_BURST,
            global_rate: DEFAULT_GLOBAL_RATE,
            global_burst: DEFAULT_GLOBAL_BURST,
        }
    }
}

/// Which caller a request is, as authentication found it; absent means anonymous.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Caller(pub String);

/// Keys the per-token limit by the authenticated token's name.
#[derive(Debug, Clone, Copy)]
pub struct TokenKey;

impl KeyExtractor for TokenKey {
    type Key = String;

    fn extract<T>(&self, req: &Request<T>) -> Result<Self::Key, GovernorError> {
        Ok(req
            .extensions()
            .get::<Caller>()
            .map_or_else(|| "anonymous".to_string(), |c| c.0.clone()))
    }
}

/// A limiter's configuration, keyed by `K`.
pub type Config<K> = Arc<GovernorConfig<K, governor::middleware::NoOpMiddleware>>;

/// One request per `1 / rate` seconds, `burst` at once.
fn config<K: KeyExtractor>(key: K, rate: u32, burst: u32) -> Option<Config<K>> {
    let period = std::time::Duration::from_nanos(1_000_000_000 / u64::from(rate.max(1)));
    GovernorConfigBuilder::default()
        .key_extractor(key)
        .period(period)
        .burst_size(burst.max(1))
        .finish()
        .map(Arc::new)
}

/// 429 in our JSON error shape, keeping the limiter's `Retry-After`.
pub fn too_many(e: GovernorError) -> Response<Body> {
    match e {
        GovernorError::TooManyRequests { wait_time, headers } => {
            let mut response =
                AppError::TooManyRequests(format!("too many requests; retry after {wait_time} s")).into_response();
            if let Some(h) = headers {
                response.headers_mut().extend(h);
            }
            if let Ok(v) = HeaderValue::from_str(&wait_time.max(1).to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, v);
            }
            response
        }
        other => AppError::Unavailable(format!("rate limiter: {other}")).into_response(),
    }
}

/// The two layers' configurations; `None` when a limit cannot be built (a zero).
pub fn configs(limits: &Limits) -> Option<(Config<GlobalKeyExtractor>, Config<TokenKey>)> {
    Some((
        config(GlobalKeyExtractor, limits.global_rate, limits.global_burst)?,
        config(TokenKey, limits.token_rate, limits.token_burst)?,
    ))
}
