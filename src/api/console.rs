//! The console at `/console`: a static page, embedded in the binary, that draws from the API
//! and the live feed (`GET /events`). Nothing is fetched from elsewhere and nothing is built
//! at start. It is plain HTML, CSS and JavaScript with no library: the graph is a few dozen
//! lines of SVG, which a pinned framework would not make shorter.
//!
//! A browser's `EventSource` cannot send `Authorization`, so `POST /console/session` exchanges
//! a token for a session cookie (see [`super::auth::Auth::login`]); state-changing requests on
//! that cookie must also carry the session's CSRF token from the page's own origin.

use super::error::AppError;
use super::openapi::ErrorBody;
use super::{ApiState, json_bytes, object, query};
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

const PAGE: &str = include_str!("console/index.html");
const SCRIPT: &str = include_str!("console/app.js");
const STYLE: &str = include_str!("console/app.css");

/// Only our own files, no inline script or style, no framing, no form posts elsewhere.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

fn asset(content_type: &'static str, text: &'static str) -> Response {
    let mut r = text.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    r
}

#[utoipa::path(get, path = "/console", tag = "console", summary = "The console page (static; its data needs a token)",
    responses((status = 200, description = "HTML", content_type = "text/html", body = String)))]
pub async fn page(RawQuery(raw): RawQuery) -> Result<Response, AppError> {
    query(raw, &[])?;
    Ok(asset("text/html; charset=utf-8", PAGE))
}

#[utoipa::path(get, path = "/console/app.js", tag = "console", summary = "The console's script",
    responses((status = 200, description = "JavaScript", content_type = "text/javascript", body = String)))]
pub async fn script() -> Response {
    asset("text/javascript; charset=utf-8", SCRIPT)
}

#[utoipa::path(get, path = "/console/app.css", tag = "console", summary = "The console's style sheet",
    responses((status = 200, description = "CSS", content_type = "text/css", body = String)))]
pub async fn style() -> Response {
    asset("text/css; charset=utf-8", STYLE)
}

/// `{"token": "stl_…"}`.
#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct SignIn {
    token: String,
}

#[utoipa::path(post, path = "/console/session", tag = "console",
    summary = "Exchange a token for a console session cookie (HttpOnly, SameSite=Strict, Secure under TLS)",
    request_body = SignIn,
    responses(
        (status = 200, description = "Signed in: `{\"csrf\"}` to echo in X-CSRF-Token; or `{\"open\": true}` when no token is needed", body = Object),
        (status = 400, description = "Malformed input", body = ErrorBody),
        (status = 401, description = "The token is not valid", body = ErrorBody),
        (status = 403, description = "Not from the console's own origin", body = ErrorBody)))]
pub async fn sign_in(
    State(s): State<ApiState>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    payload: Result<Bytes, BytesRejection>,
) -> Result<Response, AppError> {
    query(raw, &[])?;
    same_origin(&headers)?;
    let req: SignIn = object(&json_bytes(&headers, payload)?, r#"{"token"}"#)?;
    Ok(match s.auth.login(req.token.trim()).await? {
        None => Json(json!({"open": true})).into_response(),
        Some((cookie, csrf)) => {
            let mut r = Json(json!({"open": false, "csrf": csrf})).into_response();
            let value = HeaderValue::from_str(&cookie).map_err(|e| AppError::Unavailable(e.to_string()))?;
            r.headers_mut().insert(header::SET_COOKIE, value);
            r
        }
    })
}

#[utoipa::path(delete, path = "/console/session", tag = "console", summary = "Sign out: end the session and clear its cookie",
    responses((status = 204, description = "Signed out")))]
pub async fn sign_out(
    State(s): State<ApiState>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    query(raw, &[])?;
    same_origin(&headers)?;
    s.auth.logout(&headers);
    let mut r = StatusCode::NO_CONTENT.into_response();
    let value = HeaderValue::from_str(&super::auth::Auth::expired_cookie())
        .map_err(|e| AppError::Unavailable(e.to_string()))?;
    r.headers_mut().insert(header::SET_COOKIE, value);
    Ok(r)
}

/// Signing in and out change state: a browser sends `Origin` with them, and it must be ours,
/// so another site cannot sign a visitor in or out (login CSRF).
fn same_origin(headers: &HeaderMap) -> Result<(), AppError> {
    // Without an Origin it is not a browser (curl, tests): nothing to forge.
    if super::auth::origin_matches_host(headers) == Some(false) {
        return Err(AppError::Forbidden(
            "the console signs in only from its own origin".into(),
        ));
    }
    Ok(())
}

#[utoipa::path(get, path = "/flow", tag = "admin",
    summary = "The running state machine: its name and its definition as loaded (the console draws it)",
    responses((status = 200, description = "`{\"name\", \"definition\"}`", body = Object),
        (status = 501, description = "Not the embedded backend", body = ErrorBody)))]
pub async fn flow(State(s): State<ApiState>, RawQuery(raw): RawQuery) -> Result<Json<Value>, AppError> {
    query(raw, &[])?;
    let (name, text) = s
        .backend
        .definition()
        .ok_or_else(|| AppError::NotImplemented("the console is for the embedded backend (`skipline serve`)".into()))?;
    let definition: Value = serde_json::from_str(&text).map_err(|e| AppError::Unavailable(e.to_string()))?;
    Ok(Json(json!({"name": name, "definition": definition})))
}
