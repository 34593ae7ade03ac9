//! Choice rules: comparisons of a `Variable` against a literal or another path, combined
//! with `And`, `Or` and `Not`.
//!
//! Per the spec, a comparison whose operands have the wrong type is simply false. A
//! `Variable` (or `...Path` operand) that matches nothing is `States.Runtime`, except for
//! `IsPresent`, whose point is to test that.

use std::cmp::Ordering;

use serde_json::{Map, Value};

use super::errors::{StateError, error_names};
use super::path::{Path, Scope};
use super::template::{Template, field_in, parse_assign};

/// A top-level rule and the state it leads to.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ChoiceRule {
    pub(crate) rule: Rule,
    pub(crate) next: String,
    /// The rule's own `Assign`, applied when it matches.
    pub(crate) assign: Option<Template>,
    /// JSONata: the rule's own `Output`, the state's output when it matches.
    pub(crate) output: Option<Template>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Rule {
    And(Vec<Rule>),
    Or(Vec<Rule>),
    Not(Box<Rule>),
    Compare {
        variable: Path,
        test: Test,
    },
    /// JSONata's `Condition`: a `{% … %}` expression (or a literal) that must give a boolean.
    Condition(Template),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cmp {
    Equals,
    LessThan,
    GreaterThan,
    LessThanEquals,
    GreaterThanEquals,
}

impl Cmp {
    fn holds(self, ord: Ordering) -> bool {
        match self {
            Cmp::Equals => ord == Ordering::Equal,
            Cmp::LessThan => ord == Ordering::Less,
            Cmp::GreaterThan => ord == Ordering::Greater,
            Cmp::LessThanEquals => ord != Ordering::Greater,
            Cmp::GreaterThanEquals => ord != Ordering::Less,
        }
    }
}

/// The right-hand side of a comparison: a literal, or a path (`...Path` operators).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Operand {
    Literal(Value),
    Path(Path),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    String,
    Numeric,
    Boolean,
    Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
/// The `Is...` operators, named by the type they test.
pub(crate) enum TypeTest {
    Null,
    Present,
    Numeric,
    String,
    Boolean,
    Timestamp,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Test {
    Compare { kind: Kind, cmp: Cmp, operand: Operand },
    Matches(Pattern),
    Type { test: TypeTest, expected: bool },
}

/// A `StringMatches` pattern: `*` matches any run of characters, `\*` a literal star and
/// `\\` a literal backslash.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Pattern(Vec<Token>);

#[derive(Debug, Clone, Copy, PartialEq)]
enum Token {
    Star,
    Char(char),
}

impl Pattern {
    pub(crate) fn parse(text: &str) -> Pattern {
        let mut tokens = Vec::new();
        let mut chars = text.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => tokens.push(Token::Char(chars.next().unwrap_or('\\'))),
                '*' => tokens.push(Token::Star),
                c => tokens.push(Token::Char(c)),
            }
        }
        Pattern(tokens)
    }

    /// Wildcard matching with single-star backtracking (linear in practice).
    pub(crate) fn matches(&self, text: &str) -> bool {
        let s: Vec<char> = text.chars().collect();
        let p = &self.0;
        let (mut si, mut pi) = (0, 0);
        let mut star: Option<(usize, usize)> = None;
        while si < s.len() {
            match p.get(pi) {
                Some(Token::Char(c)) if *c == s[si] => {
                    si += 1;
                    pi += 1;
                }
                Some(Token::Star) => {
                    star = Some((pi, si));
                    pi += 1;
                }
                _ => match star {
                    Some((sp, ss)) => {
                        pi = sp + 1;
                        si = ss + 1;
                        star = Some((sp, ss + 1));
                    }
                    None => return false,
                },
            }
        }
        p[pi.min(p.len())..].iter().all(|t| *t == Token::Star)
    }
}

