//! The order-flow state machine: start (execution name = order id, which makes the start
//! idempotent), describe, history and listing.

use crate::error::AwsError;
use crate::pages;
use aws_sdk_sfn::Client;
use aws_sdk_sfn::primitives::{DateTime, DateTimeFormat};
use aws_sdk_sfn::types::{ExecutionStatus, HistoryEvent};

const NOT_FOUND: &[&str] = &["ExecutionDoesNotExist", "StateMachineDoesNotExist"];

/// `arn:aws:states:region:acct:stateMachine:name` → `arn:aws:states:region:acct:execution:name:{execution}`.
pub fn execution_arn(state_machine_arn: &str, name: &str) -> String {
    format!(
        "{}:{name}",
        state_machine_arn.replacen(":stateMachine:", ":execution:", 1)
    )
}

/// RFC 3339 with milliseconds, as Step Functions' console shows times.
pub fn format_time(t: &DateTime) -> String {
    t.fmt(DateTimeFormat::DateTime).unwrap_or_default()
}

/// An execution's status without the SDK type: Step Functions' wire value (`RUNNING`,
/// `SUCCEEDED`, `FAILED`, `TIMED_OUT`, `ABORTED`, `PENDING_REDRIVE`, or one added later).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Status {
    Running,
    Succeeded,
    Failed,
    TimedOut,
    Aborted,
    PendingRedrive,
    /// A status this SDK version does not know, as sent.
    Other(String),
}

impl Status {
    pub fn as_str(&self) -> &str {
        match self {
            Status::Running => "RUNNING",
            Status::Succeeded => "SUCCEEDED",
            Status::Failed => "FAILED",
            Status::TimedOut => "TIMED_OUT",
            Status::Aborted => "ABORTED",
            Status::PendingRedrive => "PENDING_REDRIVE",
            Status::Other(s) => s,
        }
    }

    fn to_sdk(&self) -> ExecutionStatus {
        match self {
            Status::Running => ExecutionStatus::Running,
            Status::Succeeded => ExecutionStatus::Succeeded,
            Status::Failed => ExecutionStatus::Failed,
            Status::TimedOut => ExecutionStatus::TimedOut,
            Status::Aborted => ExecutionStatus::Aborted,
            Status::PendingRedrive => ExecutionStatus::PendingRedrive,
            Status::Other(s) => ExecutionStatus::from(s.as_str()),
        }
    }
}

