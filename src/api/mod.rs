//! The local HTTP API (axum). Handlers are thin: parse, call the [`Backend`], shape the answer.
//! Errors become responses in [`error`] only.

mod admin;
pub mod auth;
pub mod console;
pub mod error;
pub mod openapi;
pub mod throttle;

use crate::backend::{Backend, ExecStatus};
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{DefaultBodyLimit, Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use error::AppError;
use futures_util::StreamExt;
use openapi::{ErrorBody, Placed};
use serde_json::{Value, json};
use skipline_events::MAX_BODY_BYTES;
use skipline_handlers::ports::VendorEndpoint;
use std::collections::BTreeMap;
use std::sync::Arc;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// What the handlers share.
#[derive(Clone)]
pub struct ApiState {
    pub backend: Arc<dyn Backend>,
    /// `--allow-private-endpoints`: lets vendors subscribe loopback/private URLs (tests, local use).
    pub allow_private_endpoints: bool,
    /// Who may call which route (see [`auth`]).
    pub auth: auth::Auth,
    /// Request limits (see [`throttle`]); `None` serves unthrottled (in-process tools and tests).
    pub limits: Option<throttle::Limits>,
}

impl ApiState {
    /// Open and unthrottled, for serving in-process on loopback (the demo, the bench, tests).
    pub fn in_process(backend: Arc<dyn Backend>, allow_private_endpoints: bool) -> ApiState {
        ApiState {
            backend,
            allow_private_endpoints,
            auth: auth::Auth::none(),
            limits: None,
        }
    }
}

/// API Gateway serves the stack under its stage; the seed's notebook calls `{api}/prod/order`.
pub const STAGE_PREFIX: &str = "/prod";

/// Every route at the root and again under [`STAGE_PREFIX`], so a client written for API
/// Gateway needs only its host changed.
pub fn router(state: ApiState) -> Router {
    let (routes, _) = routes();
    let router = Router::new()
        .nest(STAGE_PREFIX, routes.clone())
        .merge(routes)
        .fallback(|| async { AppError::NotFound("no such route; see README.md for the API".into()) })
        .method_not_allowed_fallback(|| async { AppError::MethodNotAllowed("method not allowed on this route".into()) })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES));
    let auth = axum::middleware::from_fn_with_state(state.auth.clone(), auth::require);
    // Outermost first: the overall limit, then authentication, then the per-token limit.
    let router = match state.limits.as_ref().and_then(throttle::configs) {
        Some((overall, per_token)) => router
            .layer(tower_governor::GovernorLayer::new(per_token).error_handler(throttle::too_many))
            .layer(auth)
            .layer(tower_governor::GovernorLayer::new(overall).error_handler(throttle::too_many)),
        None => router.layer(auth),
    };
    router.with_state(state)
}

/// Every route, registered from its handler's `#[utoipa::path]`, so the router and
/// `/openapi.json` are one list (handlers with the same path share one `routes!`).
fn routes() -> (Router<ApiState>, &'static Value) {
    let (router, api) = OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .routes(routes!(place_order, get_order))
        .routes(routes!(order_status))
        .routes(routes!(order_invoice))
        .routes(routes!(get_invoice))
        .routes(routes!(list_executions))
        .routes(routes!(subscribe_vendor, list_vendor_endpoints))
        .routes(routes!(unsubscribe_vendor))
        .routes(routes!(rotate_vendor_secret))
        .routes(routes!(enable_vendor_endpoint))
        .routes(routes!(vendor_deliveries))
        .routes(routes!(redeliver))
        .routes(routes!(admin::topic_subscriptions, admin::topic_subscribe))
        .routes(routes!(admin::queues))
        .routes(routes!(admin::peek))
        .routes(routes!(admin::replay))
        .routes(routes!(place_order_schema))
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .routes(routes!(prometheus_metrics))
        .routes(routes!(openapi_json))
        .routes(routes!(live_events))
        .routes(routes!(console::page))
        .routes(routes!(console::script))
        .routes(routes!(console::style))
        .routes(routes!(console::sign_in, console::sign_out))
        .routes(routes!(console::flow))
        .split_for_parts();
    let router = router.method_not_allowed_fallback(|| async {
        AppError::MethodNotAllowed("method not allowed on this route".into())
    });
    (router, openapi::document(api))
}