/// Parsing. Errors are `(field, reason)` with `field` relative to the state.
impl ChoiceRule {
    pub(crate) fn parse(value: &Value, at: &str, jsonata: bool) -> Result<ChoiceRule, (String, String)> {
        let Value::Object(map) = value else {
            return Err((at.to_string(), "a Choice rule must be an object".into()));
        };
        if jsonata {
            return parse_condition(map, at);
        }
        let Some(next) = map.get("Next") else {
            return Err((format!("{at}.Next"), "a top-level Choice rule needs `Next`".into()));
        };
        let Value::String(next) = next else {
            return Err((format!("{at}.Next"), "must be a string".into()));
        };
        let rule = parse_rule(map, at, true)?;
        let assign = map
            .get("Assign")
            .map(|v| parse_assign(v, false).map_err(|(inner, why)| (field_in(&format!("{at}.Assign"), &inner), why)))
            .transpose()?;
        Ok(ChoiceRule {
            rule,
            next: next.clone(),
            assign,
            output: None,
        })
    }
}

/// A JSONata rule: `Condition`, `Next`, and optionally `Assign`, `Output` and `Comment`.
fn parse_condition(map: &Map<String, Value>, at: &str) -> Result<ChoiceRule, (String, String)> {
    let field = |name: &str| format!("{at}.{name}");
    let within =
        |name: &'static str| move |(inner, why): (String, String)| (field_in(&format!("{at}.{name}"), &inner), why);
    for key in map.keys() {
        match key.as_str() {
            "Condition" | "Next" | "Assign" | "Output" | "Comment" => {}
            "Variable" | "And" | "Or" | "Not" => {
                return Err((
                    field(key),
                    "is a JSONPath Choice rule field; a JSONata rule tests a `Condition` such as `{% $states.input.total > 5 %}`".into(),
                ));
            }
            _ => {
                return Err((
                    field(key),
                    "is not a field of a JSONata Choice rule (Condition, Next, Assign, Output, Comment)".into(),
                ));
            }
        }
    }
    let next = match map.get("Next") {
        Some(Value::String(next)) => next.clone(),
        Some(_) => return Err((field("Next"), "must be a string".into())),
        None => return Err((field("Next"), "a Choice rule needs `Next`".into())),
    };
    let condition = match map.get("Condition") {
        Some(v @ (Value::String(_) | Value::Bool(_))) => Template::parse_jsonata(v).map_err(within("Condition"))?,
        Some(_) => return Err((field("Condition"), "must be a `{% … %}` expression or a boolean".into())),
        None => return Err((field("Condition"), "a JSONata Choice rule needs `Condition`".into())),
    };
    let assign = map
        .get("Assign")
        .map(|v| parse_assign(v, true).map_err(within("Assign")))
        .transpose()?;
    let output = map
        .get("Output")
        .map(|v| Template::parse_jsonata(v).map_err(within("Output")))
        .transpose()?;
    for (name, template) in [
        ("Condition", Some(&condition)),
        ("Assign", assign.as_ref()),
        ("Output", output.as_ref()),
    ] {
        for member in ["result", "errorOutput"] {
            if let Some(expr) = template.and_then(|t| t.mentioning_states(member)) {
                return Err((
                    field(name),
                    format!(
                        "`{{% {} %}}` reads `$states.{member}`, which a Choice state does not have",
                        expr.source()
                    ),
                ));
            }
        }
    }
    Ok(ChoiceRule {
        rule: Rule::Condition(condition),
        next,
        assign,
        output,
    })
}

