//! Errors: the spec's error names, the failure of one state, and the two error types of the
//! public API ([`LoadError`] for definitions we refuse, [`RunError`] for infrastructure).
//!
//! ASL errors (a task failing, a path matching nothing, no Choice matching) are not Rust
//! errors: they travel as [`StateError`] and end as `Outcome::Failed`.
//!
//! Which name each failure gets:
//! - a task's own failure: the invoker's `TaskFailure.error`; a `TimeoutSeconds` overrun:
//!   `States.Timeout`;
//! - any path that matches nothing (InputPath, Parameters, ResultSelector, OutputPath,
//!   Choice variables, Wait and Fail paths): `States.Runtime`, as Step Functions reports
//!   it; the spec's `States.ParameterPathFailure` is never produced;
//! - a `ResultPath` that cannot be written: `States.ResultPathMatchFailure` (catchable);
//! - an intrinsic function given bad arguments: `States.IntrinsicFailure` (catchable);
//! - a Choice with no match and no `Default`: `States.NoChoiceMatched`;
//! - a JSONata expression that fails, selects nothing, or gives the wrong type:
//!   `States.QueryEvaluationError` (catchable);
//! - a state output over 256 KiB, or variables over their quotas:
//!   `States.DataLimitExceeded`.

/// Error names defined by the States Language, as the spec spells them.
pub mod error_names {
    /// Wildcard matching every error name except [`RUNTIME`].
    pub const ALL: &str = "States.ALL";
    /// A Task ran longer than its `TimeoutSeconds`.
    pub const TIMEOUT: &str = "States.Timeout";
    /// Wildcard matching every error name except [`TIMEOUT`] (and [`RUNTIME`]).
    pub const TASK_FAILED: &str = "States.TaskFailed";
    /// An error the execution cannot process, such as a path that matches nothing. Never
    /// retried and never caught, not even by [`ALL`].
    pub const RUNTIME: &str = "States.Runtime";
    /// A JSONata expression failed, selected nothing where a value is needed, or gave a
    /// value of the wrong type. Catchable.
    pub const QUERY_EVALUATION_ERROR: &str = "States.QueryEvaluationError";
    /// A Choice state had no matching rule and no `Default`.
    pub const NO_CHOICE_MATCHED: &str = "States.NoChoiceMatched";
    /// A `ResultPath` could not be applied to the state's input.
    pub const RESULT_PATH_MATCH_FAILURE: &str = "States.ResultPathMatchFailure";
    /// An intrinsic function failed on its arguments.
    pub const INTRINSIC_FAILURE: &str = "States.IntrinsicFailure";
    /// A state's output, or a variable, is over the payload quota (256 KiB; 10 MiB for all of
    /// an execution's variables). A terminal error: `States.ALL` does not match it.
    pub const DATA_LIMIT_EXCEEDED: &str = "States.DataLimitExceeded";
}

/// The failure of one state: an error name and a human-readable cause.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct StateError {
    pub(crate) error: String,
    pub(crate) cause: String,
}

impl StateError {
    pub(crate) fn new(error: impl Into<String>, cause: impl Into<String>) -> Self {
        Self {
            error: error.into(),
            cause: cause.into(),
        }
    }

    /// `States.Runtime`: fails the execution, bypassing Retry and Catch.
    pub(crate) fn runtime(cause: impl Into<String>) -> Self {
        Self::new(error_names::RUNTIME, cause)
    }

    pub(crate) fn intrinsic(cause: impl Into<String>) -> Self {
        Self::new(error_names::INTRINSIC_FAILURE, cause)
    }

    pub(crate) fn is_runtime(&self) -> bool {
        self.error == error_names::RUNTIME
    }
}

/// A definition the executor refuses. Every message says where (state and field) and why.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LoadError {
    /// The text (after substitution) is not JSON.
    #[error("the state machine definition is not valid JSON: {0}")]
    Json(String),
    /// `${Name}` placeholders without a value in the substitutions.
    #[error("no substitution for definition placeholder(s) {}", .names.iter().map(|n| format!("`${{{n}}}`")).collect::<Vec<_>>().join(", "))]
    MissingSubstitution { names: Vec<String> },
    /// The definition breaks a rule of the States Language.
    #[error("{at}, field `{field}`: {reason}")]
    Invalid { at: String, field: String, reason: String },
    /// Valid States Language that this executor does not implement.
    #[error("{at}, field `{field}`: not supported by this executor: {reason}")]
    Unsupported { at: String, field: String, reason: String },
    /// A field the States Language does not define at this place.
    #[error("{at}: unknown field `{field}`")]
    UnknownField { at: String, field: String },
    /// A Task `Resource` the task invoker does not support.
    #[error("{at}, field `Resource`: `{resource}` is not supported by the task invoker")]
    UnsupportedResource { at: String, resource: String },
}

/// Infrastructure problems while running. ASL failures are `Outcome::Failed`, not this.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RunError {
    /// The history sink refused an event; the execution stopped and can be resumed from
    /// its last recorded `StateEntered`.
    #[error("recording history failed: {0}")]
    History(String),
    /// `Resume::At` named a state the definition does not have.
    #[error("cannot resume at `{0}`: no such state in the definition")]
    UnknownState(String),
}
