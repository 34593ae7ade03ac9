//! The history of an execution, event by event, in Step Functions' own vocabulary
//! (`TaskStateEntered`, `LambdaFunctionScheduled`, `TaskStateExited`, …), so that a local
//! history and one from `GetExecutionHistory` read the same.
//!
//! A `…StateEntered` event is the checkpoint: a durable runtime that crashes can call
//! `StateMachine::run` with [`crate::asl::Resume::from_history`], which resumes at the last one
//! recorded, and lets a Map or Parallel there keep its finished iterations and branches.
//! (Retry counters restart from zero on resume.)
//!
//! Mapped as AWS records them:
//! - a Task whose `Resource` is a Lambda function ARN records `LambdaFunctionScheduled`,
//!   `LambdaFunctionSucceeded`, `LambdaFunctionFailed` or `LambdaFunctionTimedOut`; any other
//!   resource (`arn:aws:states:::…` integrations) records `TaskScheduled`, `TaskSucceeded`,
//!   `TaskFailed` or `TaskTimedOut`;
//! - AWS has no retry event: a retry is a second `…Scheduled` in the same state. Ours carries a
//!   `retry` field (which error, which retry) so a timeline can say so without inferring it;
//! - a caught error is the failure event, then `TaskStateExited` with the Catcher's output;
//! - a Fail state has `FailStateEntered` and no exit: `ExecutionFailed` follows.
//!
//! Histories written before this vocabulary (`StateEntered`, `StateExited`, `RetryScheduled`,
//! `ErrorCaught`) are read through [`StoredEvent`] and [`upgrade`].

use std::borrow::Cow;

use serde::de::Error as _;
use serde::ser::SerializeMap;
use serde_json::{Map, Value};

/// A state's `Type`, as history event names spell it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StateType {
    Task,
    Pass,
    Choice,
    Wait,
    Succeed,
    Fail,
    Map,
    Parallel,
}

impl StateType {
    pub const ALL: [StateType; 8] = [
        StateType::Task,
        StateType::Pass,
        StateType::Choice,
        StateType::Wait,
        StateType::Succeed,
        StateType::Fail,
        StateType::Map,
        StateType::Parallel,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            StateType::Task => "Task",
            StateType::Pass => "Pass",
            StateType::Choice => "Choice",
            StateType::Wait => "Wait",
            StateType::Succeed => "Succeed",
            StateType::Fail => "Fail",
            StateType::Map => "Map",
            StateType::Parallel => "Parallel",
        }
    }

    /// Whether a durable host must record the entry of a state of this type before it runs:
    /// it acts outside the execution (Task), counts time from its entry (Wait), or holds
    /// states that do (Map, Parallel).
    pub fn is_checkpoint(self) -> bool {
        matches!(
            self,
            StateType::Task | StateType::Wait | StateType::Map | StateType::Parallel
        )
    }

    fn parse(s: &str) -> Option<StateType> {
        StateType::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// Which retry a `…Scheduled` event is: `count` is `$$.State.RetryCount` for that attempt.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RetryOf {
    pub error: String,
    pub count: u32,
}

