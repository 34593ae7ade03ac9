//! Hostile input on every front door: each HTTP route and each CLI command gets malformed JSON,
//! wrong types, oversized and deeply nested bodies, path traversal, control characters and
//! unicode in ids and keys, missing and extra parameters, invalid filter policies, and webhook
//! URLs on private ranges (the server runs WITHOUT --allow-private-endpoints).
//!
//! Every case must be refused clearly — HTTP: the expected 4xx with `{"error":{"code","message"}}`
//! whose message names the problem; CLI: a non-zero exit and an `error:` line naming it — never
//! a panic or a 5xx, and must write nothing: every row of every table of skipline.db is compared
//! before and after, and so is the data dir's file list.

mod support;

use serde_json::{Value, json};
use std::path::Path;
use std::time::{Duration, Instant};
use support::{Serve, cli, diff, get, http_client, order_body, snapshot};

/// A key already used by a seeded order: reusing it with another body must be a 409.
const SEED_KEY: &str = "seed-order-0";

struct Http {
    method: &'static str,
    path: String,
    headers: Vec<(&'static str, Vec<u8>)>,
    body: Option<Vec<u8>>,
    status: u16,
    /// Lower-case text the error message must contain.
    needle: &'static str,
}

fn case(method: &'static str, path: impl Into<String>, body: Option<&str>, status: u16, needle: &'static str) -> Http {
    Http {
        method,
        path: path.into(),
        headers: vec![("content-type", b"application/json".to_vec())],
        body: body.map(|b| b.as_bytes().to_vec()),
        status,
        needle,
    }
}

fn with_header(mut c: Http, name: &'static str, value: &[u8]) -> Http {
    c.headers.retain(|(n, _)| *n != name);
    c.headers.push((name, value.to_vec()));
    c
}

/// The seed order with one field replaced (a JSON pointer) by `value`, as text.
fn order_with(pointer: &str, value: Value) -> String {
    let mut v = order_body("acct-h", "v-seed");
    *v.pointer_mut(pointer).unwrap_or_else(|| panic!("{pointer}")) = value;
    v.to_string()
}

fn order_without(parent: &str, field: &str) -> String {
    let mut v = order_body("acct-h", "v-seed");
    v.pointer_mut(parent).unwrap().as_object_mut().unwrap().remove(field);
    v.to_string()
}

fn http_cases() -> Vec<Http> {
    let ok_order = order_body("acct-h", "v-seed").to_string();
    let nested_array = format!("{}{}", "[".repeat(5_000), "]".repeat(5_000));
    let nested_in_field = order_with(
        "/order/accountid",
        serde_json::from_str(&format!("{}1{}", "[".repeat(100), "]".repeat(100))).unwrap(),
    );
    let deep_object = format!("{}1{}", "{\"a\":".repeat(2_000), "}".repeat(2_000));
    let over_limit = format!(
        "{{\"order\":{{\"accountid\":\"{}\"}}}}",
        "a".repeat(skipline_events::MAX_BODY_BYTES)
    );
    let mut exactly_over = ok_order.clone();
    exactly_over.push_str(&" ".repeat(skipline_events::MAX_BODY_BYTES + 1 - ok_order.len()));
    let long_id = "a".repeat(65);
    let long_query = format!("/order?accountid={}&vendorid=v", "a".repeat(5000));
    let vendor_url = |url: &str| json!({"url": url}).to_string();

    let mut c = vec![
        // POST /order: syntax, size, nesting.
        case("POST", "/order", Some("{"), 400, "invalid order"),
        case("POST", "/order", Some(""), 400, "invalid order"),
        case("POST", "/order", None, 400, "invalid order"),
        case("POST", "/order", Some("null"), 400, "invalid order"),
        case("POST", "/order", Some("[]"), 400, "invalid order"),
        case("POST", "/order", Some("\"order\""), 400, "invalid order"),
        case("POST", "/order", Some("{\"order\":{}} trailing"), 400, "invalid order"),
        case("POST", "/order", Some("\u{feff}{\"order\":{}}"), 400, "invalid order"),
        case("POST", "/order", Some(&over_limit), 413, "larger than 16384"),
        case("POST", "/order", Some(&exactly_over), 413, "larger than 16384"),
        case("POST", "/order", Some(&nested_array), 400, "invalid order"),
        case("POST", "/order", Some(&deep_object), 400, "invalid order"),
        case("POST", "/order", Some(&nested_in_field), 400, "invalid type: sequence"),
        // Wrong types.
        case(
            "POST",
            "/order",
            Some(&order_with("/order/accountid", json!(5))),
            400,
            "invalid type: integer",
        ),
        case(
            "POST",
            "/order",
            Some(&order_with("/order/vendorid", json!(null))),
            400,
            "invalid type: null",
        ),
        case(
            "POST",
            "/order",
            Some(&order_with("/order/details/quantity", json!("abc"))),
            400,
            "quantity",
        ),
        case(
            "POST",
            "/order",
            Some(&order_with("/order/details/quantity", json!(1.5))),
            400,
            "quantity",
        ),
        case(
            "POST",
            "/order",
            Some(&order_with("/order/details/quantity", json!(-1))),
            400,
            "quantity",
        ),
        case(
            "POST",
            "/order",
            Some(&order_with("/order/details/quantity", json!(0))),
            400,
            "quantity",
        ),
        case(
            "POST",
            "/order",
            Some(&order_with("/order/details/quantity", json!(21))),
            400,
            "quantity",
        ),
        case(
            "POST",
            "/order",
            Some(&order_with("/order/details/quantity", json!(u64::MAX))),
            400,
            "quantity",
        ),
        case(
            "POST",
            "/order",
            Some(&order_with("/order/details/unitprice", json!(true))),
            400,
            "pricein",
        ),
        case(
            "POST",
            "/order",
            Some(&order_with("/order/details/unitprice", json!("-1"))),
            400,
            "unitprice",
        ),
        case(
            "POST",
            "/order",
            Some(&order_with("/order/details/unitprice", json!("1e400"))),
            400,
            "unitprice",
        ),
        case(
            "POST",
            "/order",
            Some(&order_with("/order/details/unitprice", json!("NaN"))),
            400,
            "unitprice",
        ),
        case(
            "POST",
            "/order",
            Some(&order_with("/order/details/unitprice", json!(0))),
            400,
            "unitprice",
        ),
        case(
            "POST",
            "/order",
            Some(&order_with("/order/details/unitprice", json!("4.555"))),
            400,
            "unitprice",
        ),
        case(
            "POST",
            "/order",
            Some(&order_with("/order/details/coffeesize", json!("Bucket"))),
            400,
            "coffeesize",
        ),
        case(
            "POST",
            "/order",
            Some(&order_with("/order/details", json!(null))),
            400,
            "details",
        ),
        case(
            "POST",
            "/order",
            Some(&order_with("/order/eventtype", json!("new_order"))),
            400,
            "expected a sequence",
        ),
        case(
            "POST",
            "/order",
            Some(&order_with("/order/eventtype", json!(["old_order"]))),
            400,
            "unknown variant `old_order`",
        ),
        case(
            "POST",
            "/order",
            Some(&order_with("/order/eventtype", json!([]))),
            400,
            "eventtype",
        ),
        case(
            "POST",
            "/order",
            Some(&order_with("/order/orderdate", json!("yesterday"))),
            400,
            "orderdate",
        ),
        case(
            "POST",
            "/order",
            Some(&order_with("/order", json!([]))),
            400,
            "invalid order",
        ),
        // Path traversal, control characters and unicode in ids and text.
        case(
            "POST",
            "/order",
            Some(&order_with("/order/accountid", json!("../../etc/passwd"))),
            400,
            "accountid",
        ),
        case(
            "POST",
            "/order",
            Some(&order_with("/order/vendorid", json!(".."))),
            400,
            "vendorid",
        ),
        case(
            "POST",
            "/order",
            Some(&order_with("/order/vendorid", json!("v/../../x"))),
            400,
            "vendorid",
        ),
        case(
            "POST",
            "/order",
            Some(&order_with("/order/accountid", json!("a\u{0}b"))),
            400,
            "accountid",
        ),
        case(
            "POST",
            "/order",
            Some(&order_with("/order/accountid", json!("a\nb"))),
            400,
            "accountid",
        ),
        case(
            "POST",
            "/order",
            Some(&order_with("/order/accountid", json!("аккаунт"))),
            400,
            "accountid",
        ),
        case(
            "POST",
            "/order",
            Some(&order_with("/order/vendorid", json!("v\u{202e}0"))),
            400,
            "vendorid",
        ),
        case(
            "POST",
            "/order",
            Some(&order_with("/order/vendorid", json!("ｖ０"))),
            400,
            "vendorid",
        ),
        case(
            "POST",
            "/order",
            Some(&order_with("/order/accountid", json!(long_id))),
            400,
            "accountid",
        ),
        case(
            "POST",
            "/order",
            Some(&order_with("/order/accountid", json!(""))),
            400,
            "accountid",
        ),
        case(
            "POST",
            "/order",
            Some(&order_with("/order/city", json!("Syd\u{0}ney"))),
            400,
            "city",
        ),
        case(
            "POST",
            "/order",
            Some(&order_with("/order/city", json!("Syd\u{1b}[31mney"))),
            400,
            "city",
        ),
        case(
            "POST",
            "/order",
            Some(&order_with("/order/details/coffeetype", json!("☕".repeat(65)))),
            400,
            "coffeetype",
        ),
        case(
            "POST",
            "/order",
            Some(&order_with("/order/city", json!("   "))),
            400,
            "city",
        ),
        // Control characters and oddities in object keys; missing and extra fields.
        case(
            "POST",
            "/order",
            Some(&order_with(
                "/order/details",
                json!({"coffeetype": "L", "coffeesize": "Large", "unitprice": "4", "quantity": 1, "qu\u{0}antity": 2}),
            )),
            400,
            "unknown field",
        ),
        case(
            "POST",
            "/order",
            Some(&order_with(
                "/order/details",
                json!({"coffeetype": "L", "coffeesize": "Large", "unitprice": "4", "quantity": 1, "../x": 2}),
            )),
            400,
            "unknown field",
        ),
        case(
            "POST",
            "/order",
            Some(&order_with(
                "/order/details",
                json!({"coffeetype": "L", "coffeesize": "Large", "unitprice": "4", "quantity": 1, "ｑuantity": 2}),
            )),
            400,
            "unknown field",
        ),
        case(
            "POST",
            "/order",
            Some(&order_with(
                "/order/details",
                json!({"coffeetype": "L", "coffeesize": "Large", "unitprice": "4", "quantity": 1, "__proto__": {}}),
            )),
            400,
            "unknown field",
        ),
        case(
            "POST",
            "/order",
            Some(&format!(
                "{{\"order\":{},{}",
                order_body("a", "v")["order"],
                &ok_order[1..]
            )),
            400,
            "duplicate field",
        ),
        case(
            "POST",
            "/order",
            Some(&format!("{{\"extra\":1,{}", &ok_order[1..])),
            400,
            "unknown field `extra`",
        ),
        case(
            "POST",
            "/order",
            Some(&order_without("/order", "vendorid")),
            400,
            "vendorid",
        ),
        case(
            "POST",
            "/order",
            Some(&order_without("/order/details", "quantity")),
            400,
            "quantity",
        ),
        case("POST", "/order", Some("{}"), 400, "order"),
        case(
            "POST",
            "/order?accountid=a0",
            Some(&ok_order),
            400,
            "unknown query parameter",
        ),
        case("POST", "/order?../=1", Some(&ok_order), 400, "unknown query parameter"),
        // Headers.
        with_header(
            case("POST", "/order", Some(&ok_order), 415, "content-type"),
            "content-type",
            b"text/plain",
        ),
        with_header(
            case("POST", "/order", Some(&ok_order), 415, "content-type"),
            "content-type",
            b"application/x-www-form-urlencoded",
        ),
        with_header(
            case("POST", "/order", Some(&ok_order), 400, "idempotency-key"),
            "idempotency-key",
            b"../../x",
        ),
        with_header(
            case("POST", "/order", Some(&ok_order), 400, "idempotency-key"),
            "idempotency-key",
            b"",
        ),
        with_header(
            case("POST", "/order", Some(&ok_order), 400, "idempotency-key"),
            "idempotency-key",
            long_id.as_bytes(),
        ),
        with_header(
            case("POST", "/order", Some(&ok_order), 400, "idempotency-key"),
            "idempotency-key",
            b"k\xffey",
        ),
        with_header(
            case("POST", "/order", Some(&ok_order), 400, "idempotency-key"),
            "idempotency-key",
            "ключ".as_bytes(),
        ),
        with_header(
            case("POST", "/order", Some(&ok_order), 409, "already used"),
            "idempotency-key",
            SEED_KEY.as_bytes(),
        ),
        // GET /order.
        case("GET", "/order", None, 400, "required"),
        case("GET", "/order?accountid=a0", None, 400, "required"),
        case("GET", "/order?vendorid=v0", None, 400, "required"),
        case(
            "GET",
            "/order?accountid=a0&vendorid=v0&extra=1",
            None,
            400,
            "unknown query parameter",
        ),
        case(
            "GET",
            "/order?accountid=a0&accountid=a1&vendorid=v0",
            None,
            400,
            "more than once",
        ),
        case("GET", "/order?accountid=%00&vendorid=v0", None, 400, "accountid"),
        case(
            "GET",
            "/order?accountid=..%2F..%2Fetc&vendorid=v0",
            None,
            400,
            "accountid",
        ),
        case("GET", "/order?accountid=a0&vendorid=%D0%B2", None, 400, "vendorid"),
        case("GET", "/order?accountid=&vendorid=v0", None, 400, "accountid"),
        case("GET", "/order?accountid=a%FF&vendorid=v0", None, 400, "accountid"),
        case("GET", long_query, None, 400, "too long"),
        // GET /orders/{id} and /orders/{id}/invoice.
        case("GET", "/orders/..%2F..%2Fetc%2Fpasswd", None, 400, "orderid"),
        case("GET", "/orders/a%00b", None, 400, "orderid"),
        case("GET", "/orders/a%0Ab", None, 400, "orderid"),
        case("GET", "/orders/%D0%B7%D0%B0%D0%BA%D0%B0%D0%B7", None, 400, "orderid"),
        case("GET", format!("/orders/{long_id}"), None, 400, "orderid"),
        case("GET", "/orders/unknown-order", None, 404, "no order"),
        case(
            "GET",
            "/orders/seed-order-0?history=1",
            None,
            400,
            "unknown query parameter",
        ),
        case("GET", "/orders/a%FFb", None, 400, "orderid"),
        case("GET", "/orders/..%2F..%2Fetc/invoice", None, 400, "orderid"),
        case("GET", "/orders/a%00b/invoice", None, 400, "orderid"),
        case("GET", "/orders/a%FFb/invoice", None, 400, "orderid"),
        case("GET", "/orders/unknown-order/invoice", None, 404, "no order"),
        case(
            "GET",
            "/orders/seed-order-0/invoice?x=1",
            None,
            400,
            "unknown query parameter",
        ),
        // GET /invoice.
        case("GET", "/invoice", None, 400, "objectkey"),
        case("GET", "/invoice?objectKey=../../etc/passwd", None, 400, "objectkey"),
        case("GET", "/invoice?objectKey=invoices/../v/o.json", None, 400, "objectkey"),
        case("GET", "/invoice?objectKey=invoices/a/v/o.txt", None, 400, "objectkey"),
        case(
            "GET",
            "/invoice?objectKey=invoices/a/v/o%00.json",
            None,
            400,
            "objectkey",
        ),
        case(
            "GET",
            "/invoice?objectKey=invoices/%D0%B0/v/o.json",
            None,
            400,
            "objectkey",
        ),
        case("GET", "/invoice?objectKey=%2Fetc%2Fpasswd", None, 400, "objectkey"),
        case(
            "GET",
            "/invoice?objectKey=invoices/a/v/none.json",
            None,
            404,
            "no invoice",
        ),
        case("GET", "/invoice?objectKey=a&objectKey=b", None, 400, "more than once"),
        case(
            "GET",
            "/invoice?objectkey=invoices/a/v/o.json",
            None,
            400,
            "unknown query parameter",
        ),
        // GET /executions.
        case("GET", "/executions?status=DONE", None, 400, "status"),
        case("GET", "/executions?status=", None, 400, "status"),
        case("GET", "/executions?status=RUNNING%00", None, 400, "status"),
        case("GET", "/executions?limit=0", None, 400, "limit"),
        case("GET", "/executions?limit=1001", None, 400, "limit"),
        case("GET", "/executions?limit=-1", None, 400, "limit"),
        case("GET", "/executions?limit=1e3", None, 400, "limit"),
        case("GET", "/executions?limit=99999999999999999999999", None, 400, "limit"),
        case("GET", "/executions?offset=1", None, 400, "unknown query parameter"),
        case("GET", "/executions?limit=1&limit=2", None, 400, "more than once"),
        // POST /vendors/{v}/endpoints: private ranges (no --allow-private-endpoints here).
        case(
            "POST",
            "/vendors/v0/endpoints",
            Some(&vendor_url("https://10.0.0.8/hook")),
            400,
            "private",
        ),
        case(
            "POST",
            "/vendors/v0/endpoints",
            Some(&vendor_url("https://10.255.255.255/")),
            400,
            "private",
        ),
        case(
            "POST",
            "/vendors/v0/endpoints",
            Some(&vendor_url("https://172.16.0.1/hook")),
            400,
            "private",
        ),
        case(
            "POST",
            "/vendors/v0/endpoints",
            Some(&vendor_url("https://172.31.255.1/hook")),
            400,
            "private",
        ),
        case(
            "POST",
            "/vendors/v0/endpoints",
            Some(&vendor_url("https://192.168.1.1/hook")),
            400,
            "private",
        ),
        case(
            "POST",
            "/vendors/v0/endpoints",
            Some(&vendor_url("https://169.254.169.254/latest/meta-data/")),
            400,
            "link-local",
        ),
        case(
            "POST",
            "/vendors/v0/endpoints",
            Some(&vendor_url("https://[::1]/hook")),
            400,
            "loopback",
        ),
        case(
            "POST",
            "/vendors/v0/endpoints",
            Some(&vendor_url("https://[::ffff:10.0.0.1]/hook")),
            400,
            "private",
        ),
        case(
            "POST",
            "/vendors/v0/endpoints",
            Some(&vendor_url("https://[fd00::1]/hook")),
            400,
            "private",
        ),
        case(
            "POST",
            "/vendors/v0/endpoints",
            Some(&vendor_url("https://[fe80::1]/hook")),
            400,
            "link-local",
        ),
        case(
            "POST",
            "/vendors/v0/endpoints",
            Some(&vendor_url("https://localhost/hook")),
            400,
            "local name",
        ),
        case(
            "POST",
            "/vendors/v0/endpoints",
            Some(&vendor_url("https://LOCALHOST./hook")),
            400,
            "local name",
        ),
        case(
            "POST",
            "/vendors/v0/endpoints",
            Some(&vendor_url("https://api.localhost/hook")),
            400,
            "local name",
        ),
        case(
            "POST",
            "/vendors/v0/endpoints",
            Some(&vendor_url("https://127.0.0.1:8080/hook")),
            400,
            "loopback",
        ),
        case(
            "POST",
            "/vendors/v0/endpoints",
            Some(&vendor_url("https://2130706433/hook")),
            400,
            "loopback",
        ),
        case(
            "POST",
            "/vendors/v0/endpoints",
            Some(&vendor_url("https://0x7f.1/hook")),
            400,
            "loopback",
        ),
        case(
            "POST",
            "/vendors/v0/endpoints",
            Some(&vendor_url("https://0.0.0.0/hook")),
            400,
            "0.0.0.0",
        ),
        case(
            "POST",
            "/vendors/v0/endpoints",
            Some(&vendor_url("https://metadata.google.internal/")),
            400,
            "local name",
        ),
        case(
            "POST",
            "/vendors/v0/endpoints",
            Some(&vendor_url("http://shop.example.com/hook")),
            400,
            "https://",
        ),
        case(
            "POST",
            "/vendors/v0/endpoints",
            Some(&vendor_url("ftp://shop.example.com/hook")),
            400,
            "https://",
        ),
        case(
            "POST",
            "/vendors/v0/endpoints",
            Some(&vendor_url("file:///etc/passwd")),
            400,
            "https://",
        ),
        case(
            "POST",
            "/vendors/v0/endpoints",
            Some(&vendor_url("https://user:pw@shop.example.com/")),
            400,
            "credentials",
        ),
        case(
            "POST",
            "/vendors/v0/endpoints",
            Some(&vendor_url("https://shop.example.com/\nhook")),
            400,
            "control",
        ),
        case(
            "POST",
            "/vendors/v0/endpoints",
            Some(&vendor_url("not a url")),
            400,
            "url",
        ),
        case(
            "POST",
            "/vendors/v0/endpoints",
            Some(&vendor_url(&format!("https://shop.example.com/{}", "a".repeat(3000)))),
            400,
            "longer than",
        ),
        // ... malformed bodies, wrong types, missing and extra fields, bad secrets.
        case("POST", "/vendors/v0/endpoints", Some("{"), 400, "body must be"),
        case("POST", "/vendors/v0/endpoints", None, 400, "body must be"),
        case(
            "POST",
            "/vendors/v0/endpoints",
            Some("{\"url\":5}"),
            400,
            "body must be",
        ),
        case("POST", "/vendors/v0/endpoints", Some("{}"), 400, "missing field `url`"),
        case(
            "POST",
            "/vendors/v0/endpoints",
            Some("{\"url\":\"https://shop.example.com/\",\"admin\":true}"),
            400,
            "unknown field `admin`",
        ),
        case(
            "POST",
            "/vendors/v0/endpoints",
            Some("{\"url\":\"https://shop.example.com/\",\"secret\":\"short\"}"),
            400,
            "secret",
        ),
        case(
            "POST",
            "/vendors/v0/endpoints",
            Some("{\"url\":\"https://shop.example.com/\",\"secret\":\"has whitespace in the middle\"}"),
            400,
            "secret",
        ),
        case(
            "POST",
            "/vendors/v0/endpoints",
            Some("{\"url\":\"https://shop.example.com/\",\"secret\":42}"),
            400,
            "body must be",
        ),
        case(
            "POST",
            "/vendors/v0/endpoints",
            Some(&nested_array),
            400,
            "body must be",
        ),
        case(
            "POST",
            "/vendors/v0/endpoints",
            Some(&over_limit),
            413,
            "larger than 16384",
        ),
        with_header(
            case(
                "POST",
                "/vendors/v0/endpoints",
                Some(&vendor_url("https://shop.example.com/")),
                415,
                "content-type",
            ),
            "content-type",
            b"text/plain",
        ),
        case(
            "POST",
            "/vendors/..%2F..%2Fx/endpoints",
            Some(&vendor_url("https://shop.example.com/")),
            400,
            "vendorid",
        ),
        case(
            "POST",
            "/vendors/v%000/endpoints",
            Some(&vendor_url("https://shop.example.com/")),
            400,
            "vendorid",
        ),
        case(
            "POST",
            "/vendors/%D0%B2/endpoints",
            Some(&vendor_url("https://shop.example.com/")),
            400,
            "vendorid",
        ),
        case(
            "POST",
            format!("/vendors/{long_id}/endpoints"),
            Some(&vendor_url("https://shop.example.com/")),
            400,
            "vendorid",
        ),
        case(
            "POST",
            "/vendors/v0/endpoints?x=1",
            Some(&vendor_url("https://shop.example.com/")),
            400,
            "unknown query parameter",
        ),
        // GET /vendors/{v}/endpoints.
        case("GET", "/vendors/..%2Fx/endpoints", None, 400, "vendorid"),
        case("GET", "/vendors/v%0A0/endpoints", None, 400, "vendorid"),
        case("GET", "/vendors/%F0%9F%98%80/endpoints", None, 400, "vendorid"),
        case("GET", "/vendors/v%FF/endpoints", None, 400, "vendorid"),
        case(
            "GET",
            "/vendors/v0/endpoints?secret=1",
            None,
            400,
            "unknown query parameter",
        ),
        // DELETE /vendors/{v}/endpoints/{e}.
        case(
            "DELETE",
            "/vendors/v-hooks/endpoints/no-such-endpoint",
            None,
            404,
            "no endpoint",
        ),
        case("DELETE", "/vendors/..%2Fx/endpoints/e1", None, 400, "vendorid"),
        case(
            "DELETE",
            "/vendors/v-hooks/endpoints/..%2F..%2Fx",
            None,
            400,
            "endpointid",
        ),
        case("DELETE", "/vendors/v-hooks/endpoints/e%00", None, 400, "endpointid"),
        case("DELETE", "/vendors/v-hooks/endpoints/%FF", None, 400, "endpointid"),
        case(
            "DELETE",
            "/vendors/v-hooks/endpoints/x?force=1",
            None,
            400,
            "unknown query parameter",
        ),
        // Unknown routes and methods.
        case("GET", "/nope", None, 404, "no such route"),
        case("GET", "/order/", None, 404, "no such route"),
        case("GET", "/ORDER", None, 404, "no such route"),
        case("GET", "/orders", None, 404, "no such route"),
        case("GET", "/orders/a/b/c", None, 404, "no such route"),
        case("GET", "/vendors/v0", None, 404, "no such route"),
        case("POST", "/admin", Some("{}"), 404, "no such route"),
        case("PUT", "/order", Some(&ok_order), 405, "method not allowed"),
        case("DELETE", "/order", None, 405, "method not allowed"),
        case("PATCH", "/orders/seed-order-0", Some("{}"), 405, "method not allowed"),
        case("DELETE", "/orders/seed-order-0", None, 405, "method not allowed"),
        case(
            "POST",
            "/orders/seed-order-0/invoice",
            Some("{}"),
            405,
            "method not allowed",
        ),
        case("POST", "/executions", Some("{}"), 405, "method not allowed"),
        case(
            "DELETE",
            "/invoice?objectKey=invoices/a/v/o.json",
            None,
            405,
            "method not allowed",
        ),
        case("PUT", "/vendors/v0/endpoints", Some("{}"), 405, "method not allowed"),
        case("GET", "/vendors/v-hooks/endpoints/e1", None, 405, "method not allowed"),
        case("POST", "/healthz", Some("{}"), 405, "method not allowed"),
    ];
    // The same refusals through a body that arrives with no Content-Type at all.
    c.push(Http {
        method: "POST",
        path: "/order".into(),
        headers: vec![],
        body: Some(b"{".to_vec()),
        status: 400,
        needle: "invalid order",
    });
    c
}

async fn send(http: &reqwest::Client, base: &str, c: &Http) -> (u16, String, Option<String>) {
    let method = reqwest::Method::from_bytes(c.method.as_bytes()).unwrap();
    let mut req = http.request(method, format!("{base}{}", c.path));
    for (name, value) in &c.headers {
        req = req.header(*name, reqwest::header::HeaderValue::from_bytes(value).unwrap());
    }
    if let Some(b) = &c.body {
        req = req.body(b.clone());
    }
    let r = req
        .send()
        .await
        .unwrap_or_else(|e| panic!("{} {}: {e}", c.method, c.path));
    let status = r.status().as_u16();
    let ct = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    (status, r.text().await.unwrap_or_default(), ct)
}

/// Sends bytes exactly as given (no URL normalisation), for `..` segments and raw bytes.
async fn raw(addr: &str, request: &[u8]) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(request).await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut out)).await;
    let text = String::from_utf8_lossy(&out).to_string();
    let status = text.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = text.split("\r\n\r\n").nth(1).unwrap_or_default().to_string();
    (status, body)
}

