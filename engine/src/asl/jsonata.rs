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

use super::context::ContextObject;
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
    /// What the expression may read, so that evaluation binds only that: each binding is a
    /// copy into jsonata-core's values, and `$states.input` of a Map's `ItemSelector` or
    /// `$states.context` (which holds the execution input) are as large as all the items,
    /// which made each of a Map's iterations cost O(items).
    reads: Reads,
}

/// Found once, at parse, from the source outside string literals. Conservative: what is
/// not provably unread is bound.
#[derive(Debug, Clone, PartialEq)]
struct Reads {
    /// Every `$name` the source mentions: only these variables are bound.
    names: Vec<String>,
    input: bool,
    result: bool,
    error_output: bool,
    context: ContextUse,
}

impl Reads {
    fn of(source: &str) -> Reads {
        let names = dollar_names(source);
        let context = context_use(source);
        let all = context == ContextUse::All;
        let member = |m: &str| all || outside_strings(source, &format!("$states.{m}"));
        Reads {
            input: member("input"),
            result: member("result"),
            error_output: member("errorOutput"),
            context,
            names,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum ContextUse {
    None,
    /// Only these paths, one or two names deep (`Map.Item`, `Execution.Name`).
    Paths(Vec<Vec<String>>),
    All,
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
            reads: Reads::of(source),
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
        let reads = &self.reads;
        let mut states = Map::new();
        if reads.input {
            states.insert("input".into(), scope.input.unwrap_or(input).clone());
        }
        match &reads.context {
            ContextUse::None => {}
            ContextUse::All => {
                states.insert("context".into(), scope.context.whole().clone());
            }
            ContextUse::Paths(paths) => {
                states.insert("context".into(), pick(scope.context, paths));
            }
        }
        if let Some(result) = scope.result.filter(|_| reads.result) {
            states.insert("result".into(), result.clone());
        }
        if let Some(error) = scope.error_output.filter(|_| reads.error_output) {
            states.insert("errorOutput".into(), error.clone());
        }
        let mut context = Context::new();
        for name in &reads.names {
            if let Some(value) = scope.vars.get(name) {
                context.bind(name.clone(), JValue::from(value.clone()));
            }
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
    !ends_of(source, name).is_empty()
}

/// Calls `at(i)` for each byte index `i` of `source` outside string literals; `at` answers
/// how many bytes after `i` to skip. Bytes, not `&str` slices: `i` may sit inside a multi-byte
/// character.
fn outside_literals(source: &str, mut at: impl FnMut(&[u8], usize) -> usize) {
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
            None => i += at(bytes, i),
        }
        i += 1;
    }
}

/// A byte that continues a JSONata name.
fn continues_name(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || !c.is_ascii()
}

/// The names of every `$name` outside string literals, sorted, once each. JSONata has no
/// way to read a variable but by its name (`$eval`, which could, is refused).
fn dollar_names(source: &str) -> Vec<String> {
    let mut names = Vec::new();
    outside_literals(source, |bytes, i| {
        if bytes[i] != b'$' {
            return 0;
        }
        let len = bytes[i + 1..].iter().take_while(|c| continues_name(**c)).count();
        if len > 0 {
            names.push(String::from_utf8_lossy(&bytes[i + 1..i + 1 + len]).into_owned());
        }
        len
    });
    names.sort();
    names.dedup();
    names
}

/// Where each whole-name occurrence of `name` outside string literals ends (see
/// [`outside_strings`]).
fn ends_of(source: &str, name: &str) -> Vec<usize> {
    let mut ends = Vec::new();
    outside_literals(source, |bytes, i| {
        if bytes[i..].starts_with(name.as_bytes()) && !bytes.get(i + name.len()).is_some_and(|c| continues_name(*c)) {
            ends.push(i + name.len());
        }
        0
    });
    ends
}

/// Which parts of `$states.context` an expression may read. Conservative: a bare `$states`
/// (`$keys($states)`, `$lookup($states, 'context')`), a bare `$states.context`, or anything
/// but plain names after it (`$states.context . Map`, a backtick name) binds all of it.
fn context_use(source: &str) -> ContextUse {
    let members = ["input", "result", "errorOutput", "context"]
        .iter()
        .map(|m| ends_of(source, &format!("$states.{m}")).len())
        .sum::<usize>();
    if ends_of(source, "$states").len() > members {
        return ContextUse::All;
    }
    let bytes = source.as_bytes();
    let name_at = |at: usize| -> Option<(String, usize)> {
        if bytes.get(at) != Some(&b'.') {
            return None;
        }
        let len = bytes[at + 1..]
            .iter()
            .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_')
            .count();
        (len > 0).then(|| (source[at + 1..at + 1 + len].to_string(), at + 1 + len))
    };
    let mut paths = Vec::new();
    for end in ends_of(source, "$states.context") {
        let Some((first, after)) = name_at(end) else {
            return ContextUse::All;
        };
        let path = match name_at(after) {
            Some((second, _)) => vec![first, second],
            None => vec![first],
        };
        if !paths.contains(&path) {
            paths.push(path);
        }
    }
    // A whole first name (`Map`) covers every path under it (`Map.Item`).
    let wholes: Vec<String> = paths.iter().filter(|p| p.len() == 1).map(|p| p[0].clone()).collect();
    paths.retain(|p| p.len() == 1 || !wholes.contains(&p[0]));
    if paths.is_empty() {
        ContextUse::None
    } else {
        ContextUse::Paths(paths)
    }
}

/// The parts of `context` named by `paths` (as [`context_use`] leaves them: no path under
/// another), in the same shape, cloning nothing else.
fn pick(context: &ContextObject<'_>, paths: &[Vec<String>]) -> Value {
    let mut out = Map::new();
    for path in paths {
        let (Some(first), rest) = (path.first(), path.get(1)) else {
            continue;
        };
        let Some(value) = context.get(first) else {
            continue;
        };
        match rest {
            None => {
                out.insert(first.clone(), value.clone());
            }
            Some(second) => {
                if let Some(inner) = value.get(second) {
                    let slot = out.entry(first.clone()).or_insert_with(|| Value::Object(Map::new()));
                    if let Value::Object(parent) = slot {
                        parent.insert(second.clone(), inner.clone());
                    }
                }
            }
        }
    }
    Value::Object(out)
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
        Expr::parse(src)
            .unwrap()
            .eval(&input, &Scope::new(&ContextObject::of(&context), &vars))
    }

    /// The cause of the `States.QueryEvaluationError` that evaluating `src` must fail with.
    fn query_error(src: &str) -> String {
        let e = eval(src, json!({})).unwrap_err();
        assert_eq!(e.error, "States.QueryEvaluationError", "{src}: {}", e.cause);
        e.cause
    }

    #[test]
    fn the_context_is_bound_only_where_an_expression_may_read_it() {
        let uses = |src: &str| Expr::parse(src).unwrap().reads.context;
        let paths =
            |ps: &[&[&str]]| ContextUse::Paths(ps.iter().map(|p| p.iter().map(|n| n.to_string()).collect()).collect());
        assert_eq!(uses("$states.input.a"), ContextUse::None);
        assert_eq!(
            uses("$states.result.b & $states.errorOutput.Cause & '$states.context'"),
            ContextUse::None
        );
        assert_eq!(
            uses("$states.input.a & $states.context.Map.Item.Index & $states.context.Execution.Name"),
            paths(&[&["Map", "Item"], &["Execution", "Name"]])
        );
        assert_eq!(
            uses("$states.context.Map.Item.Value & $states.context.Map"),
            paths(&[&["Map"]])
        );
        assert_eq!(uses("$states.context.State . Name"), paths(&[&["State"]]));
        for whole in [
            "$states.context",
            "$states.context.*",
            "$lookup($states, 'context')",
            "$keys($states)",
            "$states.context.`Execution`",
        ] {
            assert_eq!(uses(whole), ContextUse::All, "{whole}");
        }
        // What is read is there, whichever way it is bound.
        let vars = Map::new();
        let context = json!({"Execution": {"Name": "e-1", "Input": {"big": [1, 2, 3]}},
            "Map": {"Item": {"Index": 4, "Value": "v"}}});
        let context = ContextObject::of(&context);
        let run = |src: &str| {
            Expr::parse(src)
                .unwrap()
                .eval(&json!({}), &Scope::new(&context, &vars))
                .unwrap()
        };
        assert_eq!(run("$states.context.Execution.Name"), Some(json!("e-1")));
        assert_eq!(run("$states.context.Map.Item.Index + 1"), Some(json!(5)));
        assert_eq!(run("$count($states.context.Execution.Input.big)"), Some(json!(3)));
        assert_eq!(run("$lookup($states, 'context').Map.Item.Value"), Some(json!("v")));
        // A name the context does not have stays undefined, as it was when all of it was bound.
        assert_eq!(run("$states.context.Nope.Name"), None);
        assert_eq!(
            run("$keys($states.context.Execution) ~> $join(',')"),
            Some(json!("Name,Input"))
        );
        // Pruned to what was named: the execution input is not copied for `Execution.Name`.
        let ContextUse::Paths(named) = uses("$states.context.Execution.Name & $states.context.Map") else {
            panic!("expected paths");
        };
        assert_eq!(
            pick(&context, &named),
            json!({"Execution": {"Name": "e-1"}, "Map": {"Item": {"Index": 4, "Value": "v"}}})
        );
    }

    #[test]
    fn only_the_states_members_and_variables_an_expression_names_are_bound() {
        let reads = |src: &str| Expr::parse(src).unwrap().reads;
        let r = reads("$states.input.a + $n & '$states.result $greeting'");
        assert_eq!((r.input, r.result, r.error_output), (true, false, false));
        assert_eq!(r.names, vec!["n".to_string(), "states".to_string()]);
        let r = reads("$keys($states)");
        assert_eq!((r.input, r.result, r.error_output), (true, true, true));
        let r = reads("$states.errorOutput.Cause & $ümlaut");
        assert_eq!((r.input, r.result, r.error_output), (false, false, true));
        assert_eq!(r.names, vec!["states".to_string(), "ümlaut".to_string()]);
        // Unbound ones read as undefined, as an unread binding would have.
        assert_eq!(
            eval("$greeting & ' ' & $string($n)", json!({})).unwrap(),
            Some(json!("hello 2"))
        );
        assert_eq!(eval("$exists($states.result)", json!({})).unwrap(), Some(json!(false)));
        assert_eq!(eval("$states.input.a", json!({"a": 7})).unwrap(), Some(json!(7)));
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
        let cause = query_error("$partition([1], 0)");
        assert!(cause.contains("$partition: the chunk size must be positive"), "{cause}");
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
        let cause = query_error("$sum('x')");
        assert!(
            cause.starts_with("the JSONata expression `$sum('x')` failed: "),
            "{cause}"
        );
        let cause = query_error("1/0");
        assert!(cause.contains("out of range"), "{cause}");
        query_error("[1..2000000]");
        let cause = query_error("function($x) { $x }");
        assert!(cause.contains("not JSON"), "{cause}");
    }

    #[test]
    fn expression_strings_are_recognised_only_whole() {
        assert_eq!(expression_text("{% $x %}"), Some(" $x "));
        assert_eq!(expression_text("{%$x%}"), Some("$x"));
        assert_eq!(expression_text(" {% $x %}"), None);
        assert_eq!(expression_text("price {% $x %}"), None);
    }
}
