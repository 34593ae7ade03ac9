//! [`CartStore`] on DynamoDB: table PK `accountid`, SK `vendorid`, one item per active order.
//!
//! Every write is conditional, so "at most one active order per customer and vendor" holds
//! under concurrency without a read-then-write race.

use crate::error::SdkFailure;
use async_trait::async_trait;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};
use skipline_handlers::ports::{CartItem, CartStore, PutCartOutcome, ReleaseOutcome, StoreError};
use std::collections::HashMap;

type Item = HashMap<String, AttributeValue>;

/// Free slot, or a re-run of the same order.
const PUT_CONDITION: &str = "attribute_not_exists(accountid) OR orderid = :o";
/// Only the order that holds the slot may release it.
const RELEASE_CONDITION: &str = "orderid = :o";

dynamo_table_adapter!(
    /// The cart table: one item per (account, vendor) slot.
    DynamoCart
);

impl DynamoCart {
    pub fn table(&self) -> &str {
        &self.table
    }

    fn key(accountid: &str, vendorid: &str) -> Item {
        HashMap::from([
            ("accountid".to_string(), AttributeValue::S(accountid.to_string())),
            ("vendorid".to_string(), AttributeValue::S(vendorid.to_string())),
        ])
    }

    async fn get_raw(&self, accountid: &str, vendorid: &str) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(accountid, vendorid)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| SdkFailure::new("DynamoDB GetItem", &e))?;
        Ok(out.item)
    }

    /// The order id in a stored item, or `Corrupt` if it has none.
    fn holder(item: &Item) -> Result<String, StoreError> {
        match item.get("orderid") {
            Some(AttributeValue::S(o)) => Ok(o.clone()),
            _ => Err(StoreError::Corrupt("cart item has no string orderid".into())),
        }
    }

    /// The item returned with a failed condition, or (if the service did not return it) a
    /// consistent read; `None` when the slot is empty now.
    async fn current_after_failed_condition(
        &self,
        returned: Option<Item>,
        accountid: &str,
        vendorid: &str,
    ) -> Result<Option<Item>, StoreError> {
        match returned {
            Some(item) if !item.is_empty() => Ok(Some(item)),
            _ => self.get_raw(accountid, vendorid).await,
        }
    }
}

#[async_trait]
impl CartStore for DynamoCart {
    async fn put_if_free(&self, item: &CartItem) -> Result<PutCartOutcome, StoreError> {
        let attributes: Item = serde_dynamo::to_item(item).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        // A slot freed between the failed condition and our read is retried, a bounded number of times.
        for _ in 0..3 {
            let result = self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(attributes.clone()))
                .condition_expression(PUT_CONDITION)
                .expression_attribute_values(":o", AttributeValue::S(item.orderid.clone()))
                .return_values(ReturnValue::AllOld)
                .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
                .send()
                .await;
            match result {
                Ok(out) => {
                    return Ok(match out.attributes {
                        Some(old) if !old.is_empty() => PutCartOutcome::AlreadyThisOrder,
                        _ => PutCartOutcome::Created,
                    });
                }
                Err(SdkError::ServiceError(ctx))
                    if matches!(ctx.err(), PutItemError::ConditionalCheckFailedException(_)) =>
                {
                    let returned = match ctx.into_err() {
                        PutItemError::ConditionalCheckFailedException(e) => e.item,
                        _ => None,
                    };
                    match self
                        .current_after_failed_condition(returned, &item.accountid, &item.vendorid)
                        .await?
                    {
                        Some(current) => {
                            let holder = Self::holder(&current)?;
                            return Ok(if holder == item.orderid {
                                PutCartOutcome::AlreadyThisOrder
                            } else {
                                PutCartOutcome::HeldBy { orderid: holder }
                            });
                        }
                        None => continue,
                    }
                }
                Err(e) => return Err(SdkFailure::new("DynamoDB PutItem", &e).into()),
            }
        }
        Err(StoreError::Unavailable(format!(
            "cart slot ({}, {}) kept changing during the conditional put",
            item.accountid, item.vendorid
        )))
    }

    async fn get(&self, accountid: &str, vendorid: &str) -> Result<Option<CartItem>, StoreError> {
        self.get_raw(accountid, vendorid)
            .await?
            .map(|item| serde_dynamo::from_item(item).map_err(|e| StoreError::Corrupt(format!("cart item: {e}"))))
            .transpose()
    }

    async fn release(&self, accountid: &str, vendorid: &str, orderid: &str) -> Result<ReleaseOutcome, StoreError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(accountid, vendorid)))
            .condition_expression(RELEASE_CONDITION)
            .expression_attribute_values(":o", AttributeValue::S(orderid.to_string()))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(ReleaseOutcome::Released),
            Err(SdkError::ServiceError(ctx))
                if matches!(ctx.err(), DeleteItemError::ConditionalCheckFailedException(_)) =>
            {
                let returned = match ctx.into_err() {
                    DeleteItemError::ConditionalCheckFailedException(e) => e.item,
                    _ => None,
                };
                match self
                    .current_after_failed_condition(returned, accountid, vendorid)
                    .await?
                {
                    None => Ok(ReleaseOutcome::Missing),
                    Some(current) => {
                        let holder = Self::holder(&current)?;
                        // Only possible if the holder changed back between delete and read.
                        if holder == orderid {
                            return Err(StoreError::Unavailable(format!(
                                "cart slot ({accountid}, {vendorid}) changed during the conditional delete"
                            )));
                        }
                        Ok(ReleaseOutcome::HeldBy { orderid: holder })
                    }
                }
            }
            Err(e) => Err(SdkFailure::new("DynamoDB DeleteItem", &e).into()),
        }
    }
}
