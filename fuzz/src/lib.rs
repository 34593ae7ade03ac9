//! Fuzz targets for everything that parses untrusted text, and a small mutational fuzzer that
//! runs them on the stable toolchain.
//!
//! Targets (each takes raw bytes and must never panic, hang or overflow the stack):
//! - [`place_order`]: `skipline_events::parse_place_order`, plus an oracle — an accepted order
//!   re-serialised as a request parses back to the same order, within the documented bounds.
//! - [`filter_policy`]: `FilterPolicy::parse` and `matches` on attributes and bodies.
//! - [`asl_load`]: `StateMachine::load` (and, on a refusal, `validate` and `LoadError::locate`);
//!   a definition that loads is also run (fake tasks, a clock
//!   that does not sleep, at most [`MAX_EVENTS`] history events).
//! - [`jsonpath`]: JSONPath reads and reference-path writes, through the public API: the path
//!   is placed in a Pass/Task/Choice state's `InputPath`, `Parameters`, `ResultSelector`,
//!   `ResultPath`, `OutputPath` or `Variable`, loaded and run on a fuzzed input document.
//!
//! [`Fuzzer`] is the stable runner: seed corpora, byte- and JSON-aware mutations, a corpus
//! that keeps inputs producing an outcome not seen before, and panics caught per input.
//! `fuzz/libfuzzer` runs the same targets coverage-guided under cargo-fuzz.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Map, Value, json};
use skipline_engine::asl::{
    Clock, ExecutionContext, HistoryEvent, HistorySink, Outcome, Resume, StateMachine, TaskFailure, TaskInvoker,
};
use skipline_engine::filter::{FilterPolicy, FilterScope};
use skipline_events::{MessageAttributeValue, MessageAttributes, OrderRequest, PlaceOrderRequest};
use std::collections::{BTreeMap, HashSet};
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// History events a fuzzed execution may record before it is stopped (loops are legal ASL).
pub const MAX_EVENTS: usize = 200;

/// The outcome of one input, as a short text; new outcomes grow the corpus.
pub type Signature = String;

fn digits_out(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars().take(96).map(|c| if c.is_ascii_digit() { '#' } else { c }) {
        if !(c == '#' && out.ends_with('#')) {
            out.push(c);
        }
    }
    out
}

/// `parse_place_order`, with a round-trip and bounds oracle.
pub fn place_order(data: &[u8]) {
    let _ = place_order_signature(data);
}

pub fn place_order_signature(data: &[u8]) -> Signature {
    match skipline_events::parse_place_order(data) {
        Err(e) => format!("err {}", digits_out(&e.to_string())),
        Ok(order) => {
            for (field, id) in [("accountid", &order.accountid), ("vendorid", &order.vendorid)] {
                assert!(
                    skipline_events::check_id(field, id).is_none(),
                    "accepted bad {field} {id:?}"
                );
            }
            assert!(
                (1..=20).contains(&order.details.quantity),
                "quantity {}",
                order.details.quantity
            );
            let cents = order.details.unitprice.cents();
            assert!(cents > 0 && cents <= 100_000, "unit price {cents} cents");
            assert_eq!(order.total().cents(), cents * i64::from(order.details.quantity));
            let again = serde_json::to_vec(&PlaceOrderRequest {
                order: OrderRequest::from(&order),
            })
            .expect("an order serialises");
            let reparsed = skipline_events::parse_place_order(&again)
                .unwrap_or_else(|e| panic!("an accepted order does not round-trip: {e}"));
            assert_eq!(reparsed, order, "round trip changed the order");
            format!("ok {}", order.details.coffeesize)
        }
    }
}

/// Splits `data` at the first NUL: (text before, bytes after).
fn split(data: &[u8]) -> (&[u8], &[u8]) {
    match data.iter().position(|b| *b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[]),
    }
}

/// Message attributes from a JSON object: SNS-shaped values are taken as they are, anything
/// else becomes a String (or Number, String.Array) attribute.
fn attributes_from(value: &Value) -> MessageAttributes {
    let mut attrs = MessageAttributes::new();
    if let Value::Object(map) = value {
        for (k, v) in map {
            let (data_type, string_value) = match v {
                Value::Object(o) if o.contains_key("DataType") => (
                    o["DataType"].as_str().unwrap_or("String").to_string(),
                    o.get("StringValue")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string(),
                ),
                Value::Number(n) => ("Number".to_string(), n.to_string()),
                Value::Array(_) => ("String.Array".to_string(), v.to_string()),
                Value::String(s) => ("String".to_string(), s.clone()),
                other => ("String".to_string(), other.to_string()),
            };
            attrs.insert(
                k.clone(),
                MessageAttributeValue {
                    data_type,
                    string_value,
                },
            );
        }
    }
    attrs
}

/// `FilterPolicy::parse` on the text before the first NUL, then `matches` against the JSON
/// after it, both as attributes and as a body. The first byte picks the scope.
pub fn filter_policy(data: &[u8]) {
    let _ = filter_policy_signature(data);
}

pub fn filter_policy_signature(data: &[u8]) -> Signature {
    let Some((first, rest)) = data.split_first() else {
        return "empty".into();
    };
    let scope = if first & 1 == 0 {
        FilterScope::MessageAttributes
    } else {
        FilterScope::MessageBody
    };
    let (policy, message) = split(rest);
    let policy = String::from_utf8_lossy(policy);
    match FilterPolicy::parse(&policy, scope) {
        Err(e) => format!("err {}", digits_out(&e.to_string())),
        Ok(p) => {
            let body = String::from_utf8_lossy(message);
            let value: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
            let attrs = attributes_from(&value);
            let a = p.matches_attributes(&attrs);
            let b = p.matches_body(&body);
            let m = p.matches(&attrs, &body);
            assert_eq!(a, p.matches_attributes(&attrs), "matching is deterministic");
            assert_eq!(m, if scope == FilterScope::MessageBody { b } else { a });
            format!("ok {scope} {a} {b}")
        }
    }
}

