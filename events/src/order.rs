//! The `PlaceOrder` command: the seed client's body, its validation, and the validated order.
//!
//! Unknown fields are refused (with the field's name), so that a typo such as `quantitiy` is
//! an error rather than a silently ignored value; the JSON Schema says the same with
//! `additionalProperties: false`, so API Gateway and the local API agree.

use crate::money::Money;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::fmt;

/// Largest request body accepted by every front door.
pub const MAX_BODY_BYTES: usize = 16 * 1024;
/// Ids (account, vendor, order) are 1 to this many characters of `[A-Za-z0-9_-]`.
pub const MAX_ID_LEN: usize = 64;
pub const MAX_QUANTITY: u32 = 20;
/// Upper bound on a unit price, so that totals stay far from overflow.
pub const MAX_UNIT_PRICE_CENTS: i64 = 100_000;
const MAX_TEXT_LEN: usize = 64;

/// Coffee sizes the shops know; matched case-insensitively. `x-Large` is the seed client's own
/// fourth size. This list is the only one: validation, the JSON Schema (and so API Gateway's
/// model) and the README's list all come from it.
pub const SIZES: [&str; 5] = ["Small", "Regular", "Medium", "Large", "x-Large"];

/// The request body, exactly as the seed client posts it.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "PlaceOrder", description = "Body of POST /order.")]
pub struct PlaceOrderRequest {
    pub order: OrderRequest,
}

/// The order as sent, before validation.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderRequest {
    #[schemars(length(min = 1, max = 64), regex(pattern = r"^[A-Za-z0-9_-]+$"))]
    pub accountid: String,
    #[schemars(length(min = 1, max = 64), regex(pattern = r"^[A-Za-z0-9_-]+$"))]
    pub vendorid: String,
    /// RFC 3339 (`2026-11-25T08:15:00Z`), a local date-time (`2026-11-25 08:15:00`) or a date.
    #[schemars(length(min = 1, max = 64))]
    pub orderdate: String,
    #[schemars(length(min = 1, max = 64))]
    pub city: String,
    pub details: DetailsRequest,
    #[schemars(length(min = 1, max = 1))]
    pub eventtype: Vec<OrderEventTag>,
}

/// What the seed sends as `eventtype`; only `new_order` exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub enum OrderEventTag {
    #[serde(rename = "new_order")]
    NewOrder,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DetailsRequest {
    #[schemars(length(min = 1, max = 64))]
    pub coffeetype: String,
    #[schemars(schema_with = "coffeesize_schema")]
    pub coffeesize: String,
    pub unitprice: PriceInput,
    pub quantity: QuantityInput,
}

/// [`SIZES`] as a case-insensitive pattern. JSON Schema draft 4 (API Gateway's dialect) has no
/// regex flags, so each letter becomes a `[Xx]` class.
pub fn coffeesize_pattern() -> String {
    let alternatives: Vec<String> = SIZES
        .iter()
        .map(|size| {
            size.chars()
                .map(|c| {
                    if c.is_ascii_alphabetic() {
                        format!("[{}{}]", c.to_ascii_uppercase(), c.to_ascii_lowercase())
                    } else {
                        regex_escape(c)
                    }
                })
                .collect()
        })
        .collect();
    format!("^({})$", alternatives.join("|"))
}

fn regex_escape(c: char) -> String {
    if "\\.+*?()|[]{}^$".contains(c) {
        format!("\\{c}")
    } else {
        c.to_string()
    }
}

fn coffeesize_schema(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "string",
        "description": format!("One of {}, in any case.", SIZES.join(", ")),
        "pattern": coffeesize_pattern()
    })
}

/// The seed sends prices as strings (`"3.5"`); numbers are accepted too and read as decimals.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(untagged)]
pub enum PriceInput {
    Text(String),
    Number(serde_json::Number),
}

impl JsonSchema for PriceInput {
    fn schema_name() -> Cow<'static, str> {
        "UnitPrice".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "Unit price in currency units, at most two decimals, above 0 and at most 1000.",
            "oneOf": [
                { "type": "string", "pattern": "^[0-9]{1,4}(\\.[0-9]{1,2})?$" },
                { "type": "number", "exclusiveMinimum": 0, "maximum": 1000 }
            ]
        })
    }
}

/// Quantity as a number, or as a string of digits for clients that quote everything.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(untagged)]
pub enum QuantityInput {
    Number(serde_json::Number),
    Text(String),
}

impl JsonSchema for QuantityInput {
    fn schema_name() -> Cow<'static, str> {
        "Quantity".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "Number of cups, 1 to 20.",
            "oneOf": [
                { "type": "integer", "minimum": 1, "maximum": 20 },
                { "type": "string", "pattern": "^([1-9]|1[0-9]|20)$" }
            ]
        })
    }
}

