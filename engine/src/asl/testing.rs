//! Test doubles: a clock that records sleeps and advances instantly, a scripted task
//! invoker, and a history sink that keeps events (and can be told to fail).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use serde_json::Value;

use super::{Clock, ExecutionContext, HistoryEvent, HistorySink, TaskFailure, TaskInvoker};

pub(crate) const START: &str = "2026-03-01T08:00:00Z";

pub(crate) struct FakeClock {
    now: Mutex<jiff::Timestamp>,
    sleeps: Mutex<Vec<Duration>>,
}

impl FakeClock {
    pub(crate) fn new() -> Self {
        Self {
            now: Mutex::new(START.parse().unwrap()),
            sleeps: Mutex::new(Vec::new()),
        }
    }

    pub(crate) fn sleeps(&self) -> Vec<Duration> {
        self.sleeps.lock().unwrap().clone()
    }
}

#[async_trait::async_trait]
impl Clock for FakeClock {
    fn now(&self) -> jiff::Timestamp {
        *self.now.lock().unwrap()
    }

    async fn sleep(&self, d: Duration) {
        self.sleeps.lock().unwrap().push(d);
        let mut now = self.now.lock().unwrap();
        *now = now.checked_add(d).unwrap();
    }
}

/// What the fake invoker does for one call.
#[derive(Debug, Clone)]
pub(crate) enum Reply {
    Ok(Value),
    Fail(&'static str, &'static str),
    /// Never finishes (for timeouts).
    Hang,
}

/// Supports `arn:aws:lambda:*`, `arn:aws:states:::sns:publish` and
/// `arn:aws:states:::dynamodb:deleteItem`. Replies come from a per-resource queue, then
/// from the resource's `always` reply; anything else fails with `Unscripted`.
pub(crate) struct FakeInvoker {
    queued: Mutex<HashMap<String, VecDeque<Reply>>>,
    always: HashMap<String, Reply>,
    calls: Mutex<Vec<(String, Value)>>,
}

impl FakeInvoker {
    pub(crate) fn new() -> Self {
        Self {
            queued: Mutex::new(HashMap::new()),
            always: HashMap::new(),
            calls: Mutex::new(Vec::new()),
        }
    }

    /// Queues replies for `resource`, used in order.
    pub(crate) fn then(self, resource: &str, replies: impl IntoIterator<Item = Reply>) -> Self {
        self.queued
            .lock()
            .unwrap()
            .entry(resource.to_string())
            .or_default()
            .extend(replies);
        self
    }

    /// The reply for `resource` once its queue is empty.
    pub(crate) fn always(mut self, resource: &str, reply: Reply) -> Self {
        self.always.insert(resource.to_string(), reply);
        self
    }

    pub(crate) fn calls(&self) -> Vec<(String, Value)> {
        self.calls.lock().unwrap().clone()
    }

    pub(crate) fn calls_to(&self, resource: &str) -> Vec<Value> {
        self.calls()
            .into_iter()
            .filter(|(r, _)| r == resource)
            .map(|(_, v)| v)
            .collect()
    }
}

#[async_trait::async_trait]
impl TaskInvoker for FakeInvoker {
    fn supports(&self, resource: &str) -> bool {
        resource.starts_with("arn:aws:lambda:")
            || resource == "arn:aws:states:::sns:publish"
            || resource == "arn:aws:states:::dynamodb:deleteItem"
    }

    async fn invoke(&self, resource: &str, input: Value) -> Result<Value, TaskFailure> {
        self.calls.lock().unwrap().push((resource.to_string(), input));
        let queued = self
            .queued
            .lock()
            .unwrap()
            .get_mut(resource)
            .and_then(VecDeque::pop_front);
        match queued.or_else(|| self.always.get(resource).cloned()) {
            Some(Reply::Ok(v)) => Ok(v),
            Some(Reply::Fail(error, cause)) => Err(TaskFailure {
                error: error.into(),
                cause: cause.into(),
            }),
            Some(Reply::Hang) => std::future::pending().await,
            None => Err(TaskFailure {
                error: "Unscripted".into(),
                cause: format!("no reply scripted for {resource}"),
            }),
        }
    }
}

/// Keeps every event; fails (without keeping it) the event at index `fail_at`.
pub(crate) struct RecordingSink {
    events: Mutex<Vec<HistoryEvent>>,
    fail_at: Option<usize>,
}

impl RecordingSink {
    pub(crate) fn new() -> Self {
        Self {
            events: Mutex::new(Vec::new()),
            fail_at: None,
        }
    }

    pub(crate) fn failing_at(index: usize) -> Self {
        Self {
            events: Mutex::new(Vec::new()),
            fail_at: Some(index),
        }
    }

    pub(crate) fn events(&self) -> Vec<HistoryEvent> {
        self.events.lock().unwrap().clone()
    }
}

#[async_trait::async_trait]
impl HistorySink for RecordingSink {
    async fn record(&self, event: &HistoryEvent) -> Result<(), String> {
        let mut events = self.events.lock().unwrap();
        if Some(events.len()) == self.fail_at {
            return Err("disk full".into());
        }
        events.push(event.clone());
        Ok(())
    }
}

pub(crate) fn execution(input: Value) -> ExecutionContext {
    ExecutionContext {
        execution_id: "arn:aws:states:eu-west-1:123456789012:execution:order-flow:exec-1".into(),
        name: "exec-1".into(),
        start_time: START.parse().unwrap(),
        state_machine_id: "arn:aws:states:eu-west-1:123456789012:stateMachine:order-flow".into(),
        state_machine_name: "order-flow".into(),
        input,
    }
}

/// The outcome of an execution that failed with `error` and `cause`.
pub(crate) fn failed(error: &str, cause: &str) -> super::Outcome {
    super::Outcome::Failed {
        error: error.into(),
        cause: cause.into(),
    }
}

/// What a test run left: the outcome, the history and the sleeps it asked for.
pub(crate) struct Ran {
    pub(crate) outcome: super::Outcome,
    pub(crate) events: Vec<HistoryEvent>,
    pub(crate) sleeps: Vec<Duration>,
}

/// Loads `definition` with `substitutions` and runs it from the start on `input`, with a fake
/// clock and a recording sink; panics if it does not load or run.
pub(crate) async fn run_definition(
    definition: &str,
    substitutions: &std::collections::BTreeMap<String, String>,
    input: Value,
    invoker: &FakeInvoker,
) -> Ran {
    let machine =
        super::StateMachine::load(definition, substitutions, invoker).unwrap_or_else(|e| panic!("load failed: {e}"));
    let (clock, sink) = (FakeClock::new(), RecordingSink::new());
    let start = super::Resume::Start { input: input.clone() };
    let outcome = machine
        .run(&execution(input), start, invoker, &clock, &sink)
        .await
        .unwrap_or_else(|e| panic!("run failed: {e}"));
    Ran {
        outcome,
        events: sink.events(),
        sleeps: clock.sleeps(),
    }
}