/// One event in an execution's history. It serializes as `{"type": "<Step Functions event
/// type>", ...fields}`.
#[derive(Debug, Clone, PartialEq)]
pub enum HistoryEvent {
    /// Recorded once, by `Resume::Start`.
    ExecutionStarted {
        input: Value,
    },
    /// `{Type}StateEntered`: before a state runs, resuming at `state` with `input` is correct.
    StateEntered {
        state_type: StateType,
        state: String,
        input: Value,
    },
    /// `{Type}StateExited`: `output` is the next state's input (or the execution output);
    /// `assigned` holds the variables the state's `Assign` set (AWS's `assignedVariables`).
    StateExited {
        state_type: StateType,
        state: String,
        output: Value,
        assigned: Option<Map<String, Value>>,
    },
    /// A Task is about to invoke `resource` with `parameters` (its effective input).
    TaskScheduled {
        state: String,
        resource: String,
        parameters: Value,
        retry: Option<RetryOf>,
    },
    /// The resource returned `output` (before ResultSelector/ResultPath/OutputPath).
    TaskSucceeded {
        state: String,
        resource: String,
        output: Value,
    },
    /// The resource failed.
    TaskFailed {
        state: String,
        resource: String,
        error: String,
        cause: String,
    },
    /// The resource did not answer within the state's `TimeoutSeconds` (`States.Timeout`).
    TaskTimedOut {
        state: String,
        resource: String,
        error: String,
        cause: String,
    },
    /// A Map state has its items and starts `length` iterations.
    MapStateStarted {
        state: String,
        length: u64,
    },
    MapIterationStarted {
        state: String,
        index: u64,
    },
    MapIterationSucceeded {
        state: String,
        index: u64,
    },
    MapIterationFailed {
        state: String,
        index: u64,
        error: String,
        cause: String,
    },
    MapStateSucceeded {
        state: String,
    },
    MapStateFailed {
        state: String,
        error: String,
        cause: String,
    },
    ParallelStateStarted {
        state: String,
    },
    ParallelStateSucceeded {
        state: String,
    },
    ParallelStateFailed {
        state: String,
        error: String,
        cause: String,
    },
    /// An event inside a Parallel branch or a Map iteration. `scope` names where, from the
    /// top: `Fan/0` is branch 0 of the Parallel state `Fan`, `Items/3/Fan/1` branch 1 of a
    /// Parallel inside iteration 3 of the Map `Items`. It serializes as the inner event with a
    /// `scope` field. Only unscoped `…StateEntered` events are resume points.
    Scoped {
        scope: String,
        event: Box<HistoryEvent>,
    },
    ExecutionSucceeded {
        output: Value,
    },
    ExecutionFailed {
        error: String,
        cause: String,
    },
    /// The definition's top-level `TimeoutSeconds` passed before the execution ended
    /// (`error` is `States.Timeout`); AWS's status for it is `TIMED_OUT`.
    ExecutionTimedOut {
        error: String,
        cause: String,
    },
}

/// Step Functions records direct Lambda ARNs under their own event types.
fn is_lambda(resource: &str) -> bool {
    resource.starts_with("arn:aws:lambda:")
}