/// A validated order: every field checked, money in cents, size canonical.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Order {
    pub accountid: String,
    pub vendorid: String,
    pub orderdate: String,
    pub city: String,
    pub details: OrderDetails,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderDetails {
    pub coffeetype: String,
    pub coffeesize: String,
    pub unitprice: Money,
    pub quantity: u32,
}

impl Order {
    /// Unit price times quantity; validation bounds both, so this cannot overflow.
    pub fn total(&self) -> Money {
        Money::from_cents(self.details.unitprice.cents() * i64::from(self.details.quantity))
    }
}

/// One thing wrong with a request, and where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// A JSON-path-like pointer such as `order.details.quantity`.
    pub field: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.field.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{}: {}", self.field, self.message)
        }
    }
}

/// Why a request was refused: every problem found, not just the first.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct InvalidOrder {
    pub problems: Vec<Problem>,
}

impl fmt::Display for InvalidOrder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.problems.iter().map(ToString::to_string).collect();
        write!(f, "invalid order: {}", parts.join("; "))
    }
}

impl InvalidOrder {
    fn one(field: &str, message: impl Into<String>) -> Self {
        Self {
            problems: vec![Problem {
                field: field.into(),
                message: message.into(),
            }],
        }
    }
}

/// Checks an id (account, vendor or order) and returns the problem, if any.
pub fn check_id(field: &str, value: &str) -> Option<Problem> {
    let message = if value.is_empty() {
        "must not be empty".to_string()
    } else if value.chars().count() > MAX_ID_LEN {
        format!("must be at most {MAX_ID_LEN} characters")
    } else if let Some(bad) = value
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-'))
    {
        format!("may contain only letters, digits, '_' and '-' (found {bad:?})")
    } else {
        return None;
    };
    Some(Problem {
        field: field.into(),
        message,
    })
}

fn check_text(field: &str, value: &str, problems: &mut Vec<Problem>) -> String {
    let trimmed = value.trim();
    let message = if trimmed.is_empty() {
        Some("must not be empty".to_string())
    } else if trimmed.chars().count() > MAX_TEXT_LEN {
        Some(format!("must be at most {MAX_TEXT_LEN} characters"))
    } else if trimmed.chars().any(char::is_control) {
        Some("must not contain control characters".to_string())
    } else {
        None
    };
    if let Some(message) = message {
        problems.push(Problem {
            field: field.into(),
            message,
        });
    }
    trimmed.to_string()
}

/// Accepts RFC 3339, a civil date-time (`T` or space) or a civil date; returns a canonical form.
///
/// An RFC 3339 date-time keeps its own offset (`2026-12-01T08:00:00+10:00` stays in `+10:00`),
/// because the month an order belongs to is the month its client wrote, not the month in UTC.
fn parse_orderdate(value: &str) -> Result<String, String> {
    let v = value.trim();
    if v.len() > MAX_TEXT_LEN {
        return Err(format!("must be at most {MAX_TEXT_LEN} characters"));
    }
    let canonical = if let Ok(ts) = v.parse::<jiff::Timestamp>() {
        match written_offset(v) {
            Some(offset) => ts.display_with_offset(offset).to_string(),
            None => ts.to_string(),
        }
    } else if let Ok(dt) = v.parse::<jiff::civil::DateTime>() {
        dt.to_string()
    } else if let Ok(d) = v.parse::<jiff::civil::Date>() {
        d.to_string()
    } else {
        return Err(format!(
            "{v:?} is not a date; use RFC 3339 (2026-11-25T08:15:00Z), a local date-time (2026-11-25 08:15:00) or a date (2026-11-25)"
        ));
    };
    match civil_orderdate(&canonical) {
        Some(dt) if dt.year() >= 1 => Ok(canonical),
        _ => Err(format!("{v:?} is out of range; the year must be 0001 to 9999")),
    }
}

/// The numeric offset an RFC 3339 string was written in; `None` for `Z` (UTC as written).
fn written_offset(text: &str) -> Option<jiff::tz::Offset> {
    use jiff::fmt::temporal::{Pieces, PiecesOffset};
    match Pieces::parse(text).ok()?.offset()? {
        PiecesOffset::Numeric(n) => Some(n.offset()),
        _ => None,
    }
}

