//! The order flow's Task states, once for both backends: which resource runs which handler, the
//! `${…}` substitutions a definition names, the failure shapes Step Functions reports, and the
//! parameters of the two service integrations the flow uses.
//!
//! A backend supplies only what differs, the service integrations ([`Integrations`]): SNS and
//! DynamoDB through the SDK on AWS, the local topic and cart in the embedded runtime. The two
//! Lambda resources run the same step functions the Lambda entrypoints run.

use crate::error::StepError;
use crate::ports::{CartStore, Clock, InvoiceIndex, InvoiceStore};
use crate::put_item::{PutItemInput, parse_input};
use crate::put_object::PutObjectInput;
use async_trait::async_trait;
use serde_json::{Value, json};
use skipline_engine::asl::{TaskFailure, TaskInvoker};
use skipline_events::MessageAttributes;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The optimised SNS integration's resource.
pub const SNS_PUBLISH: &str = "arn:aws:states:::sns:publish";
/// The optimised DynamoDB integration's resource for DeleteItem.
pub const DYNAMODB_DELETE_ITEM: &str = "arn:aws:states:::dynamodb:deleteItem";

/// What a definition's placeholders stand for on one backend (CDK passes the same names as
/// `definitionSubstitutions`, infra/lib/order-flow.ts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resources {
    pub put_item_function: String,
    pub put_object_function: String,
    pub topic_arn: String,
    pub cart_table: String,
}

impl Resources {
    /// The Task resources the flow's invoker runs, on either backend.
    pub fn supports(&self, resource: &str) -> bool {
        resource == self.put_item_function
            || resource == self.put_object_function
            || resource == SNS_PUBLISH
            || resource == DYNAMODB_DELETE_ITEM
    }

    pub fn substitutions(&self) -> BTreeMap<String, String> {
        BTreeMap::from([
            ("PutItemFunctionArn".to_string(), self.put_item_function.clone()),
            ("PutObjectFunctionArn".to_string(), self.put_object_function.clone()),
            ("TopicArn".to_string(), self.topic_arn.clone()),
            ("CartTableName".to_string(), self.cart_table.clone()),
        ])
    }
}

/// A failure named as Step Functions names it.
pub fn failure(error: &str, cause: impl Into<String>) -> TaskFailure {
    TaskFailure {
        error: error.to_string(),
        cause: cause.into(),
    }
}

/// Lambda's failure shape: error = `errorType`, cause = `{"errorType","errorMessage"}`.
pub fn step_failure(e: StepError) -> TaskFailure {
    TaskFailure {
        error: e.name().to_string(),
        cause: e.lambda_cause(),
    }
}

/// The put_item step: state input JSON in, handler output JSON out (the Lambda's contract).
pub async fn put_item_step(cart: &dyn CartStore, clock: &dyn Clock, input: Value) -> Result<Value, StepError> {
    let input: PutItemInput = parse_input(input)?;
    let out = crate::put_item::put_item(cart, clock, input).await?;
    serde_json::to_value(out).map_err(|e| StepError::Corrupt(e.to_string()))
}

/// The put_object step. Extra fields the state passes (e.g. `correlationid`) are ignored.
pub async fn put_object_step(
    invoices: &dyn InvoiceStore,
    index: &dyn InvoiceIndex,
    clock: &dyn Clock,
    input: Value,
) -> Result<Value, StepError> {
    let input: PutObjectInput = parse_input(input)?;
    let out = crate::put_object::put_object(invoices, index, clock, input).await?;
    serde_json::to_value(out).map_err(|e| StepError::Corrupt(e.to_string()))
}

/// The parameters of `sns:publish`, as Step Functions reads them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnsPublish {
    pub topic_arn: String,
    pub message: String,
    pub attributes: MessageAttributes,
}

