//! The execution context (who is running), how a run starts, how it ends, and the `$$`
//! context object that paths can read.

use std::sync::OnceLock;

use serde_json::{Map, Value, json};

/// Facts about the execution, exposed to paths as the `$$` context object.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecutionContext {
    /// The execution's id, e.g. its ARN.
    pub execution_id: String,
    pub name: String,
    pub start_time: jiff::Timestamp,
    pub state_machine_id: String,
    pub state_machine_name: String,
    /// The execution's original input (`$$.Execution.Input`).
    pub input: Value,
}

impl ExecutionContext {
    /// The parts of the context object that stay the same for the whole run:
    /// `$$.Execution.{Id,Name,StartTime,Input}` and `$$.StateMachine.{Id,Name}`. Built once
    /// per run and borrowed by every state's [`ContextObject`].
    pub(crate) fn shared_context(&self) -> Map<String, Value> {
        let mut shared = Map::new();
        shared.insert(
            "Execution".into(),
            json!({
                "Id": self.execution_id,
                "Name": self.name,
                "StartTime": format_timestamp(self.start_time),
                "Input": self.input,
            }),
        );
        shared.insert(
            "StateMachine".into(),
            json!({"Id": self.state_machine_id, "Name": self.state_machine_name}),
        );
        shared
    }
}

/// The `$$` context object of one state: the run's shared parts (see
/// [`ExecutionContext::shared_context`]) by reference, beside its own `State` (and, in a Map's
/// `ItemSelector`, `Map`). Entering a state copies nothing the size of the execution's input,
/// which would make a Map of N items O(N²): each iteration's states would copy all N.
#[derive(Debug)]
pub(crate) struct ContextObject<'a> {
    shared: &'a Map<String, Value>,
    own: Map<String, Value>,
    /// The whole object, built only if a path reads `$$` itself (or `$$.*`).
    whole: OnceLock<Value>,
}

impl<'a> ContextObject<'a> {
    /// For a state entered at `entered_time` that has been retried `retry_count` times:
    /// `$$.State.{Name,EnteredTime,RetryCount}`.
    pub(crate) fn new(
        shared: &'a Map<String, Value>,
        state: &str,
        entered_time: jiff::Timestamp,
        retry_count: u32,
    ) -> Self {
        let mut own = Map::new();
        own.insert(
            "State".into(),
            json!({"Name": state, "EnteredTime": format_timestamp(entered_time), "RetryCount": retry_count}),
        );
        ContextObject {
            shared,
            own,
            whole: OnceLock::new(),
        }
    }

    /// The object a Map's `ItemSelector` sees for item `index`: this one with
    /// `$$.Map.Item.{Index,Value}`.
    pub(crate) fn with_map_item(&self, index: usize, item: Value) -> ContextObject<'a> {
        let mut own = self.own.clone();
        own.insert("Map".into(), json!({"Item": {"Index": index, "Value": item}}));
        ContextObject {
            shared: self.shared,
            own,
            whole: OnceLock::new(),
        }
    }

    /// A top-level member, e.g. `Execution` for `$$.Execution.Name`.
    pub(crate) fn get(&self, name: &str) -> Option<&Value> {
        self.own.get(name).or_else(|| self.shared.get(name))
    }

    /// The whole object, in the order AWS shows it.
    pub(crate) fn whole(&self) -> &Value {
        self.whole.get_or_init(|| {
            let mut whole = Map::new();
            for name in ["Execution", "State", "StateMachine", "Map"] {
                if let Some(part) = self.get(name) {
                    whole.insert(name.into(), part.clone());
                }
            }
            Value::Object(whole)
        })
    }

    /// A context object that is `value` (an object) as given: for tests.
    #[cfg(test)]
    pub(crate) fn of(value: &'a Value) -> Self {
        static EMPTY: std::sync::LazyLock<Map<String, Value>> = std::sync::LazyLock::new(Map::new);
        ContextObject {
            shared: value.as_object().unwrap_or(&EMPTY),
            own: Map::new(),
            whole: OnceLock::new(),
        }
    }
}

