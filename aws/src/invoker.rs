//! Step Functions' service integrations on AWS, for the shared invoker
//! ([`skipline_handlers::tasks::FlowInvoker`]): `sns:publish` and `dynamodb:deleteItem` call the
//! services with the parameters Step Functions would send.
//!
//! Why: moto's Step Functions can run the definition but cannot invoke Lambda (it needs
//! Docker), so the contract suite drives the real definition in-process, against moto's
//! services, with the same step functions the Lambdas run.

use crate::dynamodb_json;
use crate::error::SdkFailure;
use async_trait::async_trait;
use serde_json::{Value, json};
use skipline_engine::asl::TaskFailure;
use skipline_handlers::tasks::{Integrations, Resources, SnsPublish, failure};

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

    /// The substitutions CDK passes for a stack with these functions, topic and cart table.
    pub fn resources(&self, topic_arn: &str, cart_table: &str) -> Resources {
        Resources {
            put_item_function: self.put_item.clone(),
            put_object_function: self.put_object.clone(),
            topic_arn: topic_arn.to_string(),
            cart_table: cart_table.to_string(),
        }
    }
}

pub struct AwsIntegrations {
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub sns: aws_sdk_sns::Client,
}

#[async_trait]
impl Integrations for AwsIntegrations {
    async fn publish(&self, request: &SnsPublish) -> Result<String, TaskFailure> {
        crate::sns::publish(&self.sns, &request.topic_arn, &request.message, &request.attributes)
            .await
            .map_err(|e| {
                failure(
                    &format!("SNS.{}", e.code().unwrap_or("AmazonSNSException")),
                    e.to_string(),
                )
            })
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