impl HistoryEvent {
    /// The Step Functions event type, e.g. `TaskStateEntered` or `LambdaFunctionSucceeded`.
    pub fn type_name(&self) -> Cow<'static, str> {
        let task = |resource: &str, lambda: &'static str, task: &'static str| {
            Cow::Borrowed(if is_lambda(resource) { lambda } else { task })
        };
        match self {
            HistoryEvent::ExecutionStarted { .. } => "ExecutionStarted".into(),
            HistoryEvent::StateEntered { state_type, .. } => format!("{}StateEntered", state_type.as_str()).into(),
            HistoryEvent::StateExited { state_type, .. } => format!("{}StateExited", state_type.as_str()).into(),
            HistoryEvent::TaskScheduled { resource, .. } => task(resource, "LambdaFunctionScheduled", "TaskScheduled"),
            HistoryEvent::TaskSucceeded { resource, .. } => task(resource, "LambdaFunctionSucceeded", "TaskSucceeded"),
            HistoryEvent::TaskFailed { resource, .. } => task(resource, "LambdaFunctionFailed", "TaskFailed"),
            HistoryEvent::TaskTimedOut { resource, .. } => task(resource, "LambdaFunctionTimedOut", "TaskTimedOut"),
            HistoryEvent::MapStateStarted { .. } => "MapStateStarted".into(),
            HistoryEvent::MapIterationStarted { .. } => "MapIterationStarted".into(),
            HistoryEvent::MapIterationSucceeded { .. } => "MapIterationSucceeded".into(),
            HistoryEvent::MapIterationFailed { .. } => "MapIterationFailed".into(),
            HistoryEvent::MapStateSucceeded { .. } => "MapStateSucceeded".into(),
            HistoryEvent::MapStateFailed { .. } => "MapStateFailed".into(),
            HistoryEvent::ParallelStateStarted { .. } => "ParallelStateStarted".into(),
            HistoryEvent::ParallelStateSucceeded { .. } => "ParallelStateSucceeded".into(),
            HistoryEvent::ParallelStateFailed { .. } => "ParallelStateFailed".into(),
            HistoryEvent::Scoped { event, .. } => event.type_name(),
            HistoryEvent::ExecutionSucceeded { .. } => "ExecutionSucceeded".into(),
            HistoryEvent::ExecutionFailed { .. } => "ExecutionFailed".into(),
            HistoryEvent::ExecutionTimedOut { .. } => "ExecutionTimedOut".into(),
        }
    }

    /// Where the event happened: `None` at the top level, else the Parallel branch or Map
    /// iteration (see [`HistoryEvent::Scoped`]).
    pub fn scope(&self) -> Option<&str> {
        match self {
            HistoryEvent::Scoped { scope, .. } => Some(scope),
            _ => None,
        }
    }

    /// The event itself, without its scope.
    pub fn unscoped(&self) -> &HistoryEvent {
        match self {
            HistoryEvent::Scoped { event, .. } => event.unscoped(),
            other => other,
        }
    }

    /// The state an event belongs to; `None` for execution-level events.
    pub fn state(&self) -> Option<&str> {
        match self {
            HistoryEvent::StateEntered { state, .. }
            | HistoryEvent::StateExited { state, .. }
            | HistoryEvent::TaskScheduled { state, .. }
            | HistoryEvent::TaskSucceeded { state, .. }
            | HistoryEvent::TaskFailed { state, .. }
            | HistoryEvent::TaskTimedOut { state, .. }
            | HistoryEvent::MapStateStarted { state, .. }
            | HistoryEvent::MapIterationStarted { state, .. }
            | HistoryEvent::MapIterationSucceeded { state, .. }
            | HistoryEvent::MapIterationFailed { state, .. }
            | HistoryEvent::MapStateSucceeded { state }
            | HistoryEvent::MapStateFailed { state, .. }
            | HistoryEvent::ParallelStateStarted { state }
            | HistoryEvent::ParallelStateSucceeded { state }
            | HistoryEvent::ParallelStateFailed { state, .. } => Some(state),
            HistoryEvent::Scoped { event, .. } => event.state(),
            HistoryEvent::ExecutionStarted { .. }
            | HistoryEvent::ExecutionSucceeded { .. }
            | HistoryEvent::ExecutionFailed { .. }
            | HistoryEvent::ExecutionTimedOut { .. } => None,
        }
    }
}

impl serde::Serialize for HistoryEvent {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("type", &self.type_name())?;
        if let Some(scope) = self.scope() {
            m.serialize_entry("scope", scope)?;
        }
        if let Some(state) = self.state() {
            m.serialize_entry("state", state)?;
        }
        self.unscoped().serialize_fields(&mut m)?;
        m.end()
    }
}