/// Tasks for fuzzed machines: any `arn:aws:lambda:` or `arn:aws:states:::` resource is
/// supported; the reply depends on the input, so Retry and Catch paths run too.
struct FuzzInvoker;

#[async_trait::async_trait]
impl TaskInvoker for FuzzInvoker {
    fn supports(&self, resource: &str) -> bool {
        resource.starts_with("arn:aws:lambda:") || resource.starts_with("arn:aws:states:::")
    }
    async fn invoke(&self, resource: &str, input: Value) -> Result<Value, TaskFailure> {
        match input.get("fail").and_then(Value::as_str) {
            Some(error) => Err(TaskFailure {
                error: error.to_string(),
                cause: format!("{resource} was told to fail"),
            }),
            None => Ok(json!({"resource": resource, "input": input, "n": 1, "list": [1, 2, 3]})),
        }
    }
}

/// Time that jumps instead of sleeping, saturating at the end of jiff's range.
struct JumpClock(Mutex<jiff::Timestamp>);

#[async_trait::async_trait]
impl Clock for JumpClock {
    fn now(&self) -> jiff::Timestamp {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
    async fn sleep(&self, d: Duration) {
        let mut now = self.0.lock().unwrap_or_else(|p| p.into_inner());
        *now = jiff::SignedDuration::try_from(d)
            .ok()
            .and_then(|d| now.checked_add(d).ok())
            .unwrap_or(jiff::Timestamp::MAX);
    }
}

/// Counts events and stops the run after [`MAX_EVENTS`].
struct BoundedSink(AtomicUsize);

#[async_trait::async_trait]
impl HistorySink for BoundedSink {
    async fn record(&self, _: &HistoryEvent) -> Result<(), String> {
        if self.0.fetch_add(1, Ordering::Relaxed) >= MAX_EVENTS {
            Err("event limit".into())
        } else {
            Ok(())
        }
    }
}

fn substitutions() -> BTreeMap<String, String> {
    BTreeMap::from([
        (
            "PutItemFunctionArn".into(),
            "arn:aws:lambda:local:0:function:put-item".into(),
        ),
        (
            "PutObjectFunctionArn".into(),
            "arn:aws:lambda:local:0:function:put-object".into(),
        ),
        ("TopicArn".into(), "arn:aws:sns:local:0:topic".into()),
        ("CartTableName".into(), "cart".into()),
    ])
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("a tokio runtime")
    })
}

/// Loads `definition` and, if it loads, runs it on `input` with fake tasks and time.
fn load_and_run(definition: &str, input: Value) -> Signature {
    let machine = match StateMachine::load(definition, &substitutions(), &FuzzInvoker) {
        Ok(m) => m,
        Err(e) => {
            // Locating the error walks the text as written; it must hold on any input too,
            // as must collecting every problem.
            let located = e.locate(definition).is_some();
            let all = StateMachine::validate(definition, Some(&substitutions()), &FuzzInvoker).len();
            assert!(all > 0, "load refused ({e}) but validate found no problem");
            return format!("load-err {} {located} {}", digits_out(&e.to_string()), all.min(3));
        }
    };
    let ctx = ExecutionContext {
        execution_id: "arn:aws:states:local:0:execution:fuzz:run".into(),
        name: "run".into(),
        start_time: jiff::Timestamp::UNIX_EPOCH,
        state_machine_id: "arn:aws:states:local:0:stateMachine:fuzz".into(),
        state_machine_name: "fuzz".into(),
        input: input.clone(),
    };
    let clock = JumpClock(Mutex::new(jiff::Timestamp::UNIX_EPOCH));
    let sink = BoundedSink(AtomicUsize::new(0));
    let run = machine.run(&ctx, Resume::Start { input }, &FuzzInvoker, &clock, &sink);
    // A Task with TimeoutSeconds may use real timers; our tasks answer at once, so a short
    // real-time bound only guards against a bug that would hang.
    match runtime().block_on(async { tokio::time::timeout(Duration::from_secs(5), run).await }) {
        Err(_) => panic!("a fuzzed execution did not finish in 5 s"),
        Ok(Ok(Outcome::Succeeded { .. })) => "run ok".into(),
        Ok(Ok(Outcome::Failed { error, .. })) => format!("run failed {}", digits_out(&error)),
        Ok(Ok(Outcome::TimedOut { .. })) => "run timed out".into(),
        Ok(Err(e)) => format!("run err {}", digits_out(&e.to_string())),
    }
}

/// `StateMachine::load` (and a bounded run) on the text before the first NUL; the JSON after
/// it, if any, is the execution input.
pub fn asl_load(data: &[u8]) {
    let _ = asl_load_signature(data);
}

pub fn asl_load_signature(data: &[u8]) -> Signature {
    let (definition, input) = split(data);
    let input = serde_json::from_slice(input).unwrap_or_else(|_| json!({"orderid": "o-1", "n": 3}));
    load_and_run(&String::from_utf8_lossy(definition), input)
}

