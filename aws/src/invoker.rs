//! Runs the order flow's Task states the way Step Functions on AWS runs them, for the
//! in-process executor (`skipline_engine::asl`): the two Lambda ARNs call the same step
//! functions as the Lambda entrypoints, with the AWS adapters; `sns:publish` and
//! `dynamodb:deleteItem` call the services with the parameters Step Functions would send.
//!
//! Why: moto's Step Functions can run the definition but cannot invoke Lambda (it needs
//! Docker), so the contract suite drives the real definition here, against moto's services.

use crate::dynamodb_json;
use crate::error::SdkFailure;
use crate::lambda::{put_item_step, put_object_step};
use async_trait::async_trait;
use serde_json::{Value, json};
use skipline_engine::asl::{TaskFailure, TaskInvoker};
use skipline_events::{MessageAttributeValue, MessageAttributes};
use skipline_handlers::error::StepError;
use skipline_handlers::ports::{CartStore, Clock, InvoiceIndex, InvoiceStore};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The optimised SNS integration's resource.
pub const SNS_PUBLISH: &str = "arn:aws:states:::sns:publish";
/// The optimised DynamoDB integration's resource for DeleteItem.
pub const DYNAMODB_DELETE_ITEM: &str = "arn:aws:states:::dynamodb:deleteItem";

/// The Lambda function ARNs the definition's `${PutItemFunctionArn}`/`${PutObjectFunctionArn}` name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionArns {
    pub put_item: String,
    pub put_object: String,
}

impl FunctionArns {
    /// ARNs of the shape CloudFormation gives the stack's functions, for a local account.
    pub fn for_account(region: &str, account: &str) -> FunctionArns {
        let arn = |name: &str| format!("arn:aws:lambda:{region}:{account}:function:SkipTheLine-{name}");
        FunctionArns {
            put_item: arn("PutItem"),
            put_object: arn("PutObject"),
        }
    }
}

pub struct AwsTaskInvoker {
    functions: FunctionArns,
    cart: Arc<dyn CartStore>,
    invoices: Arc<dyn InvoiceStore>,
    invoice_index: Arc<dyn InvoiceIndex>,
    dynamodb: aws_sdk_dynamodb::Client,
    sns: aws_sdk_sns::Client,
    clock: Arc<dyn Clock>,
}

impl AwsTaskInvoker {
    pub fn new(
        functions: FunctionArns,
        cart: Arc<dyn CartStore>,
        invoices: Arc<dyn InvoiceStore>,
        invoice_index: Arc<dyn InvoiceIndex>,
        dynamodb: aws_sdk_dynamodb::Client,
        sns: aws_sdk_sns::Client,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            functions,
            cart,
            invoices,
            invoice_index,
            dynamodb,
            sns,
            clock,
        }
    }

    /// The definition substitutions CDK passes (infra/lib/order-flow.ts), for these resources.
    pub fn substitutions(&self, topic_arn: &str, cart_table: &str) -> BTreeMap<String, String> {
        BTreeMap::from([
            ("PutItemFunctionArn".to_string(), self.functions.put_item.clone()),
            ("PutObjectFunctionArn".to_string(), self.functions.put_object.clone()),
            ("TopicArn".to_string(), topic_arn.to_string()),
            ("CartTableName".to_string(), cart_table.to_string()),
        ])
    }

    async fn publish(&self, input: Value) -> Result<Value, TaskFailure> {
        let invalid = |m: String| failure("SNS.InvalidParameterException", m);
        let topic = input
            .get("TopicArn")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid("TopicArn is required".into()))?;
        // Step Functions serialises a non-string Message as JSON.
        let message = match input.get("Message") {
            Some(Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
            None => return Err(invalid("Message is required".into())),
        };
        let attributes = match input.get("MessageAttributes") {
            None | Some(Value::Null) => MessageAttributes::new(),
            Some(v) => serde_json::from_value::<BTreeMap<String, MessageAttributeValue>>(v.clone())
                .map_err(|e| invalid(format!("MessageAttributes: {e}")))?,
        };
        match crate::sns::publish(&self.sns, topic, &message, &attributes).await {
            Ok(id) => Ok(json!({"MessageId": id})),
            Err(e) => Err(failure(
                &format!("SNS.{}", e.code().unwrap_or("AmazonSNSException")),
                e.to_string(),
            )),
        }
    }

    async fn delete_item(&self, input: Value) -> Result<Value, TaskFailure> {
        let invalid = |m: String| failure("DynamoDB.ValidationException", m);
        let table = input
            .get("TableName")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid("TableName is required".into()))?;
        let key = dynamodb_json::to_item(input.get("Key").unwrap_or(&Value::Null), "Key").map_err(invalid)?;
        let mut request = self.dynamodb.delete_item().table_name(table).set_key(Some(key));
        if let Some(c) = input.get("ConditionExpression").and_then(Value::as_str) {
            request = request.condition_expression(c);
        }
        if let Some(values) = input.get("ExpressionAttributeValues") {
            let values = dynamodb_json::to_item(values, "ExpressionAttributeValues").map_err(invalid)?;
            request = request.set_expression_attribute_values(Some(values));
        }
        if let Some(names) = input.get("ExpressionAttributeNames") {
            let names: std::collections::HashMap<String, String> =
                serde_json::from_value(names.clone()).map_err(|e| invalid(format!("ExpressionAttributeNames: {e}")))?;
            request = request.set_expression_attribute_names(Some(names));
        }
        if let Some(rv) = input.get("ReturnValues").and_then(Value::as_str) {
            request = request.return_values(rv.into());
        }
        match request.send().await {
            Ok(out) => Ok(match out.attributes {
                Some(a) => json!({"Attributes": dynamodb_json::from_item(&a)}),
                None => json!({}),
            }),
            Err(e) => {
                let f = SdkFailure::new("DynamoDB DeleteItem", &e);
                let name = format!("DynamoDB.{}", f.code.as_deref().unwrap_or("AmazonDynamoDBException"));
                Err(failure(&name, f.message))
            }
        }
    }
}

fn failure(error: &str, cause: String) -> TaskFailure {
    TaskFailure {
        error: error.to_string(),
        cause,
    }
}

/// Lambda's failure shape: error = `errorType`, cause = `{"errorType","errorMessage"}`.
fn lambda_failure(e: StepError) -> TaskFailure {
    TaskFailure {
        error: e.name().to_string(),
        cause: e.lambda_cause(),
    }
}

#[async_trait]
impl TaskInvoker for AwsTaskInvoker {
    fn supports(&self, resource: &str) -> bool {
        resource == self.functions.put_item
            || resource == self.functions.put_object
            || resource == SNS_PUBLISH
            || resource == DYNAMODB_DELETE_ITEM
    }

    async fn invoke(&self, resource: &str, input: Value) -> Result<Value, TaskFailure> {
        let orderid = crate::lambda::orderid_of(&input);
        tracing::debug!(%resource, %orderid, "task");
        if resource == self.functions.put_item {
            put_item_step(self.cart.as_ref(), self.clock.as_ref(), input)
                .await
                .map_err(lambda_failure)
        } else if resource == self.functions.put_object {
            put_object_step(
                self.invoices.as_ref(),
                self.invoice_index.as_ref(),
                self.clock.as_ref(),
                input,
            )
            .await
            .map_err(lambda_failure)
        } else if resource == SNS_PUBLISH {
            self.publish(input).await
        } else if resource == DYNAMODB_DELETE_ITEM {
            self.delete_item(input).await
        } else {
            Err(failure(
                "States.Runtime",
                format!("resource {resource} is not supported by the AWS task invoker"),
            ))
        }
    }
}