#[utoipa::path(get, path = "/schema/place-order", tag = "service",
    summary = "The JSON Schema of the POST /order body (draft 2020-12)",
    responses((status = 200, description = "The schema", body = Object)))]
async fn place_order_schema() -> Json<Value> {
    Json(skipline_events::place_order_schema())
}

#[utoipa::path(get, path = "/healthz", tag = "service", summary = "Liveness",
    responses((status = 200, description = "{\"status\": \"ok\"}", body = Object)))]
async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// What becomes durable, as it does: the feed the console draws from. Each SSE `event:` is a
/// [`LiveEvent`] type (Started, Execution, Consumed, Delivery) with its JSON as `data:`; the
/// first is `Ready` (subscribed: nothing after it is missed), `Lagged` says how many a slow
/// reader lost. The stream ends when the server stops.
///
/// [`LiveEvent`]: crate::local::live::LiveEvent
#[utoipa::path(get, path = "/events", tag = "admin",
    summary = "The live feed (Server-Sent Events): executions, consumed messages, webhook attempts",
    responses(
        (status = 200, description = "text/event-stream", content_type = "text/event-stream", body = String),
        (status = 400, description = "Malformed input", body = ErrorBody),
        (status = 501, description = "Not the embedded backend", body = ErrorBody)))]
async fn live_events(State(s): State<ApiState>, RawQuery(raw): RawQuery) -> Result<Response, AppError> {
    use crate::local::live::LiveEvent;
    use axum::response::sse::{Event, KeepAlive, Sse};
    use tokio::sync::broadcast::error::RecvError;
    query(raw, &[])?;
    let live = s.backend.live().ok_or_else(|| {
        AppError::NotImplemented("the live feed is served by `skipline serve` on the embedded backend".into())
    })?;
    let ready = Event::default().event("Ready").data("{}");
    let events = futures_util::stream::unfold(live.subscribe(), |mut rx| async move {
        let event = match rx.recv().await {
            Ok(e) if *e == LiveEvent::Closing => return None,
            Ok(e) => {
                let data = serde_json::to_value(&*e).unwrap_or(Value::Null);
                let kind = data["type"].as_str().unwrap_or("Event").to_string();
                Event::default().event(kind).data(data.to_string())
            }
            Err(RecvError::Lagged(n)) => Event::default().event("Lagged").data(json!({"missed": n}).to_string()),
            Err(RecvError::Closed) => return None,
        };
        Some((Ok::<_, std::convert::Infallible>(event), rx))
    });
    let stream = futures_util::stream::iter([Ok(ready)]).chain(events);
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()).into_response())
}

#[utoipa::path(get, path = "/openapi.json", tag = "service", summary = "This document (OpenAPI 3.1)",
    responses((status = 200, description = "The OpenAPI document", body = Object)))]
async fn openapi_json(State(_): State<ApiState>) -> Json<Value> {
    Json(openapi::document_or_empty().clone())
}

/// A request body that must be JSON: the Content-Type checked, then the bytes read.
fn json_bytes(headers: &HeaderMap, payload: Result<Bytes, BytesRejection>) -> Result<Bytes, AppError> {
    json_content_type(headers)?;
    body(payload)
}

/// Turns axum's body rejection (e.g. over the limit) into our JSON error.
fn body(result: Result<Bytes, BytesRejection>) -> Result<Bytes, AppError> {
    result.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            AppError::PayloadTooLarge(format!("body is larger than {MAX_BODY_BYTES} bytes"))
        } else {
            AppError::BadRequest(format!("could not read body: {e}"))
        }
    })
}

