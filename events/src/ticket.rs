//! The ticket a vendor endpoint receives, and how it is signed.

use crate::event::OrderEvent;
use crate::money::Money;
use serde::{Deserialize, Serialize};

/// Standard Webhooks 1.0 (<https://www.standardwebhooks.com/>): the event id, the same on every
/// retry, redelivery and replay, so that receivers dedupe on it.
pub const HEADER_WEBHOOK_ID: &str = "webhook-id";
/// Unix seconds of this attempt; part of the signed text.
pub const HEADER_WEBHOOK_TIMESTAMP: &str = "webhook-timestamp";
/// Space-separated `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`, one per live secret.
pub const HEADER_WEBHOOK_SIGNATURE: &str = "webhook-signature";

/// The headers tickets were signed with before Standard Webhooks. Deliveries to endpoints
/// created then still carry them (beside the standard ones) until the secret is rotated.
pub const LEGACY_HEADER_EVENT_ID: &str = "X-Skipline-Event-Id";
pub const LEGACY_HEADER_TIMESTAMP: &str = "X-Skipline-Timestamp";
/// `sha256=<hex HMAC-SHA256 of "{timestamp}.{body}">`, keyed by the whole secret string.
pub const LEGACY_HEADER_SIGNATURE: &str = "X-Skipline-Signature";

/// The `type` of a ticket delivery.
pub const TICKET_TYPE: &str = "order.completed";

/// What a vendor endpoint receives: the payload shape Standard Webhooks recommends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketPayload {
    /// [`TICKET_TYPE`].
    #[serde(rename = "type")]
    pub kind: String,
    /// When the order completed (RFC 3339): the same on every attempt, unlike the signed
    /// `webhook-timestamp`.
    pub timestamp: String,
    pub data: VendorTicket,
}

impl TicketPayload {
    /// Only completed orders make tickets.
    pub fn from_event(event: &OrderEvent) -> Option<TicketPayload> {
        let ticket = VendorTicket::from_event(event)?;
        Some(TicketPayload {
            kind: TICKET_TYPE.to_string(),
            timestamp: event.meta().occurred_at.clone(),
            data: ticket,
        })
    }
}

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