/// A refusal must be JSON `{"error":{"code","message"}}` with a message naming the problem.
fn check_error(what: &str, status: u16, want: u16, body: &str, needle: &str, failures: &mut Vec<String>) {
    if status != want {
        failures.push(format!("{what}: HTTP {status}, expected {want}: {body}"));
        return;
    }
    let v: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let code = v["error"]["code"].as_str().unwrap_or_default();
    let message = v["error"]["message"].as_str().unwrap_or_default();
    if code.is_empty() || message.is_empty() {
        failures.push(format!("{what}: HTTP {status} without a JSON error body: {body:?}"));
    } else if !message.to_lowercase().contains(needle) {
        failures.push(format!("{what}: message {message:?} does not mention {needle:?}"));
    }
}

fn files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().to_string()))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// Waits until two snapshots a second apart agree: the seeded orders are done and consumed.
async fn quiet(db: &Path) -> std::collections::BTreeMap<String, Vec<String>> {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut last = snapshot(db);
    loop {
        tokio::time::sleep(Duration::from_millis(1200)).await;
        let now = snapshot(db);
        if now == last {
            return now;
        }
        assert!(Instant::now() < deadline, "the store never went quiet");
        last = now;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_http_and_cli_input_is_refused_and_writes_nothing() {
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let db = data.join("skipline.db");
    // No --allow-private-endpoints: the SSRF guard is on.
    let server = Serve::start(&data, &[], &dir.path().join("serve.log"));
    let http = http_client();
    let base = server.base.clone();

    // Seed some state so that "nothing changed" is about real rows: three completed orders for
    // a vendor without endpoints, and an endpoint for a vendor that never gets an order (it is
    // stored, never contacted).
    for i in 0..3 {
        let r = http
            .post(format!("{base}/order"))
            .header("Idempotency-Key", format!("seed-order-{i}"))
            .json(&order_body(&format!("acct-seed-{i}"), "v-seed"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 202);
    }
    let r = http
        .post(format!("{base}/vendors/v-hooks/endpoints"))
        .json(&json!({"url": "https://hooks.example.com/ticket"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    for i in 0..3 {
        let deadline = Instant::now() + Duration::from_secs(30);
        while get(&http, &format!("{base}/orders/seed-order-{i}")).await.unwrap().1["status"] != "SUCCEEDED" {
            assert!(Instant::now() < deadline, "seed order {i} did not complete");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let before = quiet(&db).await;
    let files_before = files(&data);
    assert!(before["executions"].len() == 3 && before["vendor_endpoints"].len() == 1);

    // HTTP.
    let mut failures = Vec::new();
    let cases = http_cases();
    for c in &cases {
        let (status, body, ct) = send(&http, &base, c).await;
        let what = format!("{} {}", c.method, c.path.chars().take(80).collect::<String>());
        if status >= 500 {
            failures.push(format!("{what}: server error {status}: {body}"));
            continue;
        }
        if !ct.as_deref().unwrap_or_default().starts_with("application/json") {
            failures.push(format!(
                "{what}: HTTP {status} with Content-Type {ct:?}, not JSON: {body:?}"
            ));
            continue;
        }
        check_error(&what, status, c.status, &body, c.needle, &mut failures);
    }
    // Dot segments and raw bytes, as sent by a client that does not normalise URLs. A request
    // line the HTTP parser itself refuses gets its bare 400 (no JSON is possible there).
    let addr = base.trim_start_matches("http://");
    let raw_cases: [(&str, u16, &str); 5] = [
        ("GET /orders/../../etc/passwd HTTP/1.1", 404, "no such route"),
        ("GET /orders/.. HTTP/1.1", 400, "orderid"),
        ("GET /orders/./seed-order-0/../x HTTP/1.1", 404, "no such route"),
        (
            "GET /invoice?objectKey=invoices/../../../etc/passwd HTTP/1.1",
            400,
            "objectkey",
        ),
        (
            "DELETE /vendors/../vendors/v-hooks/endpoints/x HTTP/1.1",
            404,
            "no such route",
        ),
    ];
    for (line, want, needle) in raw_cases {
        let request = format!("{line}\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        let (status, body) = raw(addr, request.as_bytes()).await;
        check_error(&format!("raw {line}"), status, want, &body, needle, &mut failures);
    }
    for request in [
        &b"GET /orders/a\x00b HTTP/1.1\r\nConnection: close\r\n\r\n"[..],
        b"GET /orders/a\x7fb HTTP/1.1\r\nConnection: close\r\n\r\n",
        b"GET /orders/a b HTTP/1.1\r\nConnection: close\r\n\r\n",
        b"POST /order HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\nConnection: close\r\n\r\n{\"a\":",
        b"POST /order HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\nConnection: close\r\n\r\nzz\r\n",
    ] {
        let (status, body) = raw(addr, request).await;
        if !(400..500).contains(&status) {
            failures.push(format!(
                "raw {:?}: expected a 4xx from the HTTP parser, got {status} {body:?}",
                String::from_utf8_lossy(request)
            ));
        }
    }

    // CLI, against the same data dir while the server runs.
    let cli_cases = cli_cases(dir.path());
    for (args, needle) in &cli_cases {
        let out = cli(&data, &args.iter().map(String::as_str).collect::<Vec<_>>());
        let stderr = String::from_utf8_lossy(&out.stderr);
        let what = format!("skipline {}", args.join(" ").chars().take(100).collect::<String>());
        let code = out.status.code();
        let line = stderr.lines().find(|l| l.starts_with("error:")).unwrap_or_default();
        if stderr.contains("panicked") || code.is_none() {
            failures.push(format!("{what}: crashed ({:?}): {stderr}", out.status));
        } else if code == Some(0) {
            failures.push(format!(
                "{what}: exit 0; stdout {}",
                String::from_utf8_lossy(&out.stdout)
            ));
        } else if line.is_empty() {
            failures.push(format!("{what}: exit {code:?} without an `error:` line: {stderr}"));
        } else if !stderr.to_lowercase().contains(needle) {
            failures.push(format!("{what}: {line:?} does not mention {needle:?}"));
        }
    }

    // Commands given a data dir that does not exist must not create it when refusing.
    let missing = dir.path().join("never-created");
    let missing_s = missing.to_str().unwrap();
    for args in [
        vec!["order", "status", "o-1"],
        vec!["executions", "list"],
        vec!["queues", "peek", "notify-vendor"],
        vec![
            "vendors",
            "subscribe",
            "--vendor-id",
            "v0",
            "--endpoint",
            "https://10.0.0.1/",
        ],
        vec![
            "vendors",
            "subscribe",
            "--vendor-id",
            "v0",
            "--endpoint",
            "https://shop.example.com/",
            "--secret",
            "short",
        ],
        vec!["order", "place", "--body", "{"],
        vec![
            "order",
            "place",
            "--account",
            "a0",
            "--vendor",
            "v0",
            "--coffee",
            "Latte",
            "--price",
            "4",
            "--idempotency-key",
            "../k",
        ],
        vec!["topic", "subscribe", "--protocol", "sqs", "--endpoint", "../q"],
        vec![
            "topic",
            "subscribe",
            "--protocol",
            "https",
            "--endpoint",
            "https://169.254.169.254/",
        ],
        vec![
            "topic",
            "subscribe",
            "--protocol",
            "sqs",
            "--endpoint",
            "q",
            "--filter-policy",
            "{",
        ],
        vec![
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--state-machine",
            "/nonexistent/machine.json",
        ],
        vec!["serve", "--bind", "127.0.0.1:0", "--backend", "aws"],
    ] {
        let out = cli(&missing, &args);
        if out.status.code() == Some(0) || missing.exists() {
            failures.push(format!(
                "skipline --data-dir {missing_s} {}: exit {:?}, data dir created: {} ({})",
                args.join(" "),
                out.status.code(),
                missing.exists(),
                String::from_utf8_lossy(&out.stderr).trim()
            ));
            let _ = std::fs::remove_dir_all(&missing);
        }
    }

    let after = snapshot(&db);
    let files_after = files(&data);
    println!(
        "hostile input: {} HTTP cases, {} raw requests, {} CLI cases, {} failures, {:.1}s",
        cases.len(),
        raw_cases.len() + 5,
        cli_cases.len(),
        failures.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(
        failures.is_empty() && before == after,
        "{} refusals were wrong:\n{}\nstore changes:\n{}",
        failures.len(),
        failures.join("\n"),
        diff(&before, &after)
    );
    assert_eq!(files_before, files_after, "the data dir's files changed");
    let mut server = server;
    assert!(server.alive(), "the server survived:\n{}", server.log_tail());
}

/// (arguments after `--data-dir D`, lower-case text stderr must contain).
fn cli_cases(tmp: &Path) -> Vec<(Vec<String>, &'static str)> {
    let bad_machine = tmp.join("bad.asl.json");
    std::fs::write(&bad_machine, r#"{"StartAt":"X","States":{"X":{"Type":"Map"}}}"#).unwrap();
    let big_body = tmp.join("big.json");
    std::fs::write(&big_body, " ".repeat(20_000) + "{}").unwrap();
    let bad_machine = format!("--state-machine={}", bad_machine.display());
    let big_body = format!("@{}", big_body.display());
    let order = |account: &str, vendor: &str| order_body(account, vendor).to_string();
    let nested = format!("{}{}", "{\"a\":".repeat(200), "1".to_owned() + &"}".repeat(200));
    let too_many_keys = r#"{"a":["1"],"b":["1"],"c":["1"],"d":["1"],"e":["1"],"f":["1"]}"#;
    let attrs = r#"{"eventtype":{"DataType":"String","StringValue":"OrderCompleted"}}"#;
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let c: Vec<(Vec<String>, &'static str)> = vec![
        // Unknown commands and flags.
        (s(&["nope"]), "unrecognized subcommand"),
        (s(&["order", "cancel", "x"]), "unrecognized subcommand"),
        (s(&["queues", "list", "--all"]), "unexpected argument"),
        (s(&["topic", "list-subscriptions", "extra"]), "unexpected argument"),
        (s(&["--backend", "gcp", "queues", "list"]), "invalid value"),
        // serve flags.
        (s(&["serve", "--bind", "notanaddr"]), "invalid value"),
        (s(&["serve", "--bind", "127.0.0.1:99999"]), "invalid value"),
        (s(&["serve", "--bind", ""]), "invalid value"),
        (s(&["serve", "--visibility-timeout", "1h"]), "unknown unit"),
        (s(&["serve", "--visibility-timeout", "-1s"]), "unexpected argument"),
        (s(&["serve", "--visibility-timeout=-1s"]), "not a duration"),
        (s(&["serve", "--visibility-timeout", "25h"]), "invalid value"),
        (s(&["serve", "--visibility-timeout", "1e999"]), "unknown unit"),
        (
            s(&["serve", "--webhook-timeout", "99999999999999999999"]),
            "out of range",
        ),
        (s(&["serve", "--visibility-timeout", "NaNs"]), "invalid value"),
        (s(&["serve", "--webhook-timeout", "abc"]), "not a duration"),
        (s(&["serve", "--max-receive-count", "0"]), "invalid value"),
        (s(&["serve", "--max-receive-count", "1001"]), "invalid value"),
        (s(&["serve", "--max-receive-count", "-1"]), "unexpected argument"),
        (s(&["serve", "--allow-private-endpoints=yes"]), "unexpected value"),
        (
            s(&[
                "serve",
                "--bind",
                "127.0.0.1:0",
                "--state-machine",
                "/nonexistent/m.json",
            ]),
            "state machine",
        ),
        // A valid file on a served data dir: refused as a second server, before anything opens.
        (s(&["serve", "--bind", "127.0.0.1:0", &bad_machine]), "already running"),
        (
            s(&["serve", "--bind", "127.0.0.1:0", "--backend", "aws"]),
            "embedded backend",
        ),
        // A second serve on a data dir that is being served, with different queue settings:
        // it must be refused before it touches the running server's queues.
        (
            s(&[
                "serve",
                "--bind",
                "127.0.0.1:0",
                "--visibility-timeout",
                "7s",
                "--max-receive-count",
                "9",
            ]),
            "already running",
        ),
        // order place.
        (s(&["order", "place", "--body", "{"]), "invalid order"),
        (s(&["order", "place", "--body", "[]"]), "invalid order"),
        (s(&["order", "place", "--body", &nested]), "invalid order"),
        (
            s(&["order", "place", "--body", "@/nonexistent/body.json"]),
            "cannot open",
        ),
        (s(&["order", "place", "--body", &big_body]), "limit is 16384"),
        (s(&["order", "place", "--body", &order("../../etc", "v0")]), "accountid"),
        (s(&["order", "place", "--body", &order("a0", "v\u{0}")]), "vendorid"),
        (s(&["order", "place", "--body", &order("a0", "в0")]), "vendorid"),
        (
            s(&[
                "order",
                "place",
                "--body",
                &order("a0", "v0").replace("\"city\"", "\"ci\\u0000ty\""),
            ]),
            "unknown field",
        ),
        (
            s(&[
                "order",
                "place",
                "--account",
                "../x",
                "--vendor",
                "v0",
                "--coffee",
                "Latte",
                "--price",
                "4",
            ]),
            "accountid",
        ),
        (
            s(&[
                "order",
                "place",
                "--account",
                "a0",
                "--vendor",
                "v0",
                "--coffee",
                "Latte",
                "--price",
                "abc",
            ]),
            "unitprice",
        ),
        (
            s(&[
                "order",
                "place",
                "--account",
                "a0",
                "--vendor",
                "v0",
                "--coffee",
                "Latte",
                "--price",
                "4",
                "--quantity",
                "0",
            ]),
            "quantity",
        ),
        (
            s(&[
                "order",
                "place",
                "--account",
                "a0",
                "--vendor",
                "v0",
                "--coffee",
                "Latte",
                "--price",
                "4",
                "--quantity",
                "21",
            ]),
            "quantity",
        ),
        (
            s(&[
                "order",
                "place",
                "--account",
                "a0",
                "--vendor",
                "v0",
                "--coffee",
                "Latte",
                "--price",
                "4",
                "--quantity",
                "x",
            ]),
            "invalid value",
        ),
        (
            s(&[
                "order",
                "place",
                "--account",
                "a0",
                "--vendor",
                "v0",
                "--coffee",
                "Latte",
                "--price",
                "4",
                "--size",
                "Bucket",
            ]),
            "coffeesize",
        ),
        (
            s(&[
                "order",
                "place",
                "--account",
                "a0",
                "--vendor",
                "v0",
                "--coffee",
                "Lat\u{7}te",
                "--price",
                "4",
            ]),
            "coffeetype",
        ),
        (
            s(&[
                "order",
                "place",
                "--account",
                "a0",
                "--vendor",
                "v0",
                "--coffee",
                "Latte",
                "--price",
                "4",
                "--city",
                "\n",
            ]),
            "city",
        ),
        (s(&["order", "place", "--account", "a0", "--vendor", "v0"]), "required"),
        (s(&["order", "place"]), "give --body"),
        (
            s(&["order", "place", "--body", "{}", "--account", "a0"]),
            "cannot be used with",
        ),
        (
            s(&[
                "order",
                "place",
                "--account",
                "a0",
                "--vendor",
                "v0",
                "--coffee",
                "Latte",
                "--price",
                "4",
                "--idempotency-key",
                "../k",
            ]),
            "idempotency-key",
        ),
        (
            s(&[
                "order",
                "place",
                "--account",
                "a0",
                "--vendor",
                "v0",
                "--coffee",
                "Latte",
                "--price",
                "4",
                "--idempotency-key",
                SEED_KEY,
            ]),
            "already used",
        ),
        // order status.
        (s(&["order", "status", "../../etc/passwd"]), "orderid"),
        (s(&["order", "status", ""]), "orderid"),
        (s(&["order", "status", "a\u{1}b"]), "orderid"),
        (s(&["order", "status", "заказ"]), "orderid"),
        (s(&["order", "status", "unknown-order"]), "no order"),
        (s(&["order", "status"]), "required"),
        (s(&["order", "status", "a", "b"]), "unexpected argument"),
        // executions.
        (s(&["executions", "list", "--status", "DONE"]), "invalid value"),
        (s(&["executions", "list", "--limit", "0"]), "invalid value"),
        (s(&["executions", "list", "--limit", "1001"]), "invalid value"),
        (s(&["executions", "list", "--limit", "many"]), "invalid value"),
        (s(&["executions", "show", "../x"]), "orderid"),
        (s(&["executions", "show", "unknown-order"]), "no order"),
        (s(&["executions", "show"]), "required"),
        // vendors subscribe: private ranges without --allow-private-endpoints.
        (
            s(&[
                "vendors",
                "subscribe",
                "--vendor-id",
                "v0",
                "--endpoint",
                "https://10.1.2.3/hook",
            ]),
            "private",
        ),
        (
            s(&[
                "vendors",
                "subscribe",
                "--vendor-id",
                "v0",
                "--endpoint",
                "https://172.16.5.4/hook",
            ]),
            "private",
        ),
        (
            s(&[
                "vendors",
                "subscribe",
                "--vendor-id",
                "v0",
                "--endpoint",
                "https://192.168.0.10/hook",
            ]),
            "private",
        ),
        (
            s(&[
                "vendors",
                "subscribe",
                "--vendor-id",
                "v0",
                "--endpoint",
                "https://169.254.169.254/",
            ]),
            "link-local",
        ),
        (
            s(&[
                "vendors",
                "subscribe",
                "--vendor-id",
                "v0",
                "--endpoint",
                "https://[::1]/hook",
            ]),
            "loopback",
        ),
        (
            s(&[
                "vendors",
                "subscribe",
                "--vendor-id",
                "v0",
                "--endpoint",
                "https://localhost/hook",
            ]),
            "local name",
        ),
        (
            s(&[
                "vendors",
                "subscribe",
                "--vendor-id",
                "v0",
                "--endpoint",
                "http://shop.example.com/hook",
            ]),
            "https://",
        ),
        (
            s(&["vendors", "subscribe", "--vendor-id", "v0", "--endpoint", "not a url"]),
            "url",
        ),
        (
            s(&[
                "vendors",
                "subscribe",
                "--vendor-id",
                "../v",
                "--endpoint",
                "https://shop.example.com/",
            ]),
            "vendorid",
        ),
        (
            s(&[
                "vendors",
                "subscribe",
                "--vendor-id",
                "v\u{1}",
                "--endpoint",
                "https://shop.example.com/",
            ]),
            "vendorid",
        ),
        (
            s(&[
                "vendors",
                "subscribe",
                "--vendor-id",
                "v0",
                "--endpoint",
                "https://shop.example.com/",
                "--secret",
                "short",
            ]),
            "secret",
        ),
        (s(&["vendors", "subscribe", "--vendor-id", "v0"]), "required"),
        // vendors list / unsubscribe.
        (s(&["vendors", "list", "--vendor-id", "../x"]), "vendorid"),
        (s(&["vendors", "list", "--vendor-id", "ｖ"]), "vendorid"),
        (
            s(&["vendors", "unsubscribe", "--vendor-id", "../x", "--endpoint-id", "e1"]),
            "vendorid",
        ),
        (
            s(&[
                "vendors",
                "unsubscribe",
                "--vendor-id",
                "v-hooks",
                "--endpoint-id",
                "../e",
            ]),
            "endpointid",
        ),
        (
            s(&[
                "vendors",
                "unsubscribe",
                "--vendor-id",
                "v-hooks",
                "--endpoint-id",
                "no-such-endpoint",
            ]),
            "no endpoint",
        ),
        (s(&["vendors", "unsubscribe", "--vendor-id", "v-hooks"]), "required"),
        // topic test-filter: invalid policies and attributes.
        (
            s(&["topic", "test-filter", "--policy", "{", "--attributes", attrs]),
            "failed to parse json",
        ),
        (
            s(&["topic", "test-filter", "--policy", "[]", "--attributes", attrs]),
            "must be a json object",
        ),
        (
            s(&["topic", "test-filter", "--policy", "{}", "--attributes", attrs]),
            "empty",
        ),
        (
            s(&["topic", "test-filter", "--policy", r#"{"a":[]}"#, "--attributes", attrs]),
            "empty arrays",
        ),
        (
            s(&[
                "topic",
                "test-filter",
                "--policy",
                r#"{"a":"b"}"#,
                "--attributes",
                attrs,
            ]),
            "object or an array",
        ),
        (
            s(&["topic", "test-filter", "--policy", too_many_keys, "--attributes", attrs]),
            "more than 5 keys",
        ),
        (
            s(&[
                "topic",
                "test-filter",
                "--policy",
                r#"{"a":{"b":["c"]}}"#,
                "--attributes",
                attrs,
            ]),
            "nested",
        ),
        (
            s(&["topic", "test-filter", "--policy", &nested, "--body", "{}"]),
            "filterpolicy",
        ),
        (
            s(&[
                "topic",
                "test-filter",
                "--policy",
                r#"{"a":[{"numeric":[">"]}]}"#,
                "--attributes",
                attrs,
            ]),
            "numeric",
        ),
        (
            s(&[
                "topic",
                "test-filter",
                "--policy",
                r#"{"a":[{"prefix":5}]}"#,
                "--attributes",
                attrs,
            ]),
            "prefix",
        ),
        (
            s(&[
                "topic",
                "test-filter",
                "--policy",
                r#"{"a":[{"nope":1}]}"#,
                "--attributes",
                attrs,
            ]),
            "filterpolicy",
        ),
        (
            s(&[
                "topic",
                "test-filter",
                "--policy",
                "@/nonexistent/p.json",
                "--attributes",
                attrs,
            ]),
            "cannot open",
        ),
        (
            s(&[
                "topic",
                "test-filter",
                "--policy",
                r#"{"a":["b"]}"#,
                "--attributes",
                "{",
            ]),
            "--attributes",
        ),
        (
            s(&[
                "topic",
                "test-filter",
                "--policy",
                r#"{"a":["b"]}"#,
                "--attributes",
                r#"{"a":{"DataType":"Nope","StringValue":"x"}}"#,
            ]),
            "datatype",
        ),
        (
            s(&[
                "topic",
                "test-filter",
                "--policy",
                r#"{"a":["b"]}"#,
                "--attributes",
                r#"{"a":{"DataType":"Number","StringValue":"NaN"}}"#,
            ]),
            "not a number",
        ),
        (
            s(&[
                "topic",
                "test-filter",
                "--policy",
                r#"{"a":["b"]}"#,
                "--attributes",
                r#"{"a":{"DataType":"String.Array","StringValue":"x"}}"#,
            ]),
            "json array",
        ),
        (s(&["topic", "test-filter", "--policy", r#"{"a":["b"]}"#]), "required"),
        (
            s(&[
                "topic",
                "test-filter",
                "--policy",
                r#"{"a":["b"]}"#,
                "--attributes",
                attrs,
                "--body",
                "{}",
            ]),
            "cannot be used with",
        ),
        (
            s(&[
                "topic",
                "test-filter",
                "--policy",
                r#"{"a":["b"]}"#,
                "--attributes",
                attrs,
                "--scope",
                "Everything",
            ]),
            "invalid value",
        ),
        // topic subscribe.
        (
            s(&["topic", "subscribe", "--protocol", "sqs", "--endpoint", "../etc"]),
            "queue name",
        ),
        (
            s(&["topic", "subscribe", "--protocol", "sqs", "--endpoint", "q\u{1b}"]),
            "queue name",
        ),
        (
            s(&["topic", "subscribe", "--protocol", "sqs", "--endpoint", "no-such-queue"]),
            "does not exist",
        ),
        (
            s(&["topic", "subscribe", "--protocol", "sqs", "--endpoint", "notify-vendor"]),
            "already subscribed",
        ),
        (
            s(&[
                "topic",
                "subscribe",
                "--protocol",
                "http",
                "--endpoint",
                "http://10.0.0.1/",
            ]),
            "https://",
        ),
        (
            s(&[
                "topic",
                "subscribe",
                "--protocol",
                "https",
                "--endpoint",
                "https://192.168.1.1/",
            ]),
            "private",
        ),
        (
            s(&[
                "topic",
                "subscribe",
                "--protocol",
                "https",
                "--endpoint",
                "https://[::1]/",
            ]),
            "loopback",
        ),
        (
            s(&[
                "topic",
                "subscribe",
                "--protocol",
                "https",
                "--endpoint",
                "http://shop.example.com/",
            ]),
            "https://",
        ),
        (
            s(&["topic", "subscribe", "--protocol", "ftp", "--endpoint", "x"]),
            "invalid value",
        ),
        (
            s(&[
                "topic",
                "subscribe",
                "--protocol",
                "sqs",
                "--endpoint",
                "clear-cart",
                "--filter-policy",
                "{",
            ]),
            "failed to parse json",
        ),
        (
            s(&[
                "topic",
                "subscribe",
                "--protocol",
                "sqs",
                "--endpoint",
                "clear-cart",
                "--filter-policy",
                r#"{"a":{"b":["c"]}}"#,
            ]),
            "nested",
        ),
        (
            s(&[
                "topic",
                "subscribe",
                "--protocol",
                "sqs",
                "--endpoint",
                "clear-cart",
                "--filter-policy-scope",
                "Body",
            ]),
            "invalid value",
        ),
        (s(&["topic", "subscribe", "--protocol", "sqs"]), "required"),
        // queues peek / replay.
        (s(&["queues", "peek", "../etc"]), "does not exist"),
        (s(&["queues", "peek", "no-such-queue"]), "does not exist"),
        (s(&["queues", "peek", "notify-vendor", "--max", "0"]), "invalid value"),
        (
            s(&["queues", "peek", "notify-vendor", "--max", "1001"]),
            "invalid value",
        ),
        (s(&["queues", "peek"]), "required"),
        (s(&["queues", "replay", "--from", "no-such-queue"]), "does not exist"),
        (s(&["queues", "replay", "--from", "../x"]), "does not exist"),
        (
            s(&["queues", "replay", "--from", "notify-vendor"]),
            "no queue dead-letters",
        ),
        (
            s(&["queues", "replay", "--from", "notify-vendor-dlq", "--to", "../x"]),
            "does not exist",
        ),
        (
            s(&[
                "queues",
                "replay",
                "--from",
                "notify-vendor-dlq",
                "--to",
                "notify-vendor-dlq",
            ]),
            "must differ",
        ),
        (
            s(&[
                "queues",
                "replay",
                "--from",
                "notify-vendor-dlq",
                "--to",
                "clear-cart",
                "--to-topic",
            ]),
            "cannot be used with",
        ),
        (
            s(&["queues", "replay", "--from", "notify-vendor-dlq", "--max", "0"]),
            "invalid value",
        ),
        (
            s(&[
                "queues",
                "replay",
                "--from",
                "notify-vendor-dlq",
                "--filter-policy",
                "{",
            ]),
            "failed to parse json",
        ),
        (s(&["queues", "replay"]), "required"),
    ];
    // argv cannot carry NUL; JSON-escaped NULs above reach the validators instead.
    assert!(c.iter().all(|(a, _)| a.iter().all(|x| !x.contains('\0'))));
    c
}