/// Turns axum's path rejection (e.g. percent-encoded bytes that are not UTF-8) into our JSON error.
fn path<T>(result: Result<Path<T>, PathRejection>) -> Result<T, AppError> {
    result
        .map(|Path(value)| value)
        .map_err(|e| AppError::BadRequest(e.body_text()))
}

/// Parses a query string and refuses unknown, repeated or missing-but-required parameters.
fn query(raw: Option<String>, allowed: &[&str]) -> Result<BTreeMap<String, String>, AppError> {
    let raw = raw.unwrap_or_default();
    if raw.len() > 4096 {
        return Err(AppError::BadRequest("query string is too long".into()));
    }
    let mut out = BTreeMap::new();
    for (k, v) in url::form_urlencoded::parse(raw.as_bytes()) {
        if !allowed.contains(&k.as_ref()) {
            return Err(AppError::BadRequest(format!(
                "unknown query parameter {:?}; allowed: {}",
                k.chars().take(64).collect::<String>(),
                allowed.join(", ")
            )));
        }
        if out.insert(k.to_string(), v.to_string()).is_some() {
            return Err(AppError::BadRequest(format!(
                "query parameter {k} is given more than once"
            )));
        }
    }
    Ok(out)
}

/// Reads a JSON object body into `T`, naming the expected shape on any problem.
fn object<T: serde::de::DeserializeOwned>(bytes: &Bytes, shape: &str) -> Result<T, AppError> {
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(AppError::BadRequest(format!("body must be a JSON object {shape}")));
    }
    serde_json::from_slice(bytes).map_err(|e| AppError::BadRequest(format!("body must be {shape}: {e}")))
}

/// A count parameter from 1 to `max`, or `default` when absent.
fn count(q: &BTreeMap<String, String>, name: &str, default: usize, max: usize) -> Result<usize, AppError> {
    match q.get(name) {
        None => Ok(default),
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| AppError::BadRequest(format!("{name} must be a number from 1 to {max}"))),
    }
}

fn json_content_type(headers: &HeaderMap) -> Result<(), AppError> {
    match headers.get(header::CONTENT_TYPE).map(|v| v.to_str().unwrap_or("")) {
        None => Ok(()),
        Some(ct)
            if ct
                .split(';')
                .next()
                .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json")) =>
        {
            Ok(())
        }
        Some(ct) => Err(AppError::UnsupportedMediaType(format!(
            "Content-Type must be application/json, not {ct:?}"
        ))),
    }
}

#[utoipa::path(post, path = "/order", tag = "orders",
    summary = "Place an order: starts the order flow",
    description = "Answers once the execution is durable. The same Idempotency-Key with the same body answers 200 with the existing execution; with another body, 409.",
    params(("Idempotency-Key" = Option<String>, Header, description = "Names the execution; 1 to 80 of letters, digits, '-' and '_'")),
    responses(
        (status = 202, description = "Accepted: the execution is durable and running", body = Placed),
        (status = 200, description = "This Idempotency-Key was used with this body before", body = Placed),
        (status = 400, description = "Malformed input; nothing was written", body = ErrorBody),
        (status = 409, description = "The Idempotency-Key was used with another body", body = ErrorBody),
        (status = 413, description = "Body over 16 KiB", body = ErrorBody),
        (status = 415, description = "Content-Type is not application/json", body = ErrorBody)))]
async fn place_order(
    State(s): State<ApiState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    payload: Result<Bytes, BytesRejection>,
) -> Result<Response, AppError> {
    query(raw, &[])?;
    let bytes = json_bytes(&headers, payload)?;
    let key = match headers.get("idempotency-key") {
        None => None,
        Some(v) => Some(
            v.to_str()
                .map_err(|_| AppError::BadRequest("Idempotency-Key must be ASCII".into()))?
                .to_string(),
        ),
    };
    let placed = s.backend.place_order(&bytes, key.as_deref()).await?;
    let location = format!("/orders/{}", placed.orderid);
    let status = if placed.created {
        StatusCode::ACCEPTED
    } else {
        StatusCode::OK
    };
    let body = json!({"orderid": placed.orderid, "executionId": placed.execution_id, "status": placed.status});
    Ok((status, [(header::LOCATION, location)], Json(body)).into_response())
}

