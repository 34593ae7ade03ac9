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
use support::{Serve, cli, diff, http_client, order_body, snapshot};

/// A key already used by a seeded order: reusing it with another body must be a 409.
const SEED_KEY: &str = "seed-order-0";
/// The route the webhook cases subscribe through, and a public URL it accepts.
const V0_ENDPOINTS: &str = "/vendors/v0/endpoints";
const ROTATE: &str = "/vendors/v-hooks/endpoints/no-such-endpoint/rotate-secret";
const SHOP: &str = "https://shop.example.com/";

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

impl Http {
    /// Sets `name` to `value`, replacing any value it had.
    fn header(mut self, name: &'static str, value: &[u8]) -> Self {
        self.headers.retain(|(n, _)| *n != name);
        self.headers.push((name, value.to_vec()));
        self
    }

    /// Sends no `name` header at all.
    fn without_header(mut self, name: &'static str) -> Self {
        self.headers.retain(|(n, _)| *n != name);
        self
    }
}

// Row builders: one per route (and per kind of mutation), so each row of the table is one case.

fn get(path: impl Into<String>, status: u16, needle: &'static str) -> Http {
    case("GET", path, None, status, needle)
}

fn delete(path: impl Into<String>, status: u16, needle: &'static str) -> Http {
    case("DELETE", path, None, status, needle)
}

fn post(path: impl Into<String>, body: &str, status: u16, needle: &'static str) -> Http {
    case("POST", path, Some(body), status, needle)
}

/// POST /order with `body` as it is.
fn post_order(body: &str, status: u16, needle: &'static str) -> Http {
    post("/order", body, status, needle)
}

/// POST /order with the seed order, `pointer` replaced by `value`.
fn order_field(pointer: &str, value: Value, status: u16, needle: &'static str) -> Http {
    post_order(&order_with(pointer, value), status, needle)
}

/// POST /order with the seed order, `field` removed from the object at `parent`.
fn order_missing(parent: &str, field: &str, status: u16, needle: &'static str) -> Http {
    post_order(&order_without(parent, field), status, needle)
}

/// POST /order with valid details plus one more key: it must be an unknown field.
fn details_extra_key(key: &str, value: Value) -> Http {
    let mut details = json!({"coffeetype": "L", "coffeesize": "Large", "unitprice": "4", "quantity": 1});
    details.as_object_mut().unwrap().insert(key.to_string(), value);
    order_field("/order/details", details, 400, "unknown field")
}

/// POST /order with the seed order and `name: value` as a header.
fn order_header(name: &'static str, value: &[u8], status: u16, needle: &'static str) -> Http {
    post_order(&seed_order(), status, needle).header(name, value)
}

/// POST /vendors/v0/endpoints with `{"url": url}`.
fn subscribe_url(url: &str, status: u16, needle: &'static str) -> Http {
    post(V0_ENDPOINTS, &vendor_url(url), status, needle)
}

/// POST `path` (a vendor's endpoints route) with a valid `{"url": SHOP}`.
fn subscribe_at(path: impl Into<String>, status: u16, needle: &'static str) -> Http {
    post(path, &vendor_url(SHOP), status, needle)
}

fn no_route(method: &'static str, path: &str, body: Option<&str>) -> Http {
    case(method, path, body, 404, "no such route")
}

fn not_allowed(method: &'static str, path: &str, body: Option<&str>) -> Http {
    case(method, path, body, 405, "method not allowed")
}

fn vendor_url(url: &str) -> String {
    json!({"url": url}).to_string()
}