impl From<ExecutionStatus> for Status {
    fn from(s: ExecutionStatus) -> Self {
        match s {
            ExecutionStatus::Running => Status::Running,
            ExecutionStatus::Succeeded => Status::Succeeded,
            ExecutionStatus::Failed => Status::Failed,
            ExecutionStatus::TimedOut => Status::TimedOut,
            ExecutionStatus::Aborted => Status::Aborted,
            ExecutionStatus::PendingRedrive => Status::PendingRedrive,
            other => Status::Other(other.as_str().to_string()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartOutcome {
    Started {
        execution_arn: String,
    },
    /// An execution with this name exists with a different input (`ExecutionAlreadyExists`).
    NameTakenWithOtherInput,
}

/// Starts an execution. Step Functions (Standard) returns the existing execution for the same
/// name and input, and refuses the same name with another input.
pub async fn start(
    client: &Client,
    state_machine_arn: &str,
    name: &str,
    input: &str,
) -> Result<StartOutcome, AwsError> {
    let result = client
        .start_execution()
        .state_machine_arn(state_machine_arn)
        .name(name)
        .input(input)
        .send()
        .await;
    match result {
        Ok(out) => Ok(StartOutcome::Started {
            execution_arn: out.execution_arn,
        }),
        Err(e) => {
            let err = AwsError::from_sdk("Step Functions StartExecution", &e, NOT_FOUND);
            if err.code() == Some("ExecutionAlreadyExists") {
                Ok(StartOutcome::NameTakenWithOtherInput)
            } else {
                Err(err)
            }
        }
    }
}

/// The parts of DescribeExecution the backend shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Execution {
    pub arn: String,
    pub name: String,
    pub status: Status,
    pub started_at: String,
    pub stopped_at: Option<String>,
    pub input: Option<String>,
    pub output: Option<String>,
    pub error: Option<String>,
    pub cause: Option<String>,
}

pub async fn describe(client: &Client, execution_arn: &str) -> Result<Execution, AwsError> {
    let out = client
        .describe_execution()
        .execution_arn(execution_arn)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("Step Functions DescribeExecution", &e, NOT_FOUND))?;
    Ok(Execution {
        arn: out.execution_arn,
        name: out.name.unwrap_or_default(),
        status: out.status.into(),
        started_at: format_time(&out.start_date),
        stopped_at: out.stop_date.as_ref().map(format_time),
        input: out.input,
        output: out.output,
        error: out.error,
        cause: out.cause,
    })
}

/// The whole history, oldest first.
pub async fn history(client: &Client, execution_arn: &str) -> Result<Vec<HistoryEvent>, AwsError> {
    pages::collect(pages::ALL, |next, _| async move {
        let out = client
            .get_execution_history()
            .execution_arn(execution_arn)
            .set_next_token(next)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("Step Functions GetExecutionHistory", &e, NOT_FOUND))?;
        Ok((out.events, out.next_token))
    })
    .await
}

/// The whole history, oldest first, as [`NeutralEvent`]s (see [`neutral_history`]).
pub async fn neutral_events(client: &Client, execution_arn: &str) -> Result<Vec<NeutralEvent>, AwsError> {
    Ok(neutral_history(&history(client, execution_arn).await?))
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecutionListItem {
    pub arn: String,
    pub name: String,
    pub status: Status,
    pub started_at: String,
    pub stopped_at: Option<String>,
}

/// Newest first, up to `limit`; `status` filters on one status (a [`Status`], or the SDK's
/// `ExecutionStatus`, which converts).
pub async fn list(
    client: &Client,
    state_machine_arn: &str,
    status: Option<impl Into<Status>>,
    limit: usize,
) -> Result<Vec<ExecutionListItem>, AwsError> {
    let status = status.map(|s| s.into().to_sdk());
    pages::collect(limit, |next, room| {
        let status = status.clone();
        async move {
            let out = client
                .list_executions()
                .state_machine_arn(state_machine_arn)
                .set_status_filter(status)
                .max_results(room.min(1000) as i32)
                .set_next_token(next)
                .send()
                .await
                .map_err(|e| AwsError::from_sdk("Step Functions ListExecutions", &e, NOT_FOUND))?;
            let items = out.executions.into_iter().map(|e| ExecutionListItem {
                arn: e.execution_arn,
                name: e.name,
                status: e.status.into(),
                started_at: format_time(&e.start_date),
                stopped_at: e.stop_date.as_ref().map(format_time),
            });
            Ok((items.collect(), out.next_token))
        }
    })
    .await
}

/// One history event with its Step Functions type name (`TaskStateEntered`,
/// `LambdaFunctionScheduled`, …), which the embedded engine records too, so both backends
/// show the same history.
#[derive(Debug, Clone, PartialEq)]
pub struct NeutralEvent {
    pub id: u64,
    pub timestamp: String,
    pub kind: String,
    pub state: Option<String>,
    pub detail: serde_json::Value,
}

/// Flattens Step Functions history: the type keeps its name, the details become the fields
/// the engine records (`input`, `output`, `resource`, `parameters`, `error`, `cause`), and the
/// state an event belongs to is carried forward from its `…StateEntered`.
///
/// AWS has no retry event; a task scheduled again in the same state after a failure is a
/// retry, and gets the `retry` field (`{error, count}`) the engine writes on its own.
pub fn neutral_history(events: &[HistoryEvent]) -> Vec<NeutralEvent> {
    use aws_sdk_sfn::types::HistoryEventType as T;
    use serde_json::{Value, json};
    let parse = |s: Option<&str>| s.map(|t| serde_json::from_str(t).unwrap_or_else(|_| Value::String(t.to_string())));
    // The SDK has a details type per event type; these share their field names, not a trait.
    macro_rules! failure {
        ($details:expr) => {{
            let d = $details.as_ref();
            json!({"error": d.and_then(|d| d.error.as_ref()), "cause": d.and_then(|d| d.cause.as_ref())})
        }};
    }
    macro_rules! output {
        ($details:expr) => {
            json!({"output": parse($details.as_ref().and_then(|d| d.output.as_deref()))})
        };
    }
    let mut out = Vec::with_capacity(events.len());
    let mut state: Option<String> = None;
    let mut last_failure: Option<String> = None;
    let mut retries = 0u32;
    for e in events {
        let mut detail = match &e.r#type {
            T::ExecutionStarted => {
                json!({"input": parse(e.execution_started_event_details.as_ref().and_then(|d| d.input.as_deref()))})
            }
            T::ExecutionSucceeded => output!(e.execution_succeeded_event_details),
            T::ExecutionFailed => failure!(e.execution_failed_event_details),
            T::ExecutionTimedOut => failure!(e.execution_timed_out_event_details),
            T::TaskScheduled => {
                let d = e.task_scheduled_event_details.as_ref();
                json!({"resource": d.map(|d| format!("arn:aws:states:::{}:{}", d.resource_type, d.resource)), "parameters": parse(d.map(|d| d.parameters.as_str()))})
            }
            T::LambdaFunctionScheduled => {
                let d = e.lambda_function_scheduled_event_details.as_ref();
                json!({"resource": d.map(|d| d.resource.clone()), "parameters": parse(d.and_then(|d| d.input.as_deref()))})
            }
            T::TaskSucceeded => output!(e.task_succeeded_event_details),
            T::LambdaFunctionSucceeded => output!(e.lambda_function_succeeded_event_details),
            T::TaskFailed => failure!(e.task_failed_event_details),
            T::LambdaFunctionFailed => failure!(e.lambda_function_failed_event_details),
            T::TaskTimedOut => failure!(e.task_timed_out_event_details),
            T::LambdaFunctionTimedOut => failure!(e.lambda_function_timed_out_event_details),
            T::MapStateStarted => json!({"length": e.map_state_started_event_details.as_ref().map(|d| d.length)}),
            T::MapIterationStarted | T::MapIterationSucceeded | T::MapIterationFailed | T::MapIterationAborted => {
                let d = e
                    .map_iteration_started_event_details
                    .as_ref()
                    .or(e.map_iteration_succeeded_event_details.as_ref())
                    .or(e.map_iteration_failed_event_details.as_ref())
                    .or(e.map_iteration_aborted_event_details.as_ref());
                json!({"index": d.map(|d| d.index)})
            }
            _ => {
                if let Some(d) = &e.state_entered_event_details {
                    state = Some(d.name.clone());
                    last_failure = None;
                    retries = 0;
                    json!({"input": parse(d.input.as_deref())})
                } else if let Some(d) = &e.state_exited_event_details {
                    state = Some(d.name.clone());
                    json!({"output": parse(d.output.as_deref())})
                } else {
                    Value::Null
                }
            }
        };
        let kind = e.r#type.as_str();
        if matches!(e.r#type, T::TaskScheduled | T::LambdaFunctionScheduled)
            && let Some(error) = last_failure.take()
            && let Some(map) = detail.as_object_mut()
        {
            retries += 1;
            map.insert("retry".into(), json!({"error": error, "count": retries}));
        }
        if matches!(
            e.r#type,
            T::TaskFailed | T::LambdaFunctionFailed | T::TaskTimedOut | T::LambdaFunctionTimedOut
        ) {
            last_failure = Some(
                detail
                    .get("error")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
            );
        }
        let scoped = !kind.starts_with("Execution");
        out.push(NeutralEvent {
            id: u64::try_from(e.id).unwrap_or_default(),
            timestamp: format_time(&e.timestamp),
            kind: kind.to_string(),
            state: if scoped { state.clone() } else { None },
            detail,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_keeps_step_functions_names_and_marks_retries() {
        use aws_sdk_sfn::types::{HistoryEventType as T, LambdaFunctionFailedEventDetails, StateEnteredEventDetails};
        let t = DateTime::from_secs(1_764_057_600);
        let ev = |id: i64, ty: T| HistoryEvent::builder().id(id).timestamp(t).r#type(ty);
        let entered = StateEnteredEventDetails::builder()
            .name("PutObject")
            .input("{}")
            .build()
            .unwrap();
        let failed = LambdaFunctionFailedEventDetails::builder()
            .error("StoreUnavailable")
            .cause("c")
            .build();
        let events = vec![
            ev(1, T::TaskStateEntered)
                .state_entered_event_details(entered)
                .build()
                .unwrap(),
            ev(2, T::LambdaFunctionScheduled).build().unwrap(),
            ev(3, T::LambdaFunctionFailed)
                .lambda_function_failed_event_details(failed)
                .build()
                .unwrap(),
            ev(4, T::LambdaFunctionScheduled).build().unwrap(),
        ];
        let history = neutral_history(&events);
        let kinds: Vec<(&str, Option<&str>)> = history.iter().map(|e| (e.kind.as_str(), e.state.as_deref())).collect();
        let p = Some("PutObject");
        assert_eq!(
            kinds,
            [
                ("TaskStateEntered", p),
                ("LambdaFunctionScheduled", p),
                ("LambdaFunctionFailed", p),
                ("LambdaFunctionScheduled", p)
            ]
        );
        assert_eq!(history[1].detail.get("retry"), None);
        assert_eq!(
            history[3].detail["retry"],
            serde_json::json!({"error": "StoreUnavailable", "count": 1})
        );
        assert_eq!(history.iter().map(|e| e.id).collect::<Vec<_>>(), [1, 2, 3, 4]);
    }

    #[test]
    fn statuses_round_trip_through_the_sdk_type() {
        for s in [
            Status::Running,
            Status::Succeeded,
            Status::Failed,
            Status::TimedOut,
            Status::Aborted,
            Status::PendingRedrive,
            Status::Other("PAUSED".into()),
        ] {
            assert_eq!(s.to_sdk().as_str(), s.as_str());
            assert_eq!(Status::from(s.to_sdk()), s);
        }
    }

    #[test]
    fn execution_arns_follow_the_state_machine_arn() {
        assert_eq!(
            execution_arn("arn:aws:states:us-east-1:123456789012:stateMachine:order-flow", "o-1"),
            "arn:aws:states:us-east-1:123456789012:execution:order-flow:o-1"
        );
    }
}
