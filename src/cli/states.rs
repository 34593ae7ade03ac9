//! `skipline states validate | test`: a state-machine file checked as `serve` or AWS would
//! take it, with every problem listed, and one state run as TestState runs it. Neither
//! touches a data dir.

use super::commands::{CliError, read_arg};
use super::{Cli, InspectionLevel, StatesCommand, output};
use serde_json::{Map, Value, json};
use skipline_engine::asl::{
    AnyResource, ExecutionContext, HistoryEvent, LoadError, StateMachine, StateType, TaskFailure, TaskInvoker,
};

/// Step Functions' limit on a definition's size.
const MAX_DEFINITION: u64 = 1024 * 1024;

pub(super) async fn run(cli: &Cli, cmd: &StatesCommand) -> Result<(), CliError> {
    match cmd {
        StatesCommand::Test { .. } => test(cli, cmd).await,
        StatesCommand::Validate { file, language_only } => {
            let text = read_definition(file)?;
            let problems = if *language_only {
                StateMachine::validate(&text, None, &AnyResource)
            } else {
                crate::local::invoker::validate_for_local(&text)
            };
            let checked = if *language_only {
                "the States Language only"
            } else {
                "what `serve --state-machine` runs"
            };
            // For a file bound for AWS, what only this executor lacks (a DISTRIBUTED Map, a
            // heartbeat) is valid States Language: said as "not checked", not as a problem.
            let (unchecked, problems): (Vec<_>, Vec<_>) = problems
                .iter()
                .partition(|p| *language_only && matches!(p, LoadError::Unsupported { .. }));
            // Each with its line and column in the file as written, where it has one.
            let described = |p: &&LoadError| match p.locate(&text) {
                Some(at) => format!("{at}: {p}"),
                None => p.to_string(),
            };
            let unchecked: Vec<String> = unchecked.iter().map(described).collect();
            let problems: Vec<String> = problems.iter().map(described).collect();
            if cli.json {
                output::json(&serde_json::json!({
                    "file": file.display().to_string(),
                    "checked": checked,
                    "valid": problems.is_empty(),
                    "problems": problems,
                    "unchecked": unchecked,
                }));
            } else {
                for u in &unchecked {
                    eprintln!("note: not checked here (valid on AWS, not run by the embedded engine): {u}");
                }
                if problems.is_empty() {
                    println!("{}: valid ({checked})", file.display());
                }
                for p in &problems {
                    eprintln!("  - {p}");
                }
            }
            if problems.is_empty() {
                Ok(())
            } else {
                Err(CliError::Invalid(format!(
                    "{}: {} problem{} ({checked})",
                    file.display(),
                    problems.len(),
                    if problems.len() == 1 { "" } else { "s" }
                )))
            }
        }
    }
}

fn read_definition(file: &std::path::Path) -> Result<String, CliError> {
    let meta =
        std::fs::metadata(file).map_err(|e| CliError::Invalid(format!("cannot read {}: {e}", file.display())))?;
    if !meta.is_file() {
        return Err(CliError::Invalid(format!("{} is not a file", file.display())));
    }
    if meta.len() > MAX_DEFINITION {
        return Err(CliError::Invalid(format!(
            "{} is {} bytes; a state-machine definition has at most {MAX_DEFINITION}",
            file.display(),
            meta.len()
        )));
    }
    std::fs::read_to_string(file).map_err(|e| CliError::Invalid(format!("cannot read {}: {e}", file.display())))
}

/// A Task's stand-in: every resource answers with the one scripted reply.
struct Mock(Option<Result<Value, TaskFailure>>);

#[async_trait::async_trait]
impl TaskInvoker for Mock {
    fn supports(&self, _resource: &str) -> bool {
        true
    }

    async fn invoke(&self, resource: &str, _input: Value) -> Result<Value, TaskFailure> {
        self.0.clone().unwrap_or_else(|| {
            Err(TaskFailure {
                error: "States.Runtime".into(),
                cause: format!("{resource} was not called: give --mock-result or --mock-error"),
            })
        })
    }
}

fn json_arg(name: &str, text: &str) -> Result<Value, CliError> {
    let text = read_arg(name, text)?;
    serde_json::from_str(&text).map_err(|e| CliError::Invalid(format!("{name} is not JSON: {e}")))
}

