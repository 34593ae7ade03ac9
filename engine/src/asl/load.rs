//! Loading a definition: `${Name}` substitution, parsing, and validation into the typed
//! model in `definition`.
//!
//! The rule is "refuse, never skip": an unknown field, a feature we do not implement, a
//! resource the invoker cannot run, or a dangling `Next` is a [`LoadError`] that names the
//! state and field.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde_json::{Map, Value};

use super::choice::{ChoiceRule, parse_timestamp};
use super::definition::{
    Amount, Choice, Container, Fail, FailText, Kind, MapState, Parallel, Pass, State, StateMachine, Task, Transition,
    Wait, WaitFor,
};
use super::errors::{LoadError, error_names};
use super::jsonata::{Expr, expression_text};
use super::path::{Path, ReferencePath};
use super::ports::TaskInvoker;
use super::retry::{Catcher, ErrorEquals, Jitter, Retrier};
use super::template::{Template, field_in, parse_assign, parse_dynamic};

/// Predefined error names (Appendix A of the spec and the Step Functions additions).
const PREDEFINED_ERRORS: &[&str] = &[
    "States.ALL",
    "States.DataLimitExceeded",
    "States.ExceedToleratedFailureThreshold",
    "States.HeartbeatTimeout",
    "States.Timeout",
    "States.TaskFailed",
    "States.Permissions",
    "States.ResultPathMatchFailure",
    "States.ParameterPathFailure",
    "States.QueryEvaluationError",
    "States.BranchFailed",
    "States.NoChoiceMatched",
    "States.IntrinsicFailure",
    "States.ItemReaderFailed",
    "States.ResultWriterFailed",
];

/// Fields that are valid ASL somewhere but that this executor does not implement.
const UNSUPPORTED_FIELDS: &[(&str, &str)] = &[
    (
        "HeartbeatSeconds",
        "heartbeats need activity or callback tasks, which are not implemented",
    ),
    (
        "HeartbeatSecondsPath",
        "heartbeats need activity or callback tasks, which are not implemented",
    ),
    (
        "TimeoutSecondsPath",
        "dynamic timeouts are not implemented; use `TimeoutSeconds`",
    ),
    (
        "Credentials",
        "task credentials (cross-account roles) are not implemented",
    ),
];

/// Fields only a JSONPath state has, and what a JSONata state writes instead.
const JSONPATH_ONLY: &[(&str, &str)] = &[
    ("InputPath", "read `$states.input` in `Arguments` or `Output`"),
    ("Parameters", "use `Arguments`"),
    ("ResultSelector", "shape `$states.result` in `Output`"),
    ("ResultPath", "combine `$states.input` and `$states.result` in `Output`"),
    ("OutputPath", "use `Output`"),
    ("Result", "use `Output`"),
    ("ItemsPath", "use `Items`"),
    ("SecondsPath", "write `Seconds` as `{% … %}`"),
    ("TimestampPath", "write `Timestamp` as `{% … %}`"),
    ("ErrorPath", "write `Error` as `{% … %}`"),
    ("CausePath", "write `Cause` as `{% … %}`"),
    ("TimeoutSecondsPath", "write `TimeoutSeconds` as `{% … %}`"),
    ("HeartbeatSecondsPath", "write `HeartbeatSeconds` as `{% … %}`"),
    ("MaxConcurrencyPath", "write `MaxConcurrency` as `{% … %}`"),
];

/// Fields only a JSONata state has.
const JSONATA_ONLY: &[&str] = &["Arguments", "Output", "Items"];

/// Fields the spec defines for some state type (used to say "not allowed here").
const STATE_FIELDS: &[&str] = &[
    "Type",
    "Comment",
    "QueryLanguage",
    "Assign",
    "InputPath",
    "OutputPath",
    "Next",
    "End",
    "Resource",
    "Parameters",
    "ResultSelector",
    "ResultPath",
    "Retry",
    "Catch",
    "TimeoutSeconds",
    "Result",
    "Choices",
    "Default",
    "Seconds",
    "SecondsPath",
    "Timestamp",
    "TimestampPath",
    "Error",
    "ErrorPath",
    "Cause",
    "CausePath",
    "Branches",
    "Iterator",
    "ItemProcessor",
    "ItemsPath",
    "ItemSelector",
    "ItemReader",
    "ItemBatcher",
    "ResultWriter",
    "MaxConcurrency",
    "MaxConcurrencyPath",
    "ToleratedFailurePercentage",
    "ToleratedFailureCount",
    "Label",
    "Arguments",
    "Output",
    "Items",
];

pub(crate) fn load(
    text: &str,
    substitutions: Option<&BTreeMap<String, String>>,
    invoker: &dyn TaskInvoker,
) -> Result<StateMachine, LoadError> {
    syntax(text)?;
    let text = match substitutions {
        Some(s) => substitute(text, s)?,
        None => text.to_string(),
    };
    let root: Value = serde_json::from_str(&text).map_err(|e| LoadError::Json(e.to_string()))?;
    let Value::Object(root) = root else {
        return Err(LoadError::Json("the top level must be an object".into()));
    };
    let mut top = Fields::new(&root, "the definition".into());
    let start_at = top.required_string("StartAt")?.to_string();
    top.string("Comment")?;
    top.string("Version")?;
    let jsonata = query_language(&mut top, false)?;
    let states_value = top.required("States")?;
    let Value::Object(states_map) = states_value else {
        return Err(top.invalid("States", "must be an object mapping state names to states"));
    };
    if states_map.is_empty() {
        return Err(top.invalid("States", "must contain at least one state"));
    }
    let timeout = execution_timeout(&mut top)?;
    top.finish(&[])?;

    let states = parse_states(states_map, "", invoker, jsonata)?;
    if !states.contains_key(&start_at) {
        return Err(top.invalid("StartAt", &format!("no state named `{start_at}`")));
    }
    Ok(StateMachine {
        start_at,
        states,
        timeout,
    })
}

/// The `States` of a machine, a Parallel branch or a Map's processor; `prefix` says where
/// they are (`""` at the top, `state `Fan`, Branches[0] › ` in a branch).
fn parse_states(
    states_map: &Map<String, Value>,
    prefix: &str,
    invoker: &dyn TaskInvoker,
    jsonata: bool,
) -> Result<BTreeMap<String, State>, LoadError> {
    let mut states = BTreeMap::new();
    for (name, value) in states_map {
        states.insert(name.clone(), parse_state(name, value, prefix, invoker, jsonata)?);
    }
    check_targets(&states, prefix)?;
    Ok(states)
}

