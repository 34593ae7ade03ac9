//! The invoice document written per order, and where it lives.

use crate::money::Money;
use crate::order::{Order, check_id, civil_orderdate};
use serde::{Deserialize, Serialize};

/// Invoice documents live under this prefix; nothing else is readable through the invoice routes.
pub const INVOICE_PREFIX: &str = "invoices/";

/// The invoice: the order, the line, the total, and when it was issued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invoice {
    pub orderid: String,
    #[serde(rename = "invoiceKey")]
    pub invoice_key: String,
    pub order: Order,
    pub lines: Vec<InvoiceLine>,
    pub total: Money,
    pub currency: String,
    #[serde(rename = "orderedAt")]
    pub ordered_at: String,
    #[serde(rename = "issuedAt")]
    pub issued_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceLine {
    pub description: String,
    pub quantity: u32,
    pub unitprice: Money,
    #[serde(rename = "lineTotal")]
    pub line_total: Money,
}

impl Invoice {
    pub fn render(orderid: &str, order: &Order, issued_at: String) -> Invoice {
        let d = &order.details;
        Invoice {
            orderid: orderid.into(),
            invoice_key: invoice_key(&order.accountid, &order.vendorid, orderid),
            lines: vec![InvoiceLine {
                description: format!("{} {}", d.coffeesize, d.coffeetype),
                quantity: d.quantity,
                unitprice: d.unitprice,
                line_total: order.total(),
            }],
            total: order.total(),
            currency: "AUD".into(),
            ordered_at: order.orderdate.clone(),
            issued_at,
            order: order.clone(),
        }
    }
}

/// `invoices/{accountid}/{vendorid}/{orderid}.json`: one key per order, never shared.
pub fn invoice_key(accountid: &str, vendorid: &str, orderid: &str) -> String {
    format!("{INVOICE_PREFIX}{accountid}/{vendorid}/{orderid}.json")
}

const KEY_FORMS: &str = "objectKey must be invoices/{accountid}/{vendorid}/{orderid}.json, or {year}/{month}/{accountid} \
                         as the original sample wrote it (e.g. 2026/12/a0)";

/// Accepts only keys of the exact invoice shape, so a key can never name another object or a path outside the store.
pub fn parse_invoice_key(key: &str) -> Result<(String, String, String), String> {
    let shape = "objectKey must look like invoices/{accountid}/{vendorid}/{orderid}.json";
    let rest = key.strip_prefix(INVOICE_PREFIX).ok_or_else(|| shape.to_string())?;
    let rest = rest.strip_suffix(".json").ok_or_else(|| shape.to_string())?;
    let parts: Vec<&str> = rest.split('/').collect();
    let [a, v, o] = parts.as_slice() else {
        return Err(shape.to_string());
    };
    for (field, value) in [("accountid", a), ("vendorid", v), ("orderid", o)] {
        if let Some(p) = check_id(field, value) {
            return Err(format!("objectKey {}: {}", p.field, p.message));
        }
    }
    Ok((a.to_string(), v.to_string(), o.to_string()))
}

/// A calendar month, `YYYY-MM` when displayed: the unit of the original sample's invoice key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct InvoiceMonth {
    year: i16,
    month: i8,
}

impl InvoiceMonth {
    /// The month of an order, as its client wrote the date (see [`civil_orderdate`]).
    pub fn of_order(order: &Order) -> Option<InvoiceMonth> {
        let dt = civil_orderdate(&order.orderdate)?;
        (1..=9999).contains(&dt.year()).then_some(InvoiceMonth {
            year: dt.year(),
            month: dt.month(),
        })
    }
}

impl std::fmt::Display for InvoiceMonth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// What `GET /invoice?objectKey=` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InvoiceRef {
    /// Our key, `invoices/{accountid}/{vendorid}/{orderid}.json`: one per order.
    Key(String),
    /// The original sample's `{year}/{month}/{accountid}`: that account's latest invoice that month.
    Month { accountid: String, month: InvoiceMonth },
}

/// Reads either key form. Anything else is refused with a message naming both, so a key can
/// never reach the store unless it has one of the two exact shapes.
pub fn parse_invoice_ref(key: &str) -> Result<InvoiceRef, String> {
    if key.starts_with(INVOICE_PREFIX) {
        return parse_invoice_key(key).map(|_| InvoiceRef::Key(key.to_string()));
    }
    // The original's get_object appended `.json` itself; accept the key with or without it.
    let rest = key.strip_suffix(".json").unwrap_or(key);
    let parts: Vec<&str> = rest.split('/').collect();
    let [year, month, accountid] = parts.as_slice() else {
        return Err(KEY_FORMS.to_string());
    };
    let digits = |s: &str, max_len: usize| !s.is_empty() && s.len() <= max_len && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(year, 4) || year.len() != 4 || !digits(month, 2) {
        return Err(KEY_FORMS.to_string());
    }
    let (Ok(year), Ok(month)) = (year.parse::<i16>(), month.parse::<i8>()) else {
        return Err(KEY_FORMS.to_string());
    };
    if year < 1 || !(1..=12).contains(&month) {
        return Err(format!(
            "objectKey {year:04}/{month}: the month must be 1 to 12 and the year 0001 to 9999"
        ));
    }
    if let Some(p) = check_id("accountid", accountid) {
        return Err(format!("objectKey {}: {}", p.field, p.message));
    }
    Ok(InvoiceRef::Month {
        accountid: accountid.to_string(),
        month: InvoiceMonth { year, month },
    })
}