/// `{"url": SHOP, <extra>}`, as text, for fields beside the url.
fn shop_and(extra: &str) -> String {
    format!(r#"{{"url":"{SHOP}",{extra}}}"#)
}

fn seed_order() -> String {
    order_body("acct-h", "v-seed").to_string()
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
    let ok_order = seed_order();
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
    let long_url = format!("{SHOP}{}", "a".repeat(3000));
    let duplicate_order = format!("{{\"order\":{},{}", order_body("a", "v")["order"], &ok_order[1..]);
    let extra_field = format!("{{\"extra\":1,{}", &ok_order[1..]);

    vec![
        // POST /order: syntax, size, nesting.
        post_order("{", 400, "invalid order"),
        post_order("", 400, "invalid order"),
        case("POST", "/order", None, 400, "invalid order"),
        post_order("null", 400, "invalid order"),
        post_order("[]", 400, "invalid order"),
        post_order("\"order\"", 400, "invalid order"),
        post_order("{\"order\":{}} trailing", 400, "invalid order"),
        post_order("\u{feff}{\"order\":{}}", 400, "invalid order"),
        post_order(&over_limit, 413, "larger than 16384"),
        post_order(&exactly_over, 413, "larger than 16384"),
        post_order(&nested_array, 400, "invalid order"),
        post_order(&deep_object, 400, "invalid order"),
        post_order(&nested_in_field, 400, "invalid type: sequence"),
        // Wrong types.
        order_field("/order/accountid", json!(5), 400, "invalid type: integer"),
        order_field("/order/vendorid", json!(null), 400, "invalid type: null"),
        order_field("/order/details/quantity", json!("abc"), 400, "quantity"),
        order_field("/order/details/quantity", json!(1.5), 400, "quantity"),
        order_field("/order/details/quantity", json!(-1), 400, "quantity"),
        order_field("/order/details/quantity", json!(0), 400, "quantity"),
        order_field("/order/details/quantity", json!(21), 400, "quantity"),
        order_field("/order/details/quantity", json!(u64::MAX), 400, "quantity"),
        order_field("/order/details/unitprice", json!(true), 400, "pricein"),
        order_field("/order/details/unitprice", json!("-1"), 400, "unitprice"),
        order_field("/order/details/unitprice", json!("1e400"), 400, "unitprice"),
        order_field("/order/details/unitprice", json!("NaN"), 400, "unitprice"),
        order_field("/order/details/unitprice", json!(0), 400, "unitprice"),
        order_field("/order/details/unitprice", json!("4.555"), 400, "unitprice"),
        order_field("/order/details/coffeesize", json!("Bucket"), 400, "coffeesize"),
        order_field("/order/details", json!(null), 400, "details"),
        order_field("/order/eventtype", json!("new_order"), 400, "expected a sequence"),
        order_field(
            "/order/eventtype",
            json!(["old_order"]),
            400,
            "unknown variant `old_order`",
        ),
        order_field("/order/eventtype", json!([]), 400, "eventtype"),
        order_field("/order/orderdate", json!("yesterday"), 400, "orderdate"),
        order_field("/order", json!([]), 400, "invalid order"),
        // Path traversal, control characters and unicode in ids and text.
        order_field("/order/accountid", json!("../../etc/passwd"), 400, "accountid"),
        order_field("/order/vendorid", json!(".."), 400, "vendorid"),
        order_field("/order/vendorid", json!("v/../../x"), 400, "vendorid"),
        order_field("/order/accountid", json!("a\u{0}b"), 400, "accountid"),
        order_field("/order/accountid", json!("a\nb"), 400, "accountid"),
        order_field("/order/accountid", json!("аккаунт"), 400, "accountid"),
        order_field("/order/vendorid", json!("v\u{202e}0"), 400, "vendorid"),
        order_field("/order/vendorid", json!("ｖ０"), 400, "vendorid"),
        order_field("/order/accountid", json!(long_id), 400, "accountid"),
        order_field("/order/accountid", json!(""), 400, "accountid"),
        order_field("/order/city", json!("Syd\u{0}ney"), 400, "city"),
        order_field("/order/city", json!("Syd\u{1b}[31mney"), 400, "city"),
        order_field("/order/details/coffeetype", json!("☕".repeat(65)), 400, "coffeetype"),
        order_field("/order/city", json!("   "), 400, "city"),
        // Control characters and oddities in object keys; missing and extra fields.
        details_extra_key("qu\u{0}antity", json!(2)),
        details_extra_key("../x", json!(2)),
        details_extra_key("ｑuantity", json!(2)),
        details_extra_key("__proto__", json!({})),
        post_order(&duplicate_order, 400, "duplicate field"),
        post_order(&extra_field, 400, "unknown field `extra`"),
        order_missing("/order", "vendorid", 400, "vendorid"),
        order_missing("/order/details", "quantity", 400, "quantity"),
        post_order("{}", 400, "order"),
        post("/order?accountid=a0", &ok_order, 400, "unknown query parameter"),
        post("/order?../=1", &ok_order, 400, "unknown query parameter"),
        // Headers.
        order_header("content-type", b"text/plain", 415, "content-type"),
        order_header(
            "content-type",
            b"application/x-www-form-urlencoded",
            415,
            "content-type",
        ),
        order_header("idempotency-key", b"../../x", 400, "idempotency-key"),
        order_header("idempotency-key", b"", 400, "idempotency-key"),
        order_header("idempotency-key", long_id.as_bytes(), 400, "idempotency-key"),
        order_header("idempotency-key", b"k\xffey", 400, "idempotency-key"),
        order_header("idempotency-key", "ключ".as_bytes(), 400, "idempotency-key"),
        order_header("idempotency-key", SEED_KEY.as_bytes(), 409, "already used"),
        // GET /order.
        get("/order", 400, "required"),
        get("/order?accountid=a0", 400, "required"),
        get("/order?vendorid=v0", 400, "required"),
        get(
            "/order?accountid=a0&vendorid=v0&extra=1",
            400,
            "unknown query parameter",
        ),
        get("/order?accountid=a0&accountid=a1&vendorid=v0", 400, "more than once"),
        get("/order?accountid=%00&vendorid=v0", 400, "accountid"),
        get("/order?accountid=..%2F..%2Fetc&vendorid=v0", 400, "accountid"),
        get("/order?accountid=a0&vendorid=%D0%B2", 400, "vendorid"),
        get("/order?accountid=&vendorid=v0", 400, "accountid"),
        get("/order?accountid=a%FF&vendorid=v0", 400, "accountid"),
        get(long_query, 400, "too long"),
        // GET /orders/{id} and /orders/{id}/invoice.
        get("/orders/..%2F..%2Fetc%2Fpasswd", 400, "orderid"),
        get("/orders/a%00b", 400, "orderid"),
        get("/orders/a%0Ab", 400, "orderid"),
        get("/orders/%D0%B7%D0%B0%D0%BA%D0%B0%D0%B7", 400, "orderid"),
        get(format!("/orders/{long_id}"), 400, "orderid"),
        get("/orders/unknown-order", 404, "no order"),
        get("/orders/seed-order-0?history=1", 400, "unknown query parameter"),
        get("/orders/a%FFb", 400, "orderid"),
        get("/orders/..%2F..%2Fetc/invoice", 400, "orderid"),
        get("/orders/a%00b/invoice", 400, "orderid"),
        get("/orders/a%FFb/invoice", 400, "orderid"),
        get("/orders/unknown-order/invoice", 404, "no order"),
        get("/orders/seed-order-0/invoice?x=1", 400, "unknown query parameter"),
        // GET /invoice.
        get("/invoice", 400, "objectkey"),
        get("/invoice?objectKey=../../etc/passwd", 400, "objectkey"),
        get("/invoice?objectKey=invoices/../v/o.json", 400, "objectkey"),
        get("/invoice?objectKey=invoices/a/v/o.txt", 400, "objectkey"),
        get("/invoice?objectKey=invoices/a/v/o%00.json", 400, "objectkey"),
        get("/invoice?objectKey=invoices/%D0%B0/v/o.json", 400, "objectkey"),
        get("/invoice?objectKey=%2Fetc%2Fpasswd", 400, "objectkey"),
        get("/invoice?objectKey=invoices/a/v/none.json", 404, "no invoice"),
        get("/invoice?objectKey=a&objectKey=b", 400, "more than once"),
        get("/invoice?objectkey=invoices/a/v/o.json", 400, "unknown query parameter"),
        // GET /executions.
        get("/executions?status=DONE", 400, "status"),
        get("/executions?status=", 400, "status"),
        get("/executions?status=RUNNING%00", 400, "status"),
        get("/executions?limit=0", 400, "limit"),
        get("/executions?limit=1001", 400, "limit"),
        get("/executions?limit=-1", 400, "limit"),
        get("/executions?limit=1e3", 400, "limit"),
        get("/executions?limit=99999999999999999999999", 400, "limit"),
        get("/executions?offset=1", 400, "unknown query parameter"),
        get("/executions?limit=1&limit=2", 400, "more than once"),
        // POST /vendors/{v}/endpoints: private ranges (no --allow-private-endpoints here).
        subscribe_url("https://10.0.0.8/hook", 400, "private"),
        subscribe_url("https://10.255.255.255/", 400, "private"),
        subscribe_url("https://172.16.0.1/hook", 400, "private"),
        subscribe_url("https://172.31.255.1/hook", 400, "private"),
        subscribe_url("https://192.168.1.1/hook", 400, "private"),
        subscribe_url("https://169.254.169.254/latest/meta-data/", 400, "link-local"),
        subscribe_url("https://[::1]/hook", 400, "loopback"),
        subscribe_url("https://[::ffff:10.0.0.1]/hook", 400, "private"),
        subscribe_url("https://[fd00::1]/hook", 400, "private"),
        subscribe_url("https://[fe80::1]/hook", 400, "link-local"),
        subscribe_url("https://localhost/hook", 400, "local name"),
        subscribe_url("https://LOCALHOST./hook", 400, "local name"),
        subscribe_url("https://api.localhost/hook", 400, "local name"),
        subscribe_url("https://127.0.0.1:8080/hook", 400, "loopback"),
        subscribe_url("https://2130706433/hook", 400, "loopback"),
        subscribe_url("https://0x7f.1/hook", 400, "loopback"),
        subscribe_url("https://0.0.0.0/hook", 400, "0.0.0.0"),
        subscribe_url("https://metadata.google.internal/", 400, "local name"),
        subscribe_url("http://shop.example.com/hook", 400, "https://"),
        subscribe_url("ftp://shop.example.com/hook", 400, "https://"),
        subscribe_url("file:///etc/passwd", 400, "https://"),
        subscribe_url("https://user:pw@shop.example.com/", 400, "credentials"),
        subscribe_url("https://shop.example.com/\nhook", 400, "control"),
        subscribe_url("not a url", 400, "url"),
        subscribe_url(&long_url, 400, "longer than"),
        // ... malformed bodies, wrong types, missing and extra fields, bad secrets.
        post(V0_ENDPOINTS, "{", 400, "body must be"),
        case("POST", V0_ENDPOINTS, None, 400, "body must be"),
        post(V0_ENDPOINTS, r#"{"url":5}"#, 400, "body must be"),
        post(V0_ENDPOINTS, "{}", 400, "missing field `url`"),
        post(V0_ENDPOINTS, &shop_and(r#""admin":true"#), 400, "unknown field `admin`"),
        post(V0_ENDPOINTS, &shop_and(r#""secret":"short""#), 400, "secret"),
        post(
            V0_ENDPOINTS,
            &shop_and(r#""secret":"has whitespace in the middle""#),
            400,
            "secret",
        ),
        post(V0_ENDPOINTS, &shop_and(r#""secret":42"#), 400, "body must be"),
        post(V0_ENDPOINTS, &nested_array, 400, "body must be"),
        post(V0_ENDPOINTS, &over_limit, 413, "larger than 16384"),
        subscribe_at(V0_ENDPOINTS, 415, "content-type").header("content-type", b"text/plain"),
        subscribe_at("/vendors/..%2F..%2Fx/endpoints", 400, "vendorid"),
        subscribe_at("/vendors/v%000/endpoints", 400, "vendorid"),
        subscribe_at("/vendors/%D0%B2/endpoints", 400, "vendorid"),
        subscribe_at(format!("/vendors/{long_id}/endpoints"), 400, "vendorid"),
        subscribe_at("/vendors/v0/endpoints?x=1", 400, "unknown query parameter"),
        // GET /vendors/{v}/endpoints.
        get("/vendors/..%2Fx/endpoints", 400, "vendorid"),
        get("/vendors/v%0A0/endpoints", 400, "vendorid"),
        get("/vendors/%F0%9F%98%80/endpoints", 400, "vendorid"),
        get("/vendors/v%FF/endpoints", 400, "vendorid"),
        get("/vendors/v0/endpoints?secret=1", 400, "unknown query parameter"),
        // DELETE /vendors/{v}/endpoints/{e}.
        delete("/vendors/v-hooks/endpoints/no-such-endpoint", 404, "no endpoint"),
        delete("/vendors/..%2Fx/endpoints/e1", 400, "vendorid"),
        delete("/vendors/v-hooks/endpoints/..%2F..%2Fx", 400, "endpointid"),
        delete("/vendors/v-hooks/endpoints/e%00", 400, "endpointid"),
        delete("/vendors/v-hooks/endpoints/%FF", 400, "endpointid"),
        delete("/vendors/v-hooks/endpoints/x?force=1", 400, "unknown query parameter"),
        // POST /vendors/{v}/endpoints/{e}/rotate-secret.
        post(ROTATE, r#"{"secret":"short"}"#, 400, "whsec_"),
        post(ROTATE, r#"{"secret":"whsec_c2hvcnQ="}"#, 400, "24- to 64-byte"),
        post(ROTATE, r#"{"graceSeconds":604801}"#, 400, "at most 168 hours"),
        post(ROTATE, r#"{"graceSeconds":-1}"#, 400, "body must be"),
        post(ROTATE, r#"{"grace":"1h"}"#, 400, "unknown field"),
        post(ROTATE, "[]", 400, "body must be"),
        post(ROTATE, "{", 400, "body must be"),
        post(
            "/vendors/v-hooks/endpoints/no-such-endpoint/rotate-secret",
            "{}",
            404,
            "no endpoint",
        ),
        post("/vendors/..%2Fx/endpoints/e1/rotate-secret", "{}", 400, "vendorid"),
        post("/vendors/v-hooks/endpoints/e%00/rotate-secret", "{}", 400, "endpointid"),
        post(format!("{ROTATE}?now=1"), "{}", 400, "unknown query parameter"),
        case("POST", ROTATE, Some("{}"), 415, "content-type").header("content-type", b"text/plain"),
        not_allowed("GET", ROTATE, None),
        // POST /vendors/{v}/endpoints/{e}/enable.
        post(
            "/vendors/v-hooks/endpoints/no-such-endpoint/enable",
            "",
            404,
            "no endpoint",
        ),
        post("/vendors/..%2Fx/endpoints/e1/enable", "", 400, "vendorid"),
        post("/vendors/v-hooks/endpoints/e%00/enable", "", 400, "endpointid"),
        post(
            "/vendors/v-hooks/endpoints/e1/enable?force=1",
            "",
            400,
            "unknown query parameter",
        ),
        not_allowed("GET", "/vendors/v-hooks/endpoints/e1/enable", None),
        // GET /vendors/{v}/deliveries.
        get("/vendors/..%2Fx/deliveries", 400, "vendorid"),
        get("/vendors/v-hooks/deliveries?endpoint=..%2Fe", 400, "endpointid"),
        get("/vendors/v-hooks/deliveries?since=yesterday", 400, "since"),
        get("/vendors/v-hooks/deliveries?until=2026-13-01T00:00:00Z", 400, "until"),
        get("/vendors/v-hooks/deliveries?since=1h&until=2h", 400, "must be before"),
        get("/vendors/v-hooks/deliveries?since=99999999999999d", 400, "since"),
        get("/vendors/v-hooks/deliveries?failed=yes", 400, "failed must be"),
        get("/vendors/v-hooks/deliveries?limit=0", 400, "limit"),
        get("/vendors/v-hooks/deliveries?limit=1001", 400, "limit"),
        get("/vendors/v-hooks/deliveries?secret=1", 400, "unknown query parameter"),
        get("/vendors/v-hooks/deliveries?limit=1&limit=2", 400, "more than once"),
        not_allowed("DELETE", "/vendors/v-hooks/deliveries", None),
        // POST /vendors/{v}/redeliver.
        post("/vendors/v-hooks/redeliver", "{}", 400, "give the event id"),
        post(
            "/vendors/v-hooks/redeliver",
            r#"{"event":"e","since":"1h"}"#,
            400,
            "not both",
        ),
        post(
            "/vendors/v-hooks/redeliver",
            r#"{"until":"1h"}"#,
            400,
            "give the event id",
        ),
        post("/vendors/v-hooks/redeliver", r#"{"event":"../x"}"#, 400, "event id"),
        post("/vendors/v-hooks/redeliver", r#"{"since":"soon"}"#, 400, "since"),
        post(
            "/vendors/v-hooks/redeliver",
            r#"{"since":"1h","endpoint":"../e"}"#,
            400,
            "endpointid",
        ),
        post(
            "/vendors/v-hooks/redeliver",
            r#"{"since":"1h","endpoint":"no-such-endpoint"}"#,
            404,
            "no endpoint",
        ),
        post(
            "/vendors/v-hooks/redeliver",
            r#"{"event":"nope.OrderCompleted"}"#,
            404,
            "no ticket",
        ),
        post(
            "/vendors/v-nobody/redeliver",
            r#"{"since":"1h"}"#,
            404,
            "no enabled endpoints",
        ),
        post(
            "/vendors/v-hooks/redeliver",
            r#"{"since":"1h","all":true}"#,
            400,
            "unknown field",
        ),
        post("/vendors/v-hooks/redeliver", "[]", 400, "body must be"),
        post("/vendors/v-hooks/redeliver", "", 400, "body must be"),
        post("/vendors/..%2Fx/redeliver", r#"{"since":"1h"}"#, 400, "vendorid"),
        case(
            "POST",
            "/vendors/v-hooks/redeliver",
            Some(r#"{"since":"1h"}"#),
            415,
            "content-type",
        )
        .header("content-type", b"text/plain"),
        not_allowed("GET", "/vendors/v-hooks/redeliver", None),
        // Admin: GET/POST /topic/subscriptions, GET /queues, peek and replay.
        get("/topic/subscriptions?all=1", 400, "unknown query parameter"),
        post(
            "/topic/subscriptions",
            r#"{"protocol":"ftp","endpoint":"x"}"#,
            400,
            "body must be",
        ),
        post("/topic/subscriptions", r#"{"protocol":"sqs"}"#, 400, "endpoint"),
        post(
            "/topic/subscriptions",
            r#"{"protocol":"sqs","endpoint":"bad name!"}"#,
            400,
            "queue name",
        ),
        post(
            "/topic/subscriptions",
            r#"{"protocol":"https","endpoint":"https://10.0.0.1/x"}"#,
            400,
            "private",
        ),
        post(
            "/topic/subscriptions",
            r#"{"protocol":"sqs","endpoint":"clear-cart","filterPolicyScope":"Body"}"#,
            400,
            "filterpolicyscope",
        ),
        post(
            "/topic/subscriptions",
            r#"{"protocol":"sqs","endpoint":"clear-cart","filterPolicy":{"a":"b"}}"#,
            400,
            "filterpolicy",
        ),
        post(
            "/topic/subscriptions",
            r#"{"protocol":"sqs","endpoint":"clear-cart","extra":1}"#,
            400,
            "unknown field",
        ),
        post("/topic/subscriptions", "[]", 400, "body must be"),
        get("/queues?x=1", 400, "unknown query parameter"),
        get("/queues/no-such-queue/messages", 404, "does not exist"),
        get("/queues/clear-cart-dlq/messages?max=0", 400, "max must be"),
        get("/queues/clear-cart-dlq/messages?max=1001", 400, "max must be"),
        get("/queues/clear-cart-dlq/messages?peek=1", 400, "unknown query parameter"),
        post(
            "/queues/notify-vendor-dlq/replay",
            r#"{"to":"clear-cart","toTopic":true}"#,
            400,
            "not both",
        ),
        post("/queues/notify-vendor-dlq/replay", r#"{"max":0}"#, 400, "max must be"),
        post("/queues/notify-vendor-dlq/replay", r#"{"max":-1}"#, 400, "body must be"),
        post(
            "/queues/notify-vendor-dlq/replay",
            r#"{"filterPolicy":{"a":"b"}}"#,
            400,
            "filterpolicy",
        ),
        post(
            "/queues/notify-vendor-dlq/replay",
            r#"{"bogus":1}"#,
            400,
            "unknown field",
        ),
        post("/queues/notify-vendor-dlq/replay", "[1]", 400, "body must be"),
        post("/queues/no-such-dlq/replay", "{}", 404, "does not exist"),
        post(
            "/queues/notify-vendor-dlq/replay",
            r#"{"to":"no-such-queue"}"#,
            404,
            "does not exist",
        ),
        not_allowed("DELETE", "/queues/clear-cart-dlq/messages", None),
        not_allowed("GET", "/queues/clear-cart-dlq/replay", None),
        // Unknown routes and methods.
        no_route("GET", "/nope", None),
        no_route("GET", "/order/", None),
        no_route("GET", "/ORDER", None),
        no_route("GET", "/orders", None),
        no_route("GET", "/orders/a/b/c", None),
        no_route("GET", "/vendors/v0", None),
        no_route("POST", "/admin", Some("{}")),
        not_allowed("PUT", "/order", Some(&ok_order)),
        not_allowed("DELETE", "/order", None),
        not_allowed("PATCH", "/orders/seed-order-0", Some("{}")),
        not_allowed("DELETE", "/orders/seed-order-0", None),
        not_allowed("POST", "/orders/seed-order-0/invoice", Some("{}")),
        not_allowed("POST", "/executions", Some("{}")),
        not_allowed("DELETE", "/invoice?objectKey=invoices/a/v/o.json", None),
        not_allowed("PUT", V0_ENDPOINTS, Some("{}")),
        not_allowed("GET", "/vendors/v-hooks/endpoints/e1", None),
        not_allowed("POST", "/healthz", Some("{}")),
        not_allowed("POST", "/readyz", Some("{}")),
        get("/readyz?verbose=1", 400, "unknown query parameter"),
        get("/metrics?name=x", 400, "unknown query parameter"),
        // The live feed, the flow and the console's session.
        get("/events?since=1", 400, "unknown query parameter"),
        not_allowed("POST", "/events", Some("{}")),
        get("/flow?x=1", 400, "unknown query parameter"),
        get("/console?x=1", 400, "unknown query parameter"),
        not_allowed("PUT", "/console/session", Some("{}")),
        post("/console/session", "", 400, "json object"),
        post("/console/session", "[]", 400, "json object"),
        post("/console/session", r#"{"token":1}"#, 400, "invalid type"),
        post("/console/session", r#"{"token":"x","extra":1}"#, 400, "unknown field"),
        post(
            "/console/session?x=1",
            r#"{"token":"x"}"#,
            400,
            "unknown query parameter",
        ),
        not_allowed("POST", "/metrics", Some("{}")),
        // The same refusals through a body that arrives with no Content-Type at all.
        post_order("{", 400, "invalid order").without_header("content-type"),
    ]
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
        let url = format!("{base}/orders/seed-order-{i}");
        while support::get(&http, &url).await.unwrap().1["status"] != "SUCCEEDED" {
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

    // Commands given a data dir that does not exist must not create it when refusing, a restore
    // that had to make it to decrypt into included.
    let missing = dir.path().join("never-created");
    let missing_s = missing.to_str().unwrap();
    let sealed = sealed(dir.path());
    for args in [
        restore(&sealed.passphrase, &[]),
        restore(&sealed.passphrase, &["--passphrase-file", &sealed.wrong_pass]),
        restore(&sealed.passphrase, &["--passphrase-file", &sealed.good_pass]),
        restore(&sealed.truncated, &["--passphrase-file", &sealed.good_pass]),
        restore(&sealed.to_key, &["--identity", &sealed.stranger]),
        s(&["order", "status", "o-1"]),
        s(&["executions", "list"]),
        peek("notify-vendor", &[]),
        vendor_subscribe("v0", "https://10.0.0.1/"),
        plus(vendor_subscribe("v0", SHOP), &["--secret", "short"]),
        place_body("{"),
        place(&[("--idempotency-key", "../k")]),
        topic_subscribe("sqs", "../q"),
        topic_subscribe("https", "https://169.254.169.254/"),
        plus(topic_subscribe("sqs", "q"), &["--filter-policy", "{"]),
        serve_any_port(&["--state-machine", "/nonexistent/machine.json"]),
        serve_any_port(&["--backend", "aws"]),
    ] {
        let out = cli(&missing, &args.iter().map(String::as_str).collect::<Vec<_>>());
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

// CLI row builders: each gives the arguments after `--data-dir D`.

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

/// `v` followed by `extra`.
fn plus(mut v: Vec<String>, extra: &[&str]) -> Vec<String> {
    v.extend(s(extra));
    v
}

fn serve(flags: &[&str]) -> Vec<String> {
    plus(s(&["serve"]), flags)
}

/// `serve --bind 127.0.0.1:0` and `extra`.
fn serve_any_port(extra: &[&str]) -> Vec<String> {
    plus(serve(&["--bind", "127.0.0.1:0"]), extra)
}

fn place_body(body: &str) -> Vec<String> {
    s(&["order", "place", "--body", body])
}

/// `order place --account a0 --vendor v0 --coffee Latte --price 4`, each `(flag, value)` of
/// `flags` replacing that flag's value where it has one, else appended in turn.
fn place(flags: &[(&str, &str)]) -> Vec<String> {
    let mut all = vec![
        ("--account", "a0"),
        ("--vendor", "v0"),
        ("--coffee", "Latte"),
        ("--price", "4"),
    ];
    for &(flag, value) in flags {
        match all.iter_mut().find(|(f, _)| *f == flag) {
            Some(slot) => slot.1 = value,
            None => all.push((flag, value)),
        }
    }
    let mut argv = s(&["order", "place"]);
    for (flag, value) in all {
        argv.extend(s(&[flag, value]));
    }
    argv
}

fn vendor_subscribe(vendor: &str, endpoint: &str) -> Vec<String> {
    s(&["vendors", "subscribe", "--vendor-id", vendor, "--endpoint", endpoint])
}

fn vendor_unsubscribe(vendor: &str, endpoint_id: &str) -> Vec<String> {
    s(&[
        "vendors",
        "unsubscribe",
        "--vendor-id",
        vendor,
        "--endpoint-id",
        endpoint_id,
    ])
}

/// `topic test-filter --policy <policy>` and `extra`.
fn test_filter_with(policy: &str, extra: &[&str]) -> Vec<String> {
    plus(s(&["topic", "test-filter", "--policy", policy]), extra)
}

fn test_filter(policy: &str, attributes: &str) -> Vec<String> {
    test_filter_with(policy, &["--attributes", attributes])
}

/// A message attribute `a` of `data_type` with `value`, as --attributes JSON.
fn attr(data_type: &str, value: &str) -> String {
    format!(r#"{{"a":{{"DataType":"{data_type}","StringValue":"{value}"}}}}"#)
}

fn topic_subscribe(protocol: &str, endpoint: &str) -> Vec<String> {
    s(&["topic", "subscribe", "--protocol", protocol, "--endpoint", endpoint])
}

/// `queues peek <queue>` and `extra`.
fn peek(queue: &str, extra: &[&str]) -> Vec<String> {
    plus(s(&["queues", "peek", queue]), extra)
}

/// `queues replay --from <from>` and `extra`.
fn replay(from: &str, extra: &[&str]) -> Vec<String> {
    plus(s(&["queues", "replay", "--from", from]), extra)
}

/// `vendors <command> --vendor <vendor>` and `extra`.
fn vendor_cmd(command: &str, vendor: &str, extra: &[&str]) -> Vec<String> {
    plus(s(&["vendors", command, "--vendor", vendor]), extra)
}

/// (arguments after `--data-dir D`, lower-case text stderr must contain).
fn rotate(vendor: &str, endpoint: &str, extra: &[&str]) -> Vec<String> {
    plus(
        s(&[
            "vendors",
            "rotate-secret",
            "--vendor-id",
            vendor,
            "--endpoint-id",
            endpoint,
        ]),
        extra,
    )
}

/// The passphrase the sealed fixtures are encrypted with.
const BACKUP_PASSPHRASE: &str = "correct horse battery staple";

/// Files for the encrypted backup cases, written into `tmp`; each field is a path.
struct Sealed {
    /// age, passphrase, over bytes that are not a database.
    passphrase: String,
    /// The same, cut short: age refuses it while decrypting.
    truncated: String,
    /// age, to a public key nobody here holds.
    to_key: String,
    /// An identity file with a key that matches nothing.
    stranger: String,
    good_pass: String,
    wrong_pass: String,
    short_pass: String,
    empty_pass: String,
}

fn sealed(tmp: &Path) -> Sealed {
    use std::io::Write;
    let path = |name: &str| tmp.join(name).display().to_string();
    let seal = |recipient: &dyn age::Recipient, name: &str| {
        let encryptor = age::Encryptor::with_recipients(std::iter::once(recipient)).unwrap();
        let mut bytes = Vec::new();
        let mut w = encryptor.wrap_output(&mut bytes).unwrap();
        w.write_all(&b"not a database, sealed ".repeat(5_000)).unwrap();
        w.finish().unwrap();
        std::fs::write(tmp.join(name), &bytes).unwrap();
        bytes
    };
    // A low work factor: these only have to be refused, quickly.
    let mut scrypt = age::scrypt::Recipient::new(BACKUP_PASSPHRASE.to_string().into());
    scrypt.set_work_factor(10);
    let bytes = seal(&scrypt, "sealed-passphrase.age");
    std::fs::write(tmp.join("sealed-truncated.age"), &bytes[..bytes.len() / 2]).unwrap();
    seal(&age::x25519::Identity::generate().to_public(), "sealed-to-key.age");
    {
        use age::secrecy::ExposeSecret;
        let stranger = age::x25519::Identity::generate().to_string();
        std::fs::write(tmp.join("stranger.key"), format!("{}\n", stranger.expose_secret())).unwrap();
    }
    std::fs::write(tmp.join("good.pass"), format!("{BACKUP_PASSPHRASE}\n")).unwrap();
    std::fs::write(tmp.join("wrong.pass"), "incorrect horse battery staple\n").unwrap();
    std::fs::write(tmp.join("short.pass"), "hunter2\n").unwrap();
    std::fs::write(tmp.join("empty.pass"), "").unwrap();
    Sealed {
        passphrase: path("sealed-passphrase.age"),
        truncated: path("sealed-truncated.age"),
        to_key: path("sealed-to-key.age"),
        stranger: path("stranger.key"),
        good_pass: path("good.pass"),
        wrong_pass: path("wrong.pass"),
        short_pass: path("short.pass"),
        empty_pass: path("empty.pass"),
    }
}

/// `restore --from <from>` and `extra`.
fn restore(from: &str, extra: &[&str]) -> Vec<String> {
    plus(s(&["restore", "--from", from]), extra)
}

/// `backup --to <to>` and `extra`.
fn backup(to: &str, extra: &[&str]) -> Vec<String> {
    plus(s(&["backup", "--to", to]), extra)
}

fn cli_cases(tmp: &Path) -> Vec<(Vec<String>, &'static str)> {
    let bad_machine = tmp.join("bad.asl.json");
    std::fs::write(&bad_machine, r#"{"StartAt":"X","States":{"X":{"Type":"Map"}}}"#).unwrap();
    let big_body = tmp.join("big.json");
    std::fs::write(&big_body, " ".repeat(20_000) + "{}").unwrap();
    let bad_machine = format!("--state-machine={}", bad_machine.display());
    let big_body = format!("@{}", big_body.display());
    let existing = tmp.join("existing-backup.db");
    std::fs::write(&existing, b"keep me").unwrap();
    let existing = existing.display().to_string();
    let no_dir = tmp.join("no-such-dir").join("b.db").display().to_string();
    let missing = tmp.join("missing.db").display().to_string();
    let sealed = sealed(tmp);
    let new_backup = tmp.join("never-written.age").display().to_string();
    let recipient = age::x25519::Identity::generate().to_public().to_string();
    // serve --config files that are refused, each with what it says is wrong.
    let config = |name: &str, text: &[u8]| {
        let path = tmp.join(name);
        std::fs::write(&path, text).unwrap();
        serve(&["--config", path.to_str().unwrap()])
    };
    let not_pem = tmp.join("not.pem");
    std::fs::write(&not_pem, "not a certificate").unwrap();
    let not_pem = not_pem.display().to_string();
    let order = |account: &str, vendor: &str| order_body(account, vendor).to_string();
    let nul_in_key = order("a0", "v0").replace("\"city\"", "\"ci\\u0000ty\"");
    let nested = format!("{}{}", "{\"a\":".repeat(200), "1".to_owned() + &"}".repeat(200));
    let too_many_keys = r#"{"a":["1"],"b":["1"],"c":["1"],"d":["1"],"e":["1"],"f":["1"]}"#;
    let attrs = r#"{"eventtype":{"DataType":"String","StringValue":"OrderCompleted"}}"#;
    // A valid policy, for the cases about the other arguments.
    let policy = r#"{"a":["b"]}"#;
    let good_filter = || test_filter(policy, attrs);
    // A policy with a nested key: refused.
    let nested_key = r#"{"a":{"b":["c"]}}"#;
    let dlq = "notify-vendor-dlq";
    let clear_cart = || topic_subscribe("sqs", "clear-cart");
    let c: Vec<(Vec<String>, &'static str)> = vec![
        // Unknown commands and flags.
        (s(&["nope"]), "unrecognized subcommand"),
        (s(&["order", "cancel", "x"]), "unrecognized subcommand"),
        (s(&["queues", "list", "--all"]), "unexpected argument"),
        (s(&["topic", "list-subscriptions", "extra"]), "unexpected argument"),
        (s(&["--backend", "gcp", "queues", "list"]), "invalid value"),
        // serve flags.
        (serve(&["--bind", "notanaddr"]), "invalid value"),
        (serve(&["--bind", "127.0.0.1:99999"]), "invalid value"),
        (serve(&["--bind", ""]), "invalid value"),
        (serve(&["--visibility-timeout", "1w"]), "unknown unit"),
        (serve(&["--visibility-timeout", "-1s"]), "unexpected argument"),
        (serve(&["--visibility-timeout=-1s"]), "not a duration"),
        (serve(&["--visibility-timeout", "25h"]), "invalid value"),
        (serve(&["--visibility-timeout", "1e999"]), "unknown unit"),
        (serve(&["--webhook-timeout", "99999999999999999999"]), "out of range"),
        (serve(&["--visibility-timeout", "NaNs"]), "invalid value"),
        (serve(&["--webhook-timeout", "abc"]), "not a duration"),
        (serve(&["--max-receive-count", "0"]), "invalid value"),
        (serve(&["--max-receive-count", "1001"]), "invalid value"),
        (serve(&["--max-receive-count", "-1"]), "unexpected argument"),
        (serve(&["--allow-private-endpoints=yes"]), "unexpected value"),
        (
            serve_any_port(&["--state-machine", "/nonexistent/m.json"]),
            "state machine",
        ),
        // A valid file on a served data dir: refused as a second server, before anything opens.
        (serve_any_port(&[&bad_machine]), "already running"),
        (serve_any_port(&["--backend", "aws"]), "embedded backend"),
        // A second serve on a data dir that is being served, with different queue settings:
        // it must be refused before it touches the running server's queues.
        (
            serve_any_port(&["--visibility-timeout", "7s", "--max-receive-count", "9"]),
            "already running",
        ),
        // order place.
        (place_body("{"), "invalid order"),
        (place_body("[]"), "invalid order"),
        (place_body(&nested), "invalid order"),
        (place_body("@/nonexistent/body.json"), "cannot open"),
        (place_body(&big_body), "limit is 16384"),
        (place_body(&order("../../etc", "v0")), "accountid"),
        (place_body(&order("a0", "v\u{0}")), "vendorid"),
        (place_body(&order("a0", "в0")), "vendorid"),
        (place_body(&nul_in_key), "unknown field"),
        (place(&[("--account", "../x")]), "accountid"),
        (place(&[("--price", "abc")]), "unitprice"),
        (place(&[("--quantity", "0")]), "quantity"),
        (place(&[("--quantity", "21")]), "quantity"),
        (place(&[("--quantity", "x")]), "invalid value"),
        (place(&[("--size", "Bucket")]), "coffeesize"),
        (place(&[("--coffee", "Lat\u{7}te")]), "coffeetype"),
        (place(&[("--city", "\n")]), "city"),
        (s(&["order", "place", "--account", "a0", "--vendor", "v0"]), "required"),
        (s(&["order", "place"]), "give --body"),
        (plus(place_body("{}"), &["--account", "a0"]), "cannot be used with"),
        (place(&[("--idempotency-key", "../k")]), "idempotency-key"),
        (place(&[("--idempotency-key", SEED_KEY)]), "already used"),
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
        (vendor_subscribe("v0", "https://10.1.2.3/hook"), "private"),
        (vendor_subscribe("v0", "https://172.16.5.4/hook"), "private"),
        (vendor_subscribe("v0", "https://192.168.0.10/hook"), "private"),
        (vendor_subscribe("v0", "https://169.254.169.254/"), "link-local"),
        (vendor_subscribe("v0", "https://[::1]/hook"), "loopback"),
        (vendor_subscribe("v0", "https://localhost/hook"), "local name"),
        (vendor_subscribe("v0", "http://shop.example.com/hook"), "https://"),
        (vendor_subscribe("v0", "not a url"), "url"),
        (vendor_subscribe("../v", SHOP), "vendorid"),
        (vendor_subscribe("v\u{1}", SHOP), "vendorid"),
        (plus(vendor_subscribe("v0", SHOP), &["--secret", "short"]), "secret"),
        (s(&["vendors", "subscribe", "--vendor-id", "v0"]), "required"),
        // vendors list / unsubscribe.
        (s(&["vendors", "list", "--vendor-id", "../x"]), "vendorid"),
        (s(&["vendors", "list", "--vendor-id", "ｖ"]), "vendorid"),
        (vendor_unsubscribe("../x", "e1"), "vendorid"),
        (vendor_unsubscribe("v-hooks", "../e"), "endpointid"),
        (vendor_unsubscribe("v-hooks", "no-such-endpoint"), "no endpoint"),
        (s(&["vendors", "unsubscribe", "--vendor-id", "v-hooks"]), "required"),
        // vendors rotate-secret.
        (rotate("../x", "e1", &[]), "vendorid"),
        (rotate("v-hooks", "../e", &[]), "endpointid"),
        (rotate("v-hooks", "no-such-endpoint", &[]), "no endpoint"),
        (rotate("v-hooks", "e1", &["--secret", "short"]), "whsec_"),
        (rotate("v-hooks", "e1", &["--grace", "8d"]), "0 to 7d"),
        (rotate("v-hooks", "e1", &["--grace", "1w"]), "unknown unit"),
        (rotate("v-hooks", "e1", &["--grace=-1h"]), "not a duration"),
        (s(&["vendors", "rotate-secret", "--vendor-id", "v-hooks"]), "required"),
        // vendors enable / deliveries / redeliver.
        (vendor_cmd("enable", "../x", &["--endpoint", "e1"]), "vendorid"),
        (
            vendor_cmd("enable", "v-hooks", &["--endpoint", "no-such-endpoint"]),
            "no endpoint",
        ),
        (vendor_cmd("enable", "v-hooks", &[]), "required"),
        (vendor_cmd("deliveries", "../x", &[]), "vendorid"),
        (vendor_cmd("deliveries", "v-hooks", &["--since", "yesterday"]), "since"),
        (
            vendor_cmd("deliveries", "v-hooks", &["--since", "1h", "--until", "2h"]),
            "must be before",
        ),
        (
            vendor_cmd("deliveries", "v-hooks", &["--limit", "0"]),
            "0 is not in 1..=1000",
        ),
        (s(&["vendors", "deliveries"]), "required"),
        (vendor_cmd("redeliver", "v-hooks", &[]), "required"),
        (
            vendor_cmd("redeliver", "v-hooks", &["--event", "e", "--since", "1h"]),
            "cannot be used with",
        ),
        (vendor_cmd("redeliver", "v-hooks", &["--until", "1h"]), "required"),
        (vendor_cmd("redeliver", "v-hooks", &["--event", "a b"]), "event id"),
        (
            vendor_cmd("redeliver", "v-hooks", &["--event", "nope.OrderCompleted"]),
            "no ticket",
        ),
        (
            vendor_cmd(
                "redeliver",
                "v-hooks",
                &["--since", "1h", "--endpoint", "no-such-endpoint"],
            ),
            "no endpoint",
        ),
        // tokens.
        (
            s(&["tokens", "create", "--name", "a b", "--scope", "admin"]),
            "token name",
        ),
        (
            s(&["tokens", "create", "--name", &"n".repeat(65), "--scope", "admin"]),
            "token name",
        ),
        (s(&["tokens", "create", "--name", "ok"]), "required"),
        (
            s(&["tokens", "create", "--name", "ok", "--scope", "root"]),
            "invalid value",
        ),
        (s(&["tokens", "revoke", "--name", "no-such-token"]), "no active token"),
        (s(&["tokens", "revoke", "--name", "../x"]), "token name"),
        (s(&["--backend", "aws", "tokens", "list"]), "api gateway"),
        // backup / restore.
        (s(&["backup", "--to", &existing]), "already exists"),
        (s(&["backup", "--to", &no_dir]), "no such file"),
        (s(&["backup"]), "required"),
        (s(&["restore", "--from", &missing]), "does not exist"),
        (s(&["restore", "--from", &existing]), "not a readable sqlite database"),
        (s(&["restore"]), "required"),
        (s(&["--backend", "aws", "backup", "--to", &missing]), "embedded backend"),
        // Encrypted backups: keys refused before anything is written; never a passphrase value.
        (
            backup(&new_backup, &["--passphrase-file", &sealed.short_pass]),
            "use at least 12",
        ),
        (
            backup(&new_backup, &["--passphrase-file", &sealed.empty_pass]),
            "is empty",
        ),
        (backup(&new_backup, &["--passphrase-file", &missing]), "cannot read"),
        (
            backup(&new_backup, &["--recipient", "age1nope"]),
            "not an age public key",
        ),
        (
            backup(&new_backup, &["--recipient", &sealed.good_pass]),
            "not an age public key",
        ),
        (
            backup(
                &new_backup,
                &["--recipient", &recipient, "--passphrase-file", &sealed.good_pass],
            ),
            "cannot be used with",
        ),
        (
            backup(&new_backup, &["--passphrase", BACKUP_PASSPHRASE]),
            "unexpected argument",
        ),
        (
            backup(&existing, &["--passphrase-file", &sealed.good_pass]),
            "already exists",
        ),
        (restore(&sealed.passphrase, &[]), "--passphrase-file"),
        (
            restore(&sealed.passphrase, &["--passphrase-file", &sealed.wrong_pass]),
            "wrong passphrase",
        ),
        (
            restore(&sealed.passphrase, &["--identity", &sealed.stranger]),
            "--passphrase-file",
        ),
        (
            restore(&sealed.passphrase, &["--passphrase-file", &missing]),
            "cannot read",
        ),
        // The right passphrase, but the served data dir is not empty: refused before any payload.
        (
            restore(&sealed.passphrase, &["--passphrase-file", &sealed.good_pass]),
            "not empty",
        ),
        (restore(&sealed.to_key, &[]), "--identity"),
        (
            restore(&sealed.to_key, &["--identity", &sealed.stranger]),
            "no --identity matches",
        ),
        (restore(&sealed.to_key, &["--identity", &existing]), "non-identity data"),
        (restore(&sealed.to_key, &["--identity", &missing]), "cannot read"),
        (
            restore(&existing, &["--passphrase-file", &sealed.good_pass]),
            "not encrypted",
        ),
        // serve's delivery flags, refused before anything opens.
        (s(&["serve", "--delivery-schedule", "13h"]), "12h"),
        (s(&["serve", "--delivery-schedule", "5s,,1m"]), "not a delay"),
        (s(&["serve", "--delivery-schedule", ""]), "not a delay"),
        (s(&["serve", "--disable-after", "31d"]), "0 to 30d"),
        // serve's TLS, shutdown and config settings, refused before anything opens.
        (serve(&["--tls-cert", &not_pem]), "--tls-key"),
        (serve(&["--tls-key", &not_pem]), "--tls-cert"),
        (
            serve(&["--tls-cert", &not_pem, "--tls-key", &not_pem]),
            "no pem certificate",
        ),
        (serve(&["--tls-cert", &missing, "--tls-key", &missing]), "--tls-cert"),
        (serve(&["--shutdown-timeout", "0s"]), "more than 0"),
        (serve(&["--shutdown-timeout", "11m"]), "up to 10m"),
        (serve(&["--config", &missing]), "cannot open"),
        (config("syntax.toml", b"bind = "), "expected"),
        (config("unknown.toml", b"bnid = \"127.0.0.1:1\""), "unknown setting"),
        (config("value.toml", b"bind = \"somewhere\""), "--bind"),
        (config("range.toml", b"token-rate = 0"), "--token-rate"),
        (config("flag.toml", b"insecure-no-auth = 1"), "true or false"),
        (config("table.toml", b"[bind]\nx = 1"), "string, a number or a boolean"),
        (config("twice.toml", b"token-rate = 1\ntoken_rate = 2"), "set twice"),
        (config("binary.toml", b"bind = \"\xff\""), "not utf-8"),
        (config("huge.toml", &[b'#'; 70_000]), "larger than"),
        (config("open.toml", b"bind = \"0.0.0.0:0\""), "refusing to serve"),
        // topic test-filter: invalid policies and attributes.
        (test_filter("{", attrs), "failed to parse json"),
        (test_filter("[]", attrs), "must be a json object"),
        (test_filter("{}", attrs), "empty"),
        (test_filter(r#"{"a":[]}"#, attrs), "empty arrays"),
        (test_filter(r#"{"a":"b"}"#, attrs), "object or an array"),
        (test_filter(too_many_keys, attrs), "more than 5 keys"),
        (test_filter(nested_key, attrs), "nested"),
        (test_filter_with(&nested, &["--body", "{}"]), "filterpolicy"),
        (test_filter(r#"{"a":[{"numeric":[">"]}]}"#, attrs), "numeric"),
        (test_filter(r#"{"a":[{"prefix":5}]}"#, attrs), "prefix"),
        (test_filter(r#"{"a":[{"nope":1}]}"#, attrs), "filterpolicy"),
        (test_filter("@/nonexistent/p.json", attrs), "cannot open"),
        (test_filter(policy, "{"), "--attributes"),
        (test_filter(policy, &attr("Nope", "x")), "datatype"),
        (test_filter(policy, &attr("Number", "NaN")), "not a number"),
        (test_filter(policy, &attr("String.Array", "x")), "json array"),
        (test_filter_with(policy, &[]), "required"),
        (plus(good_filter(), &["--body", "{}"]), "cannot be used with"),
        (plus(good_filter(), &["--scope", "Everything"]), "invalid value"),
        // topic subscribe.
        (topic_subscribe("sqs", "../etc"), "queue name"),
        (topic_subscribe("sqs", "q\u{1b}"), "queue name"),
        (topic_subscribe("sqs", "no-such-queue"), "does not exist"),
        (topic_subscribe("sqs", "notify-vendor"), "already subscribed"),
        (topic_subscribe("http", "http://10.0.0.1/"), "https://"),
        (topic_subscribe("https", "https://192.168.1.1/"), "private"),
        (topic_subscribe("https", "https://[::1]/"), "loopback"),
        (topic_subscribe("https", "http://shop.example.com/"), "https://"),
        (topic_subscribe("ftp", "x"), "invalid value"),
        (plus(clear_cart(), &["--filter-policy", "{"]), "failed to parse json"),
        (plus(clear_cart(), &["--filter-policy", nested_key]), "nested"),
        (plus(clear_cart(), &["--filter-policy-scope", "Body"]), "invalid value"),
        (s(&["topic", "subscribe", "--protocol", "sqs"]), "required"),
        // queues peek / replay.
        (peek("../etc", &[]), "does not exist"),
        (peek("no-such-queue", &[]), "does not exist"),
        (peek("notify-vendor", &["--max", "0"]), "invalid value"),
        (peek("notify-vendor", &["--max", "1001"]), "invalid value"),
        (s(&["queues", "peek"]), "required"),
        (replay("no-such-queue", &[]), "does not exist"),
        (replay("../x", &[]), "does not exist"),
        (replay("notify-vendor", &[]), "no queue dead-letters"),
        (replay(dlq, &["--to", "../x"]), "does not exist"),
        (replay(dlq, &["--to", dlq]), "must differ"),
        (
            replay(dlq, &["--to", "clear-cart", "--to-topic"]),
            "cannot be used with",
        ),
        (replay(dlq, &["--max", "0"]), "invalid value"),
        (replay(dlq, &["--filter-policy", "{"]), "failed to parse json"),
        (s(&["queues", "replay"]), "required"),
    ];
    // argv cannot carry NUL; JSON-escaped NULs above reach the validators instead.
    assert!(c.iter().all(|(a, _)| a.iter().all(|x| !x.contains('\0'))));
    c
}
