//! What every Lambda entrypoint shares: JSON logs, adapters from the environment, and the
//! translation between Lambda's event shapes and the handlers in `skipline-handlers`.
//!
//! The entrypoints in `src/bin/` only wire these together, and the shared invoker
//! (`skipline_handlers::tasks`) calls the same step functions, so the contract suite runs
//! exactly what a Lambda would.

use crate::config::{ConfigError, Setting, Settings};
use aws_lambda_events::apigw::{ApiGatewayProxyRequest, ApiGatewayProxyResponse};
use aws_lambda_events::encodings::Body;
use aws_lambda_events::http::{HeaderMap, HeaderValue, header};
use lambda_runtime::Diagnostic;
use serde_json::{Value, json};
use skipline_handlers::error::{QueryError, StepError};
use skipline_handlers::ports::{CartStore, InvoiceIndex, InvoiceStore, StoreError};
pub use skipline_handlers::tasks::{put_item_step, put_object_step};
use std::fmt;

/// JSON logs on stdout (CloudWatch takes them as-is with the function's JSON log format).
/// `RUST_LOG` filters, `info` by default. Span fields (the order id) are included, so one
/// order can be followed across functions.
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .without_time()
        .try_init();
}

/// One required setting from the function's environment.
pub fn required_env(setting: Setting) -> Result<String, ConfigError> {
    Settings::from_env().require(setting).map(str::to_string)
}

/// The cart table from the function's environment (`CART_TABLE`).
pub async fn cart_from_env() -> Result<crate::DynamoCart, ConfigError> {
    let table = required_env(Setting::CartTable)?;
    let sdk = crate::config::load_sdk_config(None).await;
    Ok(crate::DynamoCart::new(crate::config::dynamodb_client(&sdk), table))
}

/// The invoice bucket and its index from the function's environment (`INVOICE_BUCKET`,
/// `INVOICE_INDEX_TABLE`): put_object writes both, get_object reads both.
pub async fn invoices_from_env() -> Result<(crate::S3Invoices, crate::DynamoInvoiceIndex), ConfigError> {
    let bucket = required_env(Setting::InvoiceBucket)?;
    let index_table = required_env(Setting::InvoiceIndexTable)?;
    let sdk = crate::config::load_sdk_config(None).await;
    Ok((
        crate::S3Invoices::new(crate::config::s3_client(&sdk), bucket),
        crate::DynamoInvoiceIndex::new(crate::config::dynamodb_client(&sdk), index_table),
    ))
}

/// A step failure as Lambda reports it: `errorType` is the name the state machine's Retry
/// and Catch match (e.g. `ActiveOrderExists`), not a Rust type name.
#[derive(Debug)]
pub struct StepFailure(pub StepError);

impl fmt::Display for StepFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl From<StepError> for StepFailure {
    fn from(e: StepError) -> Self {
        StepFailure(e)
    }
}

impl From<StepFailure> for Diagnostic {
    fn from(f: StepFailure) -> Self {
        Diagnostic {
            error_type: f.0.name().to_string(),
            error_message: f.0.to_string(),
        }
    }
}

/// The order id of a step input, for log correlation; empty if absent.
pub fn orderid_of(input: &Value) -> String {
    input
        .get("orderid")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// `GET /order?accountid=&vendorid=`.
pub async fn get_item_response(cart: &dyn CartStore, request: &ApiGatewayProxyRequest) -> ApiGatewayProxyResponse {
    let q = &request.query_string_parameters;
    let result = skipline_handlers::get_item::get_item(cart, q.first("accountid"), q.first("vendorid")).await;
    match result.and_then(|item| serde_json::to_value(item).map_err(|e| StoreError::Corrupt(e.to_string()).into())) {
        Ok(body) => json_response(200, &body),
        Err(e) => error_response(&e),
    }
}

/// `GET /invoice?objectKey=` (either key form) and `GET /orders/{orderid}/invoice`, which
/// needs nothing but the order id: the index written with the invoice maps it to the key.
pub async fn get_object_response(
    invoices: &dyn InvoiceStore,
    index: &dyn InvoiceIndex,
    request: &ApiGatewayProxyRequest,
) -> ApiGatewayProxyResponse {
    let result = match request.path_parameters.get("orderid") {
        Some(orderid) => skipline_handlers::get_object::get_order_invoice(invoices, index, orderid).await,
        None => {
            let key = request.query_string_parameters.first("objectKey");
            skipline_handlers::get_object::get_object(invoices, index, key).await
        }
    };
    match result {
        Ok(body) => json_response(200, &body),
        Err(e) => error_response(&e),
    }
}

/// The one place a query error becomes an HTTP status and `{"error":{"code","message"}}`.
pub fn error_response(e: &QueryError) -> ApiGatewayProxyResponse {
    let (status, code) = match e {
        QueryError::BadRequest(_) => (400, "BadRequest"),
        QueryError::NotFound(_) => (404, "NotFound"),
        // A corrupt record is reported as unavailable, as the local API does (BackendError has
        // no 500 kind); the message says which it is.
        QueryError::Store(_) => (503, "Unavailable"),
    };
    if status >= 500 {
        tracing::error!(error = %e, "query failed");
    }
    json_response(status, &json!({"error": {"code": code, "message": e.to_string()}}))
}

pub fn json_response(status: i64, body: &Value) -> ApiGatewayProxyResponse {
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    let mut response = ApiGatewayProxyResponse::default();
    response.status_code = status;
    response.headers = headers;
    response.body = Some(Body::Text(body.to_string()));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_have_one_status_and_body_shape() {
        let r = error_response(&QueryError::Store(StoreError::Unavailable("throttled".into())));
        assert_eq!(r.status_code, 503);
        let Some(Body::Text(body)) = r.body else {
            panic!("no body")
        };
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["error"]["code"], "Unavailable");
        assert_eq!(error_response(&QueryError::NotFound("x".into())).status_code, 404);
        assert_eq!(error_response(&QueryError::BadRequest("x".into())).status_code, 400);
    }

    #[test]
    fn step_errors_keep_their_names_for_the_state_machine() {
        let d: Diagnostic = StepFailure(StepError::StoreUnavailable("x".into())).into();
        assert_eq!(d.error_type, "StoreUnavailable");
    }
}
