//! Policy JSON → validated rule tree, following "Filter policy constraints" in the SNS guide.
//!
//! Error texts follow what SNS answers (as recorded by LocalStack's snapshot tests against AWS),
//! so a policy rejected here would be rejected by `Subscribe` too.

use std::collections::BTreeSet;
use std::net::IpAddr;

use serde_json::{Map, Value};

use super::{FilterScope, PolicyError};

/// "The maximum size of a filter policy is 256 KB."
pub(super) const MAX_POLICY_BYTES: usize = 256 * 1024;
/// "A filter policy can have a maximum of five keys."
pub(super) const MAX_KEYS: usize = 5;
/// "The total combination of values in a filter policy must not exceed 150."
pub(super) const MAX_COMBINATIONS: u64 = 150;
/// Our own bound on object nesting, so every recursion here and in matching is shallow.
/// serde_json stops at 128 anyway; real policies rarely pass 5.
pub(super) const MAX_DEPTH: usize = 32;

/// Keys that make an object a match expression rather than a nested policy; an `$or` branch
/// using one of them disqualifies the `$or` ("AND/OR logic › OR operator").
const RESERVED_KEYWORDS: &[&str] = &[
    "prefix",
    "suffix",
    "anything-but",
    "numeric",
    "exists",
    "equals-ignore-case",
    "cidr",
    "wildcard",
];

/// Every key rule AND every `$or` group must hold. Nested body objects are flattened into full
/// paths, so AND across nesting levels is just more entries here.
#[derive(Debug, Clone, Default)]
pub(super) struct Conjunction {
    pub(super) rules: Vec<KeyRule>,
    /// Each group holds if any of its branches holds.
    pub(super) ors: Vec<Vec<Conjunction>>,
}

/// One policy key (a path from the root of the body, or a one-element attribute name) and its
/// list of values, any of which may match.
#[derive(Debug, Clone)]
pub(super) struct KeyRule {
    pub(super) path: Vec<String>,
    pub(super) matchers: Vec<Matcher>,
}

/// A scalar as it appears in a policy or a message.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Scalar {
    Str(String),
    Num(f64),
    Bool(bool),
    Null,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum NumOp {
    Eq,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone)]
pub(super) enum AnythingBut {
    /// Excluded values; a message value must be of a listed type to be judged at all.
    Values {
        strings: Vec<String>,
        numbers: Vec<f64>,
    },
    Prefix(String),
}

#[derive(Debug, Clone)]
pub(super) struct Cidr {
    pub(super) network: IpAddr,
    pub(super) bits: u8,
}

#[derive(Debug, Clone)]
pub(super) enum Matcher {
    Exact(Scalar),
    Prefix(String),
    Suffix(String),
    /// Stored lower-cased so matching lowers only the message side.
    EqualsIgnoreCase(String),
    AnythingBut(AnythingBut),
    /// One comparison, or a lower then an upper bound.
    Numeric(Vec<(NumOp, f64)>),
    Exists(bool),
    Cidr(Cidr),
}

pub(super) fn parse(text: &str, scope: FilterScope) -> Result<Conjunction, PolicyError> {
    if text.len() > MAX_POLICY_BYTES {
        return Err(PolicyError::TooLarge { bytes: text.len() });
    }
    let value: Value = serde_json::from_str(text).map_err(|e| PolicyError::InvalidJson(e.to_string()))?;
    let Value::Object(map) = value else {
        return Err(PolicyError::NotAnObject);
    };
    let root = object(&map, &[], 0, scope)?;

    let mut keys = BTreeSet::new();
    collect_keys(&root, &mut keys);
    if keys.len() > MAX_KEYS {
        return Err(PolicyError::TooManyKeys { count: keys.len() });
    }
    let combinations = combinations(&root);
    if combinations > MAX_COMBINATIONS {
        return Err(PolicyError::TooComplex { combinations });
    }
    Ok(root)
}

/// Parse one policy object whose keys sit under `prefix`. `depth` counts objects, `$or` branches
/// included, and is what bounds the recursion.
fn object(
    map: &Map<String, Value>,
    prefix: &[String],
    depth: usize,
    scope: FilterScope,
) -> Result<Conjunction, PolicyError> {
    if depth >= MAX_DEPTH {
        return Err(PolicyError::TooDeep { max: MAX_DEPTH });
    }
    if map.is_empty() {
        return Err(PolicyError::EmptyObject);
    }
    let mut conj = Conjunction::default();
    for (key, value) in map {
        if key == "$or"
            && let Some(branches) = or_branches(value)
        {
            let group = branches
                .into_iter()
                .map(|branch| object(branch, prefix, depth + 1, scope))
                .collect::<Result<Vec<_>, _>>()?;
            conj.ors.push(group);
            continue;
        }
        let mut path = prefix.to_vec();
        path.push(key.clone());
        match value {
            Value::Array(items) => {
                if items.is_empty() {
                    return Err(PolicyError::EmptyArray);
                }
                let matchers = items.iter().map(matcher).collect::<Result<Vec<_>, _>>()?;
                conj.rules.push(KeyRule { path, matchers });
            }
            Value::Object(child) => {
                if scope == FilterScope::MessageAttributes {
                    return Err(PolicyError::NestedInAttributeScope);
                }
                let nested = object(child, &path, depth + 1, scope)?;
                conj.rules.extend(nested.rules);
                conj.ors.extend(nested.ors);
            }
            _ => return Err(PolicyError::NotObjectOrArray { key: key.clone() }),
        }
    }
    Ok(conj)
}