impl HistoryEvent {
    fn serialize_fields<M: SerializeMap>(&self, m: &mut M) -> Result<(), M::Error> {
        match self {
            HistoryEvent::ExecutionStarted { input } | HistoryEvent::StateEntered { input, .. } => {
                m.serialize_entry("input", input)?;
            }
            HistoryEvent::StateExited { output, assigned, .. } => {
                m.serialize_entry("output", output)?;
                if let Some(assigned) = assigned {
                    m.serialize_entry("assignedVariables", assigned)?;
                }
            }
            HistoryEvent::ExecutionSucceeded { output } => {
                m.serialize_entry("output", output)?;
            }
            HistoryEvent::TaskScheduled {
                resource,
                parameters,
                retry,
                ..
            } => {
                m.serialize_entry("resource", resource)?;
                m.serialize_entry("parameters", parameters)?;
                if let Some(retry) = retry {
                    m.serialize_entry("retry", retry)?;
                }
            }
            HistoryEvent::TaskSucceeded { resource, output, .. } => {
                m.serialize_entry("resource", resource)?;
                m.serialize_entry("output", output)?;
            }
            HistoryEvent::TaskFailed {
                resource, error, cause, ..
            }
            | HistoryEvent::TaskTimedOut {
                resource, error, cause, ..
            } => {
                m.serialize_entry("resource", resource)?;
                m.serialize_entry("error", error)?;
                m.serialize_entry("cause", cause)?;
            }
            HistoryEvent::ExecutionFailed { error, cause }
            | HistoryEvent::ExecutionTimedOut { error, cause }
            | HistoryEvent::MapStateFailed { error, cause, .. }
            | HistoryEvent::ParallelStateFailed { error, cause, .. } => {
                m.serialize_entry("error", error)?;
                m.serialize_entry("cause", cause)?;
            }
            HistoryEvent::MapStateStarted { length, .. } => m.serialize_entry("length", length)?,
            HistoryEvent::MapIterationStarted { index, .. } | HistoryEvent::MapIterationSucceeded { index, .. } => {
                m.serialize_entry("index", index)?;
            }
            HistoryEvent::MapIterationFailed {
                index, error, cause, ..
            } => {
                m.serialize_entry("index", index)?;
                m.serialize_entry("error", error)?;
                m.serialize_entry("cause", cause)?;
            }
            HistoryEvent::MapStateSucceeded { .. }
            | HistoryEvent::ParallelStateStarted { .. }
            | HistoryEvent::ParallelStateSucceeded { .. }
            | HistoryEvent::Scoped { .. } => {}
        }
        Ok(())
    }
}

/// Every field any event type has, current or legacy; which ones matter depends on `type`.
#[derive(serde::Deserialize)]
struct Fields {
    #[serde(rename = "type")]
    ty: String,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    input: Value,
    #[serde(default)]
    output: Value,
    #[serde(default)]
    resource: String,
    #[serde(default)]
    parameters: Value,
    #[serde(default)]
    retry: Option<RetryOf>,
    #[serde(default)]
    error: String,
    #[serde(default)]
    cause: String,
    #[serde(default)]
    attempt: u32,
    #[serde(default, rename = "assignedVariables")]
    assigned: Option<Map<String, Value>>,
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    index: u64,
    #[serde(default)]
    length: u64,
}

/// An event as stored: in today's vocabulary, or in the one used before it.
#[derive(Debug, Clone, PartialEq)]
pub enum StoredEvent {
    Current(HistoryEvent),
    Legacy(LegacyEvent),
}

/// The generic events recorded before histories used Step Functions' names.
#[derive(Debug, Clone, PartialEq)]
pub enum LegacyEvent {
    StateEntered { state: String, input: Value },
    StateExited { state: String, output: Value },
    RetryScheduled { state: String, error: String, attempt: u32 },
    ErrorCaught { state: String },
}