/// The first byte (which field or state to use the text in), the text up to the next NUL, and
/// the JSON document after it (`default` when that is not JSON); `None` for no input at all.
fn selector_text_document(data: &[u8], default: Value) -> Option<(u8, String, Value)> {
    let (which, rest) = data.split_first()?;
    let (text, doc) = split(rest);
    let input = serde_json::from_slice(doc).unwrap_or(default);
    Some((*which, String::from_utf8_lossy(text).to_string(), input))
}

/// A machine of one state `S`: `base` with the fields of `extra` added.
fn one_state(mut base: Value, extra: Value) -> Value {
    if let (Value::Object(s), Value::Object(e)) = (&mut base, extra) {
        s.extend(e);
    }
    json!({"StartAt": "S", "States": {"S": base}})
}

/// A JSONPath (text before the first NUL) used in one position of a small machine chosen by
/// the first byte, run on the JSON document after the NUL.
pub fn jsonpath(data: &[u8]) {
    let _ = jsonpath_signature(data);
}

pub fn jsonpath_signature(data: &[u8]) -> Signature {
    let document = json!({"a": {"b": [1, {"c": "x"}, 3]}, "list": [{"id": 1}, {"id": 2}], "s": "t"});
    let Some((which, path, input)) = selector_text_document(data, document) else {
        return "empty".into();
    };
    let pass = |extra: Value| one_state(json!({"Type": "Pass", "End": true}), extra);
    let task = |extra: Value| {
        one_state(
            json!({"Type": "Task", "Resource": "arn:aws:lambda:local:0:function:f", "End": true}),
            extra,
        )
    };
    let definition = match which % 8 {
        0 => pass(json!({"InputPath": path})),
        1 => pass(json!({"Parameters": {"v.$": path, "ctx.$": "$$.Execution.Name"}})),
        2 => pass(json!({"ResultPath": path})),
        3 => pass(json!({"OutputPath": path})),
        4 => task(json!({"ResultSelector": {"v.$": path}})),
        5 => task(json!({"ResultPath": path, "Parameters": {"x.$": "$"}})),
        6 => json!({"StartAt": "C", "States": {
            "C": {"Type": "Choice", "Choices": [{"Variable": path, "IsPresent": true, "Next": "Y"}], "Default": "N"},
            "Y": {"Type": "Succeed"}, "N": {"Type": "Fail", "Error": "No"}}}),
        _ => pass(
            json!({"Parameters": {"v.$": format!("States.Format('{{}}', {path})"), "a.$": format!("States.ArrayLength({path})")}}),
        ),
    };
    load_and_run(&definition.to_string(), input)
}

/// A JSONata expression (text before the first NUL) used in one field of a small JSONata
/// machine chosen by the first byte, run on the JSON document after the NUL. Every field that
/// takes an expression is reached: Arguments, Output, Assign, Items, Condition, the numbers of
/// TimeoutSeconds, Wait and MaxConcurrency, Fail's Error and Cause, and a Catcher's Output.
pub fn jsonata(data: &[u8]) {
    let _ = jsonata_signature(data);
}

pub fn jsonata_signature(data: &[u8]) -> Signature {
    let document = json!({"a": {"b": [1, {"c": "x"}, 3]}, "list": [{"id": 1}, {"id": 2}], "s": "t", "n": 2});
    let Some((which, expr, input)) = selector_text_document(data, document) else {
        return "empty".into();
    };
    let e = format!("{{% {expr} %}}");
    let f = "arn:aws:lambda:local:0:function:f";
    let states = match which % 12 {
        0 => json!({"S": {"Type": "Pass", "Output": e, "End": true}}),
        1 => json!({"S": {"Type": "Task", "Resource": f, "Arguments": {"v": e, "k": [e]}, "End": true}}),
        2 => json!({"S": {"Type": "Pass", "Assign": {"x": e}, "Next": "R"},
                    "R": {"Type": "Pass", "Output": "{% $x %}", "End": true}}),
        3 => json!({"S": {"Type": "Map", "Items": e, "ItemProcessor": {"StartAt": "I",
                    "States": {"I": {"Type": "Pass", "Output": "{% $states.input %}", "End": true}}}, "End": true}}),
        4 => json!({"S": {"Type": "Choice", "Choices": [{"Condition": e, "Next": "Y"}], "Default": "N"},
                    "Y": {"Type": "Succeed"}, "N": {"Type": "Fail", "Error": "No"}}),
        5 => json!({"S": {"Type": "Task", "Resource": f, "TimeoutSeconds": e, "End": true}}),
        6 => json!({"S": {"Type": "Wait", "Seconds": e, "End": true}}),
        7 => json!({"S": {"Type": "Wait", "Timestamp": e, "End": true}}),
        8 => json!({"S": {"Type": "Fail", "Error": e, "Cause": e}}),
        9 => json!({"S": {"Type": "Task", "Resource": f, "Arguments": {"fail": "E"},
                    "Catch": [{"ErrorEquals": ["States.ALL"], "Output": e, "Assign": {"y": e}, "Next": "R"}], "End": true},
                    "R": {"Type": "Pass", "End": true}}),
        10 => json!({"S": {"Type": "Task", "Resource": f, "Output": e, "Assign": {"r": e}, "End": true}}),
        _ => json!({"S": {"Type": "Map", "Items": "{% $states.input.list %}", "MaxConcurrency": e,
                    "ItemSelector": {"i": "{% $states.context.Map.Item.Index %}", "v": e},
                    "ItemProcessor": {"StartAt": "I", "States": {"I": {"Type": "Pass", "End": true}}}, "End": true}}),
    };
    let definition = json!({"QueryLanguage": "JSONata", "StartAt": "S", "States": states});
    load_and_run(&definition.to_string(), input)
}

