//! Payload templates: the values of `Parameters` and `ResultSelector`.
//!
//! A template is JSON whose object keys ending in `.$` take their value from a path or an
//! intrinsic function (the `.$` is dropped from the output key). Nested objects and arrays
//! are templates too. Parsed at load time; evaluated against one input.

use serde_json::{Map, Value};

use super::errors::{StateError, error_names};
use super::intrinsics::{Call, is_intrinsic};
use super::jsonata::{Expr, expression_text};
use super::path::{Path, Scope, is_variable_name};

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Template {
    Literal(Value),
    Object(Vec<(String, Template)>),
    Array(Vec<Template>),
    Path(Path),
    Intrinsic(Call),
    /// A `{% … %}` expression, in a JSONata state's fields.
    Jsonata(Expr),
}

impl Template {
    /// Parses a payload template; the top level must be an object. Errors are
    /// `(field-within-template, reason)`.
    pub(crate) fn parse(value: &Value) -> Result<Template, (String, String)> {
        if !value.is_object() {
            return Err((String::new(), "must be a JSON object (a payload template)".into()));
        }
        walk(value, "", Dialect::JsonPath)
    }

    /// Builds the payload. Paths that match nothing are `States.Runtime`.
    pub(crate) fn eval(&self, input: &Value, context: &Scope<'_>) -> Result<Value, StateError> {
        Ok(match self {
            Template::Literal(v) => v.clone(),
            Template::Object(fields) => {
                let mut out = Map::new();
                for (key, t) in fields {
                    out.insert(key.clone(), t.eval(input, context)?);
                }
                Value::Object(out)
            }
            Template::Array(items) => {
                Value::Array(items.iter().map(|t| t.eval(input, context)).collect::<Result<_, _>>()?)
            }
            Template::Path(path) => path
                .read(input, context)
                .map_err(|e| StateError::runtime(format!("{e} (payload template field using `{}`)", path.text())))?,
            Template::Intrinsic(call) => call.eval(input, context)?,
            Template::Jsonata(expr) => expr.eval(input, context)?.ok_or_else(|| {
                StateError::new(
                    error_names::QUERY_EVALUATION_ERROR,
                    format!(
                        "the JSONata expression `{}` returned nothing (undefined)",
                        expr.source()
                    ),
                )
            })?,
        })
    }

    /// The first expression in the template that reads `$states.<member>`.
    pub(crate) fn mentioning_states(&self, member: &str) -> Option<&Expr> {
        match self {
            Template::Jsonata(expr) => expr.mentions_states(member).then_some(expr),
            Template::Object(fields) => fields.iter().find_map(|(_, t)| t.mentioning_states(member)),
            Template::Array(items) => items.iter().find_map(|t| t.mentioning_states(member)),
            Template::Literal(_) | Template::Path(_) | Template::Intrinsic(_) => None,
        }
    }

    /// A JSONata state's value (`Arguments`, `Output`, `Items`, `ItemSelector`, and each
    /// variable of `Assign`): any JSON, in which a string that is `{% … %}` is an expression
    /// and every other string a literal.
    pub(crate) fn parse_jsonata(value: &Value) -> Result<Template, (String, String)> {
        walk(value, "", Dialect::Jsonata)
    }
}

/// A value that is a path or an intrinsic call: the right-hand side of a `key.$` field,
/// and of `ErrorPath`/`CausePath`.
pub(crate) fn parse_dynamic(text: &str) -> Result<Template, String> {
    if is_intrinsic(text) {
        Call::parse(text).map(Template::Intrinsic)
    } else if text.starts_with('$') {
        Path::parse(text).map(Template::Path)
    } else {
        Err(format!(
            "`{text}` is neither a path (starting with `$`) nor an intrinsic function (starting with `States.`)"
        ))
    }
}

/// The two dialects of a template differ only in what a key and a string mean.
#[derive(Clone, Copy)]
enum Dialect {
    /// `key.$` fields are paths or intrinsics; every string is a literal.
    JsonPath,
    /// `{% … %}` strings are expressions; `.$` keys are refused.
    Jsonata,
}