impl<'de> serde::Deserialize<'de> for StoredEvent {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let f = Fields::deserialize(d)?;
        let state = || {
            f.state
                .clone()
                .ok_or_else(|| D::Error::custom(format!("a `{}` event needs a `state`", f.ty)))
        };
        let legacy = |e: LegacyEvent| Ok(StoredEvent::Legacy(e));
        let event = match f.ty.as_str() {
            "ExecutionStarted" => HistoryEvent::ExecutionStarted { input: f.input },
            "ExecutionSucceeded" => HistoryEvent::ExecutionSucceeded { output: f.output },
            "ExecutionFailed" => HistoryEvent::ExecutionFailed {
                error: f.error,
                cause: f.cause,
            },
            "ExecutionTimedOut" => HistoryEvent::ExecutionTimedOut {
                error: f.error,
                cause: f.cause,
            },
            "TaskScheduled" | "LambdaFunctionScheduled" => HistoryEvent::TaskScheduled {
                state: state()?,
                resource: f.resource,
                parameters: f.parameters,
                retry: f.retry,
            },
            "TaskSucceeded" | "LambdaFunctionSucceeded" => HistoryEvent::TaskSucceeded {
                state: state()?,
                resource: f.resource,
                output: f.output,
            },
            "TaskFailed" | "LambdaFunctionFailed" => HistoryEvent::TaskFailed {
                state: state()?,
                resource: f.resource,
                error: f.error,
                cause: f.cause,
            },
            "TaskTimedOut" | "LambdaFunctionTimedOut" => HistoryEvent::TaskTimedOut {
                state: state()?,
                resource: f.resource,
                error: f.error,
                cause: f.cause,
            },
            "StateEntered" => {
                return legacy(LegacyEvent::StateEntered {
                    state: state()?,
                    input: f.input,
                });
            }
            "StateExited" => {
                return legacy(LegacyEvent::StateExited {
                    state: state()?,
                    output: f.output,
                });
            }
            "RetryScheduled" => {
                return legacy(LegacyEvent::RetryScheduled {
                    state: state()?,
                    error: f.error,
                    attempt: f.attempt,
                });
            }
            "ErrorCaught" => return legacy(LegacyEvent::ErrorCaught { state: state()? }),
            "MapStateStarted" => HistoryEvent::MapStateStarted {
                state: state()?,
                length: f.length,
            },
            "MapIterationStarted" => HistoryEvent::MapIterationStarted {
                state: state()?,
                index: f.index,
            },
            "MapIterationSucceeded" => HistoryEvent::MapIterationSucceeded {
                state: state()?,
                index: f.index,
            },
            "MapIterationFailed" => HistoryEvent::MapIterationFailed {
                state: state()?,
                index: f.index,
                error: f.error,
                cause: f.cause,
            },
            "MapStateSucceeded" => HistoryEvent::MapStateSucceeded { state: state()? },
            "MapStateFailed" => HistoryEvent::MapStateFailed {
                state: state()?,
                error: f.error,
                cause: f.cause,
            },
            "ParallelStateStarted" => HistoryEvent::ParallelStateStarted { state: state()? },
            "ParallelStateSucceeded" => HistoryEvent::ParallelStateSucceeded { state: state()? },
            "ParallelStateFailed" => HistoryEvent::ParallelStateFailed {
                state: state()?,
                error: f.error,
                cause: f.cause,
            },
            other => {
                let typed = |suffix: &str| other.strip_suffix(suffix).and_then(StateType::parse);
                if let Some(state_type) = typed("StateEntered") {
                    HistoryEvent::StateEntered {
                        state_type,
                        state: state()?,
                        input: f.input,
                    }
                } else if let Some(state_type) = typed("StateExited") {
                    HistoryEvent::StateExited {
                        state_type,
                        state: state()?,
                        output: f.output,
                        assigned: f.assigned,
                    }
                } else {
                    return Err(D::Error::custom(format!("unknown history event type `{other}`")));
                }
            }
        };
        Ok(StoredEvent::Current(match f.scope {
            Some(scope) => HistoryEvent::Scoped {
                scope,
                event: Box::new(event),
            },
            None => event,
        }))
    }
}

impl<'de> serde::Deserialize<'de> for HistoryEvent {
    /// Reads today's vocabulary only; a stored history may hold older events, so read it as
    /// [`StoredEvent`]s and [`upgrade`] them.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match StoredEvent::deserialize(d)? {
            StoredEvent::Current(e) => Ok(e),
            StoredEvent::Legacy(e) => Err(D::Error::custom(format!(
                "{e:?} is an event from before the Step Functions vocabulary; read it with `upgrade`"
            ))),
        }
    }
}

