//! The Amazon States Language (ASL) executor.
//!
//! One state-machine file (`infra/statemachine/order_flow.asl.json`) runs on AWS Step
//! Functions and on our embedded runtime; this module is the embedded side. It follows the
//! [States Language spec](https://states-language.net/spec.html), in both query languages
//! (JSONPath and JSONata), and refuses at load time anything it does not implement, so a definition that loads here
//! behaves here the way it does on AWS.
//!
//! Where you are:
//! - `definition`: the validated, typed model of a state machine ([`StateMachine`]).
//! - `load`: parsing, `${Name}` substitution and validation, producing [`LoadError`]s.
//! - `path`: JSONPath reads (from `$`, `$$` or a `$variable`) and reference-path writes
//!   (`ResultPath`).
//! - `template`: payload templates (`Parameters`, `ResultSelector`).
//! - `intrinsics`: `States.Format(...)` and friends.
//! - `jsonata`: `{% … %}` expressions and AWS's added JSONata functions.
//! - `choice`: Choice rules.
//! - `retry`: Retriers, Catchers, error-name matching and backoff.
//! - `executor`: the run loop, one function per data-flow step.
//! - `history`: the events recorded while running (the durable runtime's checkpoints).
//! - `ports`: the traits the executor needs from its host (tasks, time, history).
//! - `context`: the execution context and the `$$` context object.
//!
//! Variables: `Assign` on Task, Pass, Choice (and its rules), Wait and Catchers; `$name` in any
//! path or intrinsic argument. They travel in the history (`assignedVariables` on state exits),
//! so a resumed run gets them back through [`variables_at`].
//!
//! Parallel and inline Map run their branches and iterations as sub-machines of the same
//! executor; events inside them are [`HistoryEvent::Scoped`]. A run resumed at one of them
//! continues its interrupted attempt from the history (`executor::resume`).
//!
//! A state's `QueryLanguage` (its own, else the definition's) decides which fields it has;
//! both languages load into the same model, where a JSONata expression is one more kind of
//! template leaf ([`template`]) and `Output` replaces the JSONPath output steps.
//!
//! Not here yet: DISTRIBUTED Maps, activities and callback tasks. Those are refused
//! by [`StateMachine::load`].

mod choice;
mod context;
mod definition;
mod errors;
mod executor;
mod history;
mod intrinsics;
mod jsonata;
mod load;
mod path;
mod ports;
mod position;
mod retry;
mod template;

#[cfg(test)]
mod order_flow_tests;
#[cfg(test)]
mod testing;

pub use context::{ExecutionContext, Outcome, Resume};
pub use definition::{StateMachine, StateTest};
pub use errors::{LoadError, RunError, error_names};
pub use history::{HistoryEvent, LegacyEvent, RetryOf, StateType, StoredEvent, upgrade, variables_at};
pub use ports::{AnyResource, Clock, HistorySink, SystemClock, TaskFailure, TaskInvoker};
pub use position::Position;