fn parse_rule(map: &Map<String, Value>, at: &str, top: bool) -> Result<Rule, (String, String)> {
    let field = |name: &str| format!("{at}.{name}");
    let mut operators = Vec::new();
    let mut variable = None;
    for (key, value) in map {
        match key.as_str() {
            "Next" | "Assign" if top => {}
            "Next" => {
                return Err((field(key), "only top-level Choice rules may have `Next`".into()));
            }
            "Comment" => {}
            "Variable" => variable = Some(value),
            _ => operators.push((key.as_str(), value)),
        }
    }
    let [(op, operand)] = operators[..] else {
        let names: Vec<_> = operators.iter().map(|(k, _)| format!("`{k}`")).collect();
        return Err((
            at.to_string(),
            format!(
                "a Choice rule needs exactly one operator (a comparison, `And`, `Or` or `Not`), found {}",
                if names.is_empty() {
                    "none".to_string()
                } else {
                    names.join(", ")
                }
            ),
        ));
    };
    let here = field(op);
    let nested = |value: &Value, at: &str| match value {
        Value::Object(m) => parse_rule(m, at, false),
        _ => Err((at.to_string(), "must be a Choice rule object".into())),
    };
    match op {
        "And" | "Or" | "Not" => {
            if variable.is_some() {
                return Err((field("Variable"), format!("`{op}` rules do not take `Variable`")));
            }
            if op == "Not" {
                return Ok(Rule::Not(Box::new(nested(operand, &here)?)));
            }
            let Value::Array(items) = operand else {
                return Err((here, "must be a non-empty array of Choice rules".into()));
            };
            if items.is_empty() {
                return Err((here, "must be a non-empty array of Choice rules".into()));
            }
            let rules = items
                .iter()
                .enumerate()
                .map(|(i, v)| nested(v, &format!("{here}[{i}]")))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(if op == "And" { Rule::And(rules) } else { Rule::Or(rules) })
        }
        _ => {
            let test = parse_test(op, operand).map_err(|reason| (here.clone(), reason))?;
            let Some(variable) = variable else {
                return Err((field("Variable"), format!("`{op}` needs a `Variable`")));
            };
            let Value::String(variable) = variable else {
                return Err((field("Variable"), "must be a path string".into()));
            };
            let variable = Path::parse(variable).map_err(|r| (field("Variable"), r))?;
            Ok(Rule::Compare { variable, test })
        }
    }
}

fn parse_test(op: &str, operand: &Value) -> Result<Test, String> {
    let type_test = match op {
        "IsNull" => Some(TypeTest::Null),
        "IsPresent" => Some(TypeTest::Present),
        "IsNumeric" => Some(TypeTest::Numeric),
        "IsString" => Some(TypeTest::String),
        "IsBoolean" => Some(TypeTest::Boolean),
        "IsTimestamp" => Some(TypeTest::Timestamp),
        _ => None,
    };
    if let Some(test) = type_test {
        let Value::Bool(expected) = operand else {
            return Err("must be `true` or `false`".into());
        };
        return Ok(Test::Type {
            test,
            expected: *expected,
        });
    }
    if op == "StringMatches" {
        let Value::String(pattern) = operand else {
            return Err("must be a string pattern".into());
        };
        return Ok(Test::Matches(Pattern::parse(pattern)));
    }
    let (base, is_path) = match op.strip_suffix("Path") {
        Some(base) => (base, true),
        None => (op, false),
    };
    let (kind, cmp) = match base {
        "BooleanEquals" => (Kind::Boolean, Cmp::Equals),
        _ => {
            let (kind, rest) = [
                ("String", Kind::String),
                ("Numeric", Kind::Numeric),
                ("Timestamp", Kind::Timestamp),
            ]
            .into_iter()
            .find_map(|(prefix, kind)| base.strip_prefix(prefix).map(|rest| (kind, rest)))
            .ok_or_else(|| format!("unsupported Choice operator `{op}`"))?;
            let cmp = match rest {
                "Equals" => Cmp::Equals,
                "LessThan" => Cmp::LessThan,
                "GreaterThan" => Cmp::GreaterThan,
                "LessThanEquals" => Cmp::LessThanEquals,
                "GreaterThanEquals" => Cmp::GreaterThanEquals,
                _ => return Err(format!("unsupported Choice operator `{op}`")),
            };
            (kind, cmp)
        }
    };
    let operand = if is_path {
        let Value::String(text) = operand else {
            return Err("must be a path string".into());
        };
        Operand::Path(Path::parse(text)?)
    } else {
        let ok = match kind {
            Kind::String => operand.is_string(),
            Kind::Numeric => operand.is_number(),
            Kind::Boolean => operand.is_boolean(),
            Kind::Timestamp => operand.as_str().is_some_and(|s| parse_timestamp(s).is_some()),
        };
        if !ok {
            let expected = match kind {
                Kind::String => "a string",
                Kind::Numeric => "a number",
                Kind::Boolean => "a boolean",
                Kind::Timestamp => "an RFC 3339 timestamp string such as 2026-01-31T09:30:00Z",
            };
            return Err(format!("must be {expected}, not {operand}"));
        }
        Operand::Literal(operand.clone())
    };
    Ok(Test::Compare { kind, cmp, operand })
}

