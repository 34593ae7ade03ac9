//! Rule tree × message → bool.
//!
//! A policy key is looked up as a [`Field`]: whether the key is present, and the scalar values
//! found there (one for a `String`/`Number` attribute; each element of a `String.Array` or of a
//! body array). Positive operators match if ANY value matches ("String value matching › Exact
//! matching": "each element in the array is treated as a separate string").
//!
//! `anything-but` is the exception. Older revisions of the guide said `["rugby", "baseball"]`
//! passes `{"anything-but": ["rugby", "tennis"]}` because one element isn't excluded; the current
//! "String value matching › Anything-but matching" says an array matches only "if none of the
//! array elements are listed". We follow the current text, for arrays in attributes and bodies.

use std::net::IpAddr;

use serde_json::Value;
use skipline_events::attributes::MessageAttributes;

use super::parse::{AnythingBut, Cidr, Conjunction, KeyRule, Matcher, NumOp, Scalar};

/// SNS's numeric accuracy: five digits after the decimal point.
const DECIMAL_SCALE: f64 = 1e5;
/// Past this magnitude SNS gives no precision promise and scaling would lose the integer part.
const SCALED_RANGE: f64 = 1e12;
/// Bounds walking arrays nested in arrays in a body; serde_json's own limit is 128.
const MAX_ARRAY_NESTING: usize = 128;

/// What a policy key finds in a message.
#[derive(Debug, Default)]
pub(super) struct Field {
    pub(super) present: bool,
    pub(super) values: Vec<Scalar>,
}

impl Conjunction {
    /// `lookup` turns a policy path into the message's field. Recursion follows `$or` nesting,
    /// which parsing bounds.
    pub(super) fn eval(&self, lookup: &dyn Fn(&[String]) -> Field) -> bool {
        self.rules.iter().all(|rule| rule.matches(&lookup(&rule.path)))
            && self
                .ors
                .iter()
                .all(|group| group.iter().any(|branch| branch.eval(lookup)))
    }
}

impl KeyRule {
    /// OR across the key's list of values ("AND/OR logic › OR logic").
    fn matches(&self, field: &Field) -> bool {
        self.matchers.iter().any(|m| m.matches(field))
    }
}

impl Matcher {
    fn matches(&self, field: &Field) -> bool {
        match self {
            // "Key matching": `exists: false` is the only way an absent key matches.
            Matcher::Exists(wanted) => field.present == *wanted,
            Matcher::AnythingBut(ab) => anything_but(ab, field),
            _ => field.values.iter().any(|v| self.matches_value(v)),
        }
    }

    fn matches_value(&self, value: &Scalar) -> bool {
        match (self, value) {
            (Matcher::Exact(Scalar::Num(want)), Scalar::Num(got)) => num_eq(*want, *got),
            (Matcher::Exact(Scalar::Num(_)), _) => false,
            (Matcher::Exact(want), got) => want == got,
            (Matcher::Prefix(p), Scalar::Str(s)) => s.starts_with(p.as_str()),
            (Matcher::Suffix(p), Scalar::Str(s)) => s.ends_with(p.as_str()),
            (Matcher::EqualsIgnoreCase(lower), Scalar::Str(s)) => s.to_lowercase() == *lower,
            (Matcher::Numeric(terms), Scalar::Num(got)) => terms.iter().all(|(op, bound)| compare(*op, *got, *bound)),
            (Matcher::Cidr(c), Scalar::Str(s)) => cidr_contains(c, s),
            _ => false,
        }
    }
}

/// Matches when the key is present, at least one value is of a type the expression judges, and
/// no value is excluded. An absent key never matches ("anything-but" needs a value to compare).
fn anything_but(ab: &AnythingBut, field: &Field) -> bool {
    let mut judged = false;
    for value in &field.values {
        let excluded = match (ab, value) {
            (AnythingBut::Values { strings, .. }, Scalar::Str(s)) if !strings.is_empty() => strings.contains(s),
            (AnythingBut::Values { numbers, .. }, Scalar::Num(n)) if !numbers.is_empty() => {
                numbers.iter().any(|x| num_eq(*x, *n))
            }
            (AnythingBut::Prefix(p), Scalar::Str(s)) => s.starts_with(p.as_str()),
            _ => continue,
        };
        if excluded {
            return false;
        }
        judged = true;
    }
    judged
}

/// Round to SNS's five decimals so `0.1 + 0.2` style noise and digits SNS ignores don't matter.
fn canonical(x: f64) -> f64 {
    if x.abs() < SCALED_RANGE {
        (x * DECIMAL_SCALE).round() / DECIMAL_SCALE
    } else {
        x
    }
}

