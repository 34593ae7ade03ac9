//! The Skip the Line contract: what clients send, what the flow publishes, and how events are filtered.
//!
//! This crate does no I/O. Both backends, every handler and the CLI speak these types, so a
//! change here is a change to the wire format: keep it backwards compatible or bump
//! [`EVENT_VERSION`].

pub mod attributes;
pub mod delivery;
pub mod event;
pub mod invoice;
pub mod money;
pub mod order;
pub mod ticket;

pub use attributes::{MessageAttributeValue, MessageAttributes};
pub use delivery::{Delivery, ENDPOINT_DISABLED, EndpointDisabled};
pub use event::{EVENT_VERSION, EventMeta, OrderEvent, event_id, message_attributes};
pub use invoice::{
    INVOICE_PREFIX, Invoice, InvoiceLine, InvoiceMonth, InvoiceRef, invoice_key, invoice_rank, parse_invoice_key,
    parse_invoice_ref,
};
pub use money::Money;
pub use order::{
    InvalidOrder, MAX_BODY_BYTES, MAX_ID_LEN, Order, OrderDetails, OrderRequest, PlaceOrderRequest, Problem, SIZES,
    check_id, civil_orderdate, parse_order_value, parse_place_order, place_order_schema,
};
pub use ticket::{
    HEADER_WEBHOOK_ID, HEADER_WEBHOOK_SIGNATURE, HEADER_WEBHOOK_TIMESTAMP, LEGACY_HEADER_EVENT_ID,
    LEGACY_HEADER_SIGNATURE, LEGACY_HEADER_TIMESTAMP, TICKET_TYPE, TicketItem, TicketPayload, VendorTicket,
};