async fn test(cli: &Cli, cmd: &StatesCommand) -> Result<(), CliError> {
    let StatesCommand::Test {
        file,
        state,
        input,
        mock_result,
        mock_error,
        variables,
        inspection_level,
        language_only,
    } = cmd
    else {
        return Ok(());
    };
    let text = read_definition(file)?;
    let input = json_arg("--input", input)?;
    let Value::Object(variables) = json_arg("--variables", variables)? else {
        return Err(CliError::Invalid(
            "--variables must be a JSON object of variable names and values".into(),
        ));
    };
    let mock = match (mock_result, mock_error) {
        (Some(result), _) => Some(Ok(json_arg("--mock-result", result)?)),
        (None, Some(error)) => {
            let (name, cause) = error.split_once(':').unwrap_or((error.as_str(), ""));
            if name.trim().is_empty() {
                return Err(CliError::Invalid(
                    "--mock-error needs an error name, e.g. StoreUnavailable:the disk is full".into(),
                ));
            }
            Some(Err(TaskFailure {
                error: name.trim().to_string(),
                cause: cause.to_string(),
            }))
        }
        (None, None) => None,
    };
    let mock = Mock(mock);
    let loaded = if *language_only {
        StateMachine::load_as_written(&text, &mock)
    } else {
        let problems = crate::local::invoker::validate_for_local(&text);
        if let Some(first) = problems.first() {
            return Err(CliError::Invalid(format!(
                "{}: {} problem(s); the first: {first} (see `skipline states validate`)",
                file.display(),
                problems.len()
            )));
        }
        StateMachine::load(&text, &crate::local::invoker::resources().substitutions(), &mock)
    };
    let machine = loaded.map_err(|e| CliError::Invalid(format!("{}: {e}", file.display())))?;
    let Some(state_type) = machine.state_type(state) else {
        let names: Vec<&str> = machine.state_names().collect();
        return Err(CliError::Invalid(format!(
            "no state named `{state}` at the top level of {}; it has {}",
            file.display(),
            names.join(", ")
        )));
    };
    if mock.0.is_none() && state_type == StateType::Task {
        return Err(CliError::Invalid(format!(
            "`{state}` is a Task: give --mock-result JSON or --mock-error NAME[:CAUSE] (states test calls nothing)"
        )));
    }
    let ctx = ExecutionContext {
        execution_id: "arn:aws:states:local:000000000000:execution:test-state:test".into(),
        name: "test".into(),
        start_time: jiff::Timestamp::now(),
        state_machine_id: "arn:aws:states:local:000000000000:stateMachine:test-state".into(),
        state_machine_name: "test-state".into(),
        input: input.clone(),
    };
    let test = machine
        .test_state(state, input.clone(), variables.clone(), &ctx, &mock)
        .await
        .map_err(|e| CliError::Invalid(e.to_string()))?;
    let mut report = Map::new();
    report.insert("status".into(), json!(test.status));
    if let Some(output) = &test.output {
        report.insert("output".into(), output.clone());
    }
    if let Some(next) = &test.next_state {
        report.insert("nextState".into(), json!(next));
    }
    if let Some(error) = &test.error {
        report.insert("error".into(), json!(error));
        report.insert("cause".into(), json!(test.cause));
    }
    if !test.assigned.is_empty() {
        report.insert("assignedVariables".into(), Value::Object(test.assigned.clone()));
    }
    if *inspection_level != InspectionLevel::Info {
        let jsonata = machine.query_language(state) == Some("JSONata");
        report.insert(
            "inspectionData".into(),
            inspection(&input, &variables, &test.events, jsonata),
        );
    }
    if *inspection_level == InspectionLevel::Trace {
        report.insert("events".into(), serde_json::to_value(&test.events).unwrap_or_default());
    }
    if cli.json {
        output::json(&Value::Object(report));
    } else {
        let order = [
            "status",
            "nextState",
            "error",
            "cause",
            "output",
            "assignedVariables",
            "inspectionData",
            "events",
        ];
        for (key, value) in order.iter().filter_map(|k| report.get(*k).map(|v| (k, v))) {
            let shown = match value {
                Value::String(s) => s.clone(),
                Value::Object(_) | Value::Array(_) if matches!(*key, "inspectionData" | "events") => {
                    serde_json::to_string_pretty(value).unwrap_or_default()
                }
                other => other.to_string(),
            };
            println!("{key:<17} {shown}");
        }
    }
    if test.status == "FAILED" {
        return Err(CliError::Failed(format!(
            "state `{state}` failed: {}",
            test.error.unwrap_or_default()
        )));
    }
    Ok(())
}

/// TestState's inspection data, from what the state recorded: its input and variables, the
/// effective input each attempt sent (`afterParameters`, or `afterArguments` in JSONata, as
/// TestState names them), the raw results and errors, and the output after ResultSelector,
/// ResultPath and OutputPath (after `Output` in JSONata).
fn inspection(input: &Value, variables: &Map<String, Value>, events: &[HistoryEvent], jsonata: bool) -> Value {
    let sent = if jsonata { "afterArguments" } else { "afterParameters" };
    let mut steps = Map::new();
    steps.insert("input".into(), input.clone());
    steps.insert("variables".into(), Value::Object(variables.clone()));
    let mut attempts = Vec::new();
    for e in events {
        match e {
            HistoryEvent::TaskScheduled { parameters, .. } => attempts.push(json!({ sent: parameters })),
            HistoryEvent::TaskSucceeded { output, .. } => {
                if let Some(Value::Object(last)) = attempts.last_mut() {
                    last.insert("result".into(), output.clone());
                }
            }
            HistoryEvent::TaskFailed { error, cause, .. } | HistoryEvent::TaskTimedOut { error, cause, .. } => {
                if let Some(Value::Object(last)) = attempts.last_mut() {
                    last.insert("error".into(), json!({"Error": error, "Cause": cause}));
                }
            }
            HistoryEvent::StateExited { output, .. } => {
                steps.insert("afterOutputPath".into(), output.clone());
            }
            _ => {}
        }
    }
    if !attempts.is_empty() {
        steps.insert("attempts".into(), Value::Array(attempts));
    }
    Value::Object(steps)
}