/// A branch of a Parallel or a Map's `ItemProcessor`/`Iterator`: `StartAt` and `States`, whose
/// transitions stay inside it.
fn sub_machine(
    f: &Fields<'_>,
    value: &Value,
    field: &str,
    processor: bool,
    invoker: &dyn TaskInvoker,
) -> Result<StateMachine, LoadError> {
    let Value::Object(map) = value else {
        return Err(f.invalid(field, "must be an object with `StartAt` and `States`"));
    };
    let mut b = Fields::nested(map, &f.at, format!("{field}."));
    let start_at = b.required_string("StartAt")?.to_string();
    b.string("Comment")?;
    if processor && let Some(config) = b.get("ProcessorConfig") {
        let Value::Object(config) = config else {
            return Err(b.invalid("ProcessorConfig", "must be an object"));
        };
        let mut c = Fields::nested(config, &f.at, format!("{field}.ProcessorConfig."));
        match c.string("Mode")? {
            None | Some("INLINE") => {}
            Some("DISTRIBUTED") => {
                return Err(c.unsupported(
                    "Mode",
                    "a DISTRIBUTED Map runs child executions over S3 items; only INLINE Maps are implemented",
                ));
            }
            Some(other) => return Err(c.invalid("Mode", &format!("must be `INLINE` or `DISTRIBUTED`, not `{other}`"))),
        }
        c.finish(&[(
            "ExecutionType",
            "`ExecutionType` belongs to DISTRIBUTED Maps, which are not implemented",
        )])?;
    }
    let Some(Value::Object(states_map)) = b.get("States") else {
        return Err(b.invalid("States", "is required: an object mapping state names to states"));
    };
    if states_map.is_empty() {
        return Err(b.invalid("States", "must contain at least one state"));
    }
    b.finish(&[])?;
    let prefix = format!("{}, {field} › ", f.at);
    // As on AWS, the states of a branch or processor default to the definition's language,
    // whatever the Parallel's or Map's own `QueryLanguage`.
    let states = parse_states(states_map, &prefix, invoker, f.machine_jsonata)?;
    if !states.contains_key(&start_at) {
        return Err(b.invalid("StartAt", &format!("no state named `{start_at}` in this branch")));
    }
    Ok(StateMachine {
        start_at,
        states,
        timeout: None,
    })
}

/// The top-level `TimeoutSeconds`: a plain integer, as AWS takes it in either query language
/// (only a state's `TimeoutSeconds` may be an expression).
fn execution_timeout(top: &mut Fields<'_>) -> Result<Option<Duration>, LoadError> {
    Ok(top.integer("TimeoutSeconds", 1, 99_999_999)?.map(Duration::from_secs))
}

/// JSON syntax errors, with serde's line and column in the text as written (substitution
/// could move them).
fn syntax(text: &str) -> Result<(), LoadError> {
    serde_json::from_str::<serde::de::IgnoredAny>(text)
        .map(|_| ())
        .map_err(|e| LoadError::Json(e.to_string()))
}

/// Replaces `${Name}` with the substitution's value, JSON-escaped so that it is safe inside
/// a string literal (where CloudFormation's `DefinitionSubstitutions` are used too).
/// `${` not followed by a name and `}` is left as is.
pub(crate) fn substitute(text: &str, substitutions: &BTreeMap<String, String>) -> Result<String, LoadError> {
    let mut out = String::with_capacity(text.len());
    let mut missing = BTreeSet::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let name_len = after.find('}').filter(|&end| {
            end > 0
                && after[..end]
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        });
        match name_len {
            Some(end) => {
                let name = &after[..end];
                match substitutions.get(name) {
                    Some(value) => out.push_str(&json_escape(value)),
                    None => {
                        missing.insert(name.to_string());
                    }
                }
                rest = &after[end + 1..];
            }
            None => {
                out.push_str("${");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    if missing.is_empty() {
        Ok(out)
    } else {
        Err(LoadError::MissingSubstitution {
            names: missing.into_iter().collect(),
        })
    }
}

fn json_escape(value: &str) -> String {
    let quoted = Value::String(value.to_string()).to_string();
    quoted
        .get(1..quoted.len().saturating_sub(1))
        .unwrap_or_default()
        .to_string()
}

/// A JSON object being read field by field; whatever is not read is refused by `finish`.
struct Fields<'a> {
    map: &'a Map<String, Value>,
    at: String,
    /// Prefix for field names, e.g. `Retry[0].`.
    prefix: String,
    /// The state type, for "not allowed in a X state" messages.
    state_type: Option<String>,
    /// The query language of the state these fields belong to is JSONata.
    jsonata: bool,
    /// The definition's query language is JSONata (the default inside branches).
    machine_jsonata: bool,
    read: BTreeSet<String>,
}

impl<'a> Fields<'a> {
    fn new(map: &'a Map<String, Value>, at: String) -> Self {
        Self {
            map,
            at,
            prefix: String::new(),
            state_type: None,
            jsonata: false,
            machine_jsonata: false,
            read: BTreeSet::new(),
        }
    }

    fn nested(map: &'a Map<String, Value>, at: &str, prefix: String) -> Self {
        Self {
            map,
            at: at.to_string(),
            prefix,
            state_type: None,
            jsonata: false,
            machine_jsonata: false,
            read: BTreeSet::new(),
        }
    }

    fn field(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    fn invalid(&self, key: &str, reason: &str) -> LoadError {
        LoadError::Invalid {
            at: self.at.clone(),
            field: self.field(key),
            reason: reason.to_string(),
        }
    }

    fn unsupported(&self, key: &str, reason: &str) -> LoadError {
        LoadError::Unsupported {
            at: self.at.clone(),
            field: self.field(key),
            reason: reason.to_string(),
        }
    }

    fn get(&mut self, key: &str) -> Option<&'a Value> {
        self.read.insert(key.to_string());
        self.map.get(key)
    }

    fn required(&mut self, key: &str) -> Result<&'a Value, LoadError> {
        self.get(key).ok_or_else(|| self.invalid(key, "is required"))
    }

    fn string(&mut self, key: &str) -> Result<Option<&'a str>, LoadError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(self.invalid(key, "must be a string")),
        }
    }

    fn required_string(&mut self, key: &str) -> Result<&'a str, LoadError> {
        self.string(key)?.ok_or_else(|| self.invalid(key, "is required"))
    }

    /// An integer within `range` (inclusive).
    fn integer(&mut self, key: &str, min: u64, max: u64) -> Result<Option<u64>, LoadError> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => match v.as_u64().filter(|n| (min..=max).contains(n)) {
                Some(n) => Ok(Some(n)),
                None => Err(self.invalid(key, &format!("must be an integer from {min} to {max}, not {v}"))),
            },
        }
    }

    /// Fields of the same object in the same query language (a Retry or Catch entry).
    fn entry(&self, map: &'a Map<String, Value>, prefix: String) -> Self {
        Fields {
            jsonata: self.jsonata,
            state_type: self.state_type.clone(),
            ..Fields::nested(map, &self.at, prefix)
        }
    }

    /// A value that is an integer within `range`, or in JSONata a `{% … %}` expression
    /// that must give one at run time.
    fn integer_or_expression(&mut self, key: &str, min: u64, max: u64) -> Result<Option<Amount>, LoadError> {
        if self.jsonata
            && let Some(Value::String(text)) = self.map.get(key)
        {
            self.read.insert(key.to_string());
            return match expression_text(text) {
                Some(_) => parsed_template(self, key, Template::parse_jsonata).map(|t| t.map(Amount::Dynamic)),
                None => Err(self.invalid(
                    key,
                    &format!("must be an integer from {min} to {max} or a `{{% … %}}` expression"),
                )),
            };
        }
        Ok(self.integer(key, min, max)?.map(Amount::Fixed))
    }

    /// Refuses every field not read, saying whether it is unsupported, misplaced, of the
    /// other query language, or unknown.
    fn finish(&self, unsupported_here: &[(&str, &str)]) -> Result<(), LoadError> {
        let Some(key) = self.map.keys().find(|k| !self.read.contains(k.as_str())) else {
            return Ok(());
        };
        if self.jsonata
            && let Some((_, instead)) = JSONPATH_ONLY.iter().find(|(name, _)| name == key)
        {
            return Err(self.invalid(
                key,
                &format!("is a JSONPath field and this state's QueryLanguage is JSONata: {instead}"),
            ));
        }
        if !self.jsonata && JSONATA_ONLY.contains(&key.as_str()) {
            return Err(self.invalid(
                key,
                "is a JSONata field: set `\"QueryLanguage\": \"JSONata\"` on the state or the definition",
            ));
        }
        let reason = unsupported_here
            .iter()
            .chain(UNSUPPORTED_FIELDS)
            .find(|(name, _)| name == key)
            .map(|(_, reason)| *reason);
        if let Some(reason) = reason {
            return Err(self.unsupported(key, reason));
        }
        if let Some(ty) = &self.state_type
            && STATE_FIELDS.contains(&key.as_str())
        {
            return Err(self.invalid(key, &format!("is not allowed in a {ty} state")));
        }
        Err(LoadError::UnknownField {
            at: self.at.clone(),
            field: self.field(key),
        })
    }
}

