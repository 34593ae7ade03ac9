//! Bearer-token authentication and scopes for the local API.
//!
//! - `/healthz`, `/readyz`, `/schema/…` and `/openapi.json` are public: they return no data.
//! - `POST /order` needs `orders:write`; reading orders, their status and invoices needs
//!   `orders:read`; everything else (vendors, executions, deliveries) needs `admin`.
//! - With no active token the API is open only if the server allowed that at start (a loopback
//!   bind, or `--insecure-no-auth`); otherwise every protected route answers 401.
//!
//! Presented tokens are hashed and compared with every active digest in constant time, so the
//! time taken says nothing about how close a guess was. Tokens never reach a log: nothing here
//! logs a header.

use super::error::AppError;
use crate::local::tokens::{ActiveToken, Scope, Tokens, digest};
use axum::extract::{Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::Response;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use subtle::ConstantTimeEq;

/// How long the active tokens are cached: a token created or revoked by `skipline tokens`
/// (another process) takes effect within this.
pub const REFRESH_EVERY: Duration = Duration::from_secs(1);

/// The API's access rule; cheap to clone.
#[derive(Clone, Default)]
pub struct Auth(Option<Arc<Checker>>);

pub struct Checker {
    tokens: Tokens,
    /// With no active token: open (development on loopback) or closed.
    open_without_tokens: bool,
    cache: Mutex<Option<(Instant, Arc<Vec<ActiveToken>>)>>,
}

impl Auth {
    /// No authentication at all (tests and tools that serve in-process on loopback).
    pub fn none() -> Auth {
        Auth(None)
    }

    /// Tokens from the data dir's store.
    pub fn tokens(tokens: Tokens, open_without_tokens: bool) -> Auth {
        Auth(Some(Arc::new(Checker {
            tokens,
            open_without_tokens,
            cache: Mutex::new(None),
        })))
    }
}

/// The scope a request needs, or `None` for a public route. `path` is without the stage prefix.
pub fn required_scope(method: &Method, path: &str) -> Option<Scope> {
    let path = path
        .strip_prefix(super::STAGE_PREFIX)
        .filter(|p| p.starts_with('/'))
        .unwrap_or(path);
    if path == "/healthz" || path == "/readyz" || path == "/openapi.json" || path.starts_with("/schema/") {
        return None;
    }
    let read = method == Method::GET || method == Method::HEAD;
    Some(match path {
        "/order" if method == Method::POST => Scope::OrdersWrite,
        "/order" | "/invoice" if read => Scope::OrdersRead,
        p if read && p.starts_with("/orders/") => Scope::OrdersRead,
        _ => Scope::Admin,
    })
}

fn bearer(request: &Request) -> Result<Option<&str>, AppError> {
    let Some(value) = request.headers().get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value
        .to_str()
        .map_err(|_| AppError::Unauthorized("the Authorization header is not ASCII".into()))?;
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() => {
            Ok(Some(token.trim()))
        }
        _ => Err(AppError::Unauthorized(
            "the Authorization header must be `Bearer <token>`".into(),
        )),
    }
}

impl Checker {
    async fn active(&self) -> Result<Arc<Vec<ActiveToken>>, AppError> {
        if let Some((at, tokens)) = &*self.cache.lock().unwrap_or_else(|p| p.into_inner())
            && at.elapsed() < REFRESH_EVERY
        {
            return Ok(tokens.clone());
        }
        let fresh = Arc::new(
            self.tokens
                .active()
                .await
                .map_err(|e| AppError::Unavailable(format!("cannot read the API tokens: {e}")))?,
        );
        *self.cache.lock().unwrap_or_else(|p| p.into_inner()) = Some((Instant::now(), fresh.clone()));
        Ok(fresh)
    }
}

/// The middleware: 401 without a valid token, 403 with one that lacks the scope.
pub async fn require(State(auth): State<Auth>, mut request: Request, next: Next) -> Result<Response, AppError> {
    let Some(checker) = auth.0.clone() else {
        return Ok(next.run(request).await);
    };
    let Some(scope) = required_scope(request.method(), request.uri().path()) else {
        return Ok(next.run(request).await);
    };
    let active = checker.active().await?;
    let presented = bearer(&request)?;
    if active.is_empty() && checker.open_without_tokens {
        return Ok(next.run(request).await);
    }
    let Some(presented) = presented else {
        return Err(AppError::Unauthorized(format!(
            "this route needs a token with scope {}: send `Authorization: Bearer <token>` (skipline tokens create)",
            scope.as_str()
        )));
    };
    let wanted = digest(presented);
    // Every digest is compared, match or not, so the time does not depend on which matched.
    let mut found: Option<&ActiveToken> = None;
    for token in active.iter() {
        if bool::from(token.digest.ct_eq(&wanted)) {
            found = Some(token);
        }
    }
    let Some(token) = found else {
        return Err(AppError::Unauthorized(
            "the token is not valid (unknown or revoked)".into(),
        ));
    };
    if !token.scopes.contains(&scope) {
        return Err(AppError::Forbidden(format!(
            "token {} lacks scope {} for this route",
            token.name,
            scope.as_str()
        )));
    }
    request
        .extensions_mut()
        .insert(super::throttle::Caller(token.name.clone()));
    Ok(next.run(request).await)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_map_to_scopes() {
        let cases = [
            (Method::POST, "/order", Some(Scope::OrdersWrite)),
            (Method::POST, "/prod/order", Some(Scope::OrdersWrite)),
            (Method::GET, "/order", Some(Scope::OrdersRead)),
            (Method::GET, "/orders/o1", Some(Scope::OrdersRead)),
            (Method::GET, "/orders/o1/invoice", Some(Scope::OrdersRead)),
            (Method::GET, "/invoice", Some(Scope::OrdersRead)),
            (Method::GET, "/executions", Some(Scope::Admin)),
            (Method::POST, "/vendors/v/endpoints", Some(Scope::Admin)),
            (Method::GET, "/vendors/v/deliveries", Some(Scope::Admin)),
            (Method::DELETE, "/orders/o1", Some(Scope::Admin)),
            (Method::GET, "/nope", Some(Scope::Admin)),
            (Method::GET, "/healthz", None),
            (Method::GET, "/prod/readyz", None),
            (Method::GET, "/schema/place-order", None),
            (Method::GET, "/production/healthz", Some(Scope::Admin)),
        ];
        for (m, p, want) in cases {
            assert_eq!(required_scope(&m, p), want, "{m} {p}");
        }
    }
}