/// An order date as its client read it on the wall: a civil date-time in the offset it was
/// written in, or as written when it has none (a date reads as its midnight).
pub fn civil_orderdate(orderdate: &str) -> Option<jiff::civil::DateTime> {
    if let Ok(ts) = orderdate.parse::<jiff::Timestamp>() {
        let offset = written_offset(orderdate).unwrap_or(jiff::tz::Offset::UTC);
        return Some(offset.to_datetime(ts));
    }
    if let Ok(dt) = orderdate.parse::<jiff::civil::DateTime>() {
        return Some(dt);
    }
    orderdate
        .parse::<jiff::civil::Date>()
        .ok()
        .map(|d| d.to_datetime(jiff::civil::Time::midnight()))
}

fn parse_price(input: &PriceInput) -> Result<Money, String> {
    let text = match input {
        PriceInput::Text(t) => t.clone(),
        PriceInput::Number(n) => n.to_string(),
    };
    let money = Money::parse(&text)?;
    if money.cents() <= 0 {
        return Err("must be greater than 0".into());
    }
    if money.cents() > MAX_UNIT_PRICE_CENTS {
        return Err(format!("must be at most {}", Money::from_cents(MAX_UNIT_PRICE_CENTS)));
    }
    Ok(money)
}

fn parse_quantity(input: &QuantityInput) -> Result<u32, String> {
    let parsed = match input {
        QuantityInput::Number(n) => n.as_u64(),
        QuantityInput::Text(t) => t.trim().parse::<u64>().ok(),
    };
    match parsed {
        Some(q) if (1..=u64::from(MAX_QUANTITY)).contains(&q) => Ok(q as u32),
        Some(_) => Err(format!("must be between 1 and {MAX_QUANTITY}")),
        None => Err(format!("must be a whole number between 1 and {MAX_QUANTITY}")),
    }
}

impl OrderRequest {
    /// Validates every field and collects every problem, prefixing paths with `prefix`.
    pub fn validate(&self, prefix: &str) -> Result<Order, InvalidOrder> {
        let p = |name: &str| {
            if prefix.is_empty() {
                name.to_string()
            } else {
                format!("{prefix}.{name}")
            }
        };
        let mut problems = Vec::new();
        problems.extend(check_id(&p("accountid"), &self.accountid));
        problems.extend(check_id(&p("vendorid"), &self.vendorid));
        let orderdate = parse_orderdate(&self.orderdate).unwrap_or_else(|message| {
            problems.push(Problem {
                field: p("orderdate"),
                message,
            });
            String::new()
        });
        let city = check_text(&p("city"), &self.city, &mut problems);
        let coffeetype = check_text(&p("details.coffeetype"), &self.details.coffeetype, &mut problems);
        let size = SIZES
            .iter()
            .find(|s| s.eq_ignore_ascii_case(self.details.coffeesize.trim()))
            .map(|s| (*s).to_string());
        if size.is_none() {
            problems.push(Problem {
                field: p("details.coffeesize"),
                message: format!(
                    "must be one of {} (got {:?})",
                    SIZES.join(", "),
                    truncate(&self.details.coffeesize)
                ),
            });
        }
        let unitprice = parse_price(&self.details.unitprice).unwrap_or_else(|message| {
            problems.push(Problem {
                field: p("details.unitprice"),
                message,
            });
            Money::default()
        });
        let quantity = parse_quantity(&self.details.quantity).unwrap_or_else(|message| {
            problems.push(Problem {
                field: p("details.quantity"),
                message,
            });
            0
        });
        if self.eventtype != [OrderEventTag::NewOrder] {
            problems.push(Problem {
                field: p("eventtype"),
                message: "must be [\"new_order\"]".into(),
            });
        }
        if !problems.is_empty() {
            return Err(InvalidOrder { problems });
        }
        Ok(Order {
            accountid: self.accountid.clone(),
            vendorid: self.vendorid.clone(),
            orderdate,
            city,
            details: OrderDetails {
                coffeetype,
                coffeesize: size.unwrap_or_default(),
                unitprice,
                quantity,
            },
        })
    }
}

fn truncate(s: &str) -> String {
    s.chars().take(32).collect()
}

/// Parses and validates a `POST /order` body. Nothing is written before this succeeds.
pub fn parse_place_order(body: &[u8]) -> Result<Order, InvalidOrder> {
    if body.len() > MAX_BODY_BYTES {
        return Err(InvalidOrder::one(
            "",
            format!("body is {} bytes; the limit is {MAX_BODY_BYTES}", body.len()),
        ));
    }
    let request: PlaceOrderRequest =
        serde_json::from_slice(body).map_err(|e| InvalidOrder::one("", json_message(&e)))?;
    request.order.validate("order")
}