fn walk(value: &Value, at: &str, dialect: Dialect) -> Result<Template, (String, String)> {
    Ok(match value {
        Value::String(text) => match (dialect, expression_text(text)) {
            (Dialect::Jsonata, Some(inner)) => {
                Template::Jsonata(Expr::parse(inner).map_err(|reason| (at.to_string(), reason))?)
            }
            _ => Template::Literal(value.clone()),
        },
        Value::Object(map) => {
            let mut fields = Vec::with_capacity(map.len());
            for (key, v) in map {
                let here = if at.is_empty() {
                    key.clone()
                } else {
                    format!("{at}.{key}")
                };
                let Some(name) = key.strip_suffix(".$") else {
                    fields.push((key.clone(), walk(v, &here, dialect)?));
                    continue;
                };
                let Dialect::JsonPath = dialect else {
                    return Err((
                        here,
                        "a `.$` key is JSONPath; in a JSONata state write the value as `{% … %}` under the plain key"
                            .into(),
                    ));
                };
                let Value::String(text) = v else {
                    return Err((
                        here,
                        "a field ending in `.$` must have a string value (a path or intrinsic function)".into(),
                    ));
                };
                if map.contains_key(name) {
                    return Err((here, format!("both `{name}` and `{key}` are present")));
                }
                let dynamic = parse_dynamic(text).map_err(|reason| (here.clone(), reason))?;
                fields.push((name.to_string(), dynamic));
            }
            Template::Object(fields)
        }
        Value::Array(items) => Template::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, v)| walk(v, &format!("{at}[{i}]"), dialect))
                .collect::<Result<_, _>>()?,
        ),
        other => Template::Literal(other.clone()),
    })
}

/// The field a template error names: `key` itself, or `key.inner` for a field inside it.
pub(crate) fn field_in(key: &str, inner: &str) -> String {
    if inner.is_empty() {
        key.to_string()
    } else {
        format!("{key}.{inner}")
    }
}

/// `Assign`: a payload template whose keys (without `.$`) name workflow variables. The error
/// is (field inside `Assign`, reason), like [`Template::parse`]'s. In JSONata its values are
/// JSONata values instead.
pub(crate) fn parse_assign(value: &Value, jsonata: bool) -> Result<Template, (String, String)> {
    let Value::Object(map) = value else {
        return Err((
            String::new(),
            "must be an object mapping variable names to values".into(),
        ));
    };
    let mut names = std::collections::BTreeSet::new();
    for key in map.keys() {
        let name = key.strip_suffix(".$").unwrap_or(key);
        if !is_variable_name(name) {
            return Err((
                key.clone(),
                format!("`{name}` is not a variable name: start with a letter or `_`, then letters, digits or `_`"),
            ));
        }
        if name == "states" {
            return Err((
                key.clone(),
                "`states` is reserved: JSONata reads `$states` as the state's data".into(),
            ));
        }
        if !names.insert(name) {
            return Err((key.clone(), format!("`{name}` is assigned twice")));
        }
    }
    if jsonata {
        Template::parse_jsonata(value)
    } else {
        Template::parse(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::asl::context::ContextObject;
    use serde_json::json;

    fn build(template: Value, input: Value) -> Result<Value, StateError> {
        let t = Template::parse(&template).map_err(|(f, r)| StateError::new(f, r))?;
        t.eval(
            &input,
            &Scope::context_only(&ContextObject::of(&json!({"State": {"EnteredTime": "T"}}))),
        )
    }

    #[test]
    fn evaluates_paths_intrinsics_and_literals_at_every_depth() {
        let out = build(
            json!({
                "literal": 1,
                "copied.$": "$.a",
                "nested": {"deep.$": "$.b.c", "keep": [1, {"x": "y"}]},
                "list": [{"v.$": "$.a"}, "plain", ["inner", {"w.$": "$.b"}]],
                "when.$": "$$.State.EnteredTime",
                "text.$": "States.Format('{}!', $.a)",
                "weird key.$": "$['odd key']"
            }),
            json!({"a": "A", "b": {"c": 3}, "odd key": false}),
        );
        assert_eq!(
            out,
            Ok(json!({
                "literal": 1,
                "copied": "A",
                "nested": {"deep": 3, "keep": [1, {"x": "y"}]},
                "list": [{"v": "A"}, "plain", ["inner", {"w": {"c": 3}}]],
                "when": "T",
                "text": "A!",
                "weird key": false
            }))
        );
    }

    #[test]
    fn a_missing_path_is_a_runtime_error() {
        let e = build(json!({"x": {"y.$": "$.nope"}}), json!({})).unwrap_err();
        assert_eq!(e.error, "States.Runtime");
        assert!(e.cause.contains("`$.nope`"), "{}", e.cause);
    }

    #[test]
    fn parse_refusals_say_which_field() {
        for (template, field, why) in [
            (json!([1]), "", "must be a JSON object"),
            (json!({"a": {"b.$": 3}}), "a.b.$", "must have a string value"),
            (json!({"a.$": "nope"}), "a.$", "neither a path"),
            (json!({"a.$": "$.x", "a": 1}), "a.$", "both `a` and `a.$`"),
            (
                json!({"l": [{"b.$": "States.Bogus()"}]}),
                "l[0].b.$",
                "unknown intrinsic",
            ),
            (json!({"b.$": "$.x[?(@.y =~ /a/)]"}), "b.$", "regular expression"),
        ] {
            match Template::parse(&template) {
                Ok(t) => panic!("{template} parsed as {t:?}"),
                Err((f, r)) => {
                    assert_eq!(f, field, "{template}");
                    assert!(r.contains(why), "{template}: {r}");
                }
            }
        }
    }
}
