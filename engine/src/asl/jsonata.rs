//! JSONata, the States Language's second query language: `{% … %}` strings evaluated by
//! `jsonata-core`, with `$states` and the workflow variables bound and the functions AWS
//! adds (`$partition`, `$range`, `$hash`, `$random`, `$uuid`, `$parse`); `$eval` is refused,
//! as AWS refuses it.
//!
//! `jsonata-core` rather than a hand-written evaluator: it runs the jsonata-js reference
//! suite (1,686 cases). It follows jsonata-js 2.2.x where AWS runs 2.0.6; README.md lists
//! what that changes. Its values (`JValue`) are built on `Rc`, so they exist only inside one
//! synchronous call here and never across an `.await`.

use jsonata_core::ast::AstNode;
use jsonata_core::evaluator::{Context, Evaluator, EvaluatorError, EvaluatorOptions};
use jsonata_core::value::JValue;
use serde_json::{Map, Number, Value};

use super::errors::{StateError, error_names};
use super::intrinsics::apply_named;
use super::path::Scope;

/// Wall-clock bound on one expression. Evaluation runs on the executor's thread, so an
/// expression such as `$sum([1..9999999])` in a loop must not hold it for long.
/// AWS documents a one-second limit too ("Expression evaluation timeout").
const TIMEOUT_MS: u64 = 1_000;
/// Bound on one sequence an expression builds, well past what a 256 KiB payload can hold.
const MAX_SEQUENCE: usize = 1_000_000;

/// One parsed `{% … %}` expression.
#[derive(Clone)]
pub(crate) struct Expr {
    source: String,
    ast: AstNode,
}

impl std::fmt::Debug for Expr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{{% {} %}}", self.source)
    }
}

impl PartialEq for Expr {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

/// The expression inside `text`, if `text` is one: a JSONata string starts with `{%` and
/// ends with `%}`. Any other string is a literal.
pub(crate) fn expression_text(text: &str) -> Option<&str> {
    text.strip_prefix("{%")?.strip_suffix("%}")
}

impl Expr {
    /// Parses the text between `{%` and `%}`; the error is a reason for a `LoadError`.
    pub(crate) fn parse(inner: &str) -> Result<Expr, String> {
        let source = inner.trim();
        if source.is_empty() {
            return Err("the expression between `{%` and `%}` is empty".into());
        }
        if outside_strings(source, "$eval") {
            return Err("`$eval` is not available in Step Functions' JSONata; read JSON text with `$parse`".into());
        }
        let ast = jsonata_core::parser::parse(source)
            .map_err(|e| format!("`{{% {source} %}}` is not a JSONata expression: {e}"))?;
        Ok(Expr {
            source: source.to_string(),
            ast,
        })
    }

    pub(crate) fn source(&self) -> &str {
        &self.source
    }

    /// Does the expression read `$states.<member>` (outside string literals)?
    pub(crate) fn mentions_states(&self, member: &str) -> bool {
        outside_strings(&self.source, &format!("$states.{member}"))
    }

    /// Evaluates with `$states` (`input`, `context`, and `result` or `errorOutput` where the
    /// field has them) and the variables of `scope`. `input` is `$states.input` unless the
    /// scope names another. `None` is JSONata's *undefined*: the expression selected nothing.
    pub(crate) fn eval(&self, input: &Value, scope: &Scope<'_>) -> Result<Option<Value>, StateError> {
        let fail = |why: String| {
            StateError::new(
                error_names::QUERY_EVALUATION_ERROR,
                format!("the JSONata expression `{}` failed: {why}", self.source),
            )
        };
        let mut states = Map::new();
        states.insert("input".into(), scope.input.unwrap_or(input).clone());
        states.insert("context".into(), scope.context.clone());
        if let Some(result) = scope.result {
            states.insert("result".into(), result.clone());
        }
        if let Some(error) = scope.error_output {
            states.insert("errorOutput".into(), error.clone());
        }
        let mut context = Context::new();
        for (name, value) in scope.vars {
            context.bind(name.clone(), JValue::from(value.clone()));
        }
        context.bind("states".into(), JValue::from(Value::Object(states)));
        let options = EvaluatorOptions {
            timeout_ms: Some(TIMEOUT_MS),
            max_sequence_length: Some(MAX_SEQUENCE),
            ..EvaluatorOptions::default()
        };
        let mut evaluator = Evaluator::with_options(context, options);
        register_aws_functions(&mut evaluator).map_err(|e| fail(e.to_string()))?;
        let value = evaluator
            .evaluate(&self.ast, &JValue::Null)
            .map_err(|e| fail(e.to_string()))?;
        if value.is_undefined() {
            return Ok(None);
        }
        to_json(&value).map(Some).map_err(fail)
    }
}

/// Does `name` (`$eval`, `$states.result`) occur in the expression outside string literals,
/// as a whole name? A textual check, so that a file is refused at load as AWS refuses it at
/// creation; jsonata-core's AST has no visitor to do it on the tree.
fn outside_strings(source: &str, name: &str) -> bool {
    let bytes = source.as_bytes();
    let mut quote = None;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match quote {
            Some(_) if b == b'\\' => i += 1,
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None if b == b'"' || b == b'\'' => quote = Some(b),
            // Bytes, not `&str` slices: `i` may sit inside a multi-byte character.
            None if bytes[i..].starts_with(name.as_bytes()) => {
                let after = bytes.get(i + name.len()).copied();
                if !after.is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_' || !c.is_ascii()) {
                    return true;
                }
            }
            None => {}
        }
        i += 1;
    }
    false
}

