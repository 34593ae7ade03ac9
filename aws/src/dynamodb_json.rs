//! DynamoDB's JSON wire form (`{"S": "x"}`, `{"N": "1"}`, `{"M": {...}}`) ↔ SDK `AttributeValue`,
//! because that is what Step Functions' DynamoDB integration passes in `Key`,
//! `ExpressionAttributeValues` and returns in `Attributes`.

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{Map, Value, json};
use std::collections::HashMap;

/// Converts one `{"<type>": value}` object; the message names the path that is wrong.
pub fn to_attribute(value: &Value, at: &str) -> Result<AttributeValue, String> {
    let obj = value
        .as_object()
        .filter(|o| o.len() == 1)
        .ok_or_else(|| format!("{at}: expected an attribute value such as {{\"S\": \"text\"}}, got {value}"))?;
    let (kind, v) = obj
        .iter()
        .next()
        .ok_or_else(|| format!("{at}: empty attribute value"))?;
    let text = |v: &Value| {
        v.as_str()
            .map(str::to_string)
            .ok_or_else(|| format!("{at}.{kind}: expected a string"))
    };
    let texts = |v: &Value| -> Result<Vec<String>, String> {
        v.as_array()
            .ok_or_else(|| format!("{at}.{kind}: expected an array"))?
            .iter()
            .map(|s| {
                s.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| format!("{at}.{kind}: expected strings"))
            })
            .collect()
    };
    Ok(match kind.as_str() {
        "S" => AttributeValue::S(text(v)?),
        "N" => AttributeValue::N(text(v)?),
        "BOOL" => AttributeValue::Bool(v.as_bool().ok_or_else(|| format!("{at}.BOOL: expected a boolean"))?),
        "NULL" => AttributeValue::Null(true),
        "SS" => AttributeValue::Ss(texts(v)?),
        "NS" => AttributeValue::Ns(texts(v)?),
        "B" => AttributeValue::B(Blob::new(
            decode_base64(&text(v)?).ok_or_else(|| format!("{at}.B: not base64"))?,
        )),
        "L" => AttributeValue::L(
            v.as_array()
                .ok_or_else(|| format!("{at}.L: expected an array"))?
                .iter()
                .enumerate()
                .map(|(i, item)| to_attribute(item, &format!("{at}.L[{i}]")))
                .collect::<Result<_, _>>()?,
        ),
        "M" => AttributeValue::M(to_item(v, &format!("{at}.M"))?),
        other => return Err(format!("{at}: unsupported attribute type {other:?}")),
    })
}

/// Converts `{"name": {"S": ...}, ...}`.
pub fn to_item(value: &Value, at: &str) -> Result<HashMap<String, AttributeValue>, String> {
    value
        .as_object()
        .ok_or_else(|| format!("{at}: expected an object"))?
        .iter()
        .map(|(name, v)| Ok((name.clone(), to_attribute(v, &format!("{at}.{name}"))?)))
        .collect()
}

/// The inverse, for results (`Attributes`).
pub fn from_item(item: &HashMap<String, AttributeValue>) -> Value {
    Value::Object(
        item.iter()
            .map(|(k, v)| (k.clone(), from_attribute(v)))
            .collect::<Map<_, _>>(),
    )
}

pub fn from_attribute(value: &AttributeValue) -> Value {
    match value {
        AttributeValue::S(s) => json!({"S": s}),
        AttributeValue::N(n) => json!({"N": n}),
        AttributeValue::Bool(b) => json!({"BOOL": b}),
        AttributeValue::Null(_) => json!({"NULL": true}),
        AttributeValue::Ss(v) => json!({"SS": v}),
        AttributeValue::Ns(v) => json!({"NS": v}),
        AttributeValue::L(v) => json!({"L": v.iter().map(from_attribute).collect::<Vec<_>>()}),
        AttributeValue::M(m) => json!({"M": from_item(m)}),
        AttributeValue::B(b) => json!({"B": encode_base64(b.as_ref())}),
        AttributeValue::Bs(v) => json!({"BS": v.iter().map(|b| encode_base64(b.as_ref())).collect::<Vec<_>>()}),
        _ => Value::Null,
    }
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn encode_base64(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in text.trim_end_matches('=').bytes() {
        let v = ALPHABET.iter().position(|&a| a == c)? as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_the_shapes_step_functions_sends() {
        let key = json!({"accountid": {"S": "a0"}, "n": {"N": "1.5"}, "m": {"M": {"l": {"L": [{"BOOL": true}, {"NULL": true}]}}},
            "b": {"B": "aGVsbG8="}});
        let item = to_item(&key, "Key").unwrap();
        assert_eq!(item["accountid"], AttributeValue::S("a0".into()));
        assert_eq!(from_item(&item), key);
        assert!(to_item(&json!({"x": "bare"}), "Key").unwrap_err().contains("Key.x"));
        assert!(
            to_item(&json!({"x": {"Q": "1"}}), "Key")
                .unwrap_err()
                .contains("unsupported")
        );
        assert_eq!(encode_base64(b"he"), "aGU=");
        assert_eq!(decode_base64("aGU=").unwrap(), b"he");
    }
}