impl SnsPublish {
    pub fn parse(params: &Value) -> Result<SnsPublish, TaskFailure> {
        let invalid = |m: String| failure("SNS.InvalidParameterException", m);
        let topic_arn = params
            .get("TopicArn")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid("TopicArn is required".into()))?
            .to_string();
        // Step Functions serialises a non-string Message as JSON.
        let message = match params.get("Message") {
            Some(Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
            None => return Err(invalid("Message is required".into())),
        };
        let attributes = match params.get("MessageAttributes") {
            None | Some(Value::Null) => MessageAttributes::new(),
            Some(v) => serde_json::from_value(v.clone()).map_err(|e| invalid(format!("MessageAttributes: {e}")))?,
        };
        Ok(SnsPublish {
            topic_arn,
            message,
            attributes,
        })
    }
}

/// The service integrations a backend provides.
#[async_trait]
pub trait Integrations: Send + Sync {
    /// Publishes; returns the message id.
    async fn publish(&self, request: &SnsPublish) -> Result<String, TaskFailure>;
    /// `dynamodb:deleteItem` with the state's parameters; returns what Step Functions would.
    async fn delete_item(&self, params: Value) -> Result<Value, TaskFailure>;
    /// Checks a `dynamodb:deleteItem` state's `Parameters` as written, at load, so that a
    /// definition the backend cannot run is refused at start rather than at run time.
    fn check_delete_item(&self, _parameters: Option<&Value>) -> Result<(), String> {
        Ok(())
    }
}

/// The flow's [`TaskInvoker`] on either backend.
pub struct FlowInvoker {
    pub resources: Resources,
    pub cart: Arc<dyn CartStore>,
    pub invoices: Arc<dyn InvoiceStore>,
    pub invoice_index: Arc<dyn InvoiceIndex>,
    pub clock: Arc<dyn Clock>,
    pub integrations: Arc<dyn Integrations>,
}

impl FlowInvoker {
    pub fn substitutions(&self) -> BTreeMap<String, String> {
        self.resources.substitutions()
    }
}

fn orderid_of(input: &Value) -> &str {
    input.get("orderid").and_then(Value::as_str).unwrap_or_default()
}

#[async_trait]
impl TaskInvoker for FlowInvoker {
    fn supports(&self, resource: &str) -> bool {
        self.resources.supports(resource)
    }

    fn check(&self, resource: &str, parameters: Option<&Value>) -> Result<(), String> {
        if resource == DYNAMODB_DELETE_ITEM {
            self.integrations.check_delete_item(parameters)
        } else {
            Ok(())
        }
    }

    async fn invoke(&self, resource: &str, input: Value) -> Result<Value, TaskFailure> {
        tracing::debug!(%resource, orderid = %orderid_of(&input), "task");
        if resource == self.resources.put_item_function {
            put_item_step(self.cart.as_ref(), self.clock.as_ref(), input)
                .await
                .map_err(step_failure)
        } else if resource == self.resources.put_object_function {
            put_object_step(
                self.invoices.as_ref(),
                self.invoice_index.as_ref(),
                self.clock.as_ref(),
                input,
            )
            .await
            .map_err(step_failure)
        } else if resource == SNS_PUBLISH {
            let request = SnsPublish::parse(&input)?;
            let id = self.integrations.publish(&request).await?;
            Ok(json!({"MessageId": id}))
        } else if resource == DYNAMODB_DELETE_ITEM {
            self.integrations.delete_item(input).await
        } else {
            Err(failure("States.Runtime", format!("no integration for {resource}")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn publish_parameters_are_read_as_step_functions_reads_them() {
        let p = SnsPublish::parse(&json!({"TopicArn": "t", "Message": {"a": 1},
            "MessageAttributes": {"k": {"DataType": "String", "StringValue": "v"}}}))
        .unwrap();
        assert_eq!((p.topic_arn.as_str(), p.message.as_str()), ("t", r#"{"a":1}"#));
        assert_eq!(p.attributes["k"].string_value, "v");
        let e = SnsPublish::parse(&json!({"Message": "m"})).unwrap_err();
        assert_eq!(e.error, "SNS.InvalidParameterException");
        let e = SnsPublish::parse(&json!({"TopicArn": "t", "Message": "m", "MessageAttributes": 3})).unwrap_err();
        assert!(e.cause.contains("MessageAttributes"), "{e:?}");
    }
}