fn num_eq(a: f64, b: f64) -> bool {
    canonical(a) == canonical(b)
}

fn compare(op: NumOp, value: f64, bound: f64) -> bool {
    let (v, b) = (canonical(value), canonical(bound));
    match op {
        NumOp::Eq => v == b,
        NumOp::Lt => v < b,
        NumOp::Le => v <= b,
        NumOp::Gt => v > b,
        NumOp::Ge => v >= b,
    }
}

fn cidr_contains(c: &Cidr, text: &str) -> bool {
    let Ok(ip) = text.parse::<IpAddr>() else {
        return false;
    };
    let (addr, net, width) = match (ip, c.network) {
        (IpAddr::V4(a), IpAddr::V4(n)) => (u128::from(u32::from(a)), u128::from(u32::from(n)), 32),
        (IpAddr::V6(a), IpAddr::V6(n)) => (u128::from(a), u128::from(n), 128),
        _ => return false,
    };
    if c.bits == 0 {
        return true;
    }
    // bits is 1..=width, so the shift is 0..=127.
    let shift = width - u32::from(c.bits);
    (addr >> shift) == (net >> shift)
}

/// A `Number` attribute's text as SNS reads it; NaN and infinities are not numbers to SNS.
fn parse_number(text: &str) -> Option<f64> {
    text.trim().parse::<f64>().ok().filter(|f| f.is_finite())
}

fn scalar(value: &Value) -> Option<Scalar> {
    match value {
        Value::String(s) => Some(Scalar::Str(s.clone())),
        Value::Number(n) => n.as_f64().filter(|f| f.is_finite()).map(Scalar::Num),
        Value::Bool(b) => Some(Scalar::Bool(*b)),
        Value::Null => Some(Scalar::Null),
        Value::Array(_) | Value::Object(_) => None,
    }
}

/// Attribute scope: a path is a single attribute name. The data type decides how the value
/// reads: `String*` as a string, `Number*` as a number, `String.Array` as a JSON array of
/// scalars, `Binary*` not at all (SNS ignores binary attributes).
pub(super) fn attribute_field(attrs: &MessageAttributes, path: &[String]) -> Field {
    let [name] = path else {
        return Field::default();
    };
    let Some(attr) = attrs.get(name) else {
        return Field::default();
    };
    let data_type = attr.data_type.as_str();
    let values = if data_type == "String.Array" {
        match serde_json::from_str::<Value>(&attr.string_value) {
            Ok(Value::Array(items)) => items.iter().filter_map(scalar).collect(),
            _ => Vec::new(),
        }
    } else {
        match data_type.split('.').next() {
            Some("String") => vec![Scalar::Str(attr.string_value.clone())],
            Some("Number") => parse_number(&attr.string_value).map(Scalar::Num).into_iter().collect(),
            _ => return Field::default(),
        }
    };
    Field { present: true, values }
}

/// Body scope: walk `path` through nested objects, fanning out over arrays met on the way, and
/// collect the scalars at the end. Objects at the end are not values, so `exists` only sees
/// leaves, as in EventBridge-style matching.
///
/// Keys are compared as dotted paths, as SNS does: the policy key `"object.nested"` (or
/// `{"object": {"nested": …}}`) reaches `{"object": {"nested": …}}`, `{"object.nested": …}` and
/// every other split of the same dotted path (recorded against AWS in LocalStack's
/// `test_filter_policy_on_message_body_dot_attribute`).
pub(super) fn body_field(body: &Value, path: &[String]) -> Field {
    let dotted = path.join(".");
    let mut values = Vec::new();
    walk(body, Some(&dotted), 0, &mut values);
    Field {
        present: !values.is_empty(),
        values,
    }
}

/// `rest` is the part of the dotted path still to match, `None` once all of it has matched.
fn walk(value: &Value, rest: Option<&str>, arrays: usize, out: &mut Vec<Scalar>) {
    match value {
        Value::Array(items) => {
            if arrays < MAX_ARRAY_NESTING {
                for item in items {
                    walk(item, rest, arrays + 1, out);
                }
            }
        }
        Value::Object(map) => {
            let Some(rest) = rest else { return };
            for (key, child) in map {
                if key == rest {
                    walk(child, None, arrays, out);
                } else if let Some(tail) = rest.strip_prefix(key.as_str()).and_then(|t| t.strip_prefix('.')) {
                    walk(child, Some(tail), arrays, out);
                }
            }
        }
        leaf => {
            if rest.is_none()
                && let Some(s) = scalar(leaf)
            {
                out.push(s);
            }
        }
    }
}
