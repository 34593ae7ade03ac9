//! The embedded runtime's service integrations for the shared invoker
//! ([`skipline_handlers::tasks::FlowInvoker`]): `sns:publish` goes to the local topic and
//! `dynamodb:deleteItem` to the cart. Errors are shaped as on AWS
//! (`DynamoDB.ConditionalCheckFailedException`, `SNS.NotFoundException`), so the same Catch
//! clauses match on both backends.

use super::topic::{LOCAL_TOPIC_ARN, Topic};
use async_trait::async_trait;
use serde_json::{Value, json};
use skipline_engine::asl::TaskFailure;
use skipline_handlers::ports::{CartStore, ReleaseOutcome};
use skipline_handlers::tasks::{Integrations, Resources, SnsPublish, failure};
use std::sync::Arc;

pub const PUT_ITEM_ARN: &str = "arn:aws:lambda:local:000000000000:function:put_item";
pub const PUT_OBJECT_ARN: &str = "arn:aws:lambda:local:000000000000:function:put_object";
/// The cart table's local name, substituted for `${CartTableName}`.
pub const CART_TABLE: &str = "cart";

/// What the placeholders stand for in the embedded runtime.
pub fn resources() -> Resources {
    Resources {
        put_item_function: PUT_ITEM_ARN.to_string(),
        put_object_function: PUT_OBJECT_ARN.to_string(),
        topic_arn: LOCAL_TOPIC_ARN.to_string(),
        cart_table: CART_TABLE.to_string(),
    }
}

pub struct LocalIntegrations {
    pub cart: Arc<dyn CartStore>,
    pub topic: Topic,
}

/// The one deleteItem the local cart can run: a Key of string `accountid` and `vendorid`,
/// conditional on `orderid = :placeholder`.
struct CartDelete<'a> {
    table: Option<&'a str>,
    key: (&'a Value, &'a Value),
    placeholder: &'a str,
    value: &'a Value,
}

/// Reads the shape, as written in the file (`"S.$"` paths) or as run (`"S"` values).
fn cart_delete(params: &Value) -> Result<CartDelete<'_>, String> {
    let attr = |path: &str| params.pointer(path).filter(|v| v.is_object());
    let (Some(accountid), Some(vendorid)) = (attr("/Key/accountid"), attr("/Key/vendorid")) else {
        return Err(format!(
            "the local {CART_TABLE} table is keyed by string attributes accountid and vendorid; Key must name both"
        ));
    };
    let condition = params
        .get("ConditionExpression")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let Some(("orderid", placeholder)) = condition.split_once('=').map(|(a, p)| (a.trim(), p.trim())) else {
        return Err(
            "the local backend runs only a deleteItem with ConditionExpression \"orderid = :placeholder\"".into(),
        );
    };
    let value = params
        .get("ExpressionAttributeValues")
        .and_then(|v| v.get(placeholder))
        .filter(|v| v.is_object())
        .ok_or_else(|| format!("ExpressionAttributeValues has no {placeholder}"))?;
    Ok(CartDelete {
        table: params.get("TableName").and_then(Value::as_str),
        key: (accountid, vendorid),
        placeholder,
        value,
    })
}

fn string_attr(v: &Value) -> Option<&str> {
    v.get("S").and_then(Value::as_str)
}

#[async_trait]
impl Integrations for LocalIntegrations {
    async fn publish(&self, request: &SnsPublish) -> Result<String, TaskFailure> {
        if request.topic_arn != LOCAL_TOPIC_ARN {
            return Err(failure(
                "SNS.NotFoundException",
                format!("Topic does not exist: {:?}", request.topic_arn),
            ));
        }
        // Unique per publish, as in SNS; consumers dedupe on the event id inside the message.
        let message_id = uuid::Uuid::new_v4().to_string();
        self.topic
            .publish(&message_id, &request.message, &request.attributes)
            .await
            .map_err(|e| failure("SNS.InternalErrorException", e.to_string()))?;
        Ok(message_id)
    }