#[utoipa::path(get, path = "/order", tag = "orders",
    summary = "The active cart item of an account at a vendor (the seed's GET /order)",
    params(("accountid" = String, Query), ("vendorid" = String, Query)),
    responses((status = 200, description = "The cart item", body = Object), (status = 400, description = "Malformed input; nothing was written", body = ErrorBody), (status = 404, description = "No active order", body = ErrorBody)))]
async fn get_order(State(s): State<ApiState>, RawQuery(raw): RawQuery) -> Result<Json<Value>, AppError> {
    let q = query(raw, &["accountid", "vendorid"])?;
    let (Some(a), Some(v)) = (q.get("accountid"), q.get("vendorid")) else {
        return Err(AppError::BadRequest(
            "query parameters accountid and vendorid are both required".into(),
        ));
    };
    let item = s
        .backend
        .cart_item(a, v)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no active order for account {a} at vendor {v}")))?;
    json_body(&item)
}

/// A route's path parameters, on a route that takes no query parameters.
fn path_only<T>(params: Result<Path<T>, PathRejection>, raw: Option<String>) -> Result<T, AppError> {
    let params = path(params)?;
    query(raw, &[])?;
    Ok(params)
}

/// A serialisable answer as the JSON body.
fn json_body<T: serde::Serialize>(value: &T) -> Result<Json<Value>, AppError> {
    Ok(Json(
        serde_json::to_value(value).map_err(|e| AppError::Unavailable(e.to_string()))?,
    ))
}

#[utoipa::path(get, path = "/orders/{orderid}", tag = "orders",
    summary = "An order's status, rejection reason, invoice key and execution history",
    params(("orderid" = String, Path)),
    responses((status = 200, description = "The order", body = Object), (status = 400, description = "Malformed input; nothing was written", body = ErrorBody), (status = 404, description = "No such order", body = ErrorBody)))]
async fn order_status(
    State(s): State<ApiState>,
    orderid: Result<Path<String>, PathRejection>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, AppError> {
    json_body(&s.backend.order_status(&path_only(orderid, raw)?, true).await?)
}

#[utoipa::path(get, path = "/orders/{orderid}/invoice", tag = "orders",
    summary = "An order's invoice",
    params(("orderid" = String, Path)),
    responses((status = 200, description = "The invoice", body = Object), (status = 400, description = "Malformed input; nothing was written", body = ErrorBody), (status = 404, description = "No such order, or it has no invoice", body = ErrorBody)))]
async fn order_invoice(
    State(s): State<ApiState>,
    orderid: Result<Path<String>, PathRejection>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, AppError> {
    Ok(Json(s.backend.order_invoice(&path_only(orderid, raw)?).await?))
}

/// The seed's route. It answered with a presigned S3 URL; we answer with the invoice itself, on
/// both backends, so that a client needs no second request and no S3 access.
#[utoipa::path(get, path = "/invoice", tag = "orders",
    summary = "An invoice by its object key (the seed's route; answers the invoice, not a presigned URL)",
    params(("objectKey" = String, Query)),
    responses((status = 200, description = "The invoice", body = Object), (status = 400, description = "Malformed input; nothing was written", body = ErrorBody), (status = 404, description = "No such invoice", body = ErrorBody)))]
async fn get_invoice(State(s): State<ApiState>, RawQuery(raw): RawQuery) -> Result<Json<Value>, AppError> {
    let q = query(raw, &["objectKey"])?;
    let key = q
        .get("objectKey")
        .ok_or_else(|| AppError::BadRequest("query parameter objectKey is required".into()))?;
    Ok(Json(s.backend.invoice(key).await?))
}