/// Timestamps as Step Functions writes them: RFC 3339, UTC, milliseconds.
pub(crate) fn format_timestamp(ts: jiff::Timestamp) -> String {
    format!("{ts:.3}")
}

/// Where a run begins.
#[derive(Debug, Clone, PartialEq)]
pub enum Resume {
    /// A new execution: records `ExecutionStarted`, then enters `StartAt`.
    Start { input: Value },
    /// Continue from a recorded `…StateEntered` checkpoint (the state is entered again).
    /// `variables` are those in scope there: see [`crate::asl::variables_at`]. `history` is
    /// the durable history so far: a Map or Parallel resumed at continues its interrupted
    /// attempt from it, keeping the iterations and branches that had finished. Empty runs the
    /// state whole again. [`Resume::from_history`] builds all of it.
    At {
        state: String,
        input: Value,
        variables: serde_json::Map<String, Value>,
        history: Vec<crate::asl::HistoryEvent>,
    },
}

impl Resume {
    /// A run of an execution whose `ExecutionStarted` the host recorded itself: it enters
    /// `start_at` (the definition's `StartAt`) with the execution's input.
    pub fn at_start(start_at: &str, input: Value) -> Resume {
        Resume::At {
            state: start_at.to_string(),
            input,
            variables: serde_json::Map::new(),
            history: Vec::new(),
        }
    }

    /// Where a run continues from the durable history of an unfinished execution: its last
    /// top-level `…StateEntered`. `None` if it has none (it stopped before its first state).
    pub fn from_history(history: Vec<crate::asl::HistoryEvent>) -> Option<Resume> {
        let (state, input) = history.iter().rev().find_map(|e| match e {
            crate::asl::HistoryEvent::StateEntered { state, input, .. } => Some((state.clone(), input.clone())),
            _ => None,
        })?;
        Some(Resume::At {
            state,
            input,
            variables: crate::asl::variables_at(&history),
            history,
        })
    }
}

/// How an execution ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Succeeded {
        output: Value,
    },
    Failed {
        error: String,
        cause: String,
    },
    /// The top-level `TimeoutSeconds` passed first; `error` is `States.Timeout`.
    TimedOut {
        error: String,
        cause: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_object_has_the_documented_fields() {
        let start: jiff::Timestamp = "2026-01-02T03:04:05Z".parse().unwrap_or_default();
        let ctx = ExecutionContext {
            execution_id: "arn:exec".into(),
            name: "exec-1".into(),
            start_time: start,
            state_machine_id: "arn:sm".into(),
            state_machine_name: "order-flow".into(),
            input: json!({"a": 1}),
        };
        let entered: jiff::Timestamp = "2026-01-02T03:04:06.5Z".parse().unwrap_or_default();
        let shared = ctx.shared_context();
        let obj = ContextObject::new(&shared, "PutItem", entered, 2);
        assert_eq!(
            obj.get("State"),
            Some(&json!({"Name": "PutItem", "EnteredTime": "2026-01-02T03:04:06.500Z", "RetryCount": 2}))
        );
        assert_eq!(obj.get("Map"), None);
        let item = obj.with_map_item(3, json!("x"));
        assert_eq!(item.get("Map"), Some(&json!({"Item": {"Index": 3, "Value": "x"}})));
        assert_eq!(item.get("Execution"), obj.get("Execution"));
        assert_eq!(
            obj.whole(),
            &json!({
                "Execution": {"Id": "arn:exec", "Name": "exec-1",
                    "StartTime": "2026-01-02T03:04:05.000Z", "Input": {"a": 1}},
                "State": {"Name": "PutItem", "EnteredTime": "2026-01-02T03:04:06.500Z", "RetryCount": 2},
                "StateMachine": {"Id": "arn:sm", "Name": "order-flow"},
            })
        );
    }
}