/// SNS reads `"$or"` as OR only for an array of at least two objects none of which uses a
/// reserved keyword; otherwise it is an ordinary key name ("AND/OR logic › OR operator").
fn or_branches(value: &Value) -> Option<Vec<&Map<String, Value>>> {
    let Value::Array(items) = value else {
        return None;
    };
    if items.len() < 2 {
        return None;
    }
    items
        .iter()
        .map(|item| match item {
            Value::Object(m) if !m.keys().any(|k| RESERVED_KEYWORDS.contains(&k.as_str())) => Some(m),
            _ => None,
        })
        .collect()
}

fn collect_keys(conj: &Conjunction, keys: &mut BTreeSet<Vec<String>>) {
    for rule in &conj.rules {
        keys.insert(rule.path.clone());
    }
    for branch in conj.ors.iter().flatten() {
        collect_keys(branch, keys);
    }
}

/// Combinations as the constraints page computes them: the product over keys of the number of
/// values (times the key's nesting level, for nested body policies: 4×3 × 3×2 = 72 in the
/// docs), summed across `$or` branches. Saturates instead of overflowing.
pub(super) fn combinations(conj: &Conjunction) -> u64 {
    let mut total: u64 = 1;
    for rule in &conj.rules {
        let values = u64::try_from(rule.matchers.len()).unwrap_or(u64::MAX);
        let level = u64::try_from(rule.path.len()).unwrap_or(u64::MAX);
        total = total.saturating_mul(values.saturating_mul(level));
    }
    for group in &conj.ors {
        let sum = group
            .iter()
            .fold(0u64, |acc, branch| acc.saturating_add(combinations(branch)));
        total = total.saturating_mul(sum);
    }
    total
}

fn invalid(msg: impl Into<String>) -> PolicyError {
    PolicyError::InvalidMatch(msg.into())
}

fn number(n: &serde_json::Number) -> Result<f64, PolicyError> {
    match n.as_f64() {
        Some(f) if f.is_finite() => Ok(f),
        _ => Err(invalid(format!("Number out of range: {n}"))),
    }
}

/// One element of a key's value list.
fn matcher(value: &Value) -> Result<Matcher, PolicyError> {
    match value {
        Value::String(s) => Ok(Matcher::Exact(Scalar::Str(s.clone()))),
        Value::Number(n) => Ok(Matcher::Exact(Scalar::Num(number(n)?))),
        Value::Bool(b) => Ok(Matcher::Exact(Scalar::Bool(*b))),
        Value::Null => Ok(Matcher::Exact(Scalar::Null)),
        Value::Array(_) => Err(invalid("Match value must be String, number, true, false, or null")),
        Value::Object(expr) => operator(expr),
    }
}

fn operator(expr: &Map<String, Value>) -> Result<Matcher, PolicyError> {
    let mut entries = expr.iter();
    let (Some((op, value)), None) = (entries.next(), entries.next()) else {
        return Err(invalid("Only one key allowed in match expression"));
    };
    match op.as_str() {
        "prefix" => Ok(Matcher::Prefix(pattern_string(op, value)?)),
        "suffix" => Ok(Matcher::Suffix(pattern_string(op, value)?)),
        "equals-ignore-case" => Ok(Matcher::EqualsIgnoreCase(pattern_string(op, value)?.to_lowercase())),
        "anything-but" => anything_but(value).map(Matcher::AnythingBut),
        "exists" => match value {
            Value::Bool(b) => Ok(Matcher::Exists(*b)),
            _ => Err(invalid("exists match pattern must be either true or false.")),
        },
        "numeric" => numeric(value).map(Matcher::Numeric),
        "cidr" => cidr(value).map(Matcher::Cidr),
        other => Err(invalid(format!("Unrecognized match type {other}"))),
    }
}

fn pattern_string(op: &str, value: &Value) -> Result<String, PolicyError> {
    match value {
        Value::String(s) => Ok(s.clone()),
        _ => Err(invalid(format!("{op} match pattern must be a string"))),
    }
}