/// `QueryLanguage`: whether these fields are JSONata, given the enclosing default. As on AWS,
/// a state may switch a JSONPath definition to JSONata, not the other way round.
fn query_language(f: &mut Fields<'_>, inherited: bool) -> Result<bool, LoadError> {
    match f.string("QueryLanguage")? {
        None => Ok(inherited),
        Some("JSONata") => Ok(true),
        Some("JSONPath") if inherited => Err(f.invalid(
            "QueryLanguage",
            "a state cannot be JSONPath where the definition is JSONata; set the definition's `QueryLanguage` to `JSONPath` and this one to nothing",
        )),
        Some("JSONPath") => Ok(false),
        Some(other) => Err(f.invalid(
            "QueryLanguage",
            &format!("must be `JSONPath` or `JSONata`, not `{other}`"),
        )),
    }
}

fn parse_state(
    name: &str,
    value: &Value,
    prefix: &str,
    invoker: &dyn TaskInvoker,
    jsonata: bool,
) -> Result<State, LoadError> {
    let at = format!("{prefix}state `{name}`");
    let Value::Object(map) = value else {
        return Err(LoadError::Invalid {
            at,
            field: "Type".into(),
            reason: "a state must be a JSON object".into(),
        });
    };
    let mut f = Fields::new(map, at);
    let ty = f.required_string("Type")?;
    f.string("Comment")?;
    f.jsonata = query_language(&mut f, jsonata)?;
    f.machine_jsonata = jsonata;
    let kind = match ty {
        "Task" | "Pass" | "Choice" | "Wait" | "Succeed" | "Fail" | "Map" | "Parallel" => ty,
        other => {
            return Err(f.invalid(
                "Type",
                &format!(
                    "unknown state type `{other}`; expected Task, Pass, Choice, Wait, Succeed, Fail, Map or Parallel"
                ),
            ));
        }
    };
    f.state_type = Some(kind.to_string());
    let (input_path, output_path) = if kind == "Fail" || f.jsonata {
        (Path::parse("$").ok(), Path::parse("$").ok())
    } else {
        (data_path(&mut f, "InputPath")?, data_path(&mut f, "OutputPath")?)
    };
    // JSONata's `Output` replaces the JSONPath output steps; a Fail state has none.
    let output = match kind {
        "Fail" => None,
        _ if f.jsonata => parsed_template(&mut f, "Output", Template::parse_jsonata)?,
        _ => None,
    };
    // Succeed and Fail end the execution: there is no later state to read a variable.
    let assign = match kind {
        "Succeed" | "Fail" => None,
        _ => assign(&mut f)?,
    };
    let kind = match kind {
        "Task" => Kind::Task(parse_task(&mut f, invoker)?),
        "Pass" => Kind::Pass(Pass {
            parameters: template(&mut f, "Parameters")?,
            result: if f.jsonata { None } else { f.get("Result").cloned() },
            result_path: result_path(&mut f, "ResultPath")?,
            transition: transition(&mut f)?,
        }),
        "Choice" => Kind::Choice(parse_choice(&mut f)?),
        "Wait" => Kind::Wait(parse_wait(&mut f)?),
        "Succeed" => Kind::Succeed,
        "Parallel" => Kind::Parallel(parse_parallel(&mut f, invoker)?),
        "Map" => Kind::Map(parse_map(&mut f, invoker)?),
        _ => Kind::Fail(Fail {
            error: fail_text(&mut f, "Error", "ErrorPath")?,
            cause: fail_text(&mut f, "Cause", "CausePath")?,
        }),
    };
    f.finish(&[])?;
    Ok(State {
        input_path,
        output_path,
        output,
        assign,
        jsonata: f.jsonata,
        kind,
    })
}

/// `InputPath`/`OutputPath`: default `$`, `null` for "nothing" (`{}`).
fn data_path(f: &mut Fields<'_>, key: &str) -> Result<Option<Path>, LoadError> {
    nullable_path(f, key, "path", Path::parse)
}

/// `ResultPath`: default `$`, `null` to discard the result. A JSONata state has none: its
/// result is its output unless `Output` says otherwise.
fn result_path(f: &mut Fields<'_>, key: &str) -> Result<Option<ReferencePath>, LoadError> {
    if f.jsonata {
        return ReferencePath::parse("$").map(Some).map_err(|r| f.invalid(key, &r));
    }
    nullable_path(f, key, "reference path", ReferencePath::parse)
}

/// The path at `key` as `parse` reads it: `$` when absent, `None` when `null`; anything else
/// must be a `kind` string.
fn nullable_path<P>(
    f: &mut Fields<'_>,
    key: &str,
    kind: &str,
    parse: fn(&str) -> Result<P, String>,
) -> Result<Option<P>, LoadError> {
    let text = match f.get(key) {
        None => "$",
        Some(Value::Null) => return Ok(None),
        Some(Value::String(text)) => text,
        Some(_) => return Err(f.invalid(key, &format!("must be a {kind} string or null"))),
    };
    parse(text).map(Some).map_err(|r| f.invalid(key, &r))
}

/// A payload template at `key` (`Parameters`, `ResultSelector`, `ItemSelector`); in a JSONata
/// state, `Parameters` is `Arguments` and `ResultSelector` does not exist.
fn template(f: &mut Fields<'_>, key: &str) -> Result<Option<Template>, LoadError> {
    match (f.jsonata, key) {
        (false, _) => parsed_template(f, key, Template::parse),
        (true, "Parameters") => parsed_template(f, "Arguments", Template::parse_jsonata),
        (true, "ResultSelector") => Ok(None),
        (true, _) => parsed_template(f, key, Template::parse_jsonata),
    }
}

fn assign(f: &mut Fields<'_>) -> Result<Option<Template>, LoadError> {
    if f.jsonata {
        parsed_template(f, "Assign", |v| parse_assign(v, true))
    } else {
        parsed_template(f, "Assign", |v| parse_assign(v, false))
    }
}

/// The template at `key`, if present, with an error naming the field inside it.
fn parsed_template(
    f: &mut Fields<'_>,
    key: &str,
    parse: impl Fn(&Value) -> Result<Template, (String, String)>,
) -> Result<Option<Template>, LoadError> {
    let Some(value) = f.get(key) else {
        return Ok(None);
    };
    let template = parse(value).map_err(|(inner, reason)| f.invalid(&field_in(key, &inner), &reason))?;
    if f.jsonata {
        reachable_states(f, key, &template)?;
    }
    Ok(Some(template))
}

