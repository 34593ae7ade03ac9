//! Table-driven tests built from the Amazon SNS Developer Guide's match / no-match examples.
//! Each table names the guide section it comes from.

use skipline_events::attributes::{MessageAttributeValue, MessageAttributes};

use super::parse::{self, MAX_POLICY_BYTES};
use super::{FilterPolicy, FilterScope, PolicyError};

fn attrs(list: &[Attr<'_>]) -> MessageAttributes {
    list.iter()
        .map(|(name, data_type, value)| {
            (
                (*name).to_string(),
                MessageAttributeValue {
                    data_type: (*data_type).to_string(),
                    string_value: (*value).to_string(),
                },
            )
        })
        .collect()
}

fn policy(text: &str, scope: FilterScope) -> FilterPolicy {
    match FilterPolicy::parse(text, scope) {
        Ok(p) => p,
        Err(e) => panic!("policy {text} should parse: {e}"),
    }
}

/// (name, data type, value) of one message attribute.
type Attr<'a> = (&'a str, &'a str, &'a str);
/// (policy, attributes, expected match).
type AttrRow<'a> = (&'a str, &'a [Attr<'a>], bool);

/// Checks each row with a message naming it.
fn check_attributes(section: &str, rows: &[AttrRow<'_>]) {
    for (i, (text, list, expected)) in rows.iter().enumerate() {
        let p = policy(text, FilterScope::MessageAttributes);
        let a = attrs(list);
        assert_eq!(
            p.matches_attributes(&a),
            *expected,
            "{section} row {i}: policy {text} vs attributes {list:?}"
        );
        // `matches` dispatches on scope: attribute scope ignores the body.
        assert_eq!(p.matches(&a, "not json"), *expected, "{section} row {i} via matches");
    }
}

/// (policy, body, expected) rows, MessageBody scope.
fn check_body(section: &str, rows: &[(&str, &str, bool)]) {
    for (i, (text, body, expected)) in rows.iter().enumerate() {
        let p = policy(text, FilterScope::MessageBody);
        assert_eq!(
            p.matches_body(body),
            *expected,
            "{section} row {i}: policy {text} vs body {body}"
        );
        assert_eq!(
            p.matches(&MessageAttributes::new(), body),
            *expected,
            "{section} row {i} via matches"
        );
    }
}

const S: &str = "String";
const N: &str = "Number";
const SA: &str = "String.Array";

// ---------------------------------------------------------------- string matching

#[test]
fn string_exact_matching() {
    // String value matching › Exact matching
    let p = r#"{"customer_interests": ["rugby", "tennis"]}"#;
    check_attributes(
        "string exact",
        &[
            (p, &[("customer_interests", S, "rugby")], true),
            (p, &[("customer_interests", S, "tennis")], true),
            (p, &[("customer_interests", SA, r#"["rugby", "tennis"]"#)], true),
            (p, &[("customer_interests", S, "baseball")], false),
            (p, &[("customer_interests", SA, r#"["baseball"]"#)], false),
            // "the comparison is case-sensitive" (Filter policy constraints)
            (p, &[("customer_interests", S, "Rugby")], false),
            (p, &[], false),
        ],
    );
    check_body(
        "string exact body",
        &[
            (p, r#"{"customer_interests": "rugby"}"#, true),
            (p, r#"{"customer_interests": "tennis"}"#, true),
            (p, r#"{"customer_interests": "baseball"}"#, false),
            (p, r#"{"customer_interests": ["baseball", "rugby"]}"#, true),
        ],
    );
}

#[test]
fn string_anything_but_matching() {
    // String value matching › Anything-but matching (current revision: for String.Array,
    // "it matches if none of the array elements are listed in the policy property").
    let p = r#"{"customer_interests": [{"anything-but": ["rugby", "tennis"]}]}"#;
    check_attributes(
        "string anything-but",
        &[
            (p, &[("customer_interests", S, "baseball")], true),
            (p, &[("customer_interests", S, "football")], true),
            (p, &[("customer_interests", SA, r#"["baseball", "football"]"#)], true),
            (p, &[("customer_interests", SA, r#"["rugby", "baseball"]"#)], false),
            (p, &[("customer_interests", S, "rugby")], false),
            // anything-but needs a value: an absent attribute does not match.
            (p, &[], false),
            (p, &[("other", S, "baseball")], false),
            // Present but nothing to compare: an empty array, or a number for a string list.
            (p, &[("customer_interests", SA, "[]")], false),
            (p, &[("customer_interests", N, "5")], false),
        ],
    );
    check_body(
        "string anything-but body",
        &[
            (p, r#"{"customer_interests": "baseball"}"#, true),
            (p, r#"{"customer_interests": "football"}"#, true),
            (p, r#"{"customer_interests": "rugby"}"#, false),
            (p, r#"{"customer_interests": ["rugby", "baseball"]}"#, false),
            (p, r#"{"other": "x"}"#, false),
        ],
    );
    // "anything-but can be combined with "exists": false"
    let with_absent = r#"{"customer_interests": [{"anything-but": ["rugby"]}, {"exists": false}]}"#;
    // A single value instead of a list.
    let single = r#"{"customer_interests": [{"anything-but": "rugby"}]}"#;
    check_attributes(
        "anything-but variants",
        &[
            (with_absent, &[], true),
            (with_absent, &[("customer_interests", S, "tennis")], true),
            (with_absent, &[("customer_interests", S, "rugby")], false),
            (single, &[("customer_interests", S, "tennis")], true),
            (single, &[("customer_interests", S, "rugby")], false),
        ],
    );
}

#[test]
fn string_anything_but_prefix() {
    // String value matching › Using a prefix with the anything-but operator
    let p = r#"{"event": [{"anything-but": {"prefix": "order-"}}]}"#;
    check_attributes(
        "anything-but prefix",
        &[
            (p, &[("event", S, "data-entry")], true),
            (p, &[("event", S, "order_number")], true),
            (p, &[("event", S, "order-cancelled")], false),
            (p, &[], false),
        ],
    );
    check_body(
        "anything-but prefix body",
        &[
            (p, r#"{"event": "data-entry"}"#, true),
            (p, r#"{"event": "order-cancelled"}"#, false),
        ],
    );
}

#[test]
fn string_prefix_suffix_equals_ignore_case() {
    // String value matching › Prefix matching
    let prefix = r#"{"customer_interests": [{"prefix": "bas"}]}"#;
    // String value matching › Suffix matching
    let suffix = r#"{"customer_interests": [{"suffix": "ball"}]}"#;
    // String value matching › Equals-ignore-case matching
    let ignore_case = r#"{"customer_interests": [{"equals-ignore-case": "tennis"}]}"#;
    check_attributes(
        "prefix/suffix/equals-ignore-case",
        &[
            (prefix, &[("customer_interests", S, "baseball")], true),
            (prefix, &[("customer_interests", S, "basketball")], true),
            (prefix, &[("customer_interests", S, "rugby")], false),
            (
                prefix,
                &[("customer_interests", SA, r#"["rugby", "basketball"]"#)],
                true,
            ),
            (suffix, &[("customer_interests", S, "baseball")], true),
            (suffix, &[("customer_interests", S, "basketball")], true),
            (suffix, &[("customer_interests", S, "rugby")], false),
            (ignore_case, &[("customer_interests", S, "TENNIS")], true),
            (ignore_case, &[("customer_interests", S, "Tennis")], true),
            (ignore_case, &[("customer_interests", S, "tennis")], true),
            (ignore_case, &[("customer_interests", S, "rugby")], false),
            // Prefixes are for strings only (Numeric value matching, note).
            (prefix, &[("customer_interests", N, "5")], false),
        ],
    );
    check_body(
        "prefix/suffix/equals-ignore-case body",
        &[
            (prefix, r#"{"customer_interests": "baseball"}"#, true),
            (prefix, r#"{"customer_interests": "rugby"}"#, false),
            (suffix, r#"{"customer_interests": "basketball"}"#, true),
            (suffix, r#"{"customer_interests": "rugby"}"#, false),
            (ignore_case, r#"{"customer_interests": "TeNNis"}"#, true),
            (ignore_case, r#"{"customer_interests": "rugby"}"#, false),
        ],
    );
}

#[test]
fn ip_address_matching() {
    // String value matching › IP address matching
    let p = r#"{"source_ip": [{"cidr": "10.0.0.0/24"}]}"#;
    let v6 = r#"{"source_ip": [{"cidr": "2001:db8::/32"}]}"#;
    check_attributes(
        "cidr",
        &[
            (p, &[("source_ip", S, "10.0.0.0")], true),
            (p, &[("source_ip", S, "10.0.0.255")], true),
            (p, &[("source_ip", S, "10.1.1.0")], false),
            (p, &[("source_ip", S, "not-an-ip")], false),
            (p, &[("source_ip", S, "2001:db8::1")], false),
            (v6, &[("source_ip", S, "2001:db8::1")], true),
            (v6, &[("source_ip", S, "2001:db9::1")], false),
        ],
    );
}

// ---------------------------------------------------------------- numeric matching

#[test]
fn numeric_exact_matching() {
    // Numeric value matching › Exact matching
    let p = r#"{"price_usd": [{"numeric": ["=", 301.5]}]}"#;
    check_attributes(
        "numeric exact",
        &[
            (p, &[("price_usd", N, "301.5")], true),
            (p, &[("price_usd", N, "3.015e2")], true),
            (p, &[("price_usd", N, "301.6")], false),
            // Numeric operators need a Number attribute.
            (p, &[("price_usd", S, "301.5")], false),
            (p, &[], false),
        ],
    );
    check_body(
        "numeric exact body",
        &[
            (p, r#"{"price_usd": 301.5}"#, true),
            (p, r#"{"price_usd": 3.015e2}"#, true),
            (p, r#"{"price_usd": "301.5"}"#, false),
            (p, r#"{"price_usd": 301.6}"#, false),
        ],
    );
    // A bare number in the list is exact numeric matching too.
    let bare = r#"{"total": [7.5]}"#;
    check_attributes(
        "bare number",
        &[
            (bare, &[("total", N, "7.50")], true),
            (bare, &[("total", N, "75e-1")], true),
            (bare, &[("total", S, "7.5")], false),
            (bare, &[("total", N, "7.6")], false),
        ],
    );
}

#[test]
fn numeric_anything_but_matching() {
    // Numeric value matching › Anything-but matching
    let p = r#"{"price": [{"anything-but": [100, 500]}]}"#;
    check_attributes(
        "numeric anything-but",
        &[
            (p, &[("price", N, "101")], true),
            (p, &[("price", N, "100.1")], true),
            (p, &[("price", N, "100")], false),
            (p, &[("price", N, "1e2")], false),
            (p, &[("price", N, "500")], false),
            (p, &[], false),
        ],
    );
    check_body(
        "numeric anything-but body",
        &[
            (p, r#"{"price": 101}"#, true),
            (p, r#"{"price": 100.1}"#, true),
            (p, r#"{"price": 100}"#, false),
            // Arrays follow the current "none of the elements is listed" rule (module docs).
            (p, r#"{"price": [101, 50]}"#, true),
            (p, r#"{"price": [100, 50]}"#, false),
        ],
    );
}

#[test]
fn numeric_range_matching() {
    // Numeric value matching › Value range matching
    let negative = r#"{"price_usd": [{"numeric": ["<", 0]}]}"#;
    let up_to_150 = r#"{"price_usd": [{"numeric": [">", 0, "<=", 150]}]}"#;
    let closed = r#"{"price_usd": [{"numeric": [">=", 10, "<", 20]}]}"#;
    check_attributes(
        "numeric range",
        &[
            (negative, &[("price_usd", N, "-1")], true),
            (negative, &[("price_usd", N, "-0.5")], true),
            (negative, &[("price_usd", N, "0")], false),
            (negative, &[("price_usd", N, "3")], false),
            (up_to_150, &[("price_usd", N, "150")], true),
            (up_to_150, &[("price_usd", N, "0.01")], true),
            (up_to_150, &[("price_usd", N, "0")], false),
            (up_to_150, &[("price_usd", N, "150.1")], false),
            (up_to_150, &[("price_usd", N, "-3")], false),
            (closed, &[("price_usd", N, "10")], true),
            (closed, &[("price_usd", N, "19.99999")], true),
            (closed, &[("price_usd", N, "20")], false),
            (closed, &[("price_usd", N, "9.99")], false),
        ],
    );
    check_body(
        "numeric range body",
        &[
            (negative, r#"{"price_usd": -7}"#, true),
            (negative, r#"{"price_usd": 7}"#, false),
            (up_to_150, r#"{"price_usd": 150}"#, true),
            (up_to_150, r#"{"price_usd": 151}"#, false),
            (up_to_150, r#"{"price_usd": [200, 42]}"#, true),
        ],
    );
}

#[test]
fn numeric_precision_and_hostile_numbers() {
    // Filter policy constraints: "five digits of accuracy after the decimal point".
    let p = r#"{"n": [{"numeric": ["=", 0.1]}]}"#;
    let le = r#"{"n": [{"numeric": ["<=", 150]}]}"#;
    check_attributes(
        "precision",
        &[
            (p, &[("n", N, "0.100001")], true),
            (p, &[("n", N, "0.10001")], false),
            (le, &[("n", N, "150.000001")], true),
            (le, &[("n", N, "150.00001")], false),
            // Not numbers to SNS: never match, never panic.
            (le, &[("n", N, "NaN")], false),
            (le, &[("n", N, "-inf")], false),
            (le, &[("n", N, "1e400")], false),
            (le, &[("n", N, "")], false),
            (le, &[("n", N, "-1e300")], true),
        ],
    );
    check_body(
        "huge body numbers",
        &[
            (le, r#"{"n": -1e308}"#, true),
            (le, r#"{"n": 1e308}"#, false),
            (le, r#"{"n": 1e400}"#, false),
        ],
    );
    let huge = policy(
        r#"{"n": [{"numeric": [">", -1e300, "<", 1e300]}]}"#,
        FilterScope::MessageAttributes,
    );
    assert!(huge.matches_attributes(&attrs(&[("n", N, "5")])));
}

// ---------------------------------------------------------------- key matching

#[test]
fn key_matching_exists() {
    // Key matching (exists)
    let yes = r#"{"store": [{"exists": true}]}"#;
    let no = r#"{"store": [{"exists": false}]}"#;
    let with_store: &[Attr<'_>] = &[
        ("store", S, "fans"),
        ("customer_interests", SA, r#"["baseball", "basketball"]"#),
    ];
    let without_store: &[Attr<'_>] = &[("customer_interests", SA, r#"["baseball", "basketball"]"#)];
    check_attributes(
        "exists",
        &[
            (yes, with_store, true),
            (yes, without_store, false),
            (no, with_store, false),
            (no, without_store, true),
            (yes, &[("store", N, "3")], true),
            (yes, &[("store", SA, "[]")], true),
        ],
    );
    let body_with = r#"{"store": "fans", "customer_interests": ["baseball", "basketball"]}"#;
    let body_without = r#"{"customer_interests": ["baseball", "basketball"]}"#;
    check_body(
        "exists body",
        &[
            (yes, body_with, true),
            (yes, body_without, false),
            (no, body_with, false),
            (no, body_without, true),
            // exists looks at leaves: an object is not a value, an empty array holds none.
            (yes, r#"{"store": {"name": "fans"}}"#, false),
            (yes, r#"{"store": []}"#, false),
            (yes, r#"{"store": null}"#, true),
        ],
    );
}

// ---------------------------------------------------------------- AND / OR

#[test]
fn and_or_logic() {
    // AND/OR logic › AND logic
    let and = r#"{"customer_interests": ["rugby"], "price_usd": [{"numeric": [">", 100]}]}"#;
    // AND/OR logic › OR logic
    let or = r#"{"customer_interests": ["rugby", "football", "baseball"]}"#;
    check_attributes(
        "and/or",
        &[
            (
                and,
                &[("customer_interests", S, "rugby"), ("price_usd", N, "101")],
                true,
            ),
            (
                and,
                &[("customer_interests", S, "rugby"), ("price_usd", N, "100")],
                false,
            ),
            (
                and,
                &[("customer_interests", S, "tennis"), ("price_usd", N, "101")],
                false,
            ),
            (and, &[("customer_interests", S, "rugby")], false),
            (or, &[("customer_interests", S, "rugby")], true),
            (or, &[("customer_interests", S, "football")], true),
            (or, &[("customer_interests", S, "baseball")], true),
            (or, &[("customer_interests", S, "tennis")], false),
        ],
    );
    check_body(
        "and body",
        &[
            (and, r#"{"customer_interests": "rugby", "price_usd": 101}"#, true),
            (and, r#"{"customer_interests": "rugby", "price_usd": 99}"#, false),
        ],
    );
}

#[test]
fn or_operator() {
    // AND/OR logic › OR operator: "source" && ("metricName" || "namespace")
    let standard = r#"{
        "source": ["aws.cloudwatch"],
        "$or": [{"metricName": ["CPUUtilization"]}, {"namespace": ["AWS/EC2"]}]
    }"#;
    // Nested $or: "source" && ("metricName" || ("metricType" && ("metricId" || "spaceId")))
    let nested = r#"{
        "source": ["aws.cloudwatch"],
        "$or": [
            {"metricName": ["CPUUtilization", "ReadLatency"]},
            {"metricType": ["MetricType"], "$or": [{"metricId": [1234, 321]}, {"spaceId": [1000]}]}
        ]
    }"#;
    let cw = ("source", S, "aws.cloudwatch");
    check_attributes(
        "$or",
        &[
            (standard, &[cw, ("metricName", S, "CPUUtilization")], true),
            (standard, &[cw, ("namespace", S, "AWS/EC2")], true),
            (standard, &[cw], false),
            (standard, &[cw, ("namespace", S, "AWS/ES")], false),
            (
                standard,
                &[("metricName", S, "CPUUtilization"), ("namespace", S, "AWS/EC2")],
                false,
            ),
            (nested, &[cw, ("metricName", S, "ReadLatency")], true),
            (
                nested,
                &[cw, ("metricType", S, "MetricType"), ("metricId", N, "321")],
                true,
            ),
            (
                nested,
                &[cw, ("metricType", S, "MetricType"), ("spaceId", N, "1000")],
                true,
            ),
            (nested, &[cw, ("metricType", S, "MetricType")], false),
            (nested, &[cw, ("metricId", N, "1234")], false),
            (
                nested,
                &[cw, ("metricType", S, "MetricType"), ("spaceId", N, "1001")],
                false,
            ),
        ],
    );
    check_body(
        "$or body",
        &[
            (
                standard,
                r#"{"source": "aws.cloudwatch", "metricName": "CPUUtilization"}"#,
                true,
            ),
            (
                standard,
                r#"{"source": "aws.cloudwatch", "namespace": "AWS/EC2"}"#,
                true,
            ),
            (standard, r#"{"source": "aws.cloudwatch"}"#, false),
            (
                nested,
                r#"{"source": "aws.cloudwatch", "metricType": "MetricType", "metricId": 1234}"#,
                true,
            ),
        ],
    );
    // $or inside a nested body object keeps its path.
    check_body(
        "$or nested in body",
        &[
            (
                r#"{"order": {"$or": [{"size": ["large"]}, {"extra": ["shot"]}]}}"#,
                r#"{"order": {"extra": "shot"}}"#,
                true,
            ),
            (
                r#"{"order": {"$or": [{"size": ["large"]}, {"extra": ["shot"]}]}}"#,
                r#"{"extra": "shot"}"#,
                false,
            ),
        ],
    );
}

#[test]
fn or_with_reserved_keywords_is_a_plain_key() {
    // AND/OR logic › OR operator: with reserved keywords in its objects (or fewer than two
    // objects), "$or" is an ordinary attribute name.
    let plain = r#"{"$or": [{"prefix": "abc"}, {"suffix": "xyz"}]}"#;
    check_attributes(
        "$or as key",
        &[
            (plain, &[("$or", S, "abc-1")], true),
            (plain, &[("$or", S, "1-xyz")], true),
            (plain, &[("$or", S, "nope")], false),
        ],
    );
    // The guide's own example is then an invalid match expression.
    let err = FilterPolicy::parse(
        r#"{"$or": [{"numeric": 123}, {"prefix": "abc"}]}"#,
        FilterScope::MessageAttributes,
    );
    assert!(
        matches!(err, Err(PolicyError::InvalidMatch(ref m)) if m == "Value of numeric must be an array."),
        "{err:?}"
    );
    let single = FilterPolicy::parse(r#"{"$or": [{"a": ["x"]}]}"#, FilterScope::MessageAttributes);
    assert!(
        matches!(single, Err(PolicyError::InvalidMatch(ref m)) if m == "Unrecognized match type a"),
        "{single:?}"
    );
}

// ---------------------------------------------------------------- message shapes

#[test]
fn body_keys_are_dotted_paths() {
    // Recorded against AWS: LocalStack's `test_filter_policy_on_message_body_dot_attribute`
    // (tests/aws/services/sns/test_sns_filter_policy.py, marked `aws.validated`, with its
    // snapshot). The policy `{"object.nested": ["string.value"]}` delivers both
    // `{"object": {"nested": "string.value"}}` and `{"object.nested": "string.value"}`, and a
    // three-part key reaches every split of the same dotted path.
    let two = r#"{"object.nested": ["string.value"]}"#;
    let three = r#"{"object.nested.test": ["string.value"]}"#;
    check_body(
        "dotted keys (recorded AWS behaviour)",
        &[
            (two, r#"{"object": {"nested": "string.value"}}"#, true),
            (two, r#"{"object.nested": "string.value"}"#, true),
            (two, r#"{"object": {"nested": "test-auto"}}"#, false),
            (three, r#"{"object": {"nested": {"test": "string.value"}}}"#, true),
            (three, r#"{"object.nested.test": "string.value"}"#, true),
            (three, r#"{"object.nested": {"test": "string.value"}}"#, true),
            (three, r#"{"object": {"nested.test": "string.value"}}"#, true),
            (three, r#"{"object": {"nested": {"test": "string.notvalue"}}}"#, false),
            // A prefix of a key is not a path segment.
            (two, r#"{"obj": {"ect.nested": "string.value"}}"#, false),
            (two, r#"{"objectx": {"nested": "string.value"}}"#, false),
        ],
    );
    // The nested spelling of the policy is the same dotted path, so it reaches a dotted body key.
    check_body(
        "nested policy, dotted body",
        &[(r#"{"object": {"nested": ["v"]}}"#, r#"{"object.nested": "v"}"#, true)],
    );
}

#[test]
fn body_nested_keys_and_arrays() {
    // Message body filtering: nested policy keys follow nested objects; arrays match if any
    // element matches, including arrays of objects on the way down.
    let p = r#"{"a": {"b": {"c": ["x"]}}}"#;
    check_body(
        "nested body",
        &[
            (p, r#"{"a": {"b": {"c": "x"}}}"#, true),
            (p, r#"{"a": {"b": {"c": "y"}}}"#, false),
            (p, r#"{"a": {"b": {"c": ["y", "x"]}}}"#, true),
            (p, r#"{"a": {"b": {"c": [["y"], ["x"]]}}}"#, true),
            (p, r#"{"a": [{"b": {"c": "y"}}, {"b": {"c": "x"}}]}"#, true),
            (p, r#"{"a": [{"b": {"c": "y"}}, {"b": {"c": "z"}}]}"#, false),
            (p, r#"{"a": {"b": "x"}}"#, false),
            (p, r#"{"a": {"b": {"c": {"x": 1}}}}"#, false),
            (p, r#"{"c": "x"}"#, false),
            // A body that isn't a JSON object never matches.
            (p, "not json", false),
            (p, r#"[{"a": {"b": {"c": "x"}}}]"#, false),
            (p, r#""x""#, false),
            (p, "", false),
        ],
    );
    // AND across nesting levels.
    let two = r#"{"order": {"size": ["large"], "price": [{"numeric": ["<", 5]}]}, "kind": ["coffee"]}"#;
    check_body(
        "nested AND",
        &[
            (
                two,
                r#"{"kind": "coffee", "order": {"size": "large", "price": 4.5}}"#,
                true,
            ),
            (
                two,
                r#"{"kind": "coffee", "order": {"size": "large", "price": 5}}"#,
                false,
            ),
            (
                two,
                r#"{"kind": "tea", "order": {"size": "large", "price": 4.5}}"#,
                false,
            ),
            (two, r#"{"kind": "coffee", "order": {"size": "large"}}"#, false),
        ],
    );
}

#[test]
fn null_and_boolean_values() {
    // Filter policy constraints: a policy may contain true, false and null.
    let null = r#"{"a": [null]}"#;
    let yes = r#"{"a": [true]}"#;
    check_body(
        "null/bool body",
        &[
            (null, r#"{"a": null}"#, true),
            (null, r#"{"a": "null"}"#, false),
            (null, r#"{"b": 1}"#, false),
            (yes, r#"{"a": true}"#, true),
            (yes, r#"{"a": "true"}"#, false),
            (yes, r#"{"a": false}"#, false),
        ],
    );
    check_attributes(
        "bool in String.Array",
        &[
            (yes, &[("a", SA, "[false, true]")], true),
            (yes, &[("a", S, "true")], false),
        ],
    );
}

#[test]
fn string_array_attributes() {
    // String value matching › Exact matching: each String.Array element is matched on its own;
    // elements may also be numbers, true, false or null.
    let exact = r#"{"tags": ["oat"]}"#;
    let num = r#"{"tags": [{"numeric": [">", 2]}]}"#;
    check_attributes(
        "String.Array",
        &[
            (exact, &[("tags", SA, r#"["soy", "oat"]"#)], true),
            (exact, &[("tags", SA, r#"["soy"]"#)], false),
            (exact, &[("tags", SA, "[]")], false),
            (exact, &[("tags", SA, "not json")], false),
            (exact, &[("tags", SA, r#"{"oat": 1}"#)], false),
            (exact, &[("tags", SA, r#"[["oat"]]"#)], false),
            (num, &[("tags", SA, r#"[1, 3]"#)], true),
            (num, &[("tags", SA, r#"[1, "3"]"#)], false),
        ],
    );
}

#[test]
fn binary_and_custom_data_types() {
    // Filter policy constraints: "Amazon SNS ignores message attributes with the Binary data
    // type"; custom type suffixes (String.x, Number.x) keep the base type.
    let exists = r#"{"k": [{"exists": true}]}"#;
    let absent = r#"{"k": [{"exists": false}]}"#;
    let exact = r#"{"k": ["abc"]}"#;
    let num = r#"{"k": [{"numeric": ["=", 2]}]}"#;
    check_attributes(
        "data types",
        &[
            (exists, &[("k", "Binary", "YWJj")], false),
            (absent, &[("k", "Binary", "YWJj")], true),
            (exact, &[("k", "Binary", "abc")], false),
            (exact, &[("k", "Binary.png", "abc")], false),
            (exact, &[("k", "String.custom", "abc")], true),
            (num, &[("k", "Number.float", "2.0")], true),
            (num, &[("k", "String", "2")], false),
            (exact, &[("k", "Unknown", "abc")], false),
        ],
    );
}

#[test]
fn skip_the_line_order_completed_policy() {
    // The policy the coffee-order flow subscribes with.
    let p = policy(r#"{"eventtype":["OrderCompleted"]}"#, FilterScope::MessageAttributes);
    let completed = attrs(&[
        ("eventtype", S, "OrderCompleted"),
        ("vendorid", S, "vendor-42"),
        ("total", N, "7.5"),
    ]);
    assert!(p.matches_attributes(&completed));
    assert!(p.matches(&completed, r#"{"anything": "at all"}"#));

    for (eventtype, data_type) in [("OrderPlaced", S), ("ordercompleted", S), ("OrderCompleted ", S)] {
        let other = attrs(&[
            ("eventtype", data_type, eventtype),
            ("vendorid", S, "vendor-42"),
            ("total", N, "7.5"),
        ]);
        assert!(!p.matches_attributes(&other), "{eventtype} must not match");
    }
    let missing = attrs(&[("vendorid", S, "vendor-42"), ("total", N, "7.5")]);
    assert!(!p.matches_attributes(&missing));
    // Attribute scope never looks at the body, even when the body says OrderCompleted.
    assert!(!p.matches(&missing, r#"{"eventtype": "OrderCompleted"}"#));
}

#[test]
fn scope_dispatch_and_parsing() {
    assert_eq!(
        "MessageAttributes".parse::<FilterScope>(),
        Ok(FilterScope::MessageAttributes)
    );
    assert_eq!("MessageBody".parse::<FilterScope>(), Ok(FilterScope::MessageBody));
    assert_eq!(FilterScope::default(), FilterScope::MessageAttributes);
    let err = "messagebody"
        .parse::<FilterScope>()
        .map(|_| ())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("[messagebody]") && err.contains("MessageBody") && err.contains("MessageAttributes"),
        "{err}"
    );

    let p = policy(r#"{"eventtype": ["OrderCompleted"]}"#, FilterScope::MessageBody);
    assert_eq!(p.scope(), FilterScope::MessageBody);
    let a = attrs(&[("eventtype", S, "OrderCompleted")]);
    assert!(!p.matches(&a, r#"{"eventtype": "OrderPlaced"}"#));
    assert!(p.matches(&MessageAttributes::new(), r#"{"eventtype": "OrderCompleted"}"#));
}

// ---------------------------------------------------------------- validation

/// Ten distinct string values, for building policies of a given complexity.
fn values(n: usize) -> String {
    let items: Vec<String> = (0..n).map(|i| format!("\"v{i}\"")).collect();
    format!("[{}]", items.join(","))
}

#[test]
fn validation_errors() {
    use FilterScope::{MessageAttributes as A, MessageBody as B};
    let six_keys = r#"{"a":["1"],"b":["1"],"c":["1"],"d":["1"],"e":["1"],"f":["1"]}"#.to_string();
    let six_leaves = r#"{"x":{"a":["1"],"b":["1"],"c":["1"]},"y":{"d":["1"],"e":["1"],"f":["1"]}}"#.to_string();
    let six_with_or = r#"{"a":["1"],"b":["1"],"c":["1"],"$or":[{"d":["1"]},{"e":["1"],"f":["1"]}]}"#.to_string();
    let too_complex = format!(r#"{{"a":{},"b":{}}}"#, values(10), values(16));
    let or_too_complex = format!(
        r#"{{"a":{},"$or":[{{"b":{}}},{{"c":{}}}]}}"#,
        values(10),
        values(10),
        values(6)
    );
    let nested_too_complex = format!(r#"{{"a":{{"b":{}}},"c":{}}}"#, values(8), values(10));
    let too_large = format!(r#"{{"a":["{}"]}}"#, "x".repeat(MAX_POLICY_BYTES));
    let too_deep = format!("{}[\"x\"]{}", r#"{"a":"#.repeat(40), "}".repeat(40));
    let json_bomb = format!("{}[\"x\"]{}", r#"{"a":"#.repeat(5000), "}".repeat(5000));

    let rows: Vec<(String, FilterScope, &str)> = vec![
        // Additional considerations: the policy is JSON.
        ("{".into(), A, "failed to parse JSON"),
        ("".into(), A, "failed to parse JSON"),
        (r#"["a"]"#.into(), A, "must be a JSON object"),
        (r#""a""#.into(), A, "must be a JSON object"),
        ("{}".into(), A, "Empty objects are not allowed"),
        (r#"{"a":{}}"#.into(), B, "Empty objects are not allowed"),
        (r#"{"$or":[{},{}]}"#.into(), A, "Empty objects are not allowed"),
        (r#"{"a":"x"}"#.into(), A, r#""a" must be an object or an array"#),
        (r#"{"a":5}"#.into(), B, r#""a" must be an object or an array"#),
        (r#"{"a":[]}"#.into(), A, "Empty arrays are not allowed"),
        // Attribute-based filtering: no nested policies.
        (
            r#"{"a":{"b":["x"]}}"#.into(),
            A,
            "does not support nested filter policy",
        ),
        (
            r#"{"$or":[{"a":{"b":["x"]}},{"c":["y"]}]}"#.into(),
            A,
            "does not support nested filter policy",
        ),
        // Limits.
        (six_keys.clone(), A, "can not have more than 5 keys"),
        (six_keys, B, "can not have more than 5 keys"),
        (six_leaves, B, "can not have more than 5 keys"),
        (six_with_or, A, "can not have more than 5 keys"),
        (too_complex, A, "too complex (160 combinations"),
        (or_too_complex, A, "too complex (160 combinations"),
        (nested_too_complex, B, "too complex (160 combinations"),
        (too_large, A, "too large"),
        (too_deep, B, "nested too deeply"),
        (json_bomb, B, "failed to parse JSON"),
        // Match expressions.
        (
            r#"{"a":[["x"]]}"#.into(),
            A,
            "Match value must be String, number, true, false, or null",
        ),
        (r#"{"a":[{"regex":"x"}]}"#.into(), A, "Unrecognized match type regex"),
        (
            r#"{"a":[{"prefix":"x","suffix":"y"}]}"#.into(),
            A,
            "Only one key allowed in match expression",
        ),
        (r#"{"a":[{}]}"#.into(), A, "Only one key allowed in match expression"),
        (
            r#"{"a":[{"prefix":1}]}"#.into(),
            A,
            "prefix match pattern must be a string",
        ),
        (
            r#"{"a":[{"suffix":null}]}"#.into(),
            A,
            "suffix match pattern must be a string",
        ),
        (
            r#"{"a":[{"equals-ignore-case":["x"]}]}"#.into(),
            A,
            "equals-ignore-case match pattern must be a string",
        ),
        (
            r#"{"a":[{"exists":"true"}]}"#.into(),
            A,
            "exists match pattern must be either true or false.",
        ),
        (
            r#"{"a":[{"anything-but":{"suffix":"x"}}]}"#.into(),
            A,
            "Unsupported anything-but pattern: suffix",
        ),
        (
            r#"{"a":[{"anything-but":{"prefix":5}}]}"#.into(),
            A,
            "prefix match pattern must be a string",
        ),
        (
            r#"{"a":[{"anything-but":[]}]}"#.into(),
            A,
            "Empty arrays are not allowed",
        ),
        (
            r#"{"a":[{"anything-but":[true]}]}"#.into(),
            A,
            "only strings and numbers are allowed",
        ),
        (
            r#"{"a":[{"anything-but":null}]}"#.into(),
            A,
            "must be an array or single string/number value",
        ),
        (
            r#"{"a":[{"numeric":5}]}"#.into(),
            A,
            "Value of numeric must be an array.",
        ),
        (
            r#"{"a":[{"numeric":[]}]}"#.into(),
            A,
            "Invalid member in numeric match: ]",
        ),
        (
            r#"{"a":[{"numeric":[5]}]}"#.into(),
            A,
            "Invalid member in numeric match: 5",
        ),
        (
            r#"{"a":[{"numeric":["!=",5]}]}"#.into(),
            A,
            "Unrecognized numeric range operator: !=",
        ),
        (
            r#"{"a":[{"numeric":["=","5"]}]}"#.into(),
            A,
            "Value of equals must be numeric",
        ),
        (r#"{"a":[{"numeric":["<"]}]}"#.into(), A, "Value of < must be numeric"),
        (
            r#"{"a":[{"numeric":[">",10,"<",5]}]}"#.into(),
            A,
            "Bottom must be less than top",
        ),
        (
            r#"{"a":[{"numeric":[">",10,"<=",10]}]}"#.into(),
            A,
            "Bottom must be less than top",
        ),
        (
            r#"{"a":[{"numeric":[">",0,"<",10,"<",20]}]}"#.into(),
            A,
            "Too many terms in numeric range expression",
        ),
        (
            r#"{"a":[{"numeric":["<",5,">",1]}]}"#.into(),
            A,
            "Too many elements in numeric expression",
        ),
        (
            r#"{"a":[{"numeric":["=",5,"<",10]}]}"#.into(),
            A,
            "Too many elements in numeric expression",
        ),
        (
            r#"{"a":[{"numeric":[">",0,">",10]}]}"#.into(),
            A,
            "Bad numeric range operator: >",
        ),
        (
            r#"{"a":[{"numeric":[">",0,5,10]}]}"#.into(),
            A,
            "Bad value in numeric range: 5",
        ),
        (
            r#"{"a":[{"numeric":[">",0,"<","x"]}]}"#.into(),
            A,
            "Value of < must be numeric",
        ),
        (
            r#"{"a":[{"cidr":"10.0.0.0"}]}"#.into(),
            A,
            "Malformed CIDR, one '/' required",
        ),
        (
            r#"{"a":[{"cidr":"10.0.0.0/x"}]}"#.into(),
            A,
            "mask bits must be an integer",
        ),
        (
            r#"{"a":[{"cidr":"10.0.0/8"}]}"#.into(),
            A,
            "Nonstandard IP address: 10.0.0",
        ),
        (
            r#"{"a":[{"cidr":"10.0.0.0/33"}]}"#.into(),
            A,
            "mask bits must be at most 32",
        ),
        (r#"{"a":[{"cidr":7}]}"#.into(), A, "cidr match pattern must be a string"),
    ];
    for (text, scope, expected) in rows {
        let shown: String = text.chars().take(80).collect();
        match FilterPolicy::parse(&text, scope) {
            Ok(_) => panic!("{shown} ({scope}) should be rejected with {expected:?}"),
            Err(e) => {
                let msg = e.to_string();
                assert!(msg.starts_with("Invalid parameter: "), "{shown}: {msg}");
                assert!(msg.contains(expected), "{shown} ({scope}): {msg:?} lacks {expected:?}");
            }
        }
    }
}

#[test]
fn limits_at_the_boundary_are_accepted() {
    use FilterScope::{MessageAttributes as A, MessageBody as B};
    let rows: Vec<(String, FilterScope)> = vec![
        (r#"{"a":["1"],"b":["1"],"c":["1"],"d":["1"],"e":["1"]}"#.into(), A),
        // Body scope counts leaf keys, not top-level ones.
        (r#"{"x":{"a":["1"],"b":["1"],"c":["1"]},"y":{"d":["1"],"e":["1"]}}"#.into(), B),
        (format!(r#"{{"a":{},"b":{}}}"#, values(10), values(15)), A),
        (format!(r#"{{"a":{},"$or":[{{"b":{}}},{{"c":{}}}]}}"#, values(10), values(10), values(5)), A),
        (format!(r#"{{"a":["{}"]}}"#, "x".repeat(MAX_POLICY_BYTES - 12)), A),
        (format!("{}[\"x\"]{}", r#"{"a":"#.repeat(20), "}".repeat(20)), B),
        // Filter policy constraints, key-limit example (72 combinations).
        (r#"{"key_a":{"key_b":{"key_c":["value_one","value_two","value_three","value_four"]}},"key_d":{"key_e":["value_one","value_two","value_three"]}}"#.into(), B),
    ];
    for (text, scope) in rows {
        let shown: String = text.chars().take(80).collect();
        if let Err(e) = FilterPolicy::parse(&text, scope) {
            panic!("{shown} ({scope}) should be accepted: {e}");
        }
    }
}

#[test]
fn combinations_follow_the_documented_arithmetic() {
    let count = |text: &str, scope| match parse::parse(text, scope) {
        Ok(root) => parse::combinations(&root),
        Err(e) => panic!("{text}: {e}"),
    };
    // Filter policy constraints, complexity example: 3 x 1 x 2 = 6.
    assert_eq!(
        count(
            r#"{"key_a":["value_one","value_two","value_three"],"key_b":["value_one"],"key_c":["value_one","value_two"]}"#,
            FilterScope::MessageAttributes
        ),
        6
    );
    // Nested example: 4 values x level 3, times 3 values x level 2 = 72.
    assert_eq!(
        count(
            r#"{"key_a":{"key_b":{"key_c":["value_one","value_two","value_three","value_four"]}},"key_d":{"key_e":["value_one","value_two","value_three"]}}"#,
            FilterScope::MessageBody
        ),
        72
    );
    // $or: summed across branches. source(1) x (metricName(2) + metricType(1) x (2 + 1)) = 5.
    assert_eq!(
        count(
            r#"{"source":["aws.cloudwatch"],"$or":[{"metricName":["CPUUtilization","ReadLatency"]},{"metricType":["MetricType"],"$or":[{"metricId":[1234,321]},{"spaceId":[1000]}]}]}"#,
            FilterScope::MessageAttributes
        ),
        5
    );
}

#[test]
fn deep_and_hostile_messages_never_panic() {
    let p = policy(
        r#"{"a": {"b": ["x"]}, "c": [{"exists": false}]}"#,
        FilterScope::MessageBody,
    );
    let deep_arrays = format!(r#"{{"a": {{"b": {}"x"{}}}}}"#, "[".repeat(120), "]".repeat(120));
    let too_deep_for_serde = format!(r#"{{"a": {{"b": {}"x"{}}}}}"#, "[".repeat(10_000), "]".repeat(10_000));
    let deep_objects = format!("{}1{}", r#"{"a":"#.repeat(120), "}".repeat(120));
    // 120 nested arrays is within serde's limit and within our walk bound.
    assert!(p.matches_body(&deep_arrays));
    assert!(!p.matches_body(&too_deep_for_serde));
    assert!(!p.matches_body(&deep_objects));
    assert!(!p.matches_body("{\"a\": {\"b\": \"\u{0}\"}}"));
}
