//! The invoice document written per order, and where it lives.

use crate::money::Money;
use crate::order::{Order, check_id};
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
        }
    }
}
