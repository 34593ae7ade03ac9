//! The validated, typed model of a state machine.
//!
//! Everything here has passed `load`: names resolve, paths and templates parse, and only
//! features the executor implements are present.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;

use super::choice::ChoiceRule;
use super::context::{ExecutionContext, Outcome, Resume};
use super::errors::{LoadError, RunError};
use super::history::StateType;
use super::path::{Path, ReferencePath};
use super::ports::{Clock, HistorySink, TaskInvoker};
use super::retry::{Catcher, Retrier};
use super::template::Template;

/// What [`StateMachine::test_state`] found.
#[derive(Debug, Clone, PartialEq)]
pub struct StateTest {
    /// `SUCCEEDED` (the state went on or ended the execution), `CAUGHT_ERROR` (a Catcher took
    /// it to `next_state`) or `FAILED`, as TestState reports it.
    pub status: &'static str,
    pub output: Option<Value>,
    /// `None` when the state ends the execution or fails.
    pub next_state: Option<String>,
    pub error: Option<String>,
    pub cause: Option<String>,
    pub assigned: serde_json::Map<String, Value>,
    /// The events the state recorded, in order (its entry, tasks, retries, exit).
    pub events: Vec<super::history::HistoryEvent>,
}

/// A loaded and validated state machine, ready to run any number of executions.
#[derive(Debug, Clone, PartialEq)]
pub struct StateMachine {
    pub(crate) start_at: String,
    pub(crate) states: BTreeMap<String, State>,
    /// The definition's top-level `TimeoutSeconds`, counted from the execution's start time
    /// (so a resumed run keeps the original deadline). Always `None` in a branch or processor.
    pub(crate) timeout: Option<Duration>,
}

/// One state: its kind plus the `InputPath`/`OutputPath` every kind but Fail has.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct State {
    /// `None` is `"InputPath": null` (the state sees `{}`); the default is `$`.
    pub(crate) input_path: Option<Path>,
    /// `None` is `"OutputPath": null` (the state outputs `{}`); the default is `$`.
    pub(crate) output_path: Option<Path>,
    /// JSONata's `Output`: the state's output, from `$states.input` and (after a Task,
    /// Parallel or Map) `$states.result`. `None` keeps the default: the result, or the input
    /// for states without one. Always `None` in JSONPath, whose output steps are the paths.
    pub(crate) output: Option<Template>,
    /// `Assign`: workflow variables set when the state succeeds (for a Choice, when it takes its
    /// `Default`). Never on Succeed or Fail.
    pub(crate) assign: Option<Template>,
    /// The state's `QueryLanguage` (its own, else the definition's) is JSONata.
    pub(crate) jsonata: bool,
    pub(crate) kind: Kind,
}

impl State {
    /// What the file calls a field: `Parameters` is `Arguments` in JSONata, and the output
    /// steps are `Output`; error messages name the field the file has.
    pub(crate) fn field<'f>(&self, jsonpath: &'f str) -> &'f str {
        match (self.jsonata, jsonpath) {
            (false, _) => jsonpath,
            (true, "Parameters") => "Arguments",
            (true, "ResultSelector" | "ResultPath" | "OutputPath") => "Output",
            (true, "ItemsPath") => "Items",
            (true, "ErrorPath") => "Error",
            (true, "CausePath") => "Cause",
            (true, other) => other,
        }
    }
}