#[utoipa::path(get, path = "/executions", tag = "admin",
    summary = "Recent executions, newest first",
    params(("status" = Option<String>, Query, description = "RUNNING, SUCCEEDED or FAILED"),
           ("limit" = Option<usize>, Query, description = "1 to 1000, default 50")),
    responses((status = 200, description = "{\"executions\": [...]}", body = Object), (status = 400, description = "Malformed input; nothing was written", body = ErrorBody)))]
async fn list_executions(State(s): State<ApiState>, RawQuery(raw): RawQuery) -> Result<Json<Value>, AppError> {
    let q = query(raw, &["status", "limit"])?;
    let status = match q.get("status") {
        None => None,
        Some(v) => Some(
            ExecStatus::parse(v)
                .ok_or_else(|| AppError::BadRequest("status must be RUNNING, SUCCEEDED or FAILED".into()))?,
        ),
    };
    let limit = count(&q, "limit", 50, 1000)?;
    let list = s.backend.list_executions(status, limit).await?;
    Ok(Json(json!({"executions": list})))
}

#[derive(serde::Deserialize, utoipa::ToSchema)]
#[schema(as = NewVendorEndpoint)]
#[serde(deny_unknown_fields)]
struct SubscribeBody {
    url: String,
    #[serde(default)]
    secret: Option<String>,
}

#[utoipa::path(post, path = "/vendors/{vendorid}/endpoints", tag = "vendors",
    summary = "Subscribe a webhook endpoint for a vendor's tickets",
    description = "Tickets are signed to Standard Webhooks. A generated secret is shown once. Private and loopback URLs are refused unless the server runs with --allow-private-endpoints.",
    params(("vendorid" = String, Path)), request_body = SubscribeBody,
    responses((status = 201, description = "Subscribed", body = Object), (status = 400, description = "Malformed input; nothing was written", body = ErrorBody),
        (status = 409, description = "This URL is already subscribed", body = ErrorBody)))]
async fn subscribe_vendor(
    State(s): State<ApiState>,
    vendorid: Result<Path<String>, PathRejection>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    payload: Result<Bytes, BytesRejection>,
) -> Result<Response, AppError> {
    let vendorid = path_only(vendorid, raw)?;
    let bytes = json_bytes(&headers, payload)?;
    let req: SubscribeBody = serde_json::from_slice(&bytes)
        .map_err(|e| AppError::BadRequest(format!("body must be {{\"url\", \"secret\"?}}: {e}")))?;
    let (endpoint, generated) = s
        .backend
        .subscribe_vendor(&vendorid, &req.url, req.secret.as_deref(), s.allow_private_endpoints)
        .await?;
    let mut out = json!({"vendorid": endpoint.vendorid, "endpointid": endpoint.endpointid, "url": endpoint.url, "createdAt": endpoint.created_at});
    if generated {
        // Shown once: it is never returned again.
        out["secret"] = json!(endpoint.secret);
    }
    Ok((StatusCode::CREATED, Json(out)).into_response())
}

/// `whsec_…1a2b`: enough to tell secrets apart, not enough to use one.
pub fn redact(secret: &str) -> String {
    let tail: String = secret
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("…{tail}")
}

/// An endpoint as the API and `vendors list --json` show it: the secret redacted, how the
/// endpoint is signed, and until when a rotated-out secret still signs.
pub fn endpoint_summary(e: &VendorEndpoint) -> Value {
    let mut v = json!({
        "vendorid": e.vendorid,
        "endpointid": e.endpointid,
        "url": e.url,
        "secret": redact(&e.secret),
        "createdAt": e.created_at,
        "signing": e.signing.as_str(),
    });
    if let Some(until) = e
        .previous_until
        .filter(|_| e.previous_at(jiff::Timestamp::now()).is_some())
    {
        v["previousSecretUntil"] = json!(until.to_string());
    }
    let h = &e.health;
    v["state"] = json!(if h.is_disabled() { "disabled" } else { "enabled" });
    if let Some(at) = h.disabled_at {
        v["disabledAt"] = json!(at.to_string());
        v["disabledReason"] = json!(h.disabled_reason);
    }
    if let Some(since) = h.failing_since {
        v["failingSince"] = json!(since.to_string());
    }
    v
}