/// `$states.result` exists only in the `Output` and `Assign` of a Task, Parallel or Map, and
/// `$states.errorOutput` only in a Catcher's; AWS refuses either elsewhere when the machine
/// is created, and so do we.
fn reachable_states(f: &Fields<'_>, key: &str, template: &Template) -> Result<(), LoadError> {
    let output_or_assign = matches!(key, "Output" | "Assign");
    let in_catcher = f.prefix.starts_with("Catch[");
    let has_result =
        output_or_assign && f.prefix.is_empty() && matches!(f.state_type.as_deref(), Some("Task" | "Parallel" | "Map"));
    for (member, allowed, where_) in [
        (
            "result",
            has_result,
            "the `Output` and `Assign` of a Task, Parallel or Map state",
        ),
        (
            "errorOutput",
            output_or_assign && in_catcher,
            "a Catcher's `Output` and `Assign`",
        ),
    ] {
        if !allowed && let Some(expr) = template.mentioning_states(member) {
            return Err(f.invalid(
                key,
                &format!(
                    "`{{% {} %}}` reads `$states.{member}`, which exists only in {where_}",
                    expr.source()
                ),
            ));
        }
    }
    Ok(())
}

/// A required, non-empty array (`Branches`, `Choices`).
fn non_empty_array<'a>(f: &mut Fields<'a>, key: &str, what: &str) -> Result<&'a Vec<Value>, LoadError> {
    match f.required(key)? {
        Value::Array(items) if !items.is_empty() => Ok(items),
        _ => Err(f.invalid(key, &format!("must be a non-empty array of {what}"))),
    }
}

fn transition(f: &mut Fields<'_>) -> Result<Transition, LoadError> {
    let next = f.string("Next")?;
    let end = match f.get("End") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(f.invalid("End", "must be a boolean")),
    };
    match (next, end) {
        (Some(_), true) => Err(f.invalid("End", "`Next` and `End` cannot both be present")),
        (Some(next), false) => Ok(Transition::Next(next.to_string())),
        (None, true) => Ok(Transition::End),
        (None, false) => Err(f.invalid("Next", "the state needs `Next` or `\"End\": true`")),
    }
}

fn parse_task(f: &mut Fields<'_>, invoker: &dyn TaskInvoker) -> Result<Task, LoadError> {
    let resource = f.required_string("Resource")?.to_string();
    if !invoker.supports(&resource) {
        return Err(LoadError::UnsupportedResource {
            at: f.at.clone(),
            resource,
        });
    }
    let arguments = if f.jsonata { "Arguments" } else { "Parameters" };
    if let Err(reason) = invoker.check(&resource, f.get(arguments)) {
        return Err(f.invalid(arguments, &reason));
    }
    let timeout = f.integer_or_expression("TimeoutSeconds", 1, 99_999_999)?;
    Ok(Task {
        resource,
        parameters: template(f, "Parameters")?,
        result_selector: template(f, "ResultSelector")?,
        result_path: result_path(f, "ResultPath")?,
        retry: parse_retry(f)?,
        catch: parse_catch(f)?,
        timeout,
        transition: transition(f)?,
    })
}

fn container(f: &mut Fields<'_>) -> Result<Container, LoadError> {
    Ok(Container {
        result_selector: template(f, "ResultSelector")?,
        result_path: result_path(f, "ResultPath")?,
        retry: parse_retry(f)?,
        catch: parse_catch(f)?,
        transition: transition(f)?,
    })
}

fn parse_parallel(f: &mut Fields<'_>, invoker: &dyn TaskInvoker) -> Result<Parallel, LoadError> {
    let items = non_empty_array(f, "Branches", "branches")?;
    let branches = items
        .iter()
        .enumerate()
        .map(|(i, b)| sub_machine(f, b, &format!("Branches[{i}]"), false, invoker))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Parallel {
        branches,
        parameters: template(f, "Parameters")?,
        common: container(f)?,
    })
}

fn parse_map(f: &mut Fields<'_>, invoker: &dyn TaskInvoker) -> Result<MapState, LoadError> {
    for (key, why) in [
        ("ItemReader", "reading items from S3"),
        ("ItemBatcher", "batching items"),
        ("ResultWriter", "writing results to S3"),
        ("ToleratedFailurePercentage", "tolerated failures"),
        ("ToleratedFailurePercentagePath", "tolerated failures"),
        ("ToleratedFailureCount", "tolerated failures"),
        ("ToleratedFailureCountPath", "tolerated failures"),
        ("Label", "labels"),
        ("ItemsPointer", "item pointers"),
    ] {
        if f.get(key).is_some() {
            return Err(f.unsupported(
                key,
                &format!("{why} belongs to DISTRIBUTED Maps, which are not implemented"),
            ));
        }
    }
    if f.get("MaxConcurrencyPath").is_some() {
        return Err(f.unsupported(
            "MaxConcurrencyPath",
            "a dynamic concurrency is not implemented; use `MaxConcurrency`",
        ));
    }
    let processor = match (f.get("ItemProcessor"), f.get("Iterator")) {
        (Some(_), Some(_)) => {
            return Err(f.invalid("Iterator", "use `ItemProcessor` or the legacy `Iterator`, not both"));
        }
        (Some(p), None) => sub_machine(f, p, "ItemProcessor", true, invoker)?,
        (None, Some(_)) if f.jsonata => {
            return Err(f.invalid(
                "Iterator",
                "is the legacy JSONPath name; a JSONata Map has `ItemProcessor`",
            ));
        }
        (None, Some(p)) => sub_machine(f, p, "Iterator", false, invoker)?,
        (None, None) => return Err(f.invalid("ItemProcessor", "is required (or the legacy `Iterator`)")),
    };
    let legacy = if f.jsonata { None } else { template(f, "Parameters")? };
    let item_selector = match (template(f, "ItemSelector")?, legacy) {
        (Some(_), Some(_)) => {
            return Err(f.invalid("Parameters", "use `ItemSelector` or the legacy `Parameters`, not both"));
        }
        (selector, parameters) => selector.or(parameters),
    };
    let items = if f.jsonata {
        match f.get("Items") {
            None => Template::Jsonata(Expr::parse("$states.input").map_err(|r| f.invalid("Items", &r))?),
            Some(v @ (Value::Array(_) | Value::String(_))) => {
                Template::parse_jsonata(v).map_err(|(inner, r)| f.invalid(&field_in("Items", &inner), &r))?
            }
            Some(_) => return Err(f.invalid("Items", "must be an array or a `{% … %}` expression")),
        }
    } else {
        let text = f.string("ItemsPath")?.unwrap_or("$");
        Template::Path(Path::parse(text).map_err(|r| f.invalid("ItemsPath", &r))?)
    };
    let max_concurrency = match f.integer_or_expression("MaxConcurrency", 0, 99_999_999)? {
        None => Amount::Fixed(0),
        Some(n) => n,
    };
    Ok(MapState {
        items,
        item_selector,
        processor,
        max_concurrency,
        common: container(f)?,
    })
}

/// Objects of a `Retry` or `Catch` array, as `Fields` with an `Array[i].` prefix.
fn array_of_objects<'a>(f: &mut Fields<'a>, key: &str) -> Result<Vec<Fields<'a>>, LoadError> {
    let Some(value) = f.get(key) else {
        return Ok(Vec::new());
    };
    let Value::Array(items) = value else {
        return Err(f.invalid(key, "must be an array"));
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| match item {
            Value::Object(map) => Ok(f.entry(map, format!("{key}[{i}]."))),
            _ => Err(f.invalid(&format!("{key}[{i}]"), "must be an object")),
        })
        .collect()
}

