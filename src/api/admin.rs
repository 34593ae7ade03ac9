//! The admin routes the CLI has had and the API lacked: topic subscriptions, queues, peek and
//! replay (with its dry run). All need the `admin` scope; each takes what its CLI command takes.

use super::error::AppError;
use super::openapi::ErrorBody;
use super::{ApiState, count, json_bytes, object, path, path_only, query};
use crate::backend::{NewSubscription, Protocol, Quiet, ReplayRequest, ReplayTarget, requests};
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};
use skipline_engine::filter::{FilterPolicy, FilterScope};

/// A filter policy given as a JSON object, checked as SNS checks it.
fn policy(value: &Value, scope: FilterScope) -> Result<(String, FilterPolicy), AppError> {
    let text = value.to_string();
    let parsed = FilterPolicy::parse(&text, scope).map_err(|e| AppError::BadRequest(format!("filterPolicy: {e}")))?;
    Ok((text, parsed))
}

#[utoipa::path(get, path = "/topic/subscriptions", tag = "admin", summary = "The topic's subscriptions",
    responses((status = 200, description = "{\"subscriptions\": [...]}", body = Object)))]
pub async fn topic_subscriptions(State(s): State<ApiState>, RawQuery(raw): RawQuery) -> Result<Json<Value>, AppError> {
    query(raw, &[])?;
    Ok(Json(json!({"subscriptions": s.backend.topic_subscriptions().await?})))
}

#[derive(serde::Deserialize, utoipa::ToSchema)]
#[schema(as = NewTopicSubscription)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct SubscribeBody {
    /// sqs, http or https.
    #[schema(value_type = String)]
    protocol: Protocol,
    endpoint: String,
    #[serde(default)]
    filter_policy: Option<Value>,
    #[serde(default)]
    filter_policy_scope: Option<String>,
    #[serde(default)]
    raw: bool,
}

const SUBSCRIBE_SHAPE: &str =
    r#"{"protocol": "sqs"|"http"|"https", "endpoint", "filterPolicy"?, "filterPolicyScope"?, "raw"?}"#;

#[utoipa::path(post, path = "/topic/subscriptions", tag = "admin",
    summary = "Subscribe a queue (name, ARN or URL) or an HTTP(S) endpoint to the topic, with an SNS filter policy",
    request_body = SubscribeBody,
    responses((status = 201, description = "Subscribed", body = Object), (status = 400, description = "Malformed input; nothing was written", body = ErrorBody),
        (status = 404, description = "No such queue", body = ErrorBody),
        (status = 409, description = "Already subscribed", body = ErrorBody)))]
pub async fn topic_subscribe(
    State(s): State<ApiState>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    payload: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Value>), AppError> {
    query(raw, &[])?;
    let req: SubscribeBody = object(&json_bytes(&headers, payload)?, SUBSCRIBE_SHAPE)?;
    let scope = match req.filter_policy_scope.as_deref() {
        None | Some("MessageAttributes") => FilterScope::MessageAttributes,
        Some("MessageBody") => FilterScope::MessageBody,
        Some(other) => {
            return Err(AppError::BadRequest(format!(
                "filterPolicyScope must be MessageAttributes or MessageBody, not {other:?}"
            )));
        }
    };
    let filter_policy = req.filter_policy.as_ref().map(|p| policy(p, scope)).transpose()?;
    let info = s
        .backend
        .topic_subscribe(NewSubscription {
            protocol: req.protocol,
            endpoint: req.endpoint,
            filter_policy,
            raw: req.raw,
        })
        .await?;
    Ok((StatusCode::CREATED, Json(json!(info))))
}

#[utoipa::path(get, path = "/queues", tag = "admin", summary = "Every queue: visible, in flight, delayed, and its DLQ",
    responses((status = 200, description = "{\"queues\": [...]}", body = Object)))]
pub async fn queues(State(s): State<ApiState>, RawQuery(raw): RawQuery) -> Result<Json<Value>, AppError> {
    query(raw, &[])?;
    Ok(Json(json!({"queues": s.backend.queues().await?})))
}

/// `?max=` (1–1000, default 10): messages without receiving them.
#[utoipa::path(get, path = "/queues/{queue}/messages", tag = "admin", summary = "Messages in a queue, without receiving them",
    params(("queue" = String, Path), ("max" = Option<usize>, Query, description = "1 to 1000, default 10")),
    responses((status = 200, description = "{\"messages\": [...]}", body = Object), (status = 400, description = "Malformed input; nothing was written", body = ErrorBody), (status = 404, description = "No such queue", body = ErrorBody)))]
pub async fn peek(
    State(s): State<ApiState>,
    queue: Result<Path<String>, PathRejection>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, AppError> {
    let queue = path(queue)?;
    let q = query(raw, &["max"])?;
    let max = count(&q, "max", 10, requests::MAX_PEEK)?;
    Ok(Json(json!({"messages": s.backend.peek(&queue, max).await?})))
}

#[derive(serde::Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct ReplayBody {
    #[serde(default)]
    to: Option<String>,
    #[serde(default)]
    to_topic: bool,
    #[serde(default)]
    max: Option<u64>,
    #[serde(default)]
    filter_policy: Option<Value>,
    #[serde(default)]
    dry_run: bool,
}

const REPLAY_SHAPE: &str = r#"{"to"? | "toTopic"?, "max"?, "filterPolicy"?, "dryRun"?}"#;

/// Moves messages from a DLQ back (as `queues replay`); `dryRun` only counts.
#[utoipa::path(post, path = "/queues/{queue}/replay", tag = "admin",
    summary = "Move messages from a DLQ back to its source queue, another queue or the topic; dryRun only counts",
    params(("queue" = String, Path)), request_body(content = ReplayBody, description = "Optional: no body moves everything back to the source queue"),
    responses((status = 200, description = "What moved (or would), and what was skipped", body = Object), (status = 400, description = "Malformed input; nothing was written", body = ErrorBody), (status = 404, description = "No such queue", body = ErrorBody)))]
pub async fn replay(
    State(s): State<ApiState>,
    queue: Result<Path<String>, PathRejection>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    payload: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, AppError> {
    let from = path_only(queue, raw)?;
    let bytes = json_bytes(&headers, payload)?;
    let req: ReplayBody = if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        ReplayBody::default()
    } else {
        object(&bytes, REPLAY_SHAPE)?
    };
    let to = match (req.to, req.to_topic) {
        (Some(_), true) => return Err(AppError::BadRequest("give \"to\" or \"toTopic\", not both".into())),
        (Some(q), false) => ReplayTarget::Queue(q),
        (None, true) => ReplayTarget::Topic,
        (None, false) => ReplayTarget::Origin,
    };
    if req.max == Some(0) {
        return Err(AppError::BadRequest("max must be at least 1".into()));
    }
    let filter = req
        .filter_policy
        .as_ref()
        .map(|p| policy(p, FilterScope::MessageAttributes))
        .transpose()?
        .map(|(_, p)| p);
    let request = ReplayRequest {
        from,
        to,
        max: req.max,
        filter,
        dry_run: req.dry_run,
    };
    // The console follows a long replay on the live feed.
    let report = match s.backend.live() {
        Some(live) => {
            let progress = crate::local::live::ReplayProgress {
                live,
                queue: request.from.clone(),
                total: Default::default(),
            };
            s.backend.replay(&request, &progress).await?
        }
        None => s.backend.replay(&request, &Quiet).await?,
    };
    Ok(Json(json!(report)))
}
