//! [`VendorDirectory`] and [`DeliveryLog`] on DynamoDB.
//!
//! Vendor table: PK `vendorid`, SK `endpointid` (one vendor is one Query: the notify_vendor
//! Lambda is granted `dynamodb:Query` only). Delivery table: PK `eventid`, SK `endpointid`,
//! expired by DynamoDB TTL on `expiresAt` (epoch seconds), so the dedupe log does not grow forever.

use crate::error::SdkFailure;
use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use skipline_handlers::ports::{Clock, DeliveryLog, StoreError, VendorDirectory, VendorEndpoint};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

type Item = HashMap<String, AttributeValue>;

/// How long a delivery is remembered: longer than any redelivery or replay window
/// (queue retention is 4 days, DLQ retention 14).
pub const DELIVERY_RETENTION: Duration = Duration::from_secs(14 * 24 * 3600);

#[derive(Debug, Clone)]
pub struct DynamoVendorDirectory {
    client: Client,
    table: String,
}

impl DynamoVendorDirectory {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    fn decode(items: Vec<Item>, out: &mut Vec<VendorEndpoint>) -> Result<(), StoreError> {
        for item in items {
            out.push(serde_dynamo::from_item(item).map_err(|e| StoreError::Corrupt(format!("vendor endpoint: {e}")))?);
        }
        Ok(())
    }
}

#[async_trait]
impl VendorDirectory for DynamoVendorDirectory {
    async fn add(&self, endpoint: &VendorEndpoint) -> Result<(), StoreError> {
        let item: Item = serde_dynamo::to_item(endpoint).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| SdkFailure::new("DynamoDB PutItem", &e))?;
        Ok(())
    }

    async fn list(&self, vendorid: Option<&str>) -> Result<Vec<VendorEndpoint>, StoreError> {
        let mut endpoints = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let (items, next) = match vendorid {
                Some(v) => {
                    let out = self
                        .client
                        .query()
                        .table_name(&self.table)
                        .key_condition_expression("vendorid = :v")
                        .expression_attribute_values(":v", AttributeValue::S(v.to_string()))
                        .consistent_read(true)
                        .set_exclusive_start_key(start.take())
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
                        .set_exclusive_start_key(start.take())
                        .send()
                        .await
                        .map_err(|e| SdkFailure::new("DynamoDB Scan", &e))?;
                    (out.items.unwrap_or_default(), out.last_evaluated_key)
                }
            };
            Self::decode(items, &mut endpoints)?;
            match next {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => break,
            }
        }
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

    /// A PutItem on condition that the item exists, so a rotation never resurrects an endpoint
    /// removed meanwhile.
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

#[derive(Clone)]
pub struct DynamoDeliveryLog {
    client: Client,
    table: String,
    clock: Arc<dyn Clock>,
}

impl DynamoDeliveryLog {
    pub fn new(client: Client, table: impl Into<String>, clock: Arc<dyn Clock>) -> Self {
        Self {
            client,
            table: table.into(),
            clock,
        }
    }
}

#[async_trait]
impl DeliveryLog for DynamoDeliveryLog {
    /// A record past `expiresAt` that TTL has not removed yet still counts: TTL deletion is lazy,
    /// and treating it as delivered is the safe side for a dedupe log.
    async fn was_delivered(&self, eventid: &str, endpointid: &str) -> Result<bool, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("eventid", AttributeValue::S(eventid.to_string()))
            .key("endpointid", AttributeValue::S(endpointid.to_string()))
            .consistent_read(true)
            .projection_expression("eventid")
            .send()
            .await
            .map_err(|e| SdkFailure::new("DynamoDB GetItem", &e))?;
        Ok(out.item.is_some_and(|i| !i.is_empty()))
    }

    async fn mark_delivered(&self, eventid: &str, endpointid: &str) -> Result<(), StoreError> {
        let now = self.clock.now();
        let expires = now.as_second() + DELIVERY_RETENTION.as_secs() as i64;
        self.client
            .put_item()
            .table_name(&self.table)
            .item("eventid", AttributeValue::S(eventid.to_string()))
            .item("endpointid", AttributeValue::S(endpointid.to_string()))
            .item("deliveredAt", AttributeValue::S(now.to_string()))
            .item("expiresAt", AttributeValue::N(expires.to_string()))
            .send()
            .await
            .map_err(|e| SdkFailure::new("DynamoDB PutItem", &e))?;
        Ok(())
    }
}