    async fn delete_item(&self, params: Value) -> Result<Value, TaskFailure> {
        let invalid = |m: String| failure("DynamoDB.ValidationException", m);
        let d = cart_delete(&params).map_err(invalid)?;
        if d.table != Some(CART_TABLE) {
            return Err(failure(
                "DynamoDB.ResourceNotFoundException",
                "Requested resource not found",
            ));
        }
        let (Some(accountid), Some(vendorid), Some(orderid)) =
            (string_attr(d.key.0), string_attr(d.key.1), string_attr(d.value))
        else {
            return Err(invalid(format!(
                "Key attributes and {} must be strings ({{\"S\": …}})",
                d.placeholder
            )));
        };
        match self.cart.release(accountid, vendorid, orderid).await {
            Ok(ReleaseOutcome::Released) => Ok(json!({})),
            Ok(ReleaseOutcome::Missing | ReleaseOutcome::HeldBy { .. }) => Err(failure(
                "DynamoDB.ConditionalCheckFailedException",
                "The conditional request failed",
            )),
            Err(e) => Err(failure("DynamoDB.InternalServerErrorException", e.to_string())),
        }
    }

    fn check_delete_item(&self, parameters: Option<&Value>) -> Result<(), String> {
        check_delete_item(parameters)
    }
}

/// The local `dynamodb:deleteItem` runs on the one cart table, so its `Parameters` must name it.
fn check_delete_item(parameters: Option<&Value>) -> Result<(), String> {
    let params = parameters.ok_or("dynamodb:deleteItem needs Parameters")?;
    let d = cart_delete(params)?;
    match d.table {
        Some(CART_TABLE) => Ok(()),
        Some(other) => Err(format!(
            "the embedded runtime has one table, {CART_TABLE:?} (${{CartTableName}}); TableName {other:?} does not exist"
        )),
        None => Err(format!(
            "TableName must be written out (the embedded runtime has one table, {CART_TABLE:?})"
        )),
    }
}

/// What `serve --state-machine` would accept, checked without a data dir (`states validate`):
/// the local resources and substitutions, and the same per-integration checks.
struct LocalValidation {
    resources: Resources,
}

#[async_trait]
impl skipline_engine::asl::TaskInvoker for LocalValidation {
    fn supports(&self, resource: &str) -> bool {
        self.resources.supports(resource)
    }

    fn check(&self, resource: &str, parameters: Option<&Value>) -> Result<(), String> {
        if resource == skipline_handlers::tasks::DYNAMODB_DELETE_ITEM {
            check_delete_item(parameters)
        } else {
            Ok(())
        }
    }

    async fn invoke(&self, resource: &str, _input: Value) -> Result<Value, TaskFailure> {
        Err(failure(
            "States.Runtime",
            format!("{resource}: validation does not run tasks"),
        ))
    }
}

/// Every problem the embedded runtime would refuse `definition` for.
pub fn validate_for_local(definition: &str) -> Vec<skipline_engine::asl::LoadError> {
    let resources = resources();
    let substitutions = resources.substitutions();
    skipline_engine::asl::StateMachine::validate(definition, Some(&substitutions), &LocalValidation { resources })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn flow_params(table: &str) -> Value {
        json!({"TableName": table,
            "Key": {"accountid": {"S.$": "$.a"}, "vendorid": {"S.$": "$.v"}},
            "ConditionExpression": "orderid = :orderid",
            "ExpressionAttributeValues": {":orderid": {"S.$": "$.orderid"}}})
    }

    #[tokio::test]
    async fn delete_item_states_are_checked_against_the_local_tables_at_load() {
        let (_dir, db) = crate::local::db::temp_db();
        let queues = crate::local::queues::Queues::new(db.clone());
        let local = LocalIntegrations {
            cart: Arc::new(crate::local::cart::SqliteCart::new(db.clone())),
            topic: Topic::new(db, queues.signals.clone()),
        };
        assert_eq!(local.check_delete_item(Some(&flow_params("cart"))), Ok(()));
        let e = local.check_delete_item(Some(&flow_params("orders"))).unwrap_err();
        assert!(e.contains("\"orders\" does not exist"), "{e}");
        let mut other_key = flow_params("cart");
        other_key["Key"] = json!({"id": {"S": "x"}});
        assert!(
            local
                .check_delete_item(Some(&other_key))
                .unwrap_err()
                .contains("accountid and vendorid")
        );
        let mut other_condition = flow_params("cart");
        other_condition["ConditionExpression"] = json!("attribute_exists(orderid)");
        assert!(
            local
                .check_delete_item(Some(&other_condition))
                .unwrap_err()
                .contains("orderid = :placeholder")
        );
        assert!(local.check_delete_item(None).is_err());
    }
}