/// Reads a history that may hold events written before the Step Functions vocabulary, in
/// today's names. `state_type` is the definition's answer for a state name.
///
/// - `StateEntered`/`StateExited` take their state's type from the definition; a state the
///   definition no longer has is a Task if a task was scheduled in it, else a Pass;
/// - `RetryScheduled` becomes the `retry` field of the `…Scheduled` event that follows it;
/// - `ErrorCaught` is dropped: the `…StateExited` recorded after it carries the Catcher's
///   output, as on AWS.
///
/// Items keep their own tag (`T`, e.g. a sequence number and a timestamp); dropped events
/// leave a gap.
pub fn upgrade<T>(
    stored: Vec<(T, StoredEvent)>,
    state_type: &dyn Fn(&str) -> Option<StateType>,
) -> Vec<(T, HistoryEvent)> {
    let scheduled_in: std::collections::HashSet<String> = stored
        .iter()
        .filter_map(|(_, e)| match e {
            StoredEvent::Current(HistoryEvent::TaskScheduled { state, .. }) => Some(state.clone()),
            _ => None,
        })
        .collect();
    let type_of = |state: &str| {
        state_type(state).unwrap_or(if scheduled_in.contains(state) {
            StateType::Task
        } else {
            StateType::Pass
        })
    };
    let mut pending_retry: Option<RetryOf> = None;
    let mut resources: std::collections::HashMap<String, String> = std::collections::HashMap::new();
    let mut out = Vec::with_capacity(stored.len());
    for (tag, event) in stored {
        let event = match event {
            StoredEvent::Current(HistoryEvent::TaskScheduled {
                state,
                resource,
                parameters,
                retry,
            }) => {
                resources.insert(state.clone(), resource.clone());
                HistoryEvent::TaskScheduled {
                    state,
                    resource,
                    parameters,
                    retry: retry.or(pending_retry.take()),
                }
            }
            StoredEvent::Current(mut e) => {
                // Before the vocabulary, task results did not name their resource.
                if let HistoryEvent::TaskSucceeded { state, resource, .. }
                | HistoryEvent::TaskFailed { state, resource, .. } = &mut e
                    && resource.is_empty()
                {
                    *resource = resources.get(state.as_str()).cloned().unwrap_or_default();
                }
                e
            }
            StoredEvent::Legacy(LegacyEvent::StateEntered { state, input }) => HistoryEvent::StateEntered {
                state_type: type_of(&state),
                state,
                input,
            },
            StoredEvent::Legacy(LegacyEvent::StateExited { state, output }) => HistoryEvent::StateExited {
                state_type: type_of(&state),
                state,
                output,
                assigned: None,
            },
            StoredEvent::Legacy(LegacyEvent::RetryScheduled { error, attempt, .. }) => {
                pending_retry = Some(RetryOf { error, count: attempt });
                continue;
            }
            StoredEvent::Legacy(LegacyEvent::ErrorCaught { .. }) => continue,
        };
        out.push((tag, event));
    }
    out
}