/// Readiness for a supervisor or load balancer: 200 when the database takes writes and the
/// consumers run, else 503 with the reason. No data, so no token.
#[utoipa::path(get, path = "/readyz", tag = "service",
    summary = "Readiness: the database takes writes and the consumers run",
    responses((status = 200, description = "Ready", body = Object), (status = 503, description = "Not ready, with the reason", body = Object)))]
async fn readyz(State(s): State<ApiState>, RawQuery(raw): RawQuery) -> Result<(StatusCode, Json<Value>), AppError> {
    query(raw, &[])?;
    Ok(match s.backend.readiness().await {
        Ok(()) => (StatusCode::OK, Json(json!({"status": "ready"}))),
        Err(reason) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "not ready", "reason": reason})),
        ),
    })
}

/// Prometheus text format. Queue gauges are read now; everything else was recorded as it
/// happened. Served only where `serve` installed the recorder; `admin` scope.
#[utoipa::path(get, path = "/metrics", tag = "service",
    summary = "Prometheus text format: orders, states, queues, deliveries, group commits",
    responses((status = 200, description = "Prometheus text exposition format 0.0.4", content_type = "text/plain", body = String), (status = 404, description = "Not served by this process", body = ErrorBody)))]
async fn prometheus_metrics(State(s): State<ApiState>, RawQuery(raw): RawQuery) -> Result<Response, AppError> {
    query(raw, &[])?;
    let Some(handle) = crate::metrics::handle() else {
        return Err(AppError::NotFound("metrics are served by `skipline serve`".into()));
    };
    let queues = s.backend.queues().await?;
    let visible: BTreeMap<&str, u64> = queues.iter().map(|q| (q.name.as_str(), q.visible)).collect();
    for q in &queues {
        for (state, n) in [
            ("visible", q.visible),
            ("in_flight", q.in_flight),
            ("delayed", q.delayed),
        ] {
            metrics::gauge!(crate::metrics::QUEUE_MESSAGES, "queue" => q.name.clone(), "state" => state).set(n as f64);
        }
        if let Some(dlq) = &q.dlq {
            let depth = visible.get(dlq.as_str()).copied().unwrap_or(0);
            metrics::gauge!(crate::metrics::DLQ_MESSAGES, "queue" => q.name.clone()).set(depth as f64);
        }
    }
    Ok((
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        handle.render(),
    )
        .into_response())
}

/// An attempt as the API and `--json` show it.
pub fn attempt_json(a: &skipline_handlers::ports::Attempt) -> Value {
    serde_json::to_value(a).unwrap_or_else(|e| json!({"error": e.to_string()}))
}

#[utoipa::path(post, path = "/vendors/{vendorid}/endpoints/{endpointid}/enable", tag = "vendors",
    summary = "Enable an endpoint that was disabled (by a 410 or by failing for --disable-after)",
    params(("vendorid" = String, Path), ("endpointid" = String, Path)),
    responses((status = 200, description = "The endpoint", body = Object), (status = 400, description = "Malformed input; nothing was written", body = ErrorBody), (status = 404, description = "No such endpoint", body = ErrorBody)))]
