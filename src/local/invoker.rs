//! Maps the state machine's Task resources to in-process handlers and local integrations.
//!
//! Lambda ARNs run the same handler functions the Lambdas run; `sns:publish` goes to the local
//! topic; `dynamodb:deleteItem` to the cart. Errors are shaped as on AWS (Lambda's
//! `{"errorType","errorMessage"}` cause, `DynamoDB.ConditionalCheckFailedException`), so the
//! same Catch clauses match on both backends.

use super::topic::{LOCAL_TOPIC_ARN, Topic};
use async_trait::async_trait;
use serde_json::{Value, json};
use skipline_engine::asl::{TaskFailure, TaskInvoker};
use skipline_events::MessageAttributes;
use skipline_handlers::StepError;
use skipline_handlers::ports::{CartStore, Clock, InvoiceIndex, InvoiceStore, ReleaseOutcome};
use skipline_handlers::put_item::{parse_input, put_item};
use skipline_handlers::put_object::put_object;
use std::collections::BTreeMap;
use std::sync::Arc;

pub const PUT_ITEM_ARN: &str = "arn:aws:lambda:local:000000000000:function:put_item";
pub const PUT_OBJECT_ARN: &str = "arn:aws:lambda:local:000000000000:function:put_object";
pub const SNS_PUBLISH: &str = "arn:aws:states:::sns:publish";
pub const DDB_DELETE_ITEM: &str = "arn:aws:states:::dynamodb:deleteItem";
pub const CART_TABLE: &str = "cart";

/// The `${...}` substitutions for the local backend.
pub fn substitutions() -> BTreeMap<String, String> {
    BTreeMap::from([
        ("PutItemFunctionArn".to_string(), PUT_ITEM_ARN.to_string()),
        ("PutObjectFunctionArn".to_string(), PUT_OBJECT_ARN.to_string()),
        ("TopicArn".to_string(), LOCAL_TOPIC_ARN.to_string()),
        ("CartTableName".to_string(), CART_TABLE.to_string()),
    ])
}

pub struct LocalInvoker {
    pub cart: Arc<dyn CartStore>,
    pub invoices: Arc<dyn InvoiceStore>,
    pub invoice_index: Arc<dyn InvoiceIndex>,
    pub clock: Arc<dyn Clock>,
    pub topic: Topic,
}

fn step_failure(e: StepError) -> TaskFailure {
    TaskFailure {
        error: e.name().to_string(),
        cause: e.lambda_cause(),
    }
}

fn failure(error: &str, cause: impl Into<String>) -> TaskFailure {
    TaskFailure {
        error: error.to_string(),
        cause: cause.into(),
    }
}

fn to_value<T: serde::Serialize>(v: &T) -> Result<Value, TaskFailure> {
    serde_json::to_value(v).map_err(|e| failure("States.Runtime", e.to_string()))
}

impl LocalInvoker {
    async fn publish(&self, params: Value) -> Result<Value, TaskFailure> {
        let topic = params.get("TopicArn").and_then(Value::as_str).unwrap_or_default();
        if topic != LOCAL_TOPIC_ARN {
            return Err(failure(
                "SNS.NotFoundException",
                format!("Topic does not exist: {topic:?}"),
            ));
        }
        let message = match params.get("Message") {
            Some(Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
            None => return Err(failure("SNS.InvalidParameterException", "Message is required")),
        };
        let attributes: MessageAttributes = match params.get("MessageAttributes") {
            None | Some(Value::Null) => MessageAttributes::new(),
            Some(v) => serde_json::from_value(v.clone())
                .map_err(|e| failure("SNS.InvalidParameterException", format!("MessageAttributes: {e}")))?,
        };
        // Unique per publish, as in SNS; consumers dedupe on the event id inside the message.
        let message_id = uuid::Uuid::new_v4().to_string();
        self.topic
            .publish(&message_id, &message, &attributes)
            .await
            .map_err(|e| failure("SNS.InternalErrorException", e.to_string()))?;
        Ok(json!({"MessageId": message_id}))
    }

    /// Supports what the flow uses: a Key of string attributes and `attr = :placeholder`.
    async fn delete_item(&self, params: Value) -> Result<Value, TaskFailure> {
        let invalid = |m: &str| failure("DynamoDB.ValidationException", m.to_string());
        if params.get("TableName").and_then(Value::as_str) != Some(CART_TABLE) {
            return Err(failure(
                "DynamoDB.ResourceNotFoundException",
                "Requested resource not found",
            ));
        }
        let key_s = |k: &str| {
            params
                .pointer(&format!("/Key/{k}/S"))
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        let (Some(accountid), Some(vendorid)) = (key_s("accountid"), key_s("vendorid")) else {
            return Err(invalid("Key must have string attributes accountid and vendorid"));
        };
        let condition = params.get("ConditionExpression").and_then(Value::as_str);
        let Some(condition) = condition else {
            return Err(invalid(
                "the local backend requires ConditionExpression \"orderid = :placeholder\"",
            ));
        };
        let Some((attr, placeholder)) = condition.split_once('=').map(|(a, p)| (a.trim(), p.trim())) else {
            return Err(invalid(
                "ConditionExpression must be of the form \"orderid = :placeholder\"",
            ));
        };
        if attr != "orderid" {
            return Err(invalid("the local backend supports conditions on orderid only"));
        }
        let orderid = params
            .pointer(&format!("/ExpressionAttributeValues/{placeholder}/S"))
            .and_then(Value::as_str)
            .ok_or_else(|| invalid(&format!("ExpressionAttributeValues has no string {placeholder}")))?;
        match self.cart.release(&accountid, &vendorid, orderid).await {
            Ok(ReleaseOutcome::Released) => Ok(json!({})),
            Ok(ReleaseOutcome::Missing | ReleaseOutcome::HeldBy { .. }) => Err(failure(
                "DynamoDB.ConditionalCheckFailedException",
                "The conditional request failed",
            )),
            Err(e) => Err(failure("DynamoDB.InternalServerErrorException", e.to_string())),
        }
    }
}

#[async_trait]
impl TaskInvoker for LocalInvoker {
    fn supports(&self, resource: &str) -> bool {
        matches!(resource, PUT_ITEM_ARN | PUT_OBJECT_ARN | SNS_PUBLISH | DDB_DELETE_ITEM)
    }

    async fn invoke(&self, resource: &str, input: Value) -> Result<Value, TaskFailure> {
        match resource {
            PUT_ITEM_ARN => {
                let input = parse_input(input).map_err(step_failure)?;
                to_value(
                    &put_item(self.cart.as_ref(), self.clock.as_ref(), input)
                        .await
                        .map_err(step_failure)?,
                )
            }
            PUT_OBJECT_ARN => {
                let input = parse_input(input).map_err(step_failure)?;
                to_value(
                    &put_object(
                        self.invoices.as_ref(),
                        self.invoice_index.as_ref(),
                        self.clock.as_ref(),
                        input,
                    )
                    .await
                    .map_err(step_failure)?,
                )
            }
            SNS_PUBLISH => self.publish(input).await,
            DDB_DELETE_ITEM => self.delete_item(input).await,
            other => Err(failure("States.Runtime", format!("no local integration for {other}"))),
        }
    }
}