/// The variables in scope after `history`: every `assignedVariables` of a state exit, in
/// order. A host resuming at the last `…StateEntered` passes these in `Resume::At`; since a
/// host persists events in order, the durable prefix of a history always gives the variables
/// its last durable checkpoint saw.
pub fn variables_at<'a>(history: impl IntoIterator<Item = &'a HistoryEvent>) -> Map<String, Value> {
    let mut vars = Map::new();
    // Scoped exits are inside branches and iterations, whose variables do not leak out.
    for event in history {
        if let HistoryEvent::StateExited {
            assigned: Some(assigned),
            ..
        } = event
        {
            vars.extend(assigned.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
    }
    vars
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn round_trip(event: HistoryEvent, expected: Value) {
        let text = serde_json::to_value(&event).unwrap_or_default();
        assert_eq!(text, expected);
        let back: HistoryEvent = serde_json::from_value(text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back, event);
    }

    #[test]
    fn events_serialize_under_step_functions_names() {
        round_trip(
            HistoryEvent::StateEntered {
                state_type: StateType::Task,
                state: "PutItem".into(),
                input: json!({"a": 1}),
            },
            json!({"type": "TaskStateEntered", "state": "PutItem", "input": {"a": 1}}),
        );
        round_trip(
            HistoryEvent::StateExited {
                state_type: StateType::Choice,
                state: "C".into(),
                output: json!(null),
                assigned: Some(json!({"x": 1}).as_object().cloned().unwrap_or_default()),
            },
            json!({"type": "ChoiceStateExited", "state": "C", "output": null, "assignedVariables": {"x": 1}}),
        );
        round_trip(
            HistoryEvent::TaskScheduled {
                state: "PutItem".into(),
                resource: "arn:aws:lambda:local:0:function:put".into(),
                parameters: json!({}),
                retry: Some(RetryOf {
                    error: "E".into(),
                    count: 1,
                }),
            },
            json!({"type": "LambdaFunctionScheduled", "state": "PutItem",
                "resource": "arn:aws:lambda:local:0:function:put", "parameters": {},
                "retry": {"error": "E", "count": 1}}),
        );
        round_trip(
            HistoryEvent::TaskTimedOut {
                state: "Publish".into(),
                resource: "arn:aws:states:::sns:publish".into(),
                error: "States.Timeout".into(),
                cause: "c".into(),
            },
            json!({"type": "TaskTimedOut", "state": "Publish", "resource": "arn:aws:states:::sns:publish",
                "error": "States.Timeout", "cause": "c"}),
        );
        round_trip(
            HistoryEvent::ExecutionTimedOut {
                error: "States.Timeout".into(),
                cause: "c".into(),
            },
            json!({"type": "ExecutionTimedOut", "error": "States.Timeout", "cause": "c"}),
        );
        let e = serde_json::from_value::<HistoryEvent>(json!({"type": "Nope"})).unwrap_err();
        assert!(e.to_string().contains("unknown history event type `Nope`"), "{e}");
    }

    #[test]
    fn legacy_histories_read_in_the_new_names() {
        let rows = [
            json!({"type": "ExecutionStarted", "input": {}}),
            json!({"type": "StateEntered", "state": "T", "input": {}}),
            json!({"type": "TaskScheduled", "state": "T", "resource": "arn:aws:lambda:x", "parameters": {}}),
            json!({"type": "TaskFailed", "state": "T", "error": "E", "cause": "c"}),
            json!({"type": "RetryScheduled", "state": "T", "error": "E", "attempt": 1, "delay_ms": 1000}),
            json!({"type": "TaskScheduled", "state": "T", "resource": "arn:aws:lambda:x", "parameters": {}}),
            json!({"type": "TaskFailed", "state": "T", "error": "E", "cause": "c"}),
            json!({"type": "ErrorCaught", "state": "T", "error": "E", "next": "Gone"}),
            json!({"type": "StateExited", "state": "T", "output": {}}),
            json!({"type": "StateEntered", "state": "Gone", "input": {}}),
            json!({"type": "StateEntered", "state": "C", "input": {}}),
        ];
        let stored: Vec<(usize, StoredEvent)> = rows
            .into_iter()
            .enumerate()
            .map(|(i, v)| (i, serde_json::from_value(v).unwrap_or_else(|e| panic!("{e}"))))
            .collect();
        let known = |s: &str| match s {
            "T" => Some(StateType::Task),
            "C" => Some(StateType::Choice),
            _ => None,
        };
        let names: Vec<(usize, String)> = upgrade(stored, &known)
            .into_iter()
            .map(|(i, e)| (i, serde_json::to_value(&e).unwrap_or_default().to_string()))
            .collect();
        let types: Vec<String> = names
            .iter()
            .map(|(_, t)| serde_json::from_str::<Value>(t).unwrap_or_default()["type"].to_string())
            .collect();
        assert_eq!(
            types,
            [
                "\"ExecutionStarted\"",
                "\"TaskStateEntered\"",
                "\"LambdaFunctionScheduled\"",
                "\"LambdaFunctionFailed\"",
                "\"LambdaFunctionScheduled\"",
                "\"LambdaFunctionFailed\"",
                "\"TaskStateExited\"",
                "\"PassStateEntered\"",
                "\"ChoiceStateEntered\"",
            ]
        );
        let retried: Value = serde_json::from_str(&names[4].1).unwrap_or_default();
        assert_eq!(retried["retry"], json!({"count": 1, "error": "E"}), "{}", names[4].1);
        assert_eq!(names[4].0, 5, "tags are kept; dropped events leave gaps");
    }
}