fn error_equals(f: &mut Fields<'_>, is_last: bool) -> Result<ErrorEquals, LoadError> {
    let key = "ErrorEquals";
    let value = f.required(key)?;
    let names: Vec<String> = match value {
        Value::Array(items) if !items.is_empty() => items
            .iter()
            .map(|v| v.as_str().map(str::to_string))
            .collect::<Option<_>>()
            .ok_or_else(|| f.invalid(key, "must contain only strings"))?,
        _ => return Err(f.invalid(key, "must be a non-empty array of error names")),
    };
    for name in &names {
        if name == error_names::RUNTIME {
            return Err(f.invalid(key, "`States.Runtime` can never be retried or caught; remove it"));
        }
        if name.starts_with("States.") && !PREDEFINED_ERRORS.contains(&name.as_str()) {
            return Err(f.invalid(key, &format!("`{name}` is not a predefined error name")));
        }
    }
    if names.iter().any(|n| n == error_names::ALL) {
        if names.len() > 1 {
            return Err(f.invalid(key, "`States.ALL` must appear alone in its `ErrorEquals`"));
        }
        if !is_last {
            return Err(f.invalid(key, "the entry with `States.ALL` must be the last one"));
        }
    }
    Ok(ErrorEquals(names))
}

/// The `Retry` or `Catch` array at `key`: each entry's `Comment` and `ErrorEquals` (only the
/// last may name `States.ALL`), then `rest` for the entry's own fields; any other is refused.
fn error_handlers<'a, T>(
    f: &mut Fields<'a>,
    key: &str,
    rest: impl Fn(&mut Fields<'a>, ErrorEquals) -> Result<T, LoadError>,
) -> Result<Vec<T>, LoadError> {
    let items = array_of_objects(f, key)?;
    let count = items.len();
    let mut handlers = Vec::with_capacity(count);
    for (i, mut entry) in items.into_iter().enumerate() {
        entry.string("Comment")?;
        let error_equals = error_equals(&mut entry, i + 1 == count)?;
        handlers.push(rest(&mut entry, error_equals)?);
        entry.finish(&[])?;
    }
    Ok(handlers)
}

fn parse_retry(f: &mut Fields<'_>) -> Result<Vec<Retrier>, LoadError> {
    error_handlers(f, "Retry", |r, error_equals| {
        let interval_seconds = r
            .integer("IntervalSeconds", 1, 99_999_999)?
            .unwrap_or(Retrier::DEFAULT_INTERVAL_SECONDS);
        let max_attempts = r
            .integer("MaxAttempts", 0, 99_999_999)?
            .map_or(Retrier::DEFAULT_MAX_ATTEMPTS, |n| u32::try_from(n).unwrap_or(u32::MAX));
        let backoff_rate = match r.get("BackoffRate") {
            None => Retrier::DEFAULT_BACKOFF_RATE,
            Some(v) => match v.as_f64().filter(|b| (1.0..=1_000_000.0).contains(b)) {
                Some(b) => b,
                None => {
                    return Err(r.invalid("BackoffRate", &format!("must be a number ≥ 1.0, not {v}")));
                }
            },
        };
        let max_delay_seconds = r.integer("MaxDelaySeconds", 1, 31_622_400)?;
        let jitter = match r.string("JitterStrategy")? {
            None | Some("NONE") => Jitter::None,
            Some("FULL") => Jitter::Full,
            Some(other) => {
                return Err(r.invalid("JitterStrategy", &format!("must be `FULL` or `NONE`, not `{other}`")));
            }
        };
        Ok(Retrier {
            error_equals,
            interval_seconds,
            max_attempts,
            backoff_rate,
            max_delay_seconds,
            jitter,
        })
    })
}

fn parse_catch(f: &mut Fields<'_>) -> Result<Vec<Catcher>, LoadError> {
    error_handlers(f, "Catch", |c, error_equals| {
        let next = c.required_string("Next")?.to_string();
        let result_path = result_path(c, "ResultPath")?;
        let assign = assign(c)?;
        let output = if c.jsonata {
            parsed_template(c, "Output", Template::parse_jsonata)?
        } else {
            None
        };
        Ok(Catcher {
            error_equals,
            result_path,
            next,
            assign,
            output,
        })
    })
}