/// Validates the `order` object that a state-machine step receives.
pub fn parse_order_value(value: &serde_json::Value) -> Result<Order, InvalidOrder> {
    let request = OrderRequest::deserialize(value).map_err(|e| InvalidOrder::one("order", json_message(&e)))?;
    request.validate("order")
}

/// serde's messages name the field and the expectation; the position only helps for syntax errors.
fn json_message(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    match e.classify() {
        Category::Syntax | Category::Eof => format!("malformed JSON: {e}"),
        Category::Data => format!("unexpected shape: {e}"),
        Category::Io => format!("could not read body: {e}"),
    }
}

impl From<&Order> for OrderRequest {
    /// Re-expresses a validated order in request form (prices as strings).
    fn from(o: &Order) -> Self {
        OrderRequest {
            accountid: o.accountid.clone(),
            vendorid: o.vendorid.clone(),
            orderdate: o.orderdate.clone(),
            city: o.city.clone(),
            details: DetailsRequest {
                coffeetype: o.details.coffeetype.clone(),
                coffeesize: o.details.coffeesize.clone(),
                unitprice: PriceInput::Text(o.details.unitprice.to_string()),
                quantity: QuantityInput::Number(o.details.quantity.into()),
            },
            eventtype: vec![OrderEventTag::NewOrder],
        }
    }
}