fn register_aws_functions(ev: &mut Evaluator) -> Result<(), EvaluatorError> {
    /// AWS's added functions that are its intrinsics under a JSONata name.
    const SHARED: &[(&str, &str)] = &[
        ("partition", "States.ArrayPartition"),
        ("range", "States.ArrayRange"),
        ("hash", "States.Hash"),
        ("uuid", "States.UUID"),
        ("parse", "States.StringToJson"),
    ];
    for (name, intrinsic) in SHARED {
        ev.register_fn(*name, move |args: &[JValue]| {
            let args = args
                .iter()
                .map(to_json)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|why| host_error(name, why))?;
            apply_named(intrinsic, &args)
                .map(JValue::from)
                .map_err(|why| host_error(name, why))
        })?;
    }
    // `$random([seed])`: a number in [0, 1); with a seed, the same number every time.
    ev.register_fn_override("random", |args: &[JValue]| {
        use rand::{Rng, SeedableRng};
        match args {
            [] => Ok(JValue::from_f64(rand::rng().random::<f64>())),
            [seed] => {
                let seed = seed
                    .as_f64()
                    .filter(|s| s.is_finite() && s.fract() == 0.0)
                    .ok_or_else(|| host_error("random", "the seed must be an integer".into()))?;
                Ok(JValue::from_f64(
                    rand::rngs::StdRng::seed_from_u64(seed as i64 as u64).random::<f64>(),
                ))
            }
            _ => Err(host_error("random", "takes at most one argument (a seed)".into())),
        }
    })?;
    ev.register_fn_override("eval", |_: &[JValue]| {
        Err(host_error("eval", "is not available in Step Functions' JSONata".into()))
    })?;
    Ok(())
}

fn host_error(name: &str, why: String) -> EvaluatorError {
    EvaluatorError::EvaluationError(format!("${name}: {why}"))
}

/// JSONata's value as JSON. Written here rather than with `jsonata-core`'s `From`, which
/// turns every number into a float (`3` into `3.0`) and infinity into `null` silently.
fn to_json(v: &JValue) -> Result<Value, String> {
    Ok(match v {
        JValue::Null | JValue::Undefined => Value::Null,
        JValue::Bool(b) => Value::Bool(*b),
        JValue::Number(n) => number(*n)?,
        JValue::String(s) => Value::String(s.to_string()),
        JValue::Array(items) => Value::Array(
            items
                .iter()
                .filter(|i| !i.is_undefined())
                .map(to_json)
                .collect::<Result<_, _>>()?,
        ),
        JValue::Object(map) => Value::Object(
            map.iter()
                .filter(|(_, v)| !v.is_undefined())
                .map(|(k, v)| Ok((k.clone(), to_json(v)?)))
                .collect::<Result<_, String>>()?,
        ),
        _ => return Err("the result holds a function or a regex, which is not JSON".into()),
    })
}

