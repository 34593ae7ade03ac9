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
use std::collections::HashMap;
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
    /// Console sessions, by the SHA-256 of their cookie (see [`Auth::login`]).
    sessions: Mutex<HashMap<[u8; 32], Session>>,
    /// Served over TLS: session cookies are `Secure`.
    secure_cookies: bool,
}

/// A browser's session: it stands for the token it was opened with, while that token is
/// active, and carries the CSRF token its state-changing requests must echo.
struct Session {
    token: [u8; 32],
    csrf: String,
    expires: Instant,
}

/// The console's session cookie.
pub const SESSION_COOKIE: &str = "skipline_session";
/// The header a cookie-authenticated request that changes state must carry.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// How long a console session lasts.
pub const SESSION_TTL: Duration = Duration::from_secs(12 * 3600);
/// Sessions kept at once; the oldest are dropped past it, so logins cannot grow memory.
const MAX_SESSIONS: usize = 1024;

impl Auth {
    /// No authentication at all (tests and tools that serve in-process on loopback).
    pub fn none() -> Auth {
        Auth(None)
    }

    /// Tokens from the data dir's store; `secure_cookies` when serving TLS.
    pub fn tokens(tokens: Tokens, open_without_tokens: bool, secure_cookies: bool) -> Auth {
        Auth(Some(Arc::new(Checker {
            tokens,
            open_without_tokens,
            cache: Mutex::new(None),
            sessions: Mutex::new(HashMap::new()),
            secure_cookies,
        })))
    }

    /// Exchanges a token for a console session, because a browser's `EventSource` cannot send
    /// an `Authorization` header: the `Set-Cookie` value (HttpOnly, SameSite=Strict, Secure
    /// under TLS) and the CSRF token. `None` when no token is needed (open development mode,
    /// or no authentication at all).
    pub async fn login(&self, token: &str) -> Result<Option<(String, String)>, AppError> {
        let Some(checker) = &self.0 else { return Ok(None) };
        let active = checker.active().await?;
        if active.is_empty() && checker.open_without_tokens {
            return Ok(None);
        }
        let found = matching(&active, &digest(token))
            .ok_or_else(|| AppError::Unauthorized("the token is not valid (unknown or revoked)".into()))?;
        let id = crate::local::tokens::generate();
        let csrf = crate::local::tokens::generate();
        let mut sessions = checker.sessions.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        sessions.retain(|_, s| s.expires > now);
        if sessions.len() >= MAX_SESSIONS
            && let Some(oldest) = sessions.iter().min_by_key(|(_, s)| s.expires).map(|(k, _)| *k)
        {
            sessions.remove(&oldest);
        }
        sessions.insert(
            digest(&id),
            Session {
                token: found.digest,
                csrf: csrf.clone(),
                expires: now + SESSION_TTL,
            },
        );
        let secure = if checker.secure_cookies { "; Secure" } else { "" };
        let cookie = format!(
            "{SESSION_COOKIE}={id}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}{secure}",
            SESSION_TTL.as_secs()
        );
        Ok(Some((cookie, csrf)))
    }

    /// Ends the request's console session, if it has one.
    pub fn logout(&self, headers: &axum::http::HeaderMap) {
        if let (Some(checker), Some(id)) = (&self.0, session_cookie(headers)) {
            checker
                .sessions
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&digest(id));
        }
    }

    /// The cookie that clears the session cookie.
    pub fn expired_cookie() -> String {
        format!("{SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0")
    }
}

/// The active token with this digest; every digest is compared, match or not, so the time
/// does not depend on which matched.
fn matching<'a>(active: &'a [ActiveToken], wanted: &[u8; 32]) -> Option<&'a ActiveToken> {
    let mut found = None;
    for token in active {
        if bool::from(token.digest.ct_eq(wanted)) {
            found = Some(token);
        }
    }
    found
}

fn session_cookie(headers: &axum::http::HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| pair.trim().strip_prefix(SESSION_COOKIE)?.strip_prefix('='))
}

/// Whether the request's `Origin` names the host it was sent to; `None` without an `Origin`
/// (not a browser). The console's state-changing requests are checked with it.
pub fn origin_matches_host(headers: &axum::http::HeaderMap) -> Option<bool> {
    let origin = headers.get(header::ORIGIN)?;
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    let origin_host = origin.to_str().ok().and_then(|o| o.split_once("://")).map(|(_, h)| h);
    Some(!host.is_empty() && origin_host == Some(host))
}

/// A state-changing request on a session must come from our own page: its `Origin` names
/// this host, and it echoes the session's CSRF token.
fn same_origin_with_csrf(request: &Request, csrf: &str) -> Result<(), AppError> {
    let headers = request.headers();
    if origin_matches_host(headers) != Some(true) {
        return Err(AppError::Forbidden(
            "a console request that changes state must come from the console's own origin".into(),
        ));
    }
    let sent = headers.get(CSRF_HEADER).map(|v| v.as_bytes()).unwrap_or_default();
    if !bool::from(sent.ct_eq(csrf.as_bytes())) {
        return Err(AppError::Forbidden(format!(
            "a console request that changes state needs the session's {CSRF_HEADER} header"
        )));
    }
    Ok(())
}

/// The scope a request needs, or `None` for a public route. `path` is without the stage prefix.
pub fn required_scope(method: &Method, path: &str) -> Option<Scope> {
    let path = path
        .strip_prefix(super::STAGE_PREFIX)
        .filter(|p| p.starts_with('/'))
        .unwrap_or(path);
    // The console's page and assets are static, and its session route checks the token itself.
    let console = path == "/console" || path.starts_with("/console/");
    if console || path == "/healthz" || path == "/readyz" || path == "/openapi.json" || path.starts_with("/schema/") {
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
    let token = match (presented, session_cookie(request.headers())) {
        (Some(presented), _) => matching(&active, &digest(presented))
            .ok_or_else(|| AppError::Unauthorized("the token is not valid (unknown or revoked)".into()))?,
        (None, Some(id)) => {
            let (token, csrf) = {
                let sessions = checker.sessions.lock().unwrap_or_else(|p| p.into_inner());
                let session = sessions
                    .get(&digest(id))
                    .filter(|s| s.expires > Instant::now())
                    .ok_or_else(|| AppError::Unauthorized("the console session has ended; sign in again".into()))?;
                (session.token, session.csrf.clone())
            };
            if !matches!(*request.method(), Method::GET | Method::HEAD) {
                same_origin_with_csrf(&request, &csrf)?;
            }
            matching(&active, &token).ok_or_else(|| {
                AppError::Unauthorized("the console session's token was revoked; sign in again".into())
            })?
        }
        (None, None) => {
            return Err(AppError::Unauthorized(format!(
                "this route needs a token with scope {}: send `Authorization: Bearer <token>` (skipline tokens create)",
                scope.as_str()
            )));
        }
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
