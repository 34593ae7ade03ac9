//! Events the order flow publishes to the topic, in one versioned envelope.
//!
//! Event ids are derived from the order id and the event type (`{orderid}.OrderCompleted`), so a
//! step that is re-run after a crash publishes the same id again and consumers can dedupe on it.

use crate::attributes::{MessageAttributeValue, MessageAttributes};
use crate::money::Money;
use crate::order::Order;
use serde::{Deserialize, Serialize};

/// Envelope version; bump when a field changes meaning.
pub const EVENT_VERSION: u32 = 1;

/// Fields every event carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventMeta {
    pub eventid: String,
    pub version: u32,
    #[serde(rename = "occurredAt")]
    pub occurred_at: String,
    pub orderid: String,
    pub accountid: String,
    pub vendorid: String,
    pub city: String,
    pub correlationid: String,
}

/// Every event the flow publishes; `eventtype` is the tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "eventtype")]
pub enum OrderEvent {
    /// The cart item is committed and the invoice written.
    OrderCompleted {
        #[serde(flatten)]
        meta: EventMeta,
        order: Order,
        total: Money,
        #[serde(rename = "invoiceKey")]
        invoice_key: String,
    },
    /// The order was refused, e.g. because an active order already exists.
    OrderRejected {
        #[serde(flatten)]
        meta: EventMeta,
        reason: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        detail: Option<String>,
    },
    /// A step failed after retries; any cart item was released.
    OrderFailed {
        #[serde(flatten)]
        meta: EventMeta,
        error: String,
        cause: String,
    },
}

impl OrderEvent {
    pub fn meta(&self) -> &EventMeta {
        match self {
            OrderEvent::OrderCompleted { meta, .. }
            | OrderEvent::OrderRejected { meta, .. }
            | OrderEvent::OrderFailed { meta, .. } => meta,
        }
    }

    pub fn eventtype(&self) -> &'static str {
        match self {
            OrderEvent::OrderCompleted { .. } => "OrderCompleted",
            OrderEvent::OrderRejected { .. } => "OrderRejected",
            OrderEvent::OrderFailed { .. } => "OrderFailed",
        }
    }

    /// Builds the completion event; the id is stable for a given order.
    pub fn completed(orderid: &str, order: &Order, invoice_key: &str, occurred_at: String) -> OrderEvent {
        OrderEvent::OrderCompleted {
            meta: EventMeta {
                eventid: event_id(orderid, "OrderCompleted"),
                version: EVENT_VERSION,
                occurred_at,
                orderid: orderid.into(),
                accountid: order.accountid.clone(),
                vendorid: order.vendorid.clone(),
                city: order.city.clone(),
                correlationid: orderid.into(),
            },
            order: order.clone(),
            total: order.total(),
            invoice_key: invoice_key.into(),
        }
    }
}

/// The id of an order's event of one type; the state machine builds the same with `States.Format`.
pub fn event_id(orderid: &str, eventtype: &str) -> String {
    format!("{orderid}.{eventtype}")
}

/// The one derivation of the attributes that topic subscriptions filter on.
///
/// The state machine's rejected/failed publishes build the same names inline (ASL cannot call
/// Rust); `engine/src/asl/order_flow_tests.rs` runs the definition and checks the two agree.
pub fn message_attributes(event: &OrderEvent) -> MessageAttributes {
    let meta = event.meta();
    let mut attrs = MessageAttributes::new();
    attrs.insert("eventtype".into(), MessageAttributeValue::string(event.eventtype()));
    attrs.insert("accountid".into(), MessageAttributeValue::string(&meta.accountid));
    attrs.insert("vendorid".into(), MessageAttributeValue::string(&meta.vendorid));
    attrs.insert("city".into(), MessageAttributeValue::string(&meta.city));
    if let OrderEvent::OrderCompleted { total, .. } = event {
        attrs.insert("total".into(), MessageAttributeValue::number(total.to_string()));
    }
    attrs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::order::parse_place_order;

    fn order() -> Order {
        parse_place_order(
            br#"{"order":{"accountid":"a0","vendorid":"v0","orderdate":"2026-11-25","city":"Sydney",
            "details":{"coffeetype":"Flat white","coffeesize":"Large","unitprice":"4.5","quantity":2},"eventtype":["new_order"]}}"#,
        )
        .unwrap()
    }

    #[test]
    fn completed_event_has_the_versioned_envelope() {
        let e = OrderEvent::completed("o1", &order(), "invoices/a0/v0/o1.json", "2026-11-25T08:00:00Z".into());
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(v["eventtype"], "OrderCompleted");
        assert_eq!(v["eventid"], "o1.OrderCompleted");
        assert_eq!(v["version"], 1);
        assert_eq!(v["occurredAt"], "2026-11-25T08:00:00Z");
        assert_eq!(v["total"], "9.00");
        assert_eq!(v["correlationid"], "o1");
        let back: OrderEvent = serde_json::from_value(v).unwrap();
        assert_eq!(back, e);
    }

    #[test]
    fn attributes_carry_the_filter_keys() {
        let e = OrderEvent::completed("o1", &order(), "k", "t".into());
        let a = message_attributes(&e);
        assert_eq!(a["eventtype"], MessageAttributeValue::string("OrderCompleted"));
        assert_eq!(a["city"].string_value, "Sydney");
        assert_eq!(a["total"], MessageAttributeValue::number("9.00"));
        assert_eq!(a.len(), 5);
    }

    #[test]
    fn rejected_event_parses_what_the_state_machine_builds() {
        let v = serde_json::json!({"eventid":"o2.OrderRejected","eventtype":"OrderRejected","version":1,
            "occurredAt":"2026-11-25T08:00:00Z","orderid":"o2","accountid":"a0","vendorid":"v0","city":"Sydney",
            "correlationid":"o2","reason":"ActiveOrderExists","detail":"{}"});
        let e: OrderEvent = serde_json::from_value(v).unwrap();
        assert_eq!(e.eventtype(), "OrderRejected");
        assert!(!message_attributes(&e).contains_key("total"));
    }
}
