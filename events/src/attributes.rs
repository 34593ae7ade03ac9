//! Topic message attributes: the only data SNS filter policies see by default.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One SNS message attribute, in the shape SNS and SQS use on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageAttributeValue {
    /// `String`, `Number`, `String.Array` or `Binary` (optionally with a `.suffix`).
    #[serde(rename = "DataType")]
    pub data_type: String,
    /// The value as text; for `String.Array` a JSON array in a string.
    #[serde(rename = "StringValue")]
    pub string_value: String,
}

impl MessageAttributeValue {
    pub fn string(v: impl Into<String>) -> Self {
        Self {
            data_type: "String".into(),
            string_value: v.into(),
        }
    }
    pub fn number(v: impl Into<String>) -> Self {
        Self {
            data_type: "Number".into(),
            string_value: v.into(),
        }
    }
}

/// Attribute name → value, ordered so that serialised forms are stable.
pub type MessageAttributes = BTreeMap<String, MessageAttributeValue>;