async fn enable_vendor_endpoint(
    State(s): State<ApiState>,
    ids: Result<Path<(String, String)>, PathRejection>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, AppError> {
    let (vendorid, endpointid) = path_only(ids, raw)?;
    let endpoint = s.backend.enable_vendor_endpoint(&vendorid, &endpointid).await?;
    Ok(Json(endpoint_summary(&endpoint)))
}

/// `?endpoint=&failed=true&since=&until=&limit=`; times are RFC 3339 or a duration ago.
#[utoipa::path(get, path = "/vendors/{vendorid}/deliveries", tag = "vendors",
    summary = "The delivery log: every attempt, newest first",
    params(("vendorid" = String, Path), ("endpoint" = Option<String>, Query),
        ("failed" = Option<bool>, Query, description = "Only attempts that did not deliver"),
        ("since" = Option<String>, Query, description = "RFC 3339, or a duration ago such as 2h"),
        ("until" = Option<String>, Query, description = "RFC 3339, or a duration ago"),
        ("limit" = Option<usize>, Query, description = "1 to 1000, default 50")),
    responses((status = 200, description = "{\"deliveries\": [...]}", body = Object), (status = 400, description = "Malformed input; nothing was written", body = ErrorBody)))]
async fn vendor_deliveries(
    State(s): State<ApiState>,
    vendorid: Result<Path<String>, PathRejection>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, AppError> {
    let vendorid = path(vendorid)?;
    let q = query(raw, &["endpoint", "failed", "since", "until", "limit"])?;
    let failed = match q.get("failed").map(String::as_str) {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => return Err(AppError::BadRequest("failed must be true or false".into())),
    };
    let limit = count(&q, "limit", 50, 1000)?;
    let query = crate::backend::requests::attempt_query(
        &vendorid,
        q.get("endpoint").map(String::as_str),
        failed,
        q.get("since").map(String::as_str),
        q.get("until").map(String::as_str),
        limit,
    )?;
    let attempts = s.backend.vendor_deliveries(&query).await?;
    let items: Vec<Value> = attempts.iter().map(attempt_json).collect();
    Ok(Json(json!({"deliveries": items})))
}

/// `{"event"}` or `{"since", "until"?}`, with `"endpoint"?`.
#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct RedeliverBody {
    #[serde(default)]
    endpoint: Option<String>,
    #[serde(default)]
    event: Option<String>,
    #[serde(default)]
    since: Option<String>,
    #[serde(default)]
    until: Option<String>,
}

#[utoipa::path(post, path = "/vendors/{vendorid}/redeliver", tag = "vendors",
    summary = "Send kept tickets again, with their original webhook-id",
    params(("vendorid" = String, Path)), request_body = RedeliverBody,
    responses((status = 202, description = "Queued for delivery", body = Object), (status = 400, description = "Malformed input; nothing was written", body = ErrorBody), (status = 404, description = "No such event or endpoint", body = ErrorBody)))]
async fn redeliver(
    State(s): State<ApiState>,
    vendorid: Result<Path<String>, PathRejection>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    payload: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Value>), AppError> {
    let vendorid = path_only(vendorid, raw)?;
    let bytes = json_bytes(&headers, payload)?;
    let req: RedeliverBody = object(&bytes, r#"{"event"} or {"since", "until"?}, with "endpoint"?"#)?;
    let ticket_query = crate::backend::requests::ticket_query(
        &vendorid,
        req.endpoint.as_deref(),
        req.event.as_deref(),
        req.since.as_deref(),
        req.until.as_deref(),
    )?;
    let report = s
        .backend
        .redeliver(&vendorid, req.endpoint.as_deref(), &ticket_query)
        .await?;
    Ok((StatusCode::ACCEPTED, Json(json!(report))))
}

#[derive(serde::Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct RotateBody {
    #[serde(default)]
    secret: Option<String>,
    /// How long the old secret keeps signing; the default is 24 hours.
    #[serde(default, rename = "graceSeconds")]
    grace_seconds: Option<u64>,
}