/// Integers stay integers (up to 2^53, where a float still holds every integer exactly).
fn number(n: f64) -> Result<Value, String> {
    const EXACT: f64 = 9_007_199_254_740_992.0;
    if !n.is_finite() {
        return Err(format!("the number {n} is out of range for JSON"));
    }
    if n.fract() == 0.0 && n.abs() <= EXACT {
        return Ok(Value::from(n as i64));
    }
    Number::from_f64(n)
        .map(Value::Number)
        .ok_or_else(|| format!("the number {n} is out of range for JSON"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn eval(src: &str, input: Value) -> Result<Option<Value>, StateError> {
        let vars: Map<String, Value> = json!({"greeting": "hello", "n": 2}).as_object().cloned().unwrap();
        let context = json!({"Execution": {"Name": "e-1"}});
        Expr::parse(src).unwrap().eval(&input, &Scope::new(&context, &vars))
    }

    #[test]
    fn states_and_variables_are_bound_and_numbers_stay_integers() {
        let input = json!({"items": [1, 2, 3], "price": 1.5});
        assert_eq!(
            eval("$sum($states.input.items) * $n", input.clone()).unwrap(),
            Some(json!(12))
        );
        assert_eq!(
            eval("$states.input.price * 3", input.clone()).unwrap(),
            Some(json!(4.5))
        );
        assert_eq!(
            eval("$greeting & ' ' & $states.context.Execution.Name", input.clone()).unwrap(),
            Some(json!("hello e-1"))
        );
        assert_eq!(eval("$states.input.missing", input).unwrap(), None);
    }

    #[test]
    fn aws_functions_match_the_intrinsics() {
        let v = |src: &str| eval(src, json!({})).unwrap().unwrap();
        assert_eq!(v("$partition([1,2,3,4,5], 2)"), json!([[1, 2], [3, 4], [5]]));
        assert_eq!(v("$range(0, 10, 5)"), json!([0, 5, 10]));
        assert_eq!(
            v("$hash('abc', 'SHA-256')"),
            json!("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        );
        assert_eq!(v("$parse('{\"a\": [1]}')"), json!({"a": [1]}));
        assert_eq!(v("$length($uuid())"), json!(36));
        assert_eq!(v("$random(7) = $random(7)"), json!(true));
        let r = v("$random()").as_f64().unwrap();
        assert!((0.0..1.0).contains(&r), "{r}");
        let e = eval("$partition([1], 0)", json!({})).unwrap_err();
        assert_eq!(e.error, "States.QueryEvaluationError");
        assert!(
            e.cause.contains("$partition: the chunk size must be positive"),
            "{}",
            e.cause
        );
    }

    #[test]
    fn eval_is_refused_at_parse_and_run_time_but_not_in_strings() {
        let e = Expr::parse("$eval('1 + 1')").unwrap_err();
        assert!(e.contains("`$eval` is not available"), "{e}");
        assert!(Expr::parse("'$eval is a word here'").is_ok());
        assert!(Expr::parse("$evaluate").is_ok());
        // Found by the fuzzer: a name check inside a multi-byte character must not panic.
        assert!(Expr::parse("$sum($states.input.list.éid)").is_ok());
        assert!(Expr::parse("'é' & $eval('1')").is_err());
        assert!(Expr::parse("$evalé").is_ok());
    }

    #[test]
    fn bad_expressions_are_load_errors_and_failures_are_query_evaluation_errors() {
        let e = Expr::parse("$states.input.(").unwrap_err();
        assert!(e.contains("is not a JSONata expression"), "{e}");
        assert!(Expr::parse("   ").unwrap_err().contains("empty"));
        let e = eval("$sum('x')", json!({})).unwrap_err();
        assert_eq!(e.error, "States.QueryEvaluationError");
        assert!(
            e.cause.starts_with("the JSONata expression `$sum('x')` failed: "),
            "{}",
            e.cause
        );
        let e = eval("1/0", json!({})).unwrap_err();
        assert!(e.cause.contains("out of range"), "{}", e.cause);
        let e = eval("[1..2000000]", json!({})).unwrap_err();
        assert_eq!(e.error, "States.QueryEvaluationError");
        let e = eval("function($x) { $x }", json!({})).unwrap_err();
        assert!(e.cause.contains("not JSON"), "{}", e.cause);
    }

    #[test]
    fn expression_strings_are_recognised_only_whole() {
        assert_eq!(expression_text("{% $x %}"), Some(" $x "));
        assert_eq!(expression_text("{%$x%}"), Some("$x"));
        assert_eq!(expression_text(" {% $x %}"), None);
        assert_eq!(expression_text("price {% $x %}"), None);
    }
}