/// A number the file writes out, or (in JSONata) a `{% … %}` expression that gives it at
/// run time: `TimeoutSeconds`, `Seconds`, `MaxConcurrency`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Amount {
    Fixed(u64),
    Dynamic(Template),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Transition {
    Next(String),
    End,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Kind {
    Task(Task),
    Pass(Pass),
    Choice(Choice),
    Wait(Wait),
    Succeed,
    Fail(Fail),
    Parallel(Parallel),
    Map(MapState),
}

impl Kind {
    pub(crate) fn state_type(&self) -> StateType {
        match self {
            Kind::Task(_) => StateType::Task,
            Kind::Pass(_) => StateType::Pass,
            Kind::Choice(_) => StateType::Choice,
            Kind::Wait(_) => StateType::Wait,
            Kind::Succeed => StateType::Succeed,
            Kind::Fail(_) => StateType::Fail,
            Kind::Parallel(_) => StateType::Parallel,
            Kind::Map(_) => StateType::Map,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Task {
    pub(crate) resource: String,
    pub(crate) parameters: Option<Template>,
    pub(crate) result_selector: Option<Template>,
    /// `None` is `"ResultPath": null`; the default is `$`.
    pub(crate) result_path: Option<ReferencePath>,
    pub(crate) retry: Vec<Retrier>,
    pub(crate) catch: Vec<Catcher>,
    pub(crate) timeout: Option<Amount>,
    pub(crate) transition: Transition,
}

/// What Parallel and Map share after their branches or iterations ran: the result is the
/// array of their outputs, then `ResultSelector`, `ResultPath`, and `Retry`/`Catch` around
/// the whole state.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Container {
    pub(crate) result_selector: Option<Template>,
    pub(crate) result_path: Option<ReferencePath>,
    pub(crate) retry: Vec<Retrier>,
    pub(crate) catch: Vec<Catcher>,
    pub(crate) transition: Transition,
}

impl Container {
    /// What the executor's retry loop needs: the retriers, the catchers, and where to go next.
    pub(crate) fn retrying(&self) -> (&[Retrier], &[Catcher], &Transition) {
        (&self.retry, &self.catch, &self.transition)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Parallel {
    /// Each a full sub-machine; the output array is in this order.
    pub(crate) branches: Vec<StateMachine>,
    pub(crate) parameters: Option<Template>,
    pub(crate) common: Container,
}

/// An inline Map: `ItemProcessor` (or the legacy `Iterator`) runs once per item.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct MapState {
    /// Where the items are: `ItemsPath` (a path into the effective input; the default is
    /// `$`), or JSONata's `Items` (an array, or an expression; the default is the input).
    pub(crate) items: Template,
    /// `ItemSelector` (or the legacy `Parameters`): each iteration's input, with
    /// `$$.Map.Item.Index` and `$$.Map.Item.Value` in its context.
    pub(crate) item_selector: Option<Template>,
    pub(crate) processor: StateMachine,
    /// How many iterations run at once; `MaxConcurrency: 0` (or none) is [`MAP_POOL`].
    pub(crate) max_concurrency: Amount,
    pub(crate) common: Container,
}

/// The bound when the file sets none: Step Functions runs at most 40 inline iterations at
/// once, whatever `MaxConcurrency` says, so an unbounded Map is bounded here the same way.
pub(crate) const MAP_POOL: usize = 40;

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Pass {
    pub(crate) parameters: Option<Template>,
    pub(crate) result: Option<Value>,
    pub(crate) result_path: Option<ReferencePath>,
    pub(crate) transition: Transition,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Choice {
    pub(crate) choices: Vec<ChoiceRule>,
    pub(crate) default: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum WaitFor {
    Seconds(u64),
    SecondsPath(Path),
    /// JSONata's `Seconds` as `{% … %}`.
    SecondsQuery(Template),
    Timestamp(jiff::Timestamp),
    TimestampPath(Path),
    /// JSONata's `Timestamp` as `{% … %}`.
    TimestampQuery(Template),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Wait {
    pub(crate) wait_for: WaitFor,
    pub(crate) transition: Transition,
}

/// Where a Fail state's `Error` or `Cause` comes from.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum FailText {
    Absent,
    Literal(String),
    /// `ErrorPath`/`CausePath` (a path or an intrinsic function), or JSONata's `Error`/`Cause`
    /// as `{% … %}`: resolving to a string.
    Dynamic(Template),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Fail {
    pub(crate) error: FailText,
    pub(crate) cause: FailText,
}

impl StateMachine {
    /// Parses `definition_json`, replaces `${Name}` placeholders from `substitutions`
    /// (each must have a value), and validates the result. Anything the executor does not
    /// implement is refused here, with the state and field named; nothing is skipped.
    pub fn load(
        definition_json: &str,
        substitutions: &BTreeMap<String, String>,
        invoker: &dyn TaskInvoker,
    ) -> Result<StateMachine, LoadError> {
        super::load::load(definition_json, Some(substitutions), invoker)
    }

    /// Loads a file bound for AWS: `${Name}` placeholders stay as written (CloudFormation
    /// fills them there), and `invoker` decides which resources pass.
    pub fn load_as_written(definition_json: &str, invoker: &dyn TaskInvoker) -> Result<StateMachine, LoadError> {
        super::load::load(definition_json, None, invoker)
    }

    /// Runs the one state `name` on `input` with `variables` in scope, as Step Functions'
    /// TestState API does: its output, where it goes next, the variables it assigns, and
    /// every history event it recorded. Waits do not wait; Tasks go to `invoker` (a mock, in
    /// `skipline states test`). `Err` only for an unknown state.
    pub async fn test_state(
        &self,
        name: &str,
        input: Value,
        variables: serde_json::Map<String, Value>,
        ctx: &ExecutionContext,
        invoker: &dyn TaskInvoker,
    ) -> Result<StateTest, RunError> {
        super::executor::test_state(self, name, input, variables, ctx, invoker).await
    }

    /// Every problem [`StateMachine::load`] would refuse, not just the first; empty if the
    /// definition loads. `substitutions: None` accepts any `${Name}` placeholder as written.
    pub fn validate(
        definition_json: &str,
        substitutions: Option<&BTreeMap<String, String>>,
        invoker: &dyn TaskInvoker,
    ) -> Vec<LoadError> {
        super::load::validate(definition_json, substitutions, invoker)
    }

    pub fn start_at(&self) -> &str {
        &self.start_at
    }

    /// The top-level `TimeoutSeconds`, if the definition sets one.
    pub fn timeout(&self) -> Option<Duration> {
        self.timeout
    }

    /// The names of all states, in name order.
    pub fn state_names(&self) -> impl Iterator<Item = &str> {
        self.states.keys().map(String::as_str)
    }

    /// The `QueryLanguage` the state called `name` runs in (its own, else the definition's):
    /// `"JSONPath"` or `"JSONata"`.
    pub fn query_language(&self, name: &str) -> Option<&'static str> {
        self.states
            .get(name)
            .map(|s| if s.jsonata { "JSONata" } else { "JSONPath" })
    }

    /// The `Type` of the state called `name`, if the definition has one.
    pub fn state_type(&self, name: &str) -> Option<StateType> {
        self.states.get(name).map(|s| s.kind.state_type())
    }

    /// The top-level states whose entry a durable host must record before running them: a
    /// Task acts outside the execution, a Wait's deadline counts from its entry, and a Map or
    /// Parallel holds such states. Pass, Choice, Succeed and Fail only compute from their
    /// input, so running them again after a crash gives the same result and their
    /// checkpoints may wait. Inside branches and iterations the same holds by type: see
    /// [`StateType::is_checkpoint`].
    pub fn checkpoint_states(&self) -> impl Iterator<Item = &str> {
        self.states
            .iter()
            .filter(|(_, state)| state.kind.state_type().is_checkpoint())
            .map(|(name, _)| name.as_str())
    }

    /// Runs an execution from its start or from a `…StateEntered` checkpoint, recording
    /// history through `sink`. ASL failures end as `Outcome::Failed`; `Err` is only for
    /// infrastructure (the sink failing, resuming at an unknown state).
    pub async fn run(
        &self,
        ctx: &ExecutionContext,
        resume: Resume,
        invoker: &dyn TaskInvoker,
        clock: &dyn Clock,
        sink: &dyn HistorySink,
    ) -> Result<Outcome, RunError> {
        let (resume, past) = match resume {
            Resume::At {
                state,
                input,
                variables,
                history,
            } => {
                let past = super::executor::Past::new(history, &state);
                let resume = Resume::At {
                    state,
                    input,
                    variables,
                    history: Vec::new(),
                };
                (resume, past)
            }
            start => (start, super::executor::Past::default()),
        };
        let shared = ctx.shared_context();
        super::executor::Executor {
            machine: self,
            ctx,
            shared: &shared,
            invoker,
            clock,
            sink,
            past: &past,
            scope: String::new(),
        }
        .run(resume)
        .await
    }
}