/// A fuzz target: the function, its outcome signature, seed inputs and dictionary tokens.
pub struct Target {
    pub name: &'static str,
    pub run: fn(&[u8]) -> Signature,
    pub seeds: fn() -> Vec<Vec<u8>>,
    pub tokens: &'static [&'static str],
}

const JSON_TOKENS: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    ":",
    ",",
    "\"",
    "\\",
    "\\u0000",
    "\\ud800",
    "null",
    "true",
    "false",
    "-0",
    "1e309",
    "-1e309",
    "9223372036854775808",
    "18446744073709551616",
    "0.1",
    "1.005",
    "\u{0}",
    "\n",
    "é",
    "💥",
    "../",
    "%00",
    "\u{202e}",
    "    ",
];

pub fn targets() -> Vec<Target> {
    vec![
        Target {
            name: "place_order",
            run: place_order_signature,
            seeds: seeds::place_order,
            tokens: &[
                "\"accountid\"",
                "\"vendorid\"",
                "\"orderdate\"",
                "\"city\"",
                "\"details\"",
                "\"coffeetype\"",
                "\"coffeesize\"",
                "\"unitprice\"",
                "\"quantity\"",
                "\"eventtype\"",
                "[\"new_order\"]",
                "\"LARGE\"",
                "\"sMaLl\"",
                "\"999.99\"",
                "\"1000.00\"",
                "\"1000.01\"",
                "\"0.01\"",
                "\"00004.5\"",
                "\"4.\"",
                "\".5\"",
                "\"+4\"",
                "\" 4\"",
                "20",
                "21",
                "\"20\"",
                "\"020\"",
                "1.0",
                "2026-02-30",
                "2026-11-25T08:15:00+25:00",
                "\"2026-11-25 08:15:00\"",
            ],
        },
        Target {
            name: "filter_policy",
            run: filter_policy_signature,
            seeds: seeds::filter_policy,
            tokens: &[
                "\"anything-but\"",
                "\"prefix\"",
                "\"suffix\"",
                "\"numeric\"",
                "\"exists\"",
                "\"equals-ignore-case\"",
                "\"cidr\"",
                "\"wildcard\"",
                "\"$or\"",
                "\">\"",
                "\">=\"",
                "\"<\"",
                "\"<=\"",
                "\"=\"",
                "\"*\"",
                "\"10.0.0.0/24\"",
                "\"::/0\"",
                "1e9",
                "-1e9",
                "\"String.Array\"",
                "\"Number\"",
                "\"Binary\"",
                "\"DataType\"",
                "\"StringValue\"",
            ],
        },
        Target {
            name: "asl_load",
            run: asl_load_signature,
            seeds: seeds::asl,
            tokens: &[
                "\"Type\"",
                "\"Pass\"",
                "\"Task\"",
                "\"Choice\"",
                "\"Wait\"",
                "\"Succeed\"",
                "\"Fail\"",
                "\"Map\"",
                "\"Parallel\"",
                "\"Next\"",
                "\"End\"",
                "\"StartAt\"",
                "\"States\"",
                "\"Retry\"",
                "\"Catch\"",
                "\"ErrorEquals\"",
                "[\"States.ALL\"]",
                "\"States.TaskFailed\"",
                "\"ResultPath\"",
                "\"InputPath\"",
                "\"OutputPath\"",
                "\"Parameters\"",
                "\"ResultSelector\"",
                "\"TimeoutSeconds\"",
                "\"HeartbeatSeconds\"",
                "\"Seconds\"",
                "\"SecondsPath\"",
                "\"Timestamp\"",
                "\"IntervalSeconds\"",
                "\"MaxAttempts\"",
                "\"BackoffRate\"",
                "\"MaxDelaySeconds\"",
                "\"JitterStrategy\"",
                "\"Variable\"",
                "\"StringEquals\"",
                "\"NumericGreaterThan\"",
                "\"And\"",
                "\"Or\"",
                "\"Not\"",
                "\"IsPresent\"",
                "\"Default\"",
                "\"Error\"",
                "\"Cause\"",
                "\"a.$\"",
                "\"$\"",
                "\"$$\"",
                "\"$.a\"",
                "\"$..a\"",
                "\"$.a[*]\"",
                "\"States.Format('{}', $.a)\"",
                "\"States.JsonToString($)\"",
                "\"States.StringToJson($.s)\"",
                "\"States.Array($.a, 1)\"",
                "\"States.ArrayRange(0, 99999999, 1)\"",
                "\"States.MathAdd(1, 2)\"",
                "\"States.Hash($.s, 'SHA-256')\"",
                "\"States.Base64Encode($.s)\"",
                "\"States.UUID()\"",
                "\"Assign\"",
                "\"Map\"",
                "\"Parallel\"",
                "\"Branches\"",
                "\"ItemProcessor\"",
                "\"ItemsPath\"",
                "\"ItemSelector\"",
                "\"$$.Map.Item.Value\"",
                "\"DISTRIBUTED\"",
                "\"x.$\"",
                "\"$x\"",
                "\"$x.a[0]\"",
                "\"States.MathRandom(1, 9, 3)\"",
                "\"States.Base64Decode($x)\"",
                "\"States.JsonMerge($x, $, true)\"",
                "\"States.ArrayPartition($.list, 0)\"",
                "\"States.StringSplit($.s, '')\"",
                "\"${PutItemFunctionArn}\"",
                "\"${Missing}\"",
                "\"arn:aws:states:::sns:publish\"",
                "\"arn:aws:states:::dynamodb:putItem\"",
                "99999999999",
            ],
        },
        Target {
            name: "jsonata",
            run: jsonata_signature,
            seeds: seeds::jsonata,
            tokens: &[
                "$states",
                ".input",
                ".result",
                ".errorOutput",
                ".context",
                "$x",
                " := ",
                ";",
                "(",
                ")",
                "[",
                "]",
                "{",
                "}",
                "'",
                "\"",
                ".",
                "*",
                "**",
                "..",
                "[1..1000000]",
                " & ",
                " ? ",
                " : ",
                " ~> ",
                "function($v) { $v }",
                "$eval('1')",
                "$partition(",
                "$range(",
                "$hash(",
                "$random(",
                "$uuid()",
                "$parse(",
                "$string(",
                "$number(",
                "$sum(",
                "$count(",
                "$sort(",
                "$reduce(",
                "$match(",
                "$replace(",
                "/a+/",
                "1e308",
                "-1",
                "0",
                "null",
                "true",
                "%}",
                "{%",
            ],
        },
        Target {
            name: "jsonpath",
            run: jsonpath_signature,
            seeds: seeds::jsonpath,
            tokens: &[
                "$",
                "$$",
                ".",
                "..",
                "*",
                "[",
                "]",
                "[*]",
                "[0]",
                "[-1]",
                "[1:]",
                "[::2]",
                "[::-1]",
                "[0,1]",
                "['a']",
                "['a','b']",
                "[\"a\"]",
                "[?(@.id)]",
                "[?(@.id == 1)]",
                "[?(!@.id)]",
                " && ",
                " || ",
                "==",
                "!=",
                "<=",
                "'x'",
                "(",
                ")",
                "@",
                "'",
                "\\'",
                ".Execution",
                ".State.Name",
                ".length()",
                "[9223372036854775807]",
                "[-9223372036854775808]",
                "[:0:0]",
                "States.ArrayLength",
            ],
        },
    ]
}