/// Orders an account's invoices within a month: by the order's own date-time as written, then
/// by when the order was accepted (Unix ms), then by order id so that ties are still total.
/// Fixed-width, so comparing the strings compares the orders (DynamoDB sort keys and SQLite
/// text compare bytewise).
pub fn invoice_rank(order: &Order, accepted_ms: i64, orderid: &str) -> String {
    let when = civil_orderdate(&order.orderdate)
        .map(|dt| {
            format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:09}",
                dt.year(),
                dt.month(),
                dt.day(),
                dt.hour(),
                dt.minute(),
                dt.second(),
                dt.subsec_nanosecond()
            )
        })
        .unwrap_or_default();
    format!("{when}|{:015}|{orderid}", accepted_ms.max(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_and_hostile_keys_are_refused() {
        let k = invoice_key("a0", "v0", "o-1");
        assert_eq!(k, "invoices/a0/v0/o-1.json");
        assert_eq!(parse_invoice_key(&k).unwrap(), ("a0".into(), "v0".into(), "o-1".into()));
        for bad in [
            "invoices/../v0/o.json",
            "invoices/a0/v0/../../etc/passwd.json",
            "/etc/passwd",
            "invoices/a0/v0/o1.txt",
            "invoices/a0/v0/o1/x.json",
            "invoices/a0/v0/o\n1.json",
            "invoices//v0/o1.json",
        ] {
            assert!(parse_invoice_key(bad).is_err(), "{bad} accepted");
            assert!(parse_invoice_ref(bad).is_err(), "{bad} accepted as a reference");
        }
    }

    #[test]
    fn the_original_key_form_names_a_month() {
        let month = |y, m| InvoiceMonth { year: y, month: m };
        for (key, y, m) in [
            ("2026/12/a0", 2026, 12),
            ("2026/1/a0", 2026, 1),
            ("2026/01/a0.json", 2026, 1),
        ] {
            assert_eq!(
                parse_invoice_ref(key).unwrap(),
                InvoiceRef::Month {
                    accountid: "a0".into(),
                    month: month(y, m)
                },
                "{key}"
            );
        }
        assert_eq!(month(2026, 1).to_string(), "2026-01");
        assert_eq!(
            parse_invoice_ref("invoices/a0/v0/o1.json").unwrap(),
            InvoiceRef::Key("invoices/a0/v0/o1.json".into())
        );
        for bad in [
            "2026/13/a0",
            "2026/0/a0",
            "26/12/a0",
            "2026/012/a0",
            "2026/12/../x",
            "2026/12",
            "x/12/a0",
            "2026/+1/a0",
        ] {
            let e = parse_invoice_ref(bad).unwrap_err();
            assert!(e.contains("objectKey"), "{bad}: {e}");
        }
        let e = parse_invoice_ref("nonsense").unwrap_err();
        assert!(
            e.contains("invoices/{accountid}") && e.contains("{year}/{month}/{accountid}"),
            "{e}"
        );
    }

    #[test]
    fn ranks_order_by_the_written_date_then_acceptance() {
        let order = |date: &str| {
            let mut o = crate::parse_place_order(
                format!(
                    r#"{{"order":{{"accountid":"a0","vendorid":"v0","orderdate":"{date}","city":"Perth",
                    "details":{{"coffeetype":"Latte","coffeesize":"x-Large","unitprice":"5.0","quantity":1}},"eventtype":["new_order"]}}}}"#
                )
                .as_bytes(),
            )
            .unwrap();
            o.vendorid = "v1".into();
            o
        };
        // The offset as written decides the month: 08:00 on 1 December in +10:00 is 30 November in UTC.
        let east = order("2026-12-01T08:00:00+10:00");
        assert_eq!(east.orderdate, "2026-12-01T08:00:00+10:00");
        assert_eq!(InvoiceMonth::of_order(&east).unwrap().to_string(), "2026-12");
        assert_eq!(
            InvoiceMonth::of_order(&order("2026-11-30T22:00:00Z"))
                .unwrap()
                .to_string(),
            "2026-11"
        );
        assert_eq!(
            InvoiceMonth::of_order(&order("2026-12-01 19:20:00.123456"))
                .unwrap()
                .to_string(),
            "2026-12"
        );
        assert_eq!(
            InvoiceMonth::of_order(&order("2026-02-03")).unwrap().to_string(),
            "2026-02"
        );

        let early = invoice_rank(&order("2026-12-01 09:00:00"), 2_000, "o-b");
        let late = invoice_rank(&order("2026-12-01 10:00:00.5"), 1_000, "o-a");
        assert!(early < late, "{early} < {late}");
        let first = invoice_rank(&order("2026-12-01 09:00:00"), 1_000, "o-z");
        assert!(first < early, "same date: acceptance decides");
    }
}
