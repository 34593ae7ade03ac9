//! `GET /openapi.json`: OpenAPI 3.1, generated from the handlers' own `#[utoipa::path]`
//! annotations, which are also what registers each route (`utoipa_axum::routes!`), so a route
//! cannot exist without being described.
//!
//! Two things are added to what utoipa generates, from the sources that already own them:
//! - the `POST /order` body is `skipline_events::place_order_schema()`, the schemars schema
//!   that `events/schema/place-order.schema.json` and the API Gateway model are made from;
//! - each operation's security and its 401/403/429 answers come from [`super::auth::required_scope`],
//!   the rule the server enforces.

use super::auth::required_scope;
use axum::http::Method;
use serde_json::{Value, json};
use std::sync::OnceLock;
use utoipa::OpenApi;

/// The document's header, tags and shared schemas; the paths come from the router.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Skip the Line",
        description = "Pre-order coffee from the train. The embedded backend's API (`skipline serve`). \
Every route is also served under `/prod`, as API Gateway serves the stack. Errors are \
`{\"error\": {\"code\", \"message\"}}`.",
        license(name = "MIT-0", identifier = "MIT-0")
    ),
    tags(
        (name = "orders", description = "Place orders and follow them (orders:write, orders:read)"),
        (name = "vendors", description = "Vendor webhook endpoints and their deliveries (admin)"),
        (name = "admin", description = "Executions, the topic, queues and replay (admin)"),
        (name = "service", description = "Health, readiness, metrics and schemas"),
        (name = "console", description = "The browser console: its static page and its session")
    ),
    components(schemas(ErrorBody, ErrorDetail, Placed))
)]
pub struct ApiDoc;

/// Every error answer.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct ErrorBody {
    error: ErrorDetail,
}

#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct ErrorDetail {
    /// E.g. BadRequest, NotFound, Conflict, Unauthorized, Forbidden, TooManyRequests.
    code: String,
    message: String,
}

/// `POST /order`'s answer.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct Placed {
    orderid: String,
    #[schema(rename = "executionId")]
    execution_id: String,
    /// RUNNING for a new order; the execution's status for a repeated Idempotency-Key.
    status: String,
}

static DOCUMENT: OnceLock<Value> = OnceLock::new();

/// The finished document; the first router built sets it (every router has the same routes).
pub fn document(api: utoipa::openapi::OpenApi) -> &'static Value {
    DOCUMENT.get_or_init(|| finish(api))
}

/// The document once a router has been built, for `GET /openapi.json`.
pub fn document_or_empty() -> &'static Value {
    static EMPTY: Value = Value::Null;
    DOCUMENT.get().unwrap_or(&EMPTY)
}

fn error_ref(description: &str) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}})
}

fn finish(api: utoipa::openapi::OpenApi) -> Value {
    let mut doc = serde_json::to_value(&api).unwrap_or_else(|e| json!({"error": e.to_string()}));
    doc["servers"] = json!([
        {"url": "/", "description": "skipline serve"},
        {"url": "/prod", "description": "the same routes under API Gateway's stage name"}
    ]);
    doc["components"]["securitySchemes"]["bearer"] = json!({
        "type": "http", "scheme": "bearer",
        "description": "A token from `skipline tokens create`, with the scope each operation names. \
    On loopback with no token created, the API is open (development mode)."
    });
    // The order body, from the schemars source: its $defs become components.
    let mut place_order = skipline_events::place_order_schema();
    if let Some(defs) = place_order.as_object_mut().and_then(|o| o.remove("$defs")) {
        for (name, schema) in defs.as_object().into_iter().flatten() {
            doc["components"]["schemas"][name] = schema.clone();
        }
    }
    if let Some(o) = place_order.as_object_mut() {
        o.remove("$schema");
    }
    doc["components"]["schemas"]["PlaceOrder"] = place_order;
    let mut text = doc.to_string();
    text = text.replace("\"#/$defs/", "\"#/components/schemas/");
    let mut doc: Value = serde_json::from_str(&text).unwrap_or(doc);
    if let Some(post) = doc["paths"]["/order"]["post"].as_object_mut() {
        post.insert(
            "requestBody".into(),
            json!({"required": true, "description": "The seed client's order, unchanged.",
                   "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PlaceOrder"}}}}),
        );
    }
    // Security from the enforced rule.
    if let Some(paths) = doc["paths"].as_object_mut() {
        for (path, item) in paths.iter_mut() {
            for (method, op) in item.as_object_mut().into_iter().flatten() {
                let Ok(m) = method.to_uppercase().parse::<Method>() else {
                    continue;
                };
                let Some(op) = op.as_object_mut() else { continue };
                match required_scope(&m, path) {
                    None => {
                        op.insert("security".into(), json!([]));
                    }
                    Some(scope) => {
                        op.insert("security".into(), json!([{"bearer": [scope.as_str()]}]));
                        let responses = op.entry("responses").or_insert_with(|| json!({}));
                        responses["401"] = error_ref("No valid token (WWW-Authenticate: Bearer)");
                        responses["403"] = error_ref(&format!("The token lacks the {} scope", scope.as_str()));
                        responses["429"] = error_ref("Throttled; see Retry-After");
                    }
                }
            }
        }
    }
    doc
}