/// The JSON Schema of the request body, shared by API Gateway's model and the local API docs.
pub fn place_order_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(PlaceOrderRequest)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn seed_body() -> serde_json::Value {
        json!({"order": {"accountid": "a0", "vendorid": "v0", "orderdate": "2026-11-25 08:15:00",
            "city": "Sydney", "details": {"coffeetype": "Cappuccino", "coffeesize": "Small",
            "unitprice": "3.5", "quantity": 2}, "eventtype": ["new_order"]}})
    }

    fn problems_for(mutate: impl FnOnce(&mut serde_json::Value)) -> Vec<String> {
        let mut body = seed_body();
        mutate(&mut body);
        match parse_place_order(body.to_string().as_bytes()) {
            Ok(o) => panic!("expected refusal, got {o:?}"),
            Err(e) => e.problems.iter().map(ToString::to_string).collect(),
        }
    }

    #[test]
    fn accepts_the_seed_body() {
        let order = parse_place_order(seed_body().to_string().as_bytes()).unwrap();
        assert_eq!(order.details.unitprice.cents(), 350);
        assert_eq!(order.total().cents(), 700);
        assert_eq!(order.orderdate, "2026-11-25T08:15:00");
    }

    #[test]
    fn accepts_numbers_and_strings_for_price_and_quantity() {
        let mut b = seed_body();
        b["order"]["details"]["unitprice"] = json!(4.25);
        b["order"]["details"]["quantity"] = json!("3");
        b["order"]["details"]["coffeesize"] = json!("large");
        let order = parse_place_order(b.to_string().as_bytes()).unwrap();
        assert_eq!(order.details.unitprice.cents(), 425);
        assert_eq!(order.details.quantity, 3);
        assert_eq!(order.details.coffeesize, "Large");
    }

    #[test]
    fn each_rule_has_a_precise_message() {
        type Mutation = Box<dyn FnOnce(&mut serde_json::Value)>;
        let cases: Vec<(Mutation, &str)> = vec![
            (
                Box::new(|b| b["order"]["accountid"] = json!("")),
                "order.accountid: must not be empty",
            ),
            (
                Box::new(|b| b["order"]["accountid"] = json!("a".repeat(65))),
                "order.accountid: must be at most 64 characters",
            ),
            (
                Box::new(|b| b["order"]["vendorid"] = json!("../etc")),
                "order.vendorid: may contain only letters, digits, '_' and '-' (found '.')",
            ),
            (
                Box::new(|b| b["order"]["details"]["quantity"] = json!(0)),
                "order.details.quantity: must be between 1 and 20",
            ),
            (
                Box::new(|b| b["order"]["details"]["quantity"] = json!(21)),
                "order.details.quantity: must be between 1 and 20",
            ),
            (
                Box::new(|b| b["order"]["details"]["quantity"] = json!(1.5)),
                "order.details.quantity: must be a whole number between 1 and 20",
            ),
            (
                Box::new(|b| b["order"]["details"]["coffeesize"] = json!("Huge")),
                "order.details.coffeesize: must be one of Small, Regular, Medium, Large, x-Large (got \"Huge\")",
            ),
            (
                Box::new(|b| b["order"]["details"]["unitprice"] = json!("0")),
                "order.details.unitprice: must be greater than 0",
            ),
            (
                Box::new(|b| b["order"]["details"]["unitprice"] = json!("3.555")),
                "order.details.unitprice: 3.555 has more than two decimal places",
            ),
            (
                Box::new(|b| b["order"]["details"]["unitprice"] = json!("1000.01")),
                "order.details.unitprice: must be at most 1000.00",
            ),
            (
                Box::new(|b| b["order"]["orderdate"] = json!("yesterday")),
                "order.orderdate: \"yesterday\" is not a date",
            ),
            (
                Box::new(|b| b["order"]["city"] = json!("Syd\u{7}ney")),
                "order.city: must not contain control characters",
            ),
            (
                Box::new(|b| b["order"]["city"] = json!("   ")),
                "order.city: must not be empty",
            ),
        ];
        for (mutate, expected) in cases {
            let problems = problems_for(mutate);
            assert!(
                problems.iter().any(|p| p.starts_with(expected)),
                "expected {expected:?} in {problems:?}"
            );
        }
    }

    #[test]
    fn accepts_the_seed_clients_sizes_in_any_case() {
        // The original notebook draws from Small/3.5, Medium/4.0, Large/4.5 and x-Large/5.0.
        for (sent, canonical) in [
            ("x-Large", "x-Large"),
            ("X-LARGE", "x-Large"),
            ("medium", "Medium"),
            ("Regular", "Regular"),
        ] {
            let mut b = seed_body();
            b["order"]["details"]["coffeesize"] = json!(sent);
            let order = parse_place_order(b.to_string().as_bytes()).unwrap();
            assert_eq!(order.details.coffeesize, canonical);
        }
    }

    #[test]
    fn the_schema_pattern_is_built_from_the_one_list() {
        let schema = place_order_schema();
        let pattern = schema["$defs"]["DetailsRequest"]["properties"]["coffeesize"]["pattern"]
            .as_str()
            .unwrap_or_else(|| panic!("no coffeesize pattern in {schema:#}"));
        assert_eq!(pattern, coffeesize_pattern());
        assert!(pattern.contains("[Xx]-[Ll][Aa][Rr][Gg][Ee]"), "{pattern}");
        for size in SIZES {
            assert!(
                pattern.contains(
                    &size
                        .chars()
                        .take(1)
                        .map(|c| format!("[{}", c.to_ascii_uppercase()))
                        .collect::<String>()
                )
            );
        }
    }

    #[test]
    fn dates_keep_the_offset_they_were_written_in() {
        let mut b = seed_body();
        for (sent, canonical) in [
            ("2026-12-01T08:00:00+10:00", "2026-12-01T08:00:00+10:00"),
            ("2026-12-01T08:00:00Z", "2026-12-01T08:00:00Z"),
            ("2026-12-01 19:20:00.123456", "2026-12-01T19:20:00.123456"),
        ] {
            b["order"]["orderdate"] = json!(sent);
            assert_eq!(
                parse_place_order(b.to_string().as_bytes()).unwrap().orderdate,
                canonical
            );
        }
        b["order"]["orderdate"] = json!("-000001-01-01");
        assert!(parse_place_order(b.to_string().as_bytes()).is_err());
    }

    #[test]
    fn unknown_fields_and_bad_shapes_are_named() {
        let p = problems_for(|b| b["order"]["quantitiy"] = json!(1));
        assert!(p[0].contains("unknown field `quantitiy`"), "{p:?}");
        let p = problems_for(|b| b["order"]["eventtype"] = json!(["cancel"]));
        assert!(p[0].contains("unexpected shape"), "{p:?}");
        let p = problems_for(|b| *b = json!({"order": "x"}));
        assert!(p[0].contains("unexpected shape"), "{p:?}");
    }

    #[test]
    fn collects_all_problems() {
        let p = problems_for(|b| {
            b["order"]["accountid"] = json!("");
            b["order"]["details"]["quantity"] = json!(99);
        });
        assert_eq!(p.len(), 2, "{p:?}");
    }

    #[test]
    fn refuses_oversized_and_malformed_bodies() {
        let big = vec![b' '; MAX_BODY_BYTES + 1];
        let e = parse_place_order(&big).unwrap_err();
        assert!(e.to_string().contains("the limit is 16384"), "{e}");
        let e = parse_place_order(b"{\"order\":").unwrap_err();
        assert!(e.to_string().contains("malformed JSON"), "{e}");
        let deep = "[".repeat(5000);
        assert!(parse_place_order(deep.as_bytes()).is_err());
    }

    #[test]
    fn validated_order_round_trips_through_request_form() {
        let order = parse_place_order(seed_body().to_string().as_bytes()).unwrap();
        let again = OrderRequest::from(&order).validate("order").unwrap();
        assert_eq!(order, again);
    }
}
