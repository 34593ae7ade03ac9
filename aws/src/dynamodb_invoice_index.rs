//! [`InvoiceIndex`] on DynamoDB: one table, PK `pk`, SK `sk`, each item carrying `invoiceKey`.
//!
//! - `pk = order#{orderid}`, `sk = invoice`: one GetItem finds an order's invoice.
//! - `pk = month#{accountid}#{YYYY-MM}`, `sk = {rank}`: one item per invoice in that month; a
//!   Query in descending `sk` order with `Limit 1` finds the latest, so nothing is scanned.
//!
//! Both writes are plain PutItems of deterministic items, so a retried step rewrites them
//! identically. The `put_object` Lambda is granted `dynamodb:PutItem` only; `get_object`
//! `dynamodb:GetItem` and `dynamodb:Query`.

use crate::error::SdkFailure;
use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use skipline_handlers::ports::{InvoiceIndex, InvoiceIndexEntry, StoreError};
use std::collections::HashMap;

const KEY_ATTR: &str = "invoiceKey";
const ORDER_SK: &str = "invoice";

dynamo_table_adapter!(
    /// The invoice index table.
    DynamoInvoiceIndex
);

fn order_pk(orderid: &str) -> String {
    format!("order#{orderid}")
}

fn month_pk(accountid: &str, month: &str) -> String {
    format!("month#{accountid}#{month}")
}

fn invoice_key(item: Option<&HashMap<String, AttributeValue>>) -> Result<Option<String>, StoreError> {
    let Some(item) = item else { return Ok(None) };
    match item.get(KEY_ATTR) {
        Some(AttributeValue::S(key)) => Ok(Some(key.clone())),
        _ => Err(StoreError::Corrupt(format!(
            "invoice index item has no string {KEY_ATTR}"
        ))),
    }
}

impl DynamoInvoiceIndex {
    async fn put(&self, pk: String, sk: String, key: &str) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .item("pk", AttributeValue::S(pk))
            .item("sk", AttributeValue::S(sk))
            .item(KEY_ATTR, AttributeValue::S(key.to_string()))
            .send()
            .await
            .map_err(|e| SdkFailure::new("DynamoDB PutItem", &e))?;
        Ok(())
    }
}

#[async_trait]
impl InvoiceIndex for DynamoInvoiceIndex {
    async fn record(&self, entry: &InvoiceIndexEntry) -> Result<(), StoreError> {
        self.put(order_pk(&entry.orderid), ORDER_SK.to_string(), &entry.invoice_key)
            .await?;
        if let Some((month, rank)) = &entry.month {
            self.put(month_pk(&entry.accountid, month), rank.clone(), &entry.invoice_key)
                .await?;
        }
        Ok(())
    }

    async fn by_order(&self, orderid: &str) -> Result<Option<String>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(order_pk(orderid)))
            .key("sk", AttributeValue::S(ORDER_SK.to_string()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| SdkFailure::new("DynamoDB GetItem", &e))?;
        invoice_key(out.item.as_ref())
    }

    async fn latest_in_month(&self, accountid: &str, month: &str) -> Result<Option<String>, StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", AttributeValue::S(month_pk(accountid, month)))
            .scan_index_forward(false)
            .limit(1)
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| SdkFailure::new("DynamoDB Query", &e))?;
        invoice_key(out.items.as_deref().and_then(<[_]>::first))
    }
}