#[utoipa::path(post, path = "/vendors/{vendorid}/endpoints/{endpointid}/rotate-secret", tag = "vendors",
    summary = "Rotate an endpoint's signing secret; the old one signs too during the grace period",
    params(("vendorid" = String, Path), ("endpointid" = String, Path)),
    request_body(content = RotateBody, description = "Optional: no body generates a secret, with 24 h of grace"),
    responses((status = 200, description = "The endpoint; a generated secret is shown once", body = Object), (status = 400, description = "Malformed input; nothing was written", body = ErrorBody), (status = 404, description = "No such endpoint", body = ErrorBody)))]
async fn rotate_vendor_secret(
    State(s): State<ApiState>,
    ids: Result<Path<(String, String)>, PathRejection>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    payload: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, AppError> {
    let (vendorid, endpointid) = path_only(ids, raw)?;
    let bytes = json_bytes(&headers, payload)?;
    // No body: a generated secret and the default grace period.
    let req: RotateBody = if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        RotateBody::default()
    } else {
        object(&bytes, r#"{"secret"?, "graceSeconds"?}"#)?
    };
    let grace = req.grace_seconds.map(std::time::Duration::from_secs);
    let (endpoint, generated) = s
        .backend
        .rotate_vendor_secret(&vendorid, &endpointid, req.secret.as_deref(), grace)
        .await?;
    let mut out = endpoint_summary(&endpoint);
    if generated {
        // Shown once: it is never returned again.
        out["secret"] = json!(endpoint.secret);
    }
    Ok(Json(out))
}

#[utoipa::path(get, path = "/vendors/{vendorid}/endpoints", tag = "vendors",
    summary = "A vendor's endpoints, secrets redacted, with their health",
    params(("vendorid" = String, Path)),
    responses((status = 200, description = "{\"endpoints\": [...]}", body = Object), (status = 400, description = "Malformed input; nothing was written", body = ErrorBody)))]
async fn list_vendor_endpoints(
    State(s): State<ApiState>,
    vendorid: Result<Path<String>, PathRejection>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, AppError> {
    let vendorid = path_only(vendorid, raw)?;
    let list = s.backend.list_vendor_endpoints(Some(&vendorid)).await?;
    let items: Vec<Value> = list.into_iter().map(|e| endpoint_summary(&e)).collect();
    Ok(Json(json!({"endpoints": items})))
}

#[utoipa::path(delete, path = "/vendors/{vendorid}/endpoints/{endpointid}", tag = "vendors",
    summary = "Remove an endpoint",
    params(("vendorid" = String, Path), ("endpointid" = String, Path)),
    responses((status = 204, description = "Removed"), (status = 400, description = "Malformed input; nothing was written", body = ErrorBody), (status = 404, description = "No such endpoint", body = ErrorBody)))]
async fn unsubscribe_vendor(
    State(s): State<ApiState>,
    ids: Result<Path<(String, String)>, PathRejection>,
    RawQuery(raw): RawQuery,
) -> Result<StatusCode, AppError> {
    let (vendorid, endpointid) = path_only(ids, raw)?;
    s.backend.unsubscribe_vendor(&vendorid, &endpointid).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Serves in-process (the demo and the bench) until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: ApiState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}

/// `skipline serve`: on `listener`, over TLS when `tls` is given, until `handle` is told to
/// shut down (`Handle::graceful_shutdown` stops accepting at once and bounds the drain of open
/// requests). Refuses nothing about the address; the CLI decides what may be served where.
pub async fn serve_until(
    listener: std::net::TcpListener,
    tls: Option<axum_server::tls_rustls::RustlsConfig>,
    state: ApiState,
    handle: axum_server::Handle<std::net::SocketAddr>,
) -> std::io::Result<()> {
    let app = router(state).into_make_service();
    match tls {
        None => axum_server::from_tcp(listener)?.handle(handle).serve(app).await,
        Some(config) => {
            axum_server::from_tcp_rustls(listener, config)?
                .handle(handle)
                .serve(app)
                .await
        }
    }
}