fn parse_choice(f: &mut Fields<'_>) -> Result<Choice, LoadError> {
    let items = non_empty_array(f, "Choices", "Choice rules")?;
    let choices = items
        .iter()
        .enumerate()
        .map(|(i, rule)| {
            ChoiceRule::parse(rule, &format!("Choices[{i}]"), f.jsonata)
                .map_err(|(field, reason)| f.invalid(&field, &reason))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let default = f.string("Default")?.map(str::to_string);
    Ok(Choice { choices, default })
}

fn parse_wait(f: &mut Fields<'_>) -> Result<Wait, LoadError> {
    let mut found = Vec::new();
    match f.integer_or_expression("Seconds", 0, 31_622_400)? {
        Some(Amount::Fixed(seconds)) => found.push(WaitFor::Seconds(seconds)),
        Some(Amount::Dynamic(t)) => found.push(WaitFor::SecondsQuery(t)),
        None => {}
    }
    if f.jsonata
        && let Some(Value::String(text)) = f.map.get("Timestamp")
        && expression_text(text).is_some()
        && let Some(t) = parsed_template(f, "Timestamp", Template::parse_jsonata)?
    {
        found.push(WaitFor::TimestampQuery(t));
    }
    if let Some(text) = f.string("SecondsPath")? {
        found.push(WaitFor::SecondsPath(
            Path::parse(text).map_err(|r| f.invalid("SecondsPath", &r))?,
        ));
    }
    if !found.iter().any(|w| matches!(w, WaitFor::TimestampQuery(_)))
        && let Some(text) = f.string("Timestamp")?
    {
        let ts = parse_timestamp(text).ok_or_else(|| {
            f.invalid(
                "Timestamp",
                "must be an RFC 3339 timestamp such as 2026-01-31T09:30:00Z",
            )
        })?;
        found.push(WaitFor::Timestamp(ts));
    }
    if let Some(text) = f.string("TimestampPath")? {
        found.push(WaitFor::TimestampPath(
            Path::parse(text).map_err(|r| f.invalid("TimestampPath", &r))?,
        ));
    }
    let transition = transition(f)?;
    match <[WaitFor; 1]>::try_from(found) {
        Ok([wait_for]) => Ok(Wait { wait_for, transition }),
        Err(_) => Err(f.invalid(
            "Seconds",
            "a Wait state needs exactly one of `Seconds`, `SecondsPath`, `Timestamp`, `TimestampPath`",
        )),
    }
}

fn fail_text(f: &mut Fields<'_>, literal: &str, path: &str) -> Result<FailText, LoadError> {
    if f.jsonata {
        return Ok(match f.string(literal)? {
            None => FailText::Absent,
            Some(text) if expression_text(text).is_some() => {
                match parsed_template(f, literal, Template::parse_jsonata)? {
                    Some(t) => FailText::Dynamic(t),
                    None => FailText::Absent,
                }
            }
            Some(text) => FailText::Literal(text.to_string()),
        });
    }
    let text = f.string(literal)?;
    let dynamic = f.string(path)?;
    match (text, dynamic) {
        (Some(_), Some(_)) => Err(f.invalid(path, &format!("`{literal}` and `{path}` cannot both be present"))),
        (Some(text), None) => Ok(FailText::Literal(text.to_string())),
        (None, Some(dynamic)) => parse_dynamic(dynamic)
            .map(FailText::Dynamic)
            .map_err(|r| f.invalid(path, &r)),
        (None, None) => Ok(FailText::Absent),
    }
}

fn next(t: &Transition) -> Option<(String, &str)> {
    match t {
        Transition::Next(next) => Some(("Next".to_string(), next.as_str())),
        Transition::End => None,
    }
}

/// Every `Next`, `Default` and catcher `Next` must name a state.
fn check_targets(states: &BTreeMap<String, State>, prefix: &str) -> Result<(), LoadError> {
    match target_errors(states, prefix, &|t| states.contains_key(t))
        .into_iter()
        .next()
    {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Every transition (`Next`, `Default`, Choice and Catch targets) to a state `exists` denies.
fn target_errors(states: &BTreeMap<String, State>, prefix: &str, exists: &dyn Fn(&str) -> bool) -> Vec<LoadError> {
    let mut errors = Vec::new();
    for (name, state) in states {
        let mut targets: Vec<(String, &str)> = Vec::new();
        match &state.kind {
            Kind::Task(task) => {
                targets.extend(next(&task.transition));
                for (i, c) in task.catch.iter().enumerate() {
                    targets.push((format!("Catch[{i}].Next"), &c.next));
                }
            }
            Kind::Pass(pass) => targets.extend(next(&pass.transition)),
            Kind::Wait(wait) => targets.extend(next(&wait.transition)),
            Kind::Choice(choice) => {
                for (i, rule) in choice.choices.iter().enumerate() {
                    targets.push((format!("Choices[{i}].Next"), &rule.next));
                }
                if let Some(default) = &choice.default {
                    targets.push(("Default".into(), default));
                }
            }
            Kind::Parallel(Parallel { common, .. }) | Kind::Map(MapState { common, .. }) => {
                targets.extend(next(&common.transition));
                for (i, c) in common.catch.iter().enumerate() {
                    targets.push((format!("Catch[{i}].Next"), &c.next));
                }
            }
            Kind::Succeed | Kind::Fail(_) => {}
        }
        for (field, target) in targets.iter().filter(|(_, t)| !exists(t)) {
            errors.push(LoadError::Invalid {
                at: format!("{prefix}state `{name}`"),
                field: field.clone(),
                reason: format!("no state named `{target}`"),
            });
        }
    }
    errors
}

/// Every problem of a definition rather than the first: the top level's, then each state's
/// (the first problem inside a state, since its later fields may depend on it), then every
/// dangling transition. `substitutions: None` leaves `${Name}` placeholders as they are, for a
/// file bound for AWS whose values CloudFormation supplies.
pub(crate) fn validate(
    text: &str,
    substitutions: Option<&BTreeMap<String, String>>,
    invoker: &dyn TaskInvoker,
) -> Vec<LoadError> {
    if let Err(e) = syntax(text) {
        return vec![e];
    }
    let mut errors = Vec::new();
    let text = match substitutions.map(|s| substitute(text, s)) {
        None => text.to_string(),
        Some(Ok(t)) => t,
        Some(Err(e)) => {
            errors.push(e);
            text.to_string()
        }
    };
    let root = match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(root)) => root,
        Ok(_) => {
            errors.push(LoadError::Json("the top level must be an object".into()));
            return errors;
        }
        Err(e) => {
            errors.push(LoadError::Json(e.to_string()));
            return errors;
        }
    };
    let mut top = Fields::new(&root, "the definition".into());
    let start_at = top.required_string("StartAt").map_err(|e| errors.push(e)).ok();
    for key in ["Comment", "Version"] {
        if let Err(e) = top.string(key) {
            errors.push(e);
        }
    }
    let jsonata = query_language(&mut top, false).unwrap_or_else(|e| {
        errors.push(e);
        false
    });
    let states_map = match top.required("States") {
        Ok(Value::Object(m)) if !m.is_empty() => Some(m),
        Ok(Value::Object(_)) => {
            errors.push(top.invalid("States", "must contain at least one state"));
            None
        }
        Ok(_) => {
            errors.push(top.invalid("States", "must be an object mapping state names to states"));
            None
        }
        Err(e) => {
            errors.push(e);
            None
        }
    };
    if let Err(e) = execution_timeout(&mut top) {
        errors.push(e);
    }
    if let Err(e) = top.finish(&[]) {
        errors.push(e);
    }
    let Some(states_map) = states_map else {
        return errors;
    };
    let mut states = BTreeMap::new();
    for (name, value) in states_map {
        match parse_state(name, value, "", invoker, jsonata) {
            Ok(state) => {
                states.insert(name.clone(), state);
            }
            Err(e) => errors.push(e),
        }
    }
    // A state that failed to parse still exists: transitions to it are not problems.
    errors.extend(target_errors(&states, "", &|t| states_map.contains_key(t)));
    if let Some(start) = start_at
        && !states_map.contains_key(start)
    {
        errors.push(top.invalid("StartAt", &format!("no state named `{start}`")));
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::asl::testing::FakeInvoker;
    use serde_json::json;

    fn load_json(definition: Value) -> Result<StateMachine, LoadError> {
        load(&definition.to_string(), Some(&BTreeMap::new()), &FakeInvoker::new())
    }

    /// A one-state machine whose only state is `state`.
    fn single(state: Value) -> Result<StateMachine, LoadError> {
        load_json(json!({"StartAt": "S", "States": {"S": state, "End": {"Type": "Succeed"}}}))
    }

    fn refused(result: Result<StateMachine, LoadError>) -> String {
        match result {
            Ok(m) => panic!("loaded: {m:?}"),
            Err(e) => e.to_string(),
        }
    }

    fn assert_refused(result: Result<StateMachine, LoadError>, expected: &str) {
        let message = refused(result);
        assert!(message.contains(expected), "message: {message}\nexpected: {expected}");
    }

    #[test]
    fn substitutes_placeholders_with_json_escaping() {
        let subs = BTreeMap::from([
            ("Arn".to_string(), "arn:aws:lambda:x:1:function:f".to_string()),
            ("Quote".to_string(), "say \"hi\"\\".to_string()),
        ]);
        let out = substitute(
            r#"{"a": "${Arn}", "b": "${Quote}", "c": "${not a name}", "d": "$${Arn}"}"#,
            &subs,
        );
        assert_eq!(
            out.ok().and_then(|s| serde_json::from_str::<Value>(&s).ok()),
            Some(json!({
                "a": "arn:aws:lambda:x:1:function:f",
                "b": "say \"hi\"\\",
                "c": "${not a name}",
                "d": "$arn:aws:lambda:x:1:function:f"
            }))
        );
    }

    #[test]
    fn a_missing_substitution_is_named() {
        let subs = BTreeMap::from([("Known".to_string(), "v".to_string())]);
        let err = substitute(r#"{"a": "${Known}", "b": "${TopicArn}", "c": "${Other}"}"#, &subs);
        assert_eq!(
            err,
            Err(LoadError::MissingSubstitution {
                names: vec!["Other".into(), "TopicArn".into()]
            })
        );
        assert_eq!(
            err.err().map(|e| e.to_string()),
            Some("no substitution for definition placeholder(s) `${Other}`, `${TopicArn}`".into())
        );
    }

    #[test]
    fn loads_a_machine_using_every_supported_state_type() {
        let machine = load_json(json!({
            "Comment": "all types",
            "StartAt": "T",
            "States": {
                "T": {"Type": "Task", "Resource": "arn:aws:lambda:r:1:function:f", "Next": "P",
                      "TimeoutSeconds": 5, "Retry": [{"ErrorEquals": ["States.ALL"], "JitterStrategy": "FULL"}],
                      "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "F"}]},
                "P": {"Type": "Pass", "Result": {"x": 1}, "ResultPath": "$.p", "Next": "C"},
                "C": {"Type": "Choice", "Choices": [{"Variable": "$.p.x", "NumericEquals": 1, "Next": "W"}], "Default": "F"},
                "W": {"Type": "Wait", "Seconds": 0, "Next": "S"},
                "S": {"Type": "Succeed"},
                "F": {"Type": "Fail", "Error": "E", "CausePath": "States.Format('{}', $.c)"}
            }
        }));
        match machine {
            Ok(m) => {
                assert_eq!(m.start_at(), "T");
                assert_eq!(m.state_names().collect::<Vec<_>>(), ["C", "F", "P", "S", "T", "W"]);
            }
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn validate_lists_every_problem_and_nothing_for_a_good_file() {
        let text = json!({"StartAt": "Nope", "Bogus": 1, "States": {
            "A": {"Type": "Pass", "Next": "Missing"},
            "B": {"Type": "Task", "Resource": "arn:aws:lambda:f", "End": true, "HeartbeatSeconds": 3},
            "C": {"Type": "Choice", "Choices": [{"Variable": "$.x", "IsPresent": true, "Next": "B"}], "Default": "Gone"},
            "D": {"Type": "Pass", "Next": "B"}
        }})
        .to_string();
        let problems: Vec<String> = validate(&text, None, &FakeInvoker::new())
            .iter()
            .map(ToString::to_string)
            .collect();
        let expected = [
            "the definition: unknown field `Bogus`",
            "state `B`, field `HeartbeatSeconds`: not supported",
            "state `A`, field `Next`: no state named `Missing`",
            "state `C`, field `Default`: no state named `Gone`",
            "the definition, field `StartAt`: no state named `Nope`",
        ];
        assert_eq!(problems.len(), expected.len(), "{problems:#?}");
        for (got, want) in problems.iter().zip(expected) {
            assert!(got.starts_with(want), "{got} / {want}");
        }
        let flow = include_str!("../../../infra/statemachine/order_flow.asl.json");
        let any = crate::asl::AnyResource;
        assert_eq!(validate(flow, None, &any), []);
        let missing = validate(flow, Some(&BTreeMap::new()), &any);
        assert!(
            missing[0]
                .to_string()
                .starts_with("no substitution for definition placeholder(s)"),
            "{missing:?}"
        );
    }

    #[test]
    fn refuses_unknown_state_types() {
        assert_refused(
            single(json!({"Type": "Sleep", "End": true})),
            "state `S`, field `Type`: unknown state type `Sleep`",
        );
        assert_refused(single(json!({"End": true})), "state `S`, field `Type`: is required");
    }

    #[test]
    fn refuses_malformed_and_distributed_maps_and_parallels_with_their_place() {
        let inner = json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}});
        let map = |extra: Value| {
            let mut m = json!({"Type": "Map", "End": true, "ItemProcessor": inner.clone()});
            if let (Value::Object(m), Value::Object(e)) = (&mut m, extra) {
                m.extend(e);
            }
            single(m)
        };
        assert_refused(
            single(json!({"Type": "Map", "ItemProcessor": {}, "End": true})),
            "state `S`, field `ItemProcessor.StartAt`: is required",
        );
        assert_refused(
            map(
                json!({"ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED"}, "StartAt": "P",
                "States": {"P": {"Type": "Pass", "End": true}}}}),
            ),
            "field `ItemProcessor.ProcessorConfig.Mode`: not supported by this executor: a DISTRIBUTED Map",
        );
        assert_refused(
            map(json!({"ItemReader": {"Resource": "arn:aws:states:::s3:getObject"}})),
            "field `ItemReader`: not supported by this executor: reading items from S3 belongs to DISTRIBUTED Maps",
        );
        assert_refused(map(json!({"Iterator": inner.clone()})), "not both");
        assert_refused(
            map(json!({"ItemSelector": {}, "Parameters": {}})),
            "use `ItemSelector` or the legacy `Parameters`, not both",
        );
        assert_refused(
            single(json!({"Type": "Parallel", "Branches": [], "End": true})),
            "state `S`, field `Branches`: must be a non-empty array",
        );
        // A transition out of a branch is refused where it is written.
        assert_refused(
            single(json!({"Type": "Parallel", "End": true, "Branches": [
                {"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "End"}}}]})),
            "state `S`, Branches[0] › state `A`, field `Next`: no state named `End`",
        );
        assert_refused(
            single(json!({"Type": "Parallel", "End": true, "Branches": [
                {"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "arn:aws:lambda:f", "End": true,
                    "HeartbeatSeconds": 5}}}]})),
            "state `S`, Branches[0] › state `A`, field `HeartbeatSeconds`: not supported",
        );
    }

    #[test]
    fn refuses_unknown_misplaced_and_unsupported_fields() {
        assert_refused(
            single(json!({"Type": "Pass", "End": true, "Resutl": 1})),
            "state `S`: unknown field `Resutl`",
        );
        assert_refused(
            single(json!({"Type": "Pass", "End": true, "Retry": []})),
            "state `S`, field `Retry`: is not allowed in a Pass state",
        );
        assert_refused(
            single(
                json!({"Type": "Choice", "Choices": [{"Variable": "$", "IsNull": true, "Next": "End"}], "End": true}),
            ),
            "state `S`, field `End`: is not allowed in a Choice state",
        );
        assert_refused(
            single(json!({"Type": "Succeed", "Next": "End"})),
            "field `Next`: is not allowed in a Succeed state",
        );
        assert_refused(
            single(json!({"Type": "Fail", "Next": "End"})),
            "field `Next`: is not allowed in a Fail state",
        );
        assert_refused(
            single(json!({"Type": "Fail", "InputPath": "$"})),
            "field `InputPath`: is not allowed in a Fail state",
        );
        assert_refused(
            single(json!({"Type": "Task", "Resource": "arn:aws:lambda:f", "End": true, "HeartbeatSeconds": 10})),
            "state `S`, field `HeartbeatSeconds`: not supported by this executor: heartbeats",
        );
        assert_refused(
            single(json!({"Type": "Succeed", "Assign": {"x": 1}})),
            "state `S`, field `Assign`: is not allowed in a Succeed state",
        );
        assert_refused(
            single(json!({"Type": "Pass", "End": true, "Assign": {"1x": 1}})),
            "state `S`, field `Assign.1x`: `1x` is not a variable name",
        );
        assert_refused(
            single(json!({"Type": "Pass", "End": true, "Assign": {"x": 1, "x.$": "$.a"}})),
            "`x` is assigned twice",
        );
        assert_refused(
            single(json!({"Type": "Pass", "End": true, "Assign": [1]})),
            "field `Assign`: must be an object mapping variable names",
        );
        assert_refused(
            single(json!({"Type": "Pass", "End": true, "ResultPath": "$x"})),
            "must be a reference path starting with `$`",
        );
        assert_refused(
            single(json!({"Type": "Pass", "End": true, "QueryLanguage": "JSONata", "ResultPath": "$.x"})),
            "field `ResultPath`: is a JSONPath field and this state's QueryLanguage is JSONata",
        );
        assert_refused(
            single(json!({"Type": "Pass", "End": true, "QueryLanguage": "XPath"})),
            "field `QueryLanguage`: must be `JSONPath` or `JSONata`, not `XPath`",
        );
        assert_refused(
            load_json(json!({"StartAt": "S", "TimeoutSeconds": 0, "States": {"S": {"Type": "Succeed"}}})),
            "the definition, field `TimeoutSeconds`: must be an integer from 1 to 99999999, not 0",
        );
        // Only a state's TimeoutSeconds may be an expression, even in a JSONata definition.
        assert_refused(
            load_json(
                json!({"StartAt": "S", "QueryLanguage": "JSONata", "TimeoutSeconds": "{% 5 %}",
                "States": {"S": {"Type": "Succeed"}}}),
            ),
            "the definition, field `TimeoutSeconds`: must be an integer",
        );
        assert_refused(
            load_json(json!({"StartAt": "S", "Extra": 1, "States": {"S": {"Type": "Succeed"}}})),
            "the definition: unknown field `Extra`",
        );
        assert_refused(
            single(json!({"Type": "Task", "Resource": "arn:aws:lambda:f", "End": true,
                          "Retry": [{"ErrorEquals": ["E"], "MaxAttemps": 2}]})),
            "state `S`: unknown field `Retry[0].MaxAttemps`",
        );
    }

    #[test]
    fn refuses_unsupported_resources() {
        assert_refused(
            single(json!({"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage", "End": true})),
            "state `S`, field `Resource`: `arn:aws:states:::sqs:sendMessage` is not supported by the task invoker",
        );
        assert_refused(
            single(json!({"Type": "Task", "End": true})),
            "field `Resource`: is required",
        );
    }

    #[test]
    fn refuses_bad_transitions() {
        assert_refused(
            single(json!({"Type": "Pass", "Next": "Nowhere"})),
            "state `S`, field `Next`: no state named `Nowhere`",
        );
        assert_refused(
            single(json!({"Type": "Pass"})),
            "state `S`, field `Next`: the state needs `Next` or `\"End\": true`",
        );
        assert_refused(
            single(json!({"Type": "Pass", "Next": "End", "End": true})),
            "`Next` and `End` cannot both be present",
        );
        assert_refused(
            load_json(json!({"StartAt": "Missing", "States": {"S": {"Type": "Succeed"}}})),
            "the definition, field `StartAt`: no state named `Missing`",
        );
        assert_refused(
            single(json!({"Type": "Choice", "Choices": [{"Variable": "$", "IsNull": true, "Next": "Gone"}]})),
            "field `Choices[0].Next`: no state named `Gone`",
        );
        assert_refused(
            single(
                json!({"Type": "Choice", "Choices": [{"Variable": "$", "IsNull": true, "Next": "End"}], "Default": "Gone"}),
            ),
            "field `Default`: no state named `Gone`",
        );
        assert_refused(
            single(json!({"Type": "Task", "Resource": "arn:aws:lambda:f", "End": true,
                          "Catch": [{"ErrorEquals": ["E"], "Next": "Gone"}]})),
            "field `Catch[0].Next`: no state named `Gone`",
        );
    }

    #[test]
    fn refuses_bad_retry_and_catch() {
        let task = |extra: Value| {
            let mut state = json!({"Type": "Task", "Resource": "arn:aws:lambda:f", "End": true});
            if let (Value::Object(s), Value::Object(e)) = (&mut state, extra) {
                s.extend(e);
            }
            single(state)
        };
        assert_refused(
            task(json!({"Retry": [{"ErrorEquals": ["States.ALL", "E"]}]})),
            "field `Retry[0].ErrorEquals`: `States.ALL` must appear alone",
        );
        assert_refused(
            task(json!({"Retry": [{"ErrorEquals": ["States.ALL"]}, {"ErrorEquals": ["E"]}]})),
            "field `Retry[0].ErrorEquals`: the entry with `States.ALL` must be the last one",
        );
        assert_refused(
            task(
                json!({"Catch": [{"ErrorEquals": ["States.ALL"], "Next": "End"}, {"ErrorEquals": ["E"], "Next": "End"}]}),
            ),
            "field `Catch[0].ErrorEquals`: the entry with `States.ALL` must be the last one",
        );
        assert_refused(task(json!({"Retry": [{"ErrorEquals": []}]})), "non-empty array");
        assert_refused(
            task(json!({"Retry": [{}]})),
            "field `Retry[0].ErrorEquals`: is required",
        );
        assert_refused(
            task(json!({"Retry": [{"ErrorEquals": ["States.Bogus"]}]})),
            "not a predefined error name",
        );
        assert_refused(
            task(json!({"Catch": [{"ErrorEquals": ["States.Runtime"], "Next": "End"}]})),
            "can never be retried or caught",
        );
        assert_refused(
            task(json!({"Retry": [{"ErrorEquals": ["E"], "IntervalSeconds": 0}]})),
            "field `Retry[0].IntervalSeconds`: must be an integer from 1",
        );
        assert_refused(
            task(json!({"Retry": [{"ErrorEquals": ["E"], "MaxAttempts": -1}]})),
            "`Retry[0].MaxAttempts`",
        );
        assert_refused(
            task(json!({"Retry": [{"ErrorEquals": ["E"], "BackoffRate": 0.5}]})),
            "`Retry[0].BackoffRate`: must be a number ≥ 1.0",
        );
        assert_refused(
            task(json!({"Retry": [{"ErrorEquals": ["E"], "JitterStrategy": "HALF"}]})),
            "must be `FULL` or `NONE`",
        );
        assert_refused(
            task(json!({"Catch": [{"ErrorEquals": ["E"]}]})),
            "field `Catch[0].Next`: is required",
        );
        assert_refused(
            task(json!({"TimeoutSeconds": 0})),
            "field `TimeoutSeconds`: must be an integer from 1",
        );
    }

    #[test]
    fn refuses_bad_paths_templates_and_intrinsics() {
        assert_refused(
            single(json!({"Type": "Pass", "End": true, "InputPath": "a.b"})),
            "state `S`, field `InputPath`: invalid path `a.b`",
        );
        assert_refused(
            single(json!({"Type": "Pass", "End": true, "ResultPath": "$.a[*]"})),
            "field `ResultPath`: `$.a[*]` must be a reference path",
        );
        assert_refused(
            single(json!({"Type": "Pass", "End": true, "Parameters": {"a": {"b.$": "States.Nope($)"}}})),
            "state `S`, field `Parameters.a.b.$`: unknown intrinsic function `States.Nope`",
        );
        assert_refused(
            single(
                json!({"Type": "Task", "Resource": "arn:aws:lambda:f", "End": true, "ResultSelector": {"x.$": "States.Hash($)"}}),
            ),
            "field `ResultSelector.x.$`: `States.Hash` takes 2 argument(s), not 1",
        );
        assert_refused(
            single(json!({"Type": "Fail", "Error": "E", "ErrorPath": "$.e"})),
            "field `ErrorPath`: `Error` and `ErrorPath` cannot both be present",
        );
        assert_refused(
            single(json!({"Type": "Choice", "Choices": [{"Variable": "$.a", "StringContains": "x", "Next": "End"}]})),
            "state `S`, field `Choices[0].StringContains`: unsupported Choice operator `StringContains`",
        );
        assert_refused(
            single(json!({"Type": "Wait", "Seconds": 1, "SecondsPath": "$.s", "End": true})),
            "exactly one of `Seconds`",
        );
        assert_refused(single(json!({"Type": "Wait", "End": true})), "exactly one of `Seconds`");
        assert_refused(
            single(json!({"Type": "Wait", "Timestamp": "tomorrow", "End": true})),
            "field `Timestamp`: must be an RFC 3339 timestamp",
        );
    }

    #[test]
    fn refuses_non_json_and_malformed_tops() {
        assert!(matches!(
            load("{nope", Some(&BTreeMap::new()), &FakeInvoker::new()),
            Err(LoadError::Json(_))
        ));
        assert_refused(load_json(json!([])), "the top level must be an object");
        assert_refused(
            load_json(json!({"States": {"S": {"Type": "Succeed"}}})),
            "field `StartAt`: is required",
        );
        assert_refused(
            load_json(json!({"StartAt": "S", "States": {}})),
            "must contain at least one state",
        );
        assert_refused(single(json!("Pass")), "a state must be a JSON object");
    }
}