/// Timestamps as the spec has them: RFC 3339 with an uppercase `T` and an offset or `Z`.
pub(crate) fn parse_timestamp(text: &str) -> Option<jiff::Timestamp> {
    if !text.contains('T') {
        return None;
    }
    text.parse().ok()
}

fn compare_numbers(a: &serde_json::Number, b: &serde_json::Number) -> Option<Ordering> {
    match (a.as_i64(), b.as_i64()) {
        (Some(x), Some(y)) => Some(x.cmp(&y)),
        _ => a.as_f64()?.partial_cmp(&b.as_f64()?),
    }
}

/// Evaluation.
impl Rule {
    pub(crate) fn eval(&self, input: &Value, context: &Scope<'_>) -> Result<bool, StateError> {
        match self {
            Rule::And(rules) => {
                for r in rules {
                    if !r.eval(input, context)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            Rule::Or(rules) => {
                for r in rules {
                    if r.eval(input, context)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            Rule::Not(rule) => Ok(!rule.eval(input, context)?),
            Rule::Compare { variable, test } => {
                let value = variable.read(input, context);
                if let Test::Type {
                    test: TypeTest::Present,
                    expected,
                } = test
                {
                    return Ok(value.is_ok() == *expected);
                }
                let value = value.map_err(|e| StateError::runtime(format!("Choice rule `Variable`: {e}")))?;
                test.eval(&value, input, context)
            }
            Rule::Condition(condition) => match condition.eval(input, context) {
                Ok(Value::Bool(b)) => Ok(b),
                Ok(other) => Err(StateError::new(
                    error_names::QUERY_EVALUATION_ERROR,
                    format!("Condition must give a boolean, not {}", super::path::kind_of(&other)),
                )),
                Err(e) => Err(StateError::new(e.error, format!("Condition: {}", e.cause))),
            },
        }
    }
}

impl Test {
    fn eval(&self, value: &Value, input: &Value, context: &Scope<'_>) -> Result<bool, StateError> {
        Ok(match self {
            Test::Type { test, expected } => {
                let is = match test {
                    TypeTest::Null => value.is_null(),
                    TypeTest::Present => true,
                    TypeTest::Numeric => value.is_number(),
                    TypeTest::String => value.is_string(),
                    TypeTest::Boolean => value.is_boolean(),
                    TypeTest::Timestamp => value.as_str().and_then(parse_timestamp).is_some(),
                };
                is == *expected
            }
            Test::Matches(pattern) => value.as_str().is_some_and(|s| pattern.matches(s)),
            Test::Compare { kind, cmp, operand } => {
                let other = match operand {
                    Operand::Literal(v) => v.clone(),
                    Operand::Path(p) => p
                        .read(input, context)
                        .map_err(|e| StateError::runtime(format!("Choice rule comparison path: {e}")))?,
                };
                let ord = match (kind, value, &other) {
                    (Kind::String, Value::String(a), Value::String(b)) => Some(a.cmp(b)),
                    (Kind::Numeric, Value::Number(a), Value::Number(b)) => compare_numbers(a, b),
                    (Kind::Boolean, Value::Bool(a), Value::Bool(b)) => Some(a.cmp(b)),
                    (Kind::Timestamp, Value::String(a), Value::String(b)) => {
                        match (parse_timestamp(a), parse_timestamp(b)) {
                            (Some(a), Some(b)) => Some(a.cmp(&b)),
                            _ => None,
                        }
                    }
                    _ => None,
                };
                ord.is_some_and(|o| cmp.holds(o))
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::asl::context::ContextObject;
    use serde_json::json;

    fn input() -> Value {
        json!({
            "s": "latte", "s2": "mocha", "n": 5, "f": 2.5, "b": true,
            "t": "2026-01-31T09:30:00Z", "t2": "2026-01-31T10:30:00+02:00",
            "nul": null, "star": "a*b", "five": 5
        })
    }

    /// Evaluates a rule given as JSON (a top-level rule without `Next`).
    fn check(rule: Value) -> Result<bool, StateError> {
        let mut rule = rule;
        if let Value::Object(m) = &mut rule {
            m.insert("Next".into(), json!("X"));
        }
        let parsed = ChoiceRule::parse(&rule, "Choices[0]", false).map_err(|(f, r)| StateError::new(f, r))?;
        parsed.rule.eval(
            &input(),
            &Scope::context_only(&ContextObject::of(&json!({"State": {"Name": "C"}}))),
        )
    }

    fn yes(rule: Value) {
        assert_eq!(check(rule.clone()), Ok(true), "{rule}");
    }

    fn no(rule: Value) {
        assert_eq!(check(rule.clone()), Ok(false), "{rule}");
    }

    #[test]
    fn string_comparisons() {
        yes(json!({"Variable": "$.s", "StringEquals": "latte"}));
        no(json!({"Variable": "$.s", "StringEquals": "Latte"}));
        yes(json!({"Variable": "$.s", "StringLessThan": "mocha"}));
        no(json!({"Variable": "$.s", "StringGreaterThan": "mocha"}));
        yes(json!({"Variable": "$.s", "StringLessThanEquals": "latte"}));
        yes(json!({"Variable": "$.s", "StringGreaterThanEquals": "latte"}));
        no(json!({"Variable": "$.s", "StringGreaterThanEquals": "m"}));
        yes(json!({"Variable": "$.s", "StringEqualsPath": "$.s"}));
        yes(json!({"Variable": "$.s", "StringLessThanPath": "$.s2"}));
        no(json!({"Variable": "$.s", "StringGreaterThanPath": "$.s2"}));
        yes(json!({"Variable": "$.s2", "StringGreaterThanEqualsPath": "$.s"}));
        yes(json!({"Variable": "$.s", "StringLessThanEqualsPath": "$.s2"}));
        // Wrong type: false, not an error.
        no(json!({"Variable": "$.n", "StringEquals": "5"}));
        no(json!({"Variable": "$.s", "StringEqualsPath": "$.n"}));
    }

    #[test]
    fn string_matches_with_wildcards_and_escapes() {
        yes(json!({"Variable": "$.s", "StringMatches": "l*e"}));
        yes(json!({"Variable": "$.s", "StringMatches": "*"}));
        yes(json!({"Variable": "$.s", "StringMatches": "*at*"}));
        no(json!({"Variable": "$.s", "StringMatches": "m*"}));
        no(json!({"Variable": "$.s", "StringMatches": "latt"}));
        yes(json!({"Variable": "$.star", "StringMatches": "a\\*b"}));
        no(json!({"Variable": "$.s", "StringMatches": "l\\*e"}));
        yes(json!({"Variable": "$.star", "StringMatches": "*\\**"}));
        no(json!({"Variable": "$.n", "StringMatches": "*"}));
        assert!(Pattern::parse("a*b*c").matches("aXbYbZc"));
        assert!(!Pattern::parse("a*b*c").matches("aXbYbZ"));
        assert!(Pattern::parse("").matches(""));
        assert!(!Pattern::parse("").matches("x"));
    }

    #[test]
    fn numeric_comparisons() {
        yes(json!({"Variable": "$.n", "NumericEquals": 5}));
        yes(json!({"Variable": "$.n", "NumericEquals": 5.0}));
        no(json!({"Variable": "$.n", "NumericEquals": 6}));
        yes(json!({"Variable": "$.f", "NumericLessThan": 3}));
        no(json!({"Variable": "$.f", "NumericGreaterThan": 3}));
        yes(json!({"Variable": "$.n", "NumericLessThanEquals": 5}));
        yes(json!({"Variable": "$.n", "NumericGreaterThanEquals": 5}));
        no(json!({"Variable": "$.n", "NumericGreaterThanEquals": 5.1}));
        yes(json!({"Variable": "$.n", "NumericEqualsPath": "$.five"}));
        yes(json!({"Variable": "$.f", "NumericLessThanPath": "$.n"}));
        no(json!({"Variable": "$.f", "NumericGreaterThanPath": "$.n"}));
        yes(json!({"Variable": "$.n", "NumericLessThanEqualsPath": "$.five"}));
        yes(json!({"Variable": "$.n", "NumericGreaterThanEqualsPath": "$.f"}));
        no(json!({"Variable": "$.s", "NumericEquals": 5}));
    }

    #[test]
    fn boolean_comparisons() {
        yes(json!({"Variable": "$.b", "BooleanEquals": true}));
        no(json!({"Variable": "$.b", "BooleanEquals": false}));
        yes(json!({"Variable": "$.b", "BooleanEqualsPath": "$.b"}));
        no(json!({"Variable": "$.s", "BooleanEquals": true}));
    }

    #[test]
    fn timestamp_comparisons() {
        // $.t2 is 08:30Z, one hour before $.t.
        yes(json!({"Variable": "$.t", "TimestampEquals": "2026-01-31T10:30:00+01:00"}));
        no(json!({"Variable": "$.t", "TimestampEquals": "2026-01-31T09:30:01Z"}));
        yes(json!({"Variable": "$.t", "TimestampLessThan": "2026-01-31T09:30:01Z"}));
        yes(json!({"Variable": "$.t", "TimestampGreaterThan": "2026-01-31T09:29:59Z"}));
        yes(json!({"Variable": "$.t", "TimestampLessThanEquals": "2026-01-31T09:30:00Z"}));
        yes(json!({"Variable": "$.t", "TimestampGreaterThanEquals": "2026-01-31T09:30:00Z"}));
        yes(json!({"Variable": "$.t", "TimestampGreaterThanPath": "$.t2"}));
        no(json!({"Variable": "$.t", "TimestampLessThanPath": "$.t2"}));
        yes(json!({"Variable": "$.t", "TimestampEqualsPath": "$.t"}));
        yes(json!({"Variable": "$.t2", "TimestampLessThanEqualsPath": "$.t"}));
        no(json!({"Variable": "$.t2", "TimestampGreaterThanEqualsPath": "$.t"}));
        no(json!({"Variable": "$.s", "TimestampEquals": "2026-01-31T09:30:00Z"}));
    }

    #[test]
    fn type_tests() {
        yes(json!({"Variable": "$.nul", "IsNull": true}));
        no(json!({"Variable": "$.s", "IsNull": true}));
        yes(json!({"Variable": "$.s", "IsNull": false}));
        yes(json!({"Variable": "$.s", "IsPresent": true}));
        yes(json!({"Variable": "$.nul", "IsPresent": true}));
        no(json!({"Variable": "$.missing", "IsPresent": true}));
        yes(json!({"Variable": "$.missing", "IsPresent": false}));
        yes(json!({"Variable": "$.f", "IsNumeric": true}));
        no(json!({"Variable": "$.s", "IsNumeric": true}));
        yes(json!({"Variable": "$.s", "IsString": true}));
        no(json!({"Variable": "$.b", "IsString": true}));
        yes(json!({"Variable": "$.b", "IsBoolean": true}));
        no(json!({"Variable": "$.n", "IsBoolean": true}));
        yes(json!({"Variable": "$.t", "IsTimestamp": true}));
        no(json!({"Variable": "$.s", "IsTimestamp": true}));
        yes(json!({"Variable": "$$.State.Name", "StringEquals": "C"}));
    }

    #[test]
    fn and_or_not() {
        let t = json!({"Variable": "$.b", "BooleanEquals": true});
        let f = json!({"Variable": "$.n", "NumericEquals": 0});
        yes(json!({"And": [t, t]}));
        no(json!({"And": [t, f]}));
        yes(json!({"Or": [f, t]}));
        no(json!({"Or": [f, f]}));
        yes(json!({"Not": f}));
        no(json!({"Not": t}));
        yes(json!({"And": [t, {"Or": [f, {"Not": f}]}], "Comment": "nested"}));
        yes(json!({"Not": {"And": [t, {"Or": [f, {"Not": t}]}]}}));
        no(json!({"Not": {"Not": f}}));
    }

    #[test]
    fn missing_variables_and_operand_paths_are_runtime_errors() {
        let e = check(json!({"Variable": "$.missing", "StringEquals": "x"})).unwrap_err();
        assert_eq!(e.error, "States.Runtime");
        let e = check(json!({"Variable": "$.missing", "IsNull": true})).unwrap_err();
        assert_eq!(e.error, "States.Runtime");
        let e = check(json!({"Variable": "$.s", "StringEqualsPath": "$.missing"})).unwrap_err();
        assert_eq!(e.error, "States.Runtime");
    }

    #[test]
    fn parse_refusals_name_the_field() {
        for (rule, field, why) in [
            (
                json!({"Variable": "$.s", "StringContains": "x"}),
                "Choices[0].StringContains",
                "unsupported Choice operator `StringContains`",
            ),
            (
                json!({"Variable": "$.s", "StringMatchesPath": "$.x"}),
                "Choices[0].StringMatchesPath",
                "unsupported Choice operator",
            ),
            (
                json!({"Variable": "$.s", "NumericEquals": "5"}),
                "Choices[0].NumericEquals",
                "must be a number",
            ),
            (
                json!({"Variable": "$.s", "TimestampEquals": "yesterday"}),
                "Choices[0].TimestampEquals",
                "RFC 3339",
            ),
            (
                json!({"Variable": "$.s", "IsNull": "yes"}),
                "Choices[0].IsNull",
                "`true` or `false`",
            ),
            (
                json!({"StringEquals": "x"}),
                "Choices[0].Variable",
                "needs a `Variable`",
            ),
            (json!({"Variable": "$.s"}), "Choices[0]", "found none"),
            (
                json!({"Variable": "$.s", "StringEquals": "a", "IsNull": true}),
                "Choices[0]",
                "exactly one operator",
            ),
            (json!({"And": []}), "Choices[0].And", "non-empty array"),
            (
                json!({"And": [{"Variable": "$.s", "IsNull": true, "Next": "Y"}]}),
                "Choices[0].And[0].Next",
                "only top-level",
            ),
            (
                json!({"Not": {"Variable": "nope", "IsNull": true}}),
                "Choices[0].Not.Variable",
                "must begin with `$`",
            ),
            (
                json!({"Variable": "$.s", "IsNull": true, "Next": 3}),
                "Choices[0].Next",
                "must be a string",
            ),
        ] {
            match ChoiceRule::parse(
                &{
                    let mut r = rule.clone();
                    if let Value::Object(m) = &mut r {
                        m.entry("Next").or_insert(json!("X"));
                    }
                    r
                },
                "Choices[0]",
                false,
            ) {
                Ok(r) => panic!("{rule} parsed as {r:?}"),
                Err((f, r)) => {
                    assert_eq!(f, field, "{rule}: {r}");
                    assert!(r.contains(why), "{rule}: {r}");
                }
            }
        }
        let e = ChoiceRule::parse(&json!({"Variable": "$.s", "IsNull": true}), "Choices[1]", false).unwrap_err();
        assert_eq!(e.0, "Choices[1].Next");
    }
}