/// "anything-but" takes one string or number, a list of them, or `{"prefix": "..."}`.
/// SNS rejects `{"anything-but": {"suffix": ...}}`, so we do too.
fn anything_but(value: &Value) -> Result<AnythingBut, PolicyError> {
    let mut strings = Vec::new();
    let mut numbers = Vec::new();
    match value {
        Value::String(s) => strings.push(s.clone()),
        Value::Number(n) => numbers.push(number(n)?),
        Value::Array(items) => {
            if items.is_empty() {
                return Err(PolicyError::EmptyArray);
            }
            for item in items {
                match item {
                    Value::String(s) => strings.push(s.clone()),
                    Value::Number(n) => numbers.push(number(n)?),
                    _ => {
                        return Err(invalid(
                            "Inside anything-but list, only strings and numbers are allowed",
                        ));
                    }
                }
            }
        }
        Value::Object(inner) => {
            let mut entries = inner.iter();
            let (Some((op, pattern)), None) = (entries.next(), entries.next()) else {
                return Err(invalid("Only one key allowed in match expression"));
            };
            if op != "prefix" {
                return Err(invalid(format!("Unsupported anything-but pattern: {op}")));
            }
            return Ok(AnythingBut::Prefix(pattern_string(op, pattern)?));
        }
        Value::Bool(_) | Value::Null => {
            return Err(invalid(
                "Value of anything-but must be an array or single string/number value.",
            ));
        }
    }
    Ok(AnythingBut::Values { strings, numbers })
}

fn num_op(s: &str) -> Option<NumOp> {
    match s {
        "=" => Some(NumOp::Eq),
        "<" => Some(NumOp::Lt),
        "<=" => Some(NumOp::Le),
        ">" => Some(NumOp::Gt),
        ">=" => Some(NumOp::Ge),
        _ => None,
    }
}

fn operand(op: &str, value: Option<&Value>) -> Result<f64, PolicyError> {
    match value {
        Some(Value::Number(n)) => number(n),
        _ => {
            let name = if op == "=" { "equals" } else { op };
            Err(invalid(format!("Value of {name} must be numeric")))
        }
    }
}

/// `["op", n]` or a range `[">"|">=", low, "<"|"<=", high]` with `low < high`
/// ("Numeric value matching › Value range matching").
fn numeric(value: &Value) -> Result<Vec<(NumOp, f64)>, PolicyError> {
    let Value::Array(items) = value else {
        return Err(invalid("Value of numeric must be an array."));
    };
    let mut it = items.iter();
    let Some(first) = it.next() else {
        return Err(invalid("Invalid member in numeric match: ]"));
    };
    let Value::String(first) = first else {
        return Err(invalid(format!("Invalid member in numeric match: {first}")));
    };
    let Some(op1) = num_op(first) else {
        return Err(invalid(format!("Unrecognized numeric range operator: {first}")));
    };
    let low = operand(first, it.next())?;
    let mut terms = vec![(op1, low)];

    let Some(second) = it.next() else {
        return Ok(terms);
    };
    if !matches!(op1, NumOp::Gt | NumOp::Ge) {
        return Err(invalid("Too many elements in numeric expression"));
    }
    let Value::String(second) = second else {
        return Err(invalid(format!("Bad value in numeric range: {second}")));
    };
    let op2 = match num_op(second) {
        Some(op @ (NumOp::Lt | NumOp::Le)) => op,
        _ => return Err(invalid(format!("Bad numeric range operator: {second}"))),
    };
    let high = operand(second, it.next())?;
    if high <= low {
        return Err(invalid("Bottom must be less than top"));
    }
    if it.next().is_some() {
        return Err(invalid("Too many terms in numeric range expression"));
    }
    terms.push((op2, high));
    Ok(terms)
}

/// `{"cidr": "10.0.0.0/24"}` ("String value matching › IP address matching").
fn cidr(value: &Value) -> Result<Cidr, PolicyError> {
    let Value::String(text) = value else {
        return Err(invalid("cidr match pattern must be a string"));
    };
    let mut parts = text.split('/');
    let (Some(ip), Some(bits), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(invalid("Malformed CIDR, one '/' required"));
    };
    let bits: u8 = bits
        .parse()
        .map_err(|_| invalid("Malformed CIDR, mask bits must be an integer"))?;
    let network: IpAddr = ip
        .parse()
        .map_err(|_| invalid(format!("Nonstandard IP address: {ip}")))?;
    let width = if network.is_ipv4() { 32 } else { 128 };
    if bits > width {
        return Err(invalid(format!("Malformed CIDR, mask bits must be at most {width}")));
    }
    Ok(Cidr { network, bits })
}
