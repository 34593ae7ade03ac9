//! The history of an execution, event by event.
//!
//! `StateEntered { state, input }` is the checkpoint: a durable runtime that crashes can
//! call `StateMachine::run` with `Resume::At { state, input }` from the last one recorded.
//! (Retry counters restart from zero on resume.)

use serde_json::Value;

/// One event in an execution's history.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "type")]
pub enum HistoryEvent {
    /// Recorded once, by `Resume::Start`.
    ExecutionStarted {
        input: Value,
    },
    /// Before a state runs: resuming at `state` with `input` is correct.
    StateEntered {
        state: String,
        input: Value,
    },
    /// A Task is about to invoke `resource` with `parameters` (its effective input).
    TaskScheduled {
        state: String,
        resource: String,
        parameters: Value,
    },
    /// The resource returned `output` (before ResultSelector/ResultPath/OutputPath).
    TaskSucceeded {
        state: String,
        output: Value,
    },
    /// The resource failed or timed out.
    TaskFailed {
        state: String,
        error: String,
        cause: String,
    },
    /// A Retrier matched `error`; `attempt` is that retrier's retry number (from 1).
    RetryScheduled {
        state: String,
        error: String,
        attempt: u32,
        delay_ms: u64,
    },
    /// A Catcher matched `error`; the execution continues at `next`.
    ErrorCaught {
        state: String,
        error: String,
        next: String,
    },
    /// The state finished; `output` is the next state's input (or the execution output).
    StateExited {
        state: String,
        output: Value,
    },
    ExecutionSucceeded {
        output: Value,
    },
    ExecutionFailed {
        error: String,
        cause: String,
    },
}
