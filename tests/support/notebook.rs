//! The original sample's notebook client, as `../shared/seed/original-client.md` describes it:
//! the bodies it posts, the order in which it posts them, and the URLs it reads back. Shared by
//! the embedded (`tests/seed_client.rs`) and Lambda (`tests/aws_lambda_smoke.rs`) runs, so that
//! both backends answer exactly the same requests.
#![allow(dead_code)]

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

/// `details.coffeesize` / `details.unitprice`, as the notebook pairs them.
pub const SIZES: [(&str, &str); 4] = [
    ("Small", "3.5"),
    ("Medium", "4.0"),
    ("Large", "4.5"),
    ("x-Large", "5.0"),
];
pub const CITIES: [&str; 11] = [
    "Adelaide",
    "Brisbane",
    "Canberra",
    "Darwin",
    "Geelong",
    "Gold Coast",
    "Hobart",
    "Melbourne",
    "Perth",
    "Sydney",
    "Wollongong",
];
pub const COFFEES: [&str; 4] = ["Short Black", "Flat White", "Latte", "Long Black"];

/// API Gateway's stage, which the notebook's URLs carry.
pub const STAGE: &str = "/prod";

/// One order the notebook sends: its account index and the body.
pub struct NotebookOrder {
    pub accountid: String,
    pub vendorid: String,
    pub size: &'static str,
    pub unitprice: &'static str,
    pub quantity: u32,
    pub body: Value,
}

/// Python's `str(datetime.datetime.now())`: a space, and microseconds unless they are zero.
pub fn python_now(now: jiff::civil::DateTime) -> String {
    let micros = now.subsec_nanosecond() / 1000;
    let base = format!(
        "{} {:02}:{:02}:{:02}",
        now.date(),
        now.hour(),
        now.minute(),
        now.second()
    );
    if micros == 0 {
        base
    } else {
        format!("{base}.{micros:06}")
    }
}

/// The notebook's loop (i = 0…4) and its extra order (a100/v100). Sizes, cities, coffees and
/// quantities are drawn as its `random.choice`/`randint` do, from a fixed seed so that a failure
/// reproduces; the first four orders take the four sizes in turn so that every size is sent.
pub fn orders(now: jiff::civil::DateTime) -> Vec<NotebookOrder> {
    let mut rng = StdRng::seed_from_u64(20261201);
    [0, 1, 2, 3, 4, 100]
        .into_iter()
        .enumerate()
        .map(|(n, i)| {
            let (size, unitprice) = if n < SIZES.len() {
                SIZES[n]
            } else {
                SIZES[rng.random_range(0..SIZES.len())]
            };
            let quantity = rng.random_range(1..=10);
            let (accountid, vendorid) = (format!("a{i}"), format!("v{i}"));
            let body = json!({"order": {
                "accountid": accountid,
                "vendorid": vendorid,
                "orderdate": python_now(now),
                "city": CITIES[rng.random_range(0..CITIES.len())],
                "details": {
                    "coffeetype": COFFEES[rng.random_range(0..COFFEES.len())],
                    "coffeesize": size,
                    "unitprice": unitprice,
                    "quantity": quantity,
                },
                "eventtype": ["new_order"],
            }});
            NotebookOrder {
                accountid,
                vendorid,
                size,
                unitprice,
                quantity,
                body,
            }
        })
        .collect()
}

/// The notebook's invoice key: `{year}/{month}/{accountid}`, the month not zero-padded.
pub fn invoice_key(now: jiff::civil::DateTime, accountid: &str) -> String {
    format!("{}/{}/{accountid}", now.year(), now.month())
}

/// The invoice key of the notebook's x-Large order, whose size must reach the invoice line.
pub fn xlarge_invoice_key(now: jiff::civil::DateTime, orders: &[NotebookOrder]) -> String {
    let xl = orders
        .iter()
        .position(|o| o.size == "x-Large")
        .expect("an x-Large order");
    invoice_key(now, &orders[xl].accountid)
}

/// Asserts the x-Large invoice was found and its line names the size.
pub fn assert_xlarge_line(status: impl Into<i64>, invoice: &Value) {
    assert_eq!(status.into(), 200, "{invoice}");
    let line = invoice["lines"][0]["description"].as_str().unwrap_or_default();
    assert!(line.starts_with("x-Large "), "{invoice}");
}

/// What the invoice total must be, in the contract's two-decimal form.
pub fn total(order: &NotebookOrder) -> String {
    let cents: u64 = match order.unitprice.split_once('.') {
        Some((units, tenths)) => units.parse::<u64>().unwrap_or(0) * 100 + tenths.parse::<u64>().unwrap_or(0) * 10,
        None => order.unitprice.parse::<u64>().unwrap_or(0) * 100,
    };
    let cents = cents * u64::from(order.quantity);
    format!("{}.{:02}", cents / 100, cents % 100)
}
