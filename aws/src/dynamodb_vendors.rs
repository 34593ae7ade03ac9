//! [`VendorDirectory`] on DynamoDB.
//!
//! Vendor table: PK `vendorid`, SK `endpointid` (one vendor is one Query: the notify_vendor
//! Lambda is granted `dynamodb:Query` only). The delivery log is in [`crate::deliveries`].

use crate::error::SdkFailure;
use crate::pages;
use async_trait::async_trait;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use skipline_handlers::ports::{Health, StoreError, VendorDirectory, VendorEndpoint};
use std::collections::HashMap;

type Item = HashMap<String, AttributeValue>;

dynamo_table_adapter!(
    /// The vendor endpoints table.
    DynamoVendorDirectory
);

impl DynamoVendorDirectory {
    fn decode(items: Vec<Item>) -> Result<Vec<VendorEndpoint>, StoreError> {
        items
            .into_iter()
            .map(|item| serde_dynamo::from_item(item).map_err(|e| StoreError::Corrupt(format!("vendor endpoint: {e}"))))
            .collect()
    }
}

#[async_trait]
impl VendorDirectory for DynamoVendorDirectory {
    async fn add(&self, endpoint: &VendorEndpoint) -> Result<(), StoreError> {
        let item: Item = serde_dynamo::to_item(endpoint).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        crate::deliveries::put_item(&self.client, &self.table, item).await
    }

    async fn list(&self, vendorid: Option<&str>) -> Result<Vec<VendorEndpoint>, StoreError> {
        let mut endpoints = pages::collect(pages::ALL, |start, _| async move {
            let (items, next) = match vendorid {
                Some(v) => {
                    let out = self
                        .client
                        .query()
                        .table_name(&self.table)
                        .key_condition_expression("vendorid = :v")
                        .expression_attribute_values(":v", AttributeValue::S(v.to_string()))
                        .consistent_read(true)
                        .set_exclusive_start_key(start)
                        .send()
                        .await
                        .map_err(|e| SdkFailure::new("DynamoDB Query", &e))?;
                    (out.items.unwrap_or_default(), out.last_evaluated_key)
                }
                None => {
                    let out = self
                        .client
                        .scan()
                        .table_name(&self.table)
                        .consistent_read(true)
                        .set_exclusive_start_key(start)
                        .send()
                        .await
                        .map_err(|e| SdkFailure::new("DynamoDB Scan", &e))?;
                    (out.items.unwrap_or_default(), out.last_evaluated_key)
                }
            };
            Ok::<_, StoreError>((Self::decode(items)?, next))
        })
        .await?;
        // A Scan has no order; the port promises vendor then endpoint order.
        endpoints.sort_by(|a, b| (&a.vendorid, &a.endpointid).cmp(&(&b.vendorid, &b.endpointid)));
        Ok(endpoints)
    }

    async fn remove(&self, vendorid: &str, endpointid: &str) -> Result<bool, StoreError> {
        let out = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("vendorid", AttributeValue::S(vendorid.to_string()))
            .key("endpointid", AttributeValue::S(endpointid.to_string()))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(|e| SdkFailure::new("DynamoDB DeleteItem", &e))?;
        Ok(out.attributes.is_some_and(|a| !a.is_empty()))
    }

    async fn get(&self, vendorid: &str, endpointid: &str) -> Result<Option<VendorEndpoint>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("vendorid", AttributeValue::S(vendorid.to_string()))
            .key("endpointid", AttributeValue::S(endpointid.to_string()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| SdkFailure::new("DynamoDB GetItem", &e))?;
        match out.item {
            Some(item) if !item.is_empty() => Ok(Some(
                serde_dynamo::from_item(item).map_err(|e| StoreError::Corrupt(format!("vendor endpoint: {e}")))?,
            )),
            _ => Ok(None),
        }
    }

    /// An UpdateItem of the health attributes only, on condition that the endpoint exists.
    async fn set_health(&self, vendorid: &str, endpointid: &str, health: &Health) -> Result<bool, StoreError> {
        let mut set = Vec::new();
        let mut remove = Vec::new();
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("vendorid", AttributeValue::S(vendorid.to_string()))
            .key("endpointid", AttributeValue::S(endpointid.to_string()))
            .condition_expression("attribute_exists(endpointid)");
        for (name, value) in [
            ("failingSince", health.failing_since.map(|t| t.to_string())),
            ("disabledAt", health.disabled_at.map(|t| t.to_string())),
            ("disabledReason", health.disabled_reason.clone()),
        ] {
            match value {
                Some(v) => {
                    set.push(format!("{name} = :{name}"));
                    request = request.expression_attribute_values(format!(":{name}"), AttributeValue::S(v));
                }
                None => remove.push(name),
            }
        }
        let mut expression = String::new();
        if !set.is_empty() {
            expression.push_str(&format!("SET {}", set.join(", ")));
        }
        if !remove.is_empty() {
            expression.push_str(&format!(" REMOVE {}", remove.join(", ")));
        }
        match request.update_expression(expression.trim()).send().await {
            Ok(_) => Ok(true),
            Err(SdkError::ServiceError(ctx))
                if matches!(ctx.err(), UpdateItemError::ConditionalCheckFailedException(_)) =>
            {
                Ok(false)
            }
            Err(e) => Err(SdkFailure::new("DynamoDB UpdateItem", &e).into()),
        }
    }

    /// A PutItem on condition that the item exists, so a rotation never resurrects an endpoint
    /// removed meanwhile. The health attributes are written as read: a rotation racing the
    /// delivery consumer can undo one health change, which the next attempt writes again.
    async fn replace(&self, endpoint: &VendorEndpoint) -> Result<bool, StoreError> {
        let item: Item = serde_dynamo::to_item(endpoint).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_exists(endpointid)")
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(SdkError::ServiceError(ctx))
                if matches!(ctx.err(), PutItemError::ConditionalCheckFailedException(_)) =>
            {
                Ok(false)
            }
            Err(e) => Err(SdkFailure::new("DynamoDB PutItem", &e).into()),
        }
    }
}
