//! Step 1: commit the order to the cart, at most one active order per (accountid, vendorid).

use crate::error::StepError;
use crate::ports::{CartItem, CartStore, Clock, PutCartOutcome};
use serde::{Deserialize, Serialize};
use skipline_events::{InvalidOrder, Money, Order, Problem, check_id, parse_order_value};

/// The state's input: the order as the client sent it, and the id the front door assigned.
#[derive(Debug, Clone, Deserialize)]
pub struct PutItemInput {
    pub orderid: String,
    pub order: serde_json::Value,
}

/// The validated order, for the next steps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PutItemOutput {
    pub orderid: String,
    pub order: Order,
    pub total: Money,
}

/// Validates again (API Gateway's schema is not the only door) and writes conditionally.
/// Re-running for the same order id succeeds, so a retried or resumed step is harmless.
pub async fn put_item(
    cart: &dyn CartStore,
    clock: &dyn Clock,
    input: PutItemInput,
) -> Result<PutItemOutput, StepError> {
    if let Some(p) = check_id("orderid", &input.orderid) {
        return Err(InvalidOrder { problems: vec![p] }.into());
    }
    let order = parse_order_value(&input.order)?;
    let item = CartItem {
        accountid: order.accountid.clone(),
        vendorid: order.vendorid.clone(),
        orderid: input.orderid.clone(),
        total: order.total(),
        order: order.clone(),
        created_at: clock.now().to_string(),
    };
    match cart.put_if_free(&item).await? {
        PutCartOutcome::Created | PutCartOutcome::AlreadyThisOrder => Ok(PutItemOutput {
            orderid: input.orderid,
            total: order.total(),
            order,
        }),
        PutCartOutcome::HeldBy { orderid } => Err(StepError::ActiveOrderExists {
            accountid: order.accountid,
            vendorid: order.vendorid,
            existing: orderid,
        }),
    }
}

/// Deserialises a step input, turning shape errors into `InvalidOrder` so the flow's Catch sees a name.
pub fn parse_input<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> Result<T, StepError> {
    serde_json::from_value(value).map_err(|e| {
        StepError::InvalidOrder(InvalidOrder {
            problems: vec![Problem {
                field: String::new(),
                message: e.to_string(),
            }],
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{FixedClock, MemoryCart, seed_order};

    /// `put_item` at the fixed clock's time.
    async fn put(cart: &MemoryCart, orderid: &str, order: serde_json::Value) -> Result<PutItemOutput, StepError> {
        let input = PutItemInput {
            orderid: orderid.into(),
            order,
        };
        put_item(cart, &FixedClock::default(), input).await
    }

    #[tokio::test]
    async fn commits_then_refuses_a_second_active_order() {
        let cart = MemoryCart::default();
        let out = put(&cart, "o1", seed_order("a0", "v0")).await.unwrap();
        assert_eq!(out.total.cents(), 700);
        assert_eq!(cart.get_sync("a0", "v0").unwrap().orderid, "o1");

        let again = put(&cart, "o1", seed_order("a0", "v0")).await;
        assert!(again.is_ok(), "a re-run of the same order must succeed");

        let err = put(&cart, "o2", seed_order("a0", "v0")).await.unwrap_err();
        assert_eq!(err.name(), "ActiveOrderExists");
        assert!(err.to_string().contains("active order o1"), "{err}");
        assert_eq!(cart.get_sync("a0", "v0").unwrap().orderid, "o1");
    }

    #[tokio::test]
    async fn invalid_input_is_named_and_writes_nothing() {
        let cart = MemoryCart::default();
        let mut order = seed_order("a0", "v0");
        order["details"]["quantity"] = serde_json::json!(50);
        let err = put(&cart, "o1", order).await.unwrap_err();
        assert_eq!(err.name(), "InvalidOrder");
        let err = put(&cart, "../x", seed_order("a0", "v0")).await.unwrap_err();
        assert_eq!(err.name(), "InvalidOrder");
        assert!(cart.is_empty());
    }

    #[tokio::test]
    async fn store_outage_is_retryable_by_name() {
        let cart = MemoryCart::default();
        cart.fail_next("disk full");
        let err = put(&cart, "o1", seed_order("a0", "v0")).await.unwrap_err();
        assert_eq!(err.name(), "StoreUnavailable");
    }
}