mod seeds {
    use serde_json::json;

    fn order(o: serde_json::Value) -> Vec<u8> {
        json!({ "order": o }).to_string().into_bytes()
    }

    pub fn place_order() -> Vec<Vec<u8>> {
        let base = json!({"accountid": "a0", "vendorid": "v0", "orderdate": "2026-11-25T08:15:00Z", "city": "Sydney",
            "details": {"coffeetype": "Flat white", "coffeesize": "Large", "unitprice": "4.50", "quantity": 2},
            "eventtype": ["new_order"]});
        let mut out = vec![order(base.clone())];
        for (pointer, v) in [
            ("/details/unitprice", json!(3.5)),
            ("/details/quantity", json!("20")),
            ("/details/coffeesize", json!("small")),
            ("/orderdate", json!("2026-11-25 08:15:00")),
            ("/orderdate", json!("2026-11-25")),
            ("/details/unitprice", json!("1000")),
            ("/accountid", json!("A_b-9")),
        ] {
            let mut o = base.clone();
            *o.pointer_mut(pointer).unwrap() = v;
            out.push(order(o));
        }
        out.push(b"{".to_vec());
        out.push(b"{\"order\":{}}".to_vec());
        out
    }

    pub fn filter_policy() -> Vec<Vec<u8>> {
        let attrs = r#"{"eventtype":{"DataType":"String","StringValue":"OrderCompleted"},"total":{"DataType":"Number","StringValue":"12.5"},"city":"Sydney","tags":["a","b"]}"#;
        let body = r#"{"eventtype":"OrderCompleted","total":12.5,"order":{"city":"Sydney","details":{"size":"Large"}},"ip":"10.0.0.7"}"#;
        let policies = [
            (0u8, r#"{"eventtype":["OrderCompleted"]}"#, attrs),
            (
                0,
                r#"{"total":[{"numeric":[">",10,"<=",20]}],"city":[{"prefix":"Syd"}]}"#,
                attrs,
            ),
            (
                0,
                r#"{"eventtype":[{"anything-but":["OrderRejected","x"]}],"tags":["b"]}"#,
                attrs,
            ),
            (0, r#"{"city":[{"exists":false}],"nope":[{"exists":false}]}"#, attrs),
            (
                0,
                r#"{"city":[{"equals-ignore-case":"SYDNEY"},{"suffix":"ney"}]}"#,
                attrs,
            ),
            (
                1,
                r#"{"order":{"city":["Sydney"],"details":{"size":[{"anything-but":{"prefix":"S"}}]}}}"#,
                body,
            ),
            (
                1,
                r#"{"$or":[{"total":[{"numeric":["=",12.5]}]},{"eventtype":["X"]}]}"#,
                body,
            ),
            (
                1,
                r#"{"ip":[{"cidr":"10.0.0.0/24"}],"eventtype":[{"wildcard":"Order*"}]}"#,
                body,
            ),
        ];
        policies
            .iter()
            .map(|(scope, p, m)| {
                let mut v = vec![*scope];
                v.extend_from_slice(p.as_bytes());
                v.push(0);
                v.extend_from_slice(m.as_bytes());
                v
            })
            .collect()
    }

    pub fn asl() -> Vec<Vec<u8>> {
        let flow = include_str!("../../infra/statemachine/order_flow.asl.json");
        let others = [
            r#"{"StartAt":"P","States":{"P":{"Type":"Pass","Result":{"a":[1,2]},"ResultPath":"$.r","Next":"W"},"W":{"Type":"Wait","Seconds":5,"Next":"C"},"C":{"Type":"Choice","Choices":[{"Variable":"$.r.a[0]","NumericEquals":1,"Next":"S"},{"And":[{"Variable":"$.s","IsPresent":true},{"Not":{"Variable":"$.s","StringMatches":"x*"}}],"Next":"F"}],"Default":"S"},"S":{"Type":"Succeed"},"F":{"Type":"Fail","Error":"E","Cause":"c"}}}"#,
            r#"{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:lambda:local:0:function:f","Parameters":{"fail.$":"$.fail","n.$":"States.MathAdd($.n, 1)","s.$":"States.Format('{} {}', $.orderid, $$.Execution.Name)"},"TimeoutSeconds":3,"Retry":[{"ErrorEquals":["E"],"IntervalSeconds":1,"MaxAttempts":3,"BackoffRate":2.0,"MaxDelaySeconds":4,"JitterStrategy":"FULL"}],"Catch":[{"ErrorEquals":["States.ALL"],"ResultPath":"$.err","Next":"L"}],"ResultSelector":{"r.$":"$.input"},"OutputPath":"$.r","End":true},"L":{"Type":"Pass","Next":"T"}}}"#,
            r#"{"StartAt":"M","States":{"M":{"Type":"Map","ItemsPath":"$.items","MaxConcurrency":2,"ItemSelector":{"i.$":"$$.Map.Item.Index","v.$":"$$.Map.Item.Value"},"ItemProcessor":{"StartAt":"F","States":{"F":{"Type":"Parallel","Branches":[{"StartAt":"A","States":{"A":{"Type":"Pass","End":true}}},{"StartAt":"B","States":{"B":{"Type":"Pass","Result":1,"End":true}}}],"ResultSelector":{"a.$":"$[0]"},"End":true}}},"ResultPath":"$.out","End":true}}}"#,
            r#"{"StartAt":"A","States":{"A":{"Type":"Pass","Assign":{"x":1,"y.$":"$.n","z.$":"States.Format('{}', $.n)"},"Next":"C"},"C":{"Type":"Choice","Choices":[{"Variable":"$x","NumericEquals":1,"Assign":{"x.$":"$y"},"Next":"B"}],"Default":"B","Assign":{"d":true}},"B":{"Type":"Pass","Parameters":{"x.$":"$x","h.$":"States.Hash($z, 'MD5')"},"End":true}}}"#,
            r#"{"StartAt":"W","States":{"W":{"Type":"Wait","TimestampPath":"$.when","Next":"P"},"P":{"Type":"Pass","Parameters":{"a.$":"States.Array($.n, 'x')","h.$":"States.Hash('x', 'SHA-256')","u.$":"States.JsonToString($)","r.$":"States.ArrayRange(1, 9, 2)","c.$":"States.ArrayContains(States.Array(1,2), 2)"},"End":true}}}"#,
        ];
        let twin = include_str!("../../infra/statemachine/order_flow.jsonata.asl.json");
        let jsonata = [
            r#"{"QueryLanguage":"JSONata","StartAt":"A","States":{"A":{"Type":"Pass","Assign":{"x":"{% $states.input.n %}","l":[1,"{% $x %}"]},"Output":{"s":"{% $string($states.input) %}"},"Next":"C"},"C":{"Type":"Choice","Choices":[{"Condition":"{% $x > 1 %}","Output":"{% $l %}","Next":"M"}],"Default":"F"},"M":{"Type":"Map","Items":"{% $range(0, $x, 1) %}","MaxConcurrency":"{% $x %}","ItemSelector":{"i":"{% $states.context.Map.Item.Index %}"},"ItemProcessor":{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:lambda:local:0:function:f","Arguments":"{% $states.input %}","Output":"{% $states.result.n %}","End":true}}},"End":true},"F":{"Type":"Fail","Error":"{% 'E' & $x %}","Cause":"{% $hash('x', 'SHA-256') %}"}}}"#,
            r#"{"QueryLanguage":"JSONata","StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:lambda:local:0:function:f","Arguments":{"fail":"{% $states.input.fail %}"},"TimeoutSeconds":"{% 3 %}","Retry":[{"ErrorEquals":["States.QueryEvaluationError"],"MaxAttempts":1}],"Catch":[{"ErrorEquals":["States.ALL"],"Output":"{% $states.errorOutput %}","Assign":{"e":"{% $states.errorOutput.Error %}"},"Next":"P"}],"End":true},"P":{"Type":"Parallel","Branches":[{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":"{% 1 %}","End":true}}},{"StartAt":"U","States":{"U":{"Type":"Pass","Output":"{% [$uuid(), $random(1), $partition([1,2,3], 2), $parse('[1]')] %}","End":true}}}],"Output":"{% $states.result %}","End":true}}}"#,
            r#"{"StartAt":"J","States":{"J":{"Type":"Pass","QueryLanguage":"JSONata","Output":"{% $states.input ~> $merge([$, {'z': 1}]) %}","Next":"P"},"P":{"Type":"Pass","Parameters":{"z.$":"$.z"},"End":true}}}"#,
        ];
        let mut out = vec![flow.as_bytes().to_vec(), twin.as_bytes().to_vec()];
        out.extend(others.iter().chain(&jsonata).map(|s| s.as_bytes().to_vec()));
        let mut with_input = others[1].as_bytes().to_vec();
        with_input.push(0);
        with_input.extend_from_slice(br#"{"fail":"E","n":1,"orderid":"o"}"#);
        out.push(with_input);
        out
    }

    /// `seeds` and one more: `selector`, then `text\0document`, so a text is also tried against a
    /// document of its own.
    fn with_document(mut seeds: Vec<Vec<u8>>, selector: u8, text_and_document: &[u8]) -> Vec<Vec<u8>> {
        let mut seed = vec![selector];
        seed.extend_from_slice(text_and_document);
        seeds.push(seed);
        seeds
    }

    /// One seed per text, its first byte the text's position: that byte picks the field the
    /// text is placed in, so the seeds reach every field.
    fn indexed(texts: &[&str]) -> Vec<Vec<u8>> {
        texts
            .iter()
            .enumerate()
            .map(|(i, text)| {
                let mut v = vec![i as u8];
                v.extend_from_slice(text.as_bytes());
                v
            })
            .collect()
    }

    pub fn jsonata() -> Vec<Vec<u8>> {
        let exprs = [
            "$states.input",
            "$states.input.a.b[1].c",
            "$sum($states.input.list.id)",
            "$states.input.list[id > 1]",
            "$states.input.n > 1",
            "$x := 3; $x * $states.input.n",
            "$states.input.n + 1",
            "$now()",
            "'E' & $states.input.s",
            "$states.errorOutput",
            "$states.result",
            "$states.input.n",
            "$range(0, 10, 2)",
            "$partition($states.input.list, 1)",
            "$hash($states.input.s, 'SHA-512')",
            "$parse('{\"a\": 1}')",
            "$random(3)",
            "$states.context.Execution.Name",
            "$map($states.input.list, function($v) { $v.id * 2 })",
            "$states.input.missing",
        ];
        with_document(indexed(&exprs), 0, b"$states.input[0]\0[1,2]")
    }

    pub fn jsonpath() -> Vec<Vec<u8>> {
        let paths = [
            "$",
            "$.a",
            "$.a.b[1].c",
            "$..c",
            "$.list[*].id",
            "$.list[-1]",
            "$.a.b[0:2]",
            "$['a']['b']",
            "$.list[0,1]",
            "$$.Execution.Input",
            "$.a.b[::2]",
            "$.x.y.z",
            "$.list[?(@.id > 1)].id",
            "$..[?(@.c == 'x' || !@.id)]",
            "$.list[?((@.id >= 1 && @.id != 2.0) || @['id'] == \"3\")]",
        ];
        with_document(indexed(&paths), 2, b"$.a.b\0{\"a\":[1,2]}")
    }
}

/// Where a caught panic happened and what it said.
static LAST_PANIC: Mutex<Option<String>> = Mutex::new(None);

/// A crash: the input and where it panicked.
#[derive(Debug, Clone)]
pub struct Crash {
    pub target: &'static str,
    pub input: Vec<u8>,
    pub panic: String,
}

/// Totals of a run.
#[derive(Debug, Default, Clone)]
pub struct Report {
    pub executions: u64,
    pub corpus: usize,
    pub outcomes: usize,
    pub crashes: Vec<Crash>,
    pub slowest: Duration,
}

/// The stable-toolchain fuzzer: seeded, bounded, mutational.
pub struct Fuzzer {
    rng: StdRng,
}

impl Fuzzer {
    pub fn new(seed: u64) -> Self {
        // Quiet panics while fuzzing; keep where and why for the report.
        std::panic::set_hook(Box::new(|info| {
            let location = info
                .location()
                .map(|l| format!("{}:{}", l.file(), l.line()))
                .unwrap_or_default();
            let message = info
                .payload()
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| info.payload().downcast_ref::<String>().cloned())
                .unwrap_or_default();
            *LAST_PANIC.lock().unwrap_or_else(|p| p.into_inner()) = Some(format!("{message} at {location}"));
        }));
        Self {
            rng: StdRng::seed_from_u64(seed),
        }
    }

    /// Runs `target` on `iterations` inputs, or until `deadline`.
    pub fn run(&mut self, target: &Target, iterations: u64, deadline: Option<Instant>) -> Report {
        let mut corpus: Vec<Vec<u8>> = (target.seeds)();
        let mut seen: HashSet<Signature> = HashSet::new();
        let mut report = Report::default();
        let mut crashed: HashSet<String> = HashSet::new();
        let mut i = 0;
        while i < iterations && deadline.is_none_or(|d| Instant::now() < d) {
            let input = if (i as usize) < corpus.len() {
                corpus[i as usize].clone()
            } else {
                self.mutate(&corpus, target.tokens)
            };
            i += 1;
            let started = Instant::now();
            let result = std::panic::catch_unwind(AssertUnwindSafe(|| (target.run)(&input)));
            report.slowest = report.slowest.max(started.elapsed());
            report.executions += 1;
            match result {
                Ok(signature) => {
                    if seen.insert(signature) && corpus.len() < 4096 {
                        corpus.push(input);
                    }
                }
                Err(_) => {
                    let panic = LAST_PANIC
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .take()
                        .unwrap_or_default();
                    // One report per distinct panic site.
                    let site = panic.rsplit(" at ").next().unwrap_or_default().to_string();
                    if crashed.insert(site) {
                        report.crashes.push(Crash {
                            target: target.name,
                            input,
                            panic,
                        });
                    }
                }
            }
        }
        report.corpus = corpus.len();
        report.outcomes = seen.len();
        report
    }

    fn mutate(&mut self, corpus: &[Vec<u8>], tokens: &[&str]) -> Vec<u8> {
        let mut data = corpus[self.rng.random_range(0..corpus.len())].clone();
        let rounds = 1 + self.rng.random_range(0..4);
        for _ in 0..rounds {
            match self.rng.random_range(0..10) {
                0..=2 => {
                    if let Some(v) = self.mutate_json(&data, tokens) {
                        data = v;
                    }
                }
                3 => {
                    let t = tokens
                        .get(self.rng.random_range(0..tokens.len().max(1)))
                        .copied()
                        .unwrap_or("");
                    let t = if self.rng.random_bool(0.5) {
                        t
                    } else {
                        JSON_TOKENS[self.rng.random_range(0..JSON_TOKENS.len())]
                    };
                    let at = self.rng.random_range(0..=data.len());
                    data.splice(at..at, t.bytes());
                }
                4 if !data.is_empty() => {
                    let at = self.rng.random_range(0..data.len());
                    data[at] ^= 1 << self.rng.random_range(0..8);
                }
                5 if !data.is_empty() => {
                    let a = self.rng.random_range(0..data.len());
                    let b = (a + self.rng.random_range(0..16)).min(data.len());
                    data.drain(a..b);
                }
                6 if !data.is_empty() => {
                    let a = self.rng.random_range(0..data.len());
                    let b = (a + self.rng.random_range(1..64)).min(data.len());
                    let chunk = data[a..b].to_vec();
                    let at = self.rng.random_range(0..=data.len());
                    data.splice(at..at, chunk);
                }
                7 => {
                    let other = &corpus[self.rng.random_range(0..corpus.len())];
                    let cut = self.rng.random_range(0..=data.len());
                    let from = self.rng.random_range(0..=other.len());
                    data.truncate(cut);
                    data.extend_from_slice(&other[from..]);
                }
                8 => {
                    let at = self.rng.random_range(0..=data.len());
                    let b = [0u8, b'"', b'\\', 0xff, 0xc3, b'{', b'[', b'$', b'.', b'\n'][self.rng.random_range(0..10)];
                    data.insert(at, b);
                }
                _ => {
                    // Deep nesting at a random point.
                    let depth = self.rng.random_range(1..300);
                    let at = self.rng.random_range(0..=data.len());
                    let (open, close) = if self.rng.random_bool(0.5) {
                        ("[", "]")
                    } else {
                        ("{\"a\":", "}")
                    };
                    let mut s = open.repeat(depth);
                    s.push('1');
                    s.push_str(&close.repeat(depth));
                    data.splice(at..at, s.bytes());
                }
            }
        }
        data.truncate(64 * 1024);
        data
    }

    /// Parses the JSON part (before a NUL, after an optional leading selector byte), changes one
    /// node, and serialises it back.
    fn mutate_json(&mut self, data: &[u8], tokens: &[&str]) -> Option<Vec<u8>> {
        let start = data.iter().position(|b| *b == b'{' || *b == b'[')?;
        let end = data[start..]
            .iter()
            .position(|b| *b == 0)
            .map_or(data.len(), |e| start + e);
        let mut value: Value = serde_json::from_slice(&data[start..end]).ok()?;
        let mut nodes = 0;
        count(&value, &mut nodes);
        let target = self.rng.random_range(0..nodes.max(1));
        let mut n = 0;
        let replacement = self.random_value(tokens);
        let key = tokens[self.rng.random_range(0..tokens.len())]
            .trim_matches('"')
            .to_string();
        let op = self.rng.random_range(0..4);
        edit(&mut value, target, &mut n, &mut |v| match op {
            0 => *v = replacement.clone(),
            1 => {
                if let Value::Object(m) = v {
                    m.insert(key.clone(), replacement.clone());
                } else {
                    *v = json!([v.clone()]);
                }
            }
            2 => {
                if let Value::Object(m) = v
                    && let Some(k) = m.keys().next().cloned()
                {
                    m.remove(&k);
                } else if let Value::Array(a) = v {
                    a.pop();
                }
            }
            _ => *v = json!({ key.clone(): v.clone() }),
        });
        let mut out = data[..start].to_vec();
        out.extend_from_slice(value.to_string().as_bytes());
        out.extend_from_slice(&data[end..]);
        Some(out)
    }

    fn random_value(&mut self, tokens: &[&str]) -> Value {
        match self.rng.random_range(0..9) {
            0 => Value::Null,
            1 => Value::Bool(self.rng.random()),
            2 => json!(self.rng.random_range(-5i64..30)),
            3 => [json!(i64::MIN), json!(u64::MAX), json!(-0.0), json!(1e308), json!(0.1)][self.rng.random_range(0..5)]
                .clone(),
            4 => json!(
                ["", "x", "../x", "a\u{0}b", "ａ", "\u{202e}", "Large", "4.50", "20"][self.rng.random_range(0..9)]
            ),
            5 => Value::String(
                tokens[self.rng.random_range(0..tokens.len())]
                    .trim_matches('"')
                    .to_string(),
            ),
            6 => json!([]),
            7 => Value::Object(Map::new()),
            _ => json!("x".repeat(self.rng.random_range(60..300))),
        }
    }
}

fn count(v: &Value, n: &mut usize) {
    *n += 1;
    match v {
        Value::Array(a) => a.iter().for_each(|x| count(x, n)),
        Value::Object(m) => m.values().for_each(|x| count(x, n)),
        _ => {}
    }
}

fn edit(v: &mut Value, target: usize, n: &mut usize, f: &mut dyn FnMut(&mut Value)) -> bool {
    if *n == target {
        f(v);
        return true;
    }
    *n += 1;
    match v {
        Value::Array(a) => a.iter_mut().any(|x| edit(x, target, n, f)),
        Value::Object(m) => m.values_mut().any(|x| edit(x, target, n, f)),
        _ => false,
    }
}
