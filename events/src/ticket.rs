//! The ticket a vendor endpoint receives, and how it is signed.

use crate::event::OrderEvent;
use crate::money::Money;
use serde::{Deserialize, Serialize};

/// Header carrying the event id: receivers dedupe on it.
pub const HEADER_EVENT_ID: &str = "X-Skipline-Event-Id";
/// Header carrying the Unix timestamp (seconds) that is part of the signed text.
pub const HEADER_TIMESTAMP: &str = "X-Skipline-Timestamp";
/// Header carrying `sha256=<hex HMAC-SHA256 of "{timestamp}.{body}">`.
pub const HEADER_SIGNATURE: &str = "X-Skipline-Signature";

/// What the barista needs to have the cup ready.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VendorTicket {
    pub eventid: String,
    pub orderid: String,
    pub vendorid: String,
    /// Who to call out at pickup; the account id, as the order has no name.
    pub pickup: String,
    pub items: Vec<TicketItem>,
    pub total: Money,
    #[serde(rename = "orderedAt")]
    pub ordered_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketItem {
    pub coffeetype: String,
    pub coffeesize: String,
    pub quantity: u32,
}

impl VendorTicket {
    /// Only completed orders make tickets.
    pub fn from_event(event: &OrderEvent) -> Option<VendorTicket> {
        let OrderEvent::OrderCompleted { meta, order, total, .. } = event else {
            return None;
        };
        Some(VendorTicket {
            eventid: meta.eventid.clone(),
            orderid: meta.orderid.clone(),
            vendorid: meta.vendorid.clone(),
            pickup: order.accountid.clone(),
            items: vec![TicketItem {
                coffeetype: order.details.coffeetype.clone(),
                coffeesize: order.details.coffeesize.clone(),
                quantity: order.details.quantity,
            }],
            total: *total,
            ordered_at: order.orderdate.clone(),
        })
    }
}
