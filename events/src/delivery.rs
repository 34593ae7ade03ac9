//! Deliveries: one ticket bound for one endpoint, as the deliveries queue carries it, and the
//! event the topic gets when an endpoint is disabled.

use crate::attributes::{MessageAttributeValue, MessageAttributes};
use crate::ticket::TicketPayload;
use serde::{Deserialize, Serialize};

/// One message on the deliveries queue. Each (event, endpoint) is its own message so that each
/// has its own retry schedule: a 410 or a `Retry-After` from one endpoint touches no other.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    pub vendorid: String,
    pub endpointid: String,
    /// The `webhook-id`: the same on every retry and redelivery, so that receivers dedupe.
    pub eventid: String,
    pub payload: TicketPayload,
    /// Sent by `vendors redeliver`: goes out even to an endpoint that acknowledged it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub redelivery: bool,
}

impl Delivery {
    pub fn new(vendorid: &str, endpointid: &str, payload: &TicketPayload, redelivery: bool) -> Delivery {
        Delivery {
            vendorid: vendorid.to_string(),
            endpointid: endpointid.to_string(),
            eventid: payload.data.eventid.clone(),
            payload: payload.clone(),
            redelivery,
        }
    }
}

/// The `eventtype` of [`EndpointDisabled`].
pub const ENDPOINT_DISABLED: &str = "EndpointDisabled";

/// Published to the topic when an endpoint stops getting deliveries: it answered 410 Gone, or
/// it failed every attempt for the auto-disable period. `skipline vendors enable` undoes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointDisabled {
    /// Always [`ENDPOINT_DISABLED`].
    pub eventtype: String,
    pub eventid: String,
    pub version: u32,
    #[serde(rename = "occurredAt")]
    pub occurred_at: String,
    pub vendorid: String,
    pub endpointid: String,
    pub url: String,
    pub reason: String,
}

impl EndpointDisabled {
    pub fn new(vendorid: &str, endpointid: &str, url: &str, reason: &str, at: jiff::Timestamp) -> EndpointDisabled {
        EndpointDisabled {
            eventtype: ENDPOINT_DISABLED.to_string(),
            eventid: format!("{vendorid}.{endpointid}.{ENDPOINT_DISABLED}.{}", at.as_millisecond()),
            version: crate::EVENT_VERSION,
            occurred_at: at.to_string(),
            vendorid: vendorid.to_string(),
            endpointid: endpointid.to_string(),
            url: url.to_string(),
            reason: reason.to_string(),
        }
    }

    /// The attributes subscribers filter on, as the order events carry theirs.
    pub fn attributes(&self) -> MessageAttributes {
        let mut a = MessageAttributes::new();
        a.insert("eventtype".into(), MessageAttributeValue::string(ENDPOINT_DISABLED));
        a.insert("vendorid".into(), MessageAttributeValue::string(&self.vendorid));
        a
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_endpoint_disabled_event_is_filtered_out_by_the_consumers() {
        let e = EndpointDisabled::new(
            "v1",
            "ep1",
            "https://x",
            "answered 410 Gone",
            jiff::Timestamp::UNIX_EPOCH,
        );
        let a = e.attributes();
        assert_eq!(a["eventtype"].string_value, ENDPOINT_DISABLED);
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(v["eventtype"], ENDPOINT_DISABLED);
        assert_eq!(v["occurredAt"], "1970-01-01T00:00:00Z");
    }
}
