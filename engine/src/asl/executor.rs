//! The run loop: enter a state, run it, follow its transition, until the execution ends.
//!
//! Data flows through each state in the spec's order, one function per step:
//! [`input_path`] → [`parameters`] → (the task) → [`result_selector`] → [`result_path`] →
//! [`output_path`]. Errors in a Task go through its Retry and then its Catch; errors
//! elsewhere, uncaught errors and `States.Runtime` fail the execution.
//!
//! A Task's Retry covers the whole attempt (input processing, the call, result processing),
//! so a catchable error after a successful call (e.g. `States.ResultPathMatchFailure`)
//! re-invokes the resource if a retrier matches it. Retry counters live in memory: resuming
//! at a Task's `StateEntered` checkpoint starts its retries afresh.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use futures_util::StreamExt;

use serde_json::{Map, Value, json};

use super::context::{ContextObject, ExecutionContext, Outcome, Resume};
use super::definition::{
    Amount, Choice, Container, Fail, FailText, Kind, MAP_POOL, MapState, Parallel, Pass, State, StateMachine, Task,
    Transition, Wait, WaitFor,
};
use super::errors::{RunError, StateError, error_names};
use super::history::{HistoryEvent, RetryOf};
use super::path::{Path, ReferencePath, Scope, kind_of};
use super::ports::{Clock, HistorySink, TaskInvoker};
use super::retry::{Catcher, Retrier};
use super::template::Template;

pub(crate) struct Executor<'a> {
    pub(crate) machine: &'a StateMachine,
    pub(crate) ctx: &'a ExecutionContext,
    /// `ctx`'s [`ExecutionContext::shared_context`], built once for the run.
    pub(crate) shared: &'a Map<String, Value>,
    pub(crate) invoker: &'a dyn TaskInvoker,
    pub(crate) clock: &'a dyn Clock,
    pub(crate) sink: &'a dyn HistorySink,
    /// What a resumed run continues; empty for a fresh one.
    pub(crate) past: &'a Past,
    /// Empty at the top level; inside a Parallel branch or Map iteration, where (see
    /// [`HistoryEvent::Scoped`]). Events recorded here carry it.
    pub(crate) scope: String,
}

/// A sub-machine's run: its output, or the error that failed it.
type MachineRun<'s> = Pin<Box<dyn Future<Output = Result<Result<Value, StateError>, RunError>> + Send + 's>>;

/// A Parallel branch's or Map iteration's run: its index and its machine's outcome. Boxed
/// one by one (not mapped lazily into a stream) so the compiler checks `Send` on each.
type ChildRun<'f> = Pin<Box<dyn Future<Output = Result<(usize, Result<Value, StateError>), RunError>> + Send + 'f>>;

/// How a child of a Map or Parallel attempt runs: see [`Executor::resumed_child`].
enum Resumed {
    Fresh,
    Done(Value),
    /// From this state, with this input and these variables.
    At(String, Value, Map<String, Value>),
}

/// Which kind of state an attempt (under Retry and Catch) runs.
#[derive(Clone, Copy)]
enum Attempt<'s> {
    Task(&'s Task),
    Parallel(&'s Parallel),
    Map(&'s MapState),
}

/// What running one state decided. `assigned` holds the variables its `Assign` set, which
/// later states see (the state's own output was computed with the values from before).
enum Step {
    Next {
        next: String,
        output: Value,
        assigned: Map<String, Value>,
    },
    /// The execution succeeds with this output (`End: true` or a Succeed state).
    End {
        output: Value,
        assigned: Map<String, Value>,
    },
    Fail(StateError),
}

/// AWS's payload quota for a state's input or output, and for one variable or one `Assign`.
pub(crate) const PAYLOAD_LIMIT: usize = 256 * 1024;
/// AWS's quota for all of an execution's variables together.
pub(crate) const VARIABLES_LIMIT: usize = 10 * 1024 * 1024;

impl Step {
    fn after(transition: &Transition, output: Value) -> Step {
        match transition {
            Transition::Next(next) => Step::Next {
                next: next.clone(),
                output,
                assigned: Map::new(),
            },
            Transition::End => Step::End {
                output,
                assigned: Map::new(),
            },
        }
    }

    fn assigning(mut self, vars: Map<String, Value>) -> Step {
        if let Step::Next { assigned, .. } | Step::End { assigned, .. } = &mut self {
            *assigned = vars;
        }
        self
    }

    fn or_fail(result: Result<Step, StateError>) -> Step {
        result.unwrap_or_else(Step::Fail)
    }
}

impl Executor<'_> {
    pub(crate) async fn run(&self, resume: Resume) -> Result<Outcome, RunError> {
        let (name, input, vars) = match resume {
            Resume::Start { input } => {
                self.record(HistoryEvent::ExecutionStarted { input: input.clone() })
                    .await?;
                (self.machine.start_at.clone(), input, Map::new())
            }
            Resume::At {
                state,
                input,
                variables,
                ..
            } => (state, input, variables),
        };
        let run = self.run_machine(self.machine, name, input, vars);
        // From the execution's start, not this run's: a resumed run keeps the deadline.
        // Checked: `Timestamp + SignedDuration` panics past year 9999 (no deadline there).
        let deadline = self.machine.timeout.and_then(|limit| {
            let at = jiff::SignedDuration::try_from(limit).ok()?;
            Some((limit, self.ctx.start_time.checked_add(at).ok()?))
        });
        let ended = match deadline {
            None => run.await?,
            Some((limit, at)) => {
                let left = self.until(at);
                // Past the deadline already (resumed late): end without starting another state.
                let finished = if left.is_zero() {
                    None
                } else {
                    tokio::select! {
                        biased;
                        ended = run => Some(ended?),
                        () = self.clock.sleep(left) => None,
                    }
                };
                match finished {
                    Some(ended) => ended,
                    None => return self.time_out(limit).await,
                }
            }
        };
        match ended {
            Ok(output) => {
                self.record(HistoryEvent::ExecutionSucceeded { output: output.clone() })
                    .await?;
                Ok(Outcome::Succeeded { output })
            }
            Err(StateError { error, cause }) => {
                self.record(HistoryEvent::ExecutionFailed {
                    error: error.clone(),
                    cause: cause.clone(),
                })
                .await?;
                Ok(Outcome::Failed { error, cause })
            }
        }
    }

    /// Ends the execution as AWS does when its `TimeoutSeconds` passes: whatever state was
    /// running is abandoned (a Task's call may still complete; its result is discarded).
    async fn time_out(&self, limit: Duration) -> Result<Outcome, RunError> {
        let error = error_names::TIMEOUT.to_string();
        let cause = format!("the execution did not finish within {} seconds", limit.as_secs());
        self.record(HistoryEvent::ExecutionTimedOut {
            error: error.clone(),
            cause: cause.clone(),
        })
        .await?;
        Ok(Outcome::TimedOut { error, cause })
    }

    /// The executor for branch or iteration `index` of the state `name`.
    fn child(&self, name: &str, index: usize) -> Executor<'_> {
        Executor {
            scope: self.child_scope(name, index),
            ..*self
        }
    }

    /// The scope of branch or iteration `index` of the state `name`.
    fn child_scope(&self, name: &str, index: usize) -> String {
        if self.scope.is_empty() {
            format!("{name}/{index}")
        } else {
            format!("{}/{name}/{index}", self.scope)
        }
    }

    /// Runs `machine` (the definition, a branch or a Map's processor) from state `name` until
    /// it ends. Boxed: Parallel and Map states run machines inside machines.
    fn run_machine<'s>(
        &'s self,
        machine: &'s StateMachine,
        mut name: String,
        mut input: Value,
        mut vars: Map<String, Value>,
    ) -> MachineRun<'s> {
        Box::pin(async move {
            loop {
                let Some(state) = machine.states.get(&name) else {
                    return Err(RunError::UnknownState(name));
                };
                let state_type = state.kind.state_type();
                self.record(HistoryEvent::StateEntered {
                    state_type,
                    state: name.clone(),
                    input: input.clone(),
                })
                .await?;
                tracing::debug!(execution = %self.ctx.name, scope = %self.scope, state = %name, "state entered");
                let step = match self.step(&name, state, input, &vars).await? {
                    Step::Next { output, .. } | Step::End { output, .. } if json_size(&output) > PAYLOAD_LIMIT => {
                        Step::Fail(StateError::new(
                            error_names::DATA_LIMIT_EXCEEDED,
                            format!(
                                "the output of state `{name}` is {} bytes, over the {PAYLOAD_LIMIT}-byte quota",
                                json_size(&output)
                            ),
                        ))
                    }
                    step => step,
                };
                match step {
                    Step::Next { next, output, assigned } => {
                        self.record(HistoryEvent::StateExited {
                            state_type,
                            state: name.clone(),
                            output: output.clone(),
                            assigned: (!assigned.is_empty()).then(|| assigned.clone()),
                        })
                        .await?;
                        vars.extend(assigned);
                        name = next;
                        input = output;
                    }
                    Step::End { output, assigned } => {
                        self.record(HistoryEvent::StateExited {
                            state_type,
                            state: name,
                            output: output.clone(),
                            assigned: (!assigned.is_empty()).then_some(assigned),
                        })
                        .await?;
                        return Ok(Ok(output));
                    }
                    Step::Fail(error) => return Ok(Err(error)),
                }
            }
        })
    }

    async fn record(&self, event: HistoryEvent) -> Result<(), RunError> {
        let event = if self.scope.is_empty() {
            event
        } else {
            HistoryEvent::Scoped {
                scope: self.scope.clone(),
                event: Box::new(event),
            }
        };
        self.sink.record(&event).await.map_err(RunError::History)
    }

    async fn step(&self, name: &str, state: &State, input: Value, vars: &Map<String, Value>) -> Result<Step, RunError> {
        let entered = self.clock.now();
        let object = ContextObject::new(self.shared, name, entered, 0);
        let context = Scope::new(&object, vars);
        Ok(match &state.kind {
            Kind::Task(task) => {
                let retrying = (&task.retry[..], &task.catch[..], &task.transition);
                return self
                    .retrying(name, state, Attempt::Task(task), retrying, input, entered, vars)
                    .await;
            }
            Kind::Parallel(par) => {
                let retrying = par.common.retrying();
                return self
                    .retrying(name, state, Attempt::Parallel(par), retrying, input, entered, vars)
                    .await;
            }
            Kind::Map(map) => {
                let retrying = map.common.retrying();
                return self
                    .retrying(name, state, Attempt::Map(map), retrying, input, entered, vars)
                    .await;
            }
            Kind::Pass(pass) => Step::or_fail(pass_state(state, pass, &input, &context)),
            Kind::Choice(choice) => Step::or_fail(choice_state(state, choice, &input, &context)),
            Kind::Wait(wait) => Step::or_fail(self.wait_state(state, wait, &input, &context).await),
            Kind::Succeed => Step::or_fail(
                input_path(state.input_path.as_ref(), &input, &context)
                    .and_then(|v| state_output(state, v, &context))
                    .map(|output| Step::End {
                        output,
                        assigned: Map::new(),
                    }),
            ),
            Kind::Fail(fail) => Step::Fail(fail_state(state, fail, &input, &context)),
        })
    }

    /// A Task, Parallel or Map: attempts, Retry between attempts, then Catch.
    #[allow(clippy::too_many_arguments)]
    async fn retrying(
        &self,
        name: &str,
        state: &State,
        attempt: Attempt<'_>,
        (retriers, catchers, transition): (&[Retrier], &[Catcher], &Transition),
        input: Value,
        entered: jiff::Timestamp,
        vars: &Map<String, Value>,
    ) -> Result<Step, RunError> {
        // Each retrier counts its own retries; `$$.State.RetryCount` counts them all.
        let mut retries = vec![0u32; retriers.len()];
        let mut retry_count = 0u32;
        let mut retry_of = None;
        loop {
            let object = ContextObject::new(self.shared, name, entered, retry_count);
            let context = Scope::new(&object, vars);
            let retry = retry_of.take();
            let result = match attempt {
                Attempt::Task(task) => self.task_attempt(name, state, task, &input, &context, retry).await?,
                Attempt::Parallel(par) => self.parallel_attempt(name, state, par, &input, &context).await?,
                Attempt::Map(map) => self.map_attempt(name, state, map, &input, &context).await?,
            };
            let error = match result {
                Ok((output, assigned)) => return Ok(Step::after(transition, output).assigning(assigned)),
                Err(error) => error,
            };
            if error.is_runtime() {
                return Ok(Step::Fail(error));
            }
            let retry = retriers
                .iter()
                .zip(retries.iter_mut())
                .find(|(r, _)| r.error_equals.matches(&error.error));
            if let Some((retrier, used)) = retry
                && *used < retrier.max_attempts
            {
                *used += 1;
                retry_count += 1;
                let delay = retrier.delay(*used);
                tracing::debug!(execution = %self.ctx.name, state = %name, error = %error.error, ?delay, "retrying");
                retry_of = Some(RetryOf {
                    error: error.error,
                    count: retry_count,
                });
                self.clock.sleep(delay).await;
                continue;
            }
            return Ok(catch(catchers, &input, error, &context));
        }
    }

    /// One attempt of a Task, from its raw input to its output. The outer `Result` is
    /// infrastructure; the inner one is the state's success or error.
    async fn task_attempt(
        &self,
        name: &str,
        state: &State,
        task: &Task,
        raw_input: &Value,
        context: &Scope<'_>,
        retry: Option<RetryOf>,
    ) -> Result<Result<(Value, Map<String, Value>), StateError>, RunError> {
        let effective = match input_path(state.input_path.as_ref(), raw_input, context)
            .and_then(|v| parameters(state, task.parameters.as_ref(), v, context))
        {
            Ok(v) => v,
            Err(e) => return Ok(Err(e)),
        };
        let timeout = match task
            .timeout
            .as_ref()
            .map(|t| amount(t, "TimeoutSeconds", raw_input, context))
        {
            None => None,
            Some(Ok(0)) => {
                return Ok(Err(StateError::new(
                    error_names::QUERY_EVALUATION_ERROR,
                    "TimeoutSeconds must be a positive integer, not 0",
                )));
            }
            Some(Ok(seconds)) => Some(Duration::from_secs(seconds)),
            Some(Err(e)) => return Ok(Err(e)),
        };
        self.record(HistoryEvent::TaskScheduled {
            state: name.to_string(),
            resource: task.resource.clone(),
            parameters: effective.clone(),
            retry,
        })
        .await?;
        let result = match self.invoke(task, effective, timeout).await {
            Ok(result) => result,
            Err(error) => {
                let (state, resource) = (name.to_string(), task.resource.clone());
                let (e, cause) = (error.error.clone(), error.cause.clone());
                self.record(if error.error == error_names::TIMEOUT {
                    HistoryEvent::TaskTimedOut {
                        state,
                        resource,
                        error: e,
                        cause,
                    }
                } else {
                    HistoryEvent::TaskFailed {
                        state,
                        resource,
                        error: e,
                        cause,
                    }
                })
                .await?;
                return Ok(Err(error));
            }
        };
        self.record(HistoryEvent::TaskSucceeded {
            state: name.to_string(),
            resource: task.resource.clone(),
            output: result.clone(),
        })
        .await?;
        Ok(finish(
            state,
            task.result_selector.as_ref(),
            task.result_path.as_ref(),
            raw_input,
            result,
            context,
        ))
    }

    /// One attempt of a Parallel: every branch on the effective input, at once. The first
    /// branch to fail stops the others (their futures are dropped) and fails the state with its
    /// error, which Retry and Catch then see.
    async fn parallel_attempt(
        &self,
        name: &str,
        state: &State,
        par: &Parallel,
        raw_input: &Value,
        context: &Scope<'_>,
    ) -> Result<Result<(Value, Map<String, Value>), StateError>, RunError> {
        let effective = match input_path(state.input_path.as_ref(), raw_input, context)
            .and_then(|v| parameters(state, par.parameters.as_ref(), v, context))
        {
            Ok(v) => v,
            Err(e) => return Ok(Err(e)),
        };
        let count = par.branches.len();
        let interrupted = self.past.interrupted(
            &self.scope,
            name,
            count,
            |i| self.child_scope(name, i),
            |i| &par.branches[i],
        );
        if interrupted.is_none() {
            self.record(HistoryEvent::ParallelStateStarted { state: name.into() })
                .await?;
        }
        let children: Vec<Executor<'_>> = (0..count).map(|i| self.child(name, i)).collect();
        let mut runs: Vec<ChildRun<'_>> = Vec::with_capacity(count);
        for (i, (branch, child)) in par.branches.iter().zip(&children).enumerate() {
            let (start, input, vars) = match self.resumed_child(interrupted.as_ref(), i, child, context) {
                Resumed::Done(output) => {
                    runs.push(Box::pin(async move { Ok((i, Ok(output))) }));
                    continue;
                }
                Resumed::At(state, input, vars) => (state, input, vars),
                Resumed::Fresh => (branch.start_at.clone(), effective.clone(), context.vars.clone()),
            };
            let run = child.run_machine(branch, start, input, vars);
            runs.push(Box::pin(async move { Ok((i, run.await?)) }));
        }
        match gather(runs, par.branches.len()).await? {
            Ok(outputs) => {
                self.record(HistoryEvent::ParallelStateSucceeded { state: name.into() })
                    .await?;
                Ok(finish_container(state, &par.common, raw_input, outputs, context))
            }
            Err(error) => {
                self.record(HistoryEvent::ParallelStateFailed {
                    state: name.into(),
                    error: error.error.clone(),
                    cause: error.cause.clone(),
                })
                .await?;
                Ok(Err(error))
            }
        }
    }

    /// One attempt of an inline Map: the processor once per item, at most `MaxConcurrency`
    /// at a time, outputs in item order. The first iteration to fail stops the others.
    async fn map_attempt(
        &self,
        name: &str,
        state: &State,
        map: &MapState,
        raw_input: &Value,
        context: &Scope<'_>,
    ) -> Result<Result<(Value, Map<String, Value>), StateError>, RunError> {
        let (inputs, limit) = match input_path(state.input_path.as_ref(), raw_input, context).and_then(|effective| {
            let limit = match amount(&map.max_concurrency, "MaxConcurrency", &effective, context)? {
                0 => MAP_POOL,
                n => usize::try_from(n).unwrap_or(MAP_POOL).min(MAP_POOL),
            };
            Ok((map_inputs(map, &effective, context)?, limit))
        }) {
            Ok(found) => found,
            Err(e) => return Ok(Err(e)),
        };
        let length = inputs.len();
        let interrupted = self.past.interrupted(
            &self.scope,
            name,
            length,
            |i| self.child_scope(name, i),
            |_| &map.processor,
        );
        if interrupted.is_none() {
            self.record(HistoryEvent::MapStateStarted {
                state: name.into(),
                length: length as u64,
            })
            .await?;
        }
        let children: Vec<Executor<'_>> = (0..length).map(|i| self.child(name, i)).collect();
        let mut runs: Vec<ChildRun<'_>> = Vec::with_capacity(length);
        for (i, (input, child)) in inputs.into_iter().zip(&children).enumerate() {
            let (start, input, vars, started) = match self.resumed_child(interrupted.as_ref(), i, child, context) {
                Resumed::Done(output) => {
                    runs.push(Box::pin(async move { Ok((i, Ok(output))) }));
                    continue;
                }
                Resumed::At(state, input, vars) => (state, input, vars, true),
                Resumed::Fresh => (map.processor.start_at.clone(), input, context.vars.clone(), false),
            };
            runs.push(Box::pin(async move {
                let index = i as u64;
                if !started {
                    self.record(HistoryEvent::MapIterationStarted {
                        state: name.into(),
                        index,
                    })
                    .await?;
                }
                let run = child.run_machine(&map.processor, start, input, vars).await?;
                self.record(match &run {
                    Ok(_) => HistoryEvent::MapIterationSucceeded {
                        state: name.into(),
                        index,
                    },
                    Err(e) => HistoryEvent::MapIterationFailed {
                        state: name.into(),
                        index,
                        error: e.error.clone(),
                        cause: e.cause.clone(),
                    },
                })
                .await?;
                Ok((i, run))
            }));
        }
        match gather(runs, limit).await? {
            Ok(outputs) => {
                self.record(HistoryEvent::MapStateSucceeded { state: name.into() })
                    .await?;
                Ok(finish_container(state, &map.common, raw_input, outputs, context))
            }
            Err(error) => {
                self.record(HistoryEvent::MapStateFailed {
                    state: name.into(),
                    error: error.error.clone(),
                    cause: error.cause.clone(),
                })
                .await?;
                Ok(Err(error))
            }
        }
    }

    /// How child `i` of a Map or Parallel attempt goes on: as the interrupted attempt left
    /// it, or from its start. A child resumed inside a state lets that state continue its
    /// own interrupted attempt, if it is a Map or Parallel.
    fn resumed_child(
        &self,
        interrupted: Option<&resume::Interrupted>,
        i: usize,
        child: &Executor<'_>,
        context: &Scope<'_>,
    ) -> Resumed {
        match interrupted.and_then(|it| it.children.get(i).map(|c| (it, c))) {
            None | Some((_, Child::NotStarted)) => Resumed::Fresh,
            Some((_, Child::Done(output))) => Resumed::Done(output.clone()),
            Some((it, Child::At { state, input, assigned })) => {
                self.past.resume_within(&child.scope, state, it);
                let mut vars = context.vars.clone();
                vars.extend(assigned.iter().map(|(k, v)| (k.clone(), v.clone())));
                Resumed::At(state.clone(), input.clone(), vars)
            }
        }
    }

    /// Invokes the resource, failing with `States.Timeout` after `TimeoutSeconds`.
    async fn invoke(&self, task: &Task, input: Value, timeout: Option<Duration>) -> Result<Value, StateError> {
        let call = self.invoker.invoke(&task.resource, input);
        let reply = match timeout {
            None => call.await,
            Some(limit) => {
                tokio::select! {
                    biased;
                    reply = call => reply,
                    () = self.clock.sleep(limit) => {
                        return Err(StateError::new(
                            error_names::TIMEOUT,
                            format!("the task did not finish within {} seconds", limit.as_secs()),
                        ));
                    }
                }
            }
        };
        reply.map_err(|f| StateError::new(f.error, f.cause))
    }

    async fn wait_state(
        &self,
        state: &State,
        wait: &Wait,
        raw_input: &Value,
        context: &Scope<'_>,
    ) -> Result<Step, StateError> {
        let effective = input_path(state.input_path.as_ref(), raw_input, context)?;
        let delay = match &wait.wait_for {
            WaitFor::Seconds(s) => Duration::from_secs(*s),
            WaitFor::SecondsPath(path) => {
                let value = read(path, "SecondsPath", &effective, context)?;
                Duration::from_secs(value.as_u64().ok_or_else(|| {
                    StateError::runtime(format!(
                        "SecondsPath `{}` must select a non-negative integer, not {value}",
                        path.text()
                    ))
                })?)
            }
            WaitFor::SecondsQuery(query) => {
                Duration::from_secs(amount(&Amount::Dynamic(query.clone()), "Seconds", &effective, context)?)
            }
            WaitFor::Timestamp(ts) => self.until(*ts),
            WaitFor::TimestampQuery(query) => {
                let value = query.eval(&effective, context).map_err(|e| in_field(e, "Timestamp"))?;
                let ts = value.as_str().and_then(super::choice::parse_timestamp).ok_or_else(|| {
                    StateError::new(
                        error_names::QUERY_EVALUATION_ERROR,
                        format!("Timestamp must give an RFC 3339 timestamp, not {value}"),
                    )
                })?;
                self.until(ts)
            }
            WaitFor::TimestampPath(path) => {
                let value = read(path, "TimestampPath", &effective, context)?;
                let ts = value.as_str().and_then(super::choice::parse_timestamp).ok_or_else(|| {
                    StateError::runtime(format!(
                        "TimestampPath `{}` must select an RFC 3339 timestamp, not {value}",
                        path.text()
                    ))
                })?;
                self.until(ts)
            }
        };
        if !delay.is_zero() {
            self.clock.sleep(delay).await;
        }
        let assigned = assign(state.assign.as_ref(), &effective, context)?;
        let output = state_output(state, effective, context)?;
        Ok(Step::after(&wait.transition, output).assigning(assigned))
    }

    /// Time from now until `ts`; zero if it has passed.
    fn until(&self, ts: jiff::Timestamp) -> Duration {
        Duration::try_from(ts.duration_since(self.clock.now())).unwrap_or(Duration::ZERO)
    }
}

/// Records into memory, for [`test_state`].
struct Recorder(std::sync::Mutex<Vec<HistoryEvent>>);

#[async_trait::async_trait]
impl HistorySink for Recorder {
    async fn record(&self, event: &HistoryEvent) -> Result<(), String> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).push(event.clone());
        Ok(())
    }
}

/// Time that does not pass: TestState does not wait either.
struct NoWait;

#[async_trait::async_trait]
impl Clock for NoWait {
    fn now(&self) -> jiff::Timestamp {
        jiff::Timestamp::now()
    }

    async fn sleep(&self, _d: Duration) {}
}

pub(crate) async fn test_state(
    machine: &StateMachine,
    name: &str,
    input: Value,
    variables: Map<String, Value>,
    ctx: &ExecutionContext,
    invoker: &dyn TaskInvoker,
) -> Result<super::definition::StateTest, RunError> {
    let Some(state) = machine.states.get(name) else {
        return Err(RunError::UnknownState(name.to_string()));
    };
    let recorder = Recorder(std::sync::Mutex::new(Vec::new()));
    let shared = ctx.shared_context();
    let executor = Executor {
        machine,
        ctx,
        shared: &shared,
        invoker,
        clock: &NoWait,
        sink: &recorder,
        past: &Past::default(),
        scope: String::new(),
    };
    executor
        .record(HistoryEvent::StateEntered {
            state_type: state.kind.state_type(),
            state: name.to_string(),
            input: input.clone(),
        })
        .await?;
    let step = executor.step(name, state, input, &variables).await?;
    // Caught: the last outcome the state recorded was a failure, yet it goes on.
    let caught = || {
        let events = recorder.0.lock().unwrap_or_else(|p| p.into_inner());
        events
            .iter()
            .rev()
            .map(HistoryEvent::unscoped)
            .find_map(|e| match e {
                HistoryEvent::TaskFailed { .. }
                | HistoryEvent::TaskTimedOut { .. }
                | HistoryEvent::ParallelStateFailed { .. }
                | HistoryEvent::MapStateFailed { .. } => Some(true),
                HistoryEvent::TaskSucceeded { .. }
                | HistoryEvent::ParallelStateSucceeded { .. }
                | HistoryEvent::MapStateSucceeded { .. } => Some(false),
                _ => None,
            })
            .unwrap_or(false)
    };
    let mut test = super::definition::StateTest {
        status: "SUCCEEDED",
        output: None,
        next_state: None,
        error: None,
        cause: None,
        assigned: Map::new(),
        events: Vec::new(),
    };
    match step {
        Step::Next { next, output, assigned } => {
            if caught() {
                test.status = "CAUGHT_ERROR";
            }
            test.output = Some(output);
            test.next_state = Some(next);
            test.assigned = assigned;
        }
        Step::End { output, assigned } => {
            test.output = Some(output);
            test.assigned = assigned;
        }
        Step::Fail(e) => {
            test.status = "FAILED";
            test.error = Some(e.error);
            test.cause = Some(e.cause);
        }
    }
    if let Some(output) = &test.output {
        executor
            .record(HistoryEvent::StateExited {
                state_type: state.kind.state_type(),
                state: name.to_string(),
                output: output.clone(),
                assigned: (!test.assigned.is_empty()).then(|| test.assigned.clone()),
            })
            .await?;
    }
    test.events = recorder.0.into_inner().unwrap_or_else(|p| p.into_inner());
    Ok(test)
}

/// The iterations' inputs: the items at `ItemsPath`, each through `ItemSelector` (if any),
/// which sees `$$.Map.Item.Index` and `$$.Map.Item.Value`.
fn map_inputs(map: &MapState, effective: &Value, context: &Scope<'_>) -> Result<Vec<Value>, StateError> {
    let items = match &map.items {
        Template::Path(path) => match read(path, "ItemsPath", effective, context)? {
            Value::Array(items) => items,
            other => {
                return Err(StateError::runtime(format!(
                    "ItemsPath `{}` must select an array, not {}",
                    path.text(),
                    kind_of(&other)
                )));
            }
        },
        items => match items.eval(effective, context).map_err(|e| in_field(e, "Items"))? {
            Value::Array(items) => items,
            other => {
                return Err(StateError::new(
                    error_names::QUERY_EVALUATION_ERROR,
                    format!("Items must give an array, not {}", kind_of(&other)),
                ));
            }
        },
    };
    let Some(selector) = &map.item_selector else {
        return Ok(items);
    };
    items
        .into_iter()
        .enumerate()
        .map(|(index, item)| {
            let object = context.context.with_map_item(index, item);
            selector
                .eval(effective, &Scope::new(&object, context.vars))
                .map_err(|e| in_field(e, "ItemSelector"))
        })
        .collect()
}

/// Runs branches or iterations at most `limit` at a time. Their outputs come back in index
/// order; the first to fail ends the others (their futures are dropped) and is the error.
async fn gather(runs: Vec<ChildRun<'_>>, limit: usize) -> Result<Result<Vec<Value>, StateError>, RunError> {
    let mut outputs = vec![Value::Null; runs.len()];
    let mut running = futures_util::stream::iter(runs).buffer_unordered(limit.max(1));
    while let Some(done) = running.next().await {
        match done? {
            (i, Ok(output)) => outputs[i] = output,
            (_, Err(error)) => return Ok(Err(error)),
        }
    }
    Ok(Ok(outputs))
}

/// A Parallel's or Map's array of outputs, through the state's result processing.
fn finish_container(
    state: &State,
    common: &Container,
    raw_input: &Value,
    outputs: Vec<Value>,
    context: &Scope<'_>,
) -> Result<(Value, Map<String, Value>), StateError> {
    let (selector, path) = (common.result_selector.as_ref(), common.result_path.as_ref());
    finish(state, selector, path, raw_input, Value::Array(outputs), context)
}

/// A result's way to the state's output, for Task, Parallel and Map: `ResultSelector`, then
/// `Assign` (which sees the selected result, as on AWS), `ResultPath`, `OutputPath`.
fn finish(
    state: &State,
    selector: Option<&Template>,
    path: Option<&ReferencePath>,
    raw_input: &Value,
    result: Value,
    context: &Scope<'_>,
) -> Result<(Value, Map<String, Value>), StateError> {
    let selected = result_selector(selector, result, context)?;
    let (assigned, output) = {
        let scope = context.with_result(raw_input, &selected);
        let assigned = assign(state.assign.as_ref(), &selected, &scope)?;
        let output = state
            .output
            .as_ref()
            .map(|o| query_output(o, raw_input, &scope))
            .transpose()?;
        (assigned, output)
    };
    if let Some(output) = output {
        return Ok((output, assigned));
    }
    let merged = result_path(path, raw_input, selected)?;
    Ok((output_path(state.output_path.as_ref(), merged, context)?, assigned))
}

/// A JSONata `Output`.
fn query_output(output: &Template, input: &Value, scope: &Scope<'_>) -> Result<Value, StateError> {
    output.eval(input, scope).map_err(|e| in_field(e, "Output"))
}

/// The output of a state without a result (Pass, Choice, Wait, Succeed): JSONata's `Output`
/// if it has one, else `OutputPath` (which a JSONata state has as `$`).
fn state_output(state: &State, value: Value, context: &Scope<'_>) -> Result<Value, StateError> {
    output_or_path(state.output.as_ref(), state, value, context)
}

/// `output` (a JSONata `Output`: the state's, or a Choice rule's) if there is one, else the
/// state's `OutputPath`.
fn output_or_path(
    output: Option<&Template>,
    state: &State,
    value: Value,
    context: &Scope<'_>,
) -> Result<Value, StateError> {
    match output {
        Some(output) => query_output(output, &value, context),
        None => output_path(state.output_path.as_ref(), value, context),
    }
}

/// A number a field gives (`TimeoutSeconds`, `Seconds`, `MaxConcurrency`): written out, or
/// from a JSONata expression, which must give a non-negative integer.
fn amount(amount: &Amount, field: &str, input: &Value, context: &Scope<'_>) -> Result<u64, StateError> {
    match amount {
        Amount::Fixed(n) => Ok(*n),
        Amount::Dynamic(query) => {
            let value = query.eval(input, context).map_err(|e| in_field(e, field))?;
            value.as_u64().ok_or_else(|| {
                StateError::new(
                    error_names::QUERY_EVALUATION_ERROR,
                    format!("{field} must give a non-negative integer, not {value}"),
                )
            })
        }
    }
}

/// The first Catcher matching the error decides the next state; its `ResultPath` places
/// `{"Error", "Cause"}` into the state's raw input and its `Assign` reads that error output.
/// As on AWS, no event says so: the state's exit carries that output and the next state's
/// entry follows.
fn catch(catchers: &[Catcher], raw_input: &Value, error: StateError, context: &Scope<'_>) -> Step {
    let Some(catcher) = catchers.iter().find(|c| c.error_equals.matches(&error.error)) else {
        return Step::Fail(error);
    };
    tracing::debug!(error = %error.error, next = %catcher.next, "caught");
    let error_output = json!({"Error": error.error, "Cause": error.cause});
    let scope = context.with_error(raw_input, &error_output);
    let assigned = match assign(catcher.assign.as_ref(), &error_output, &scope) {
        Ok(assigned) => assigned,
        Err(e) => return Step::Fail(e),
    };
    if let Some(output) = &catcher.output {
        return match query_output(output, &error_output, &scope) {
            Ok(output) => Step::Next {
                next: catcher.next.clone(),
                output,
                assigned,
            },
            Err(e) => Step::Fail(e),
        };
    }
    match result_path(catcher.result_path.as_ref(), raw_input, error_output) {
        Ok(output) => Step::Next {
            next: catcher.next.clone(),
            output,
            assigned,
        },
        Err(e) => Step::Fail(e),
    }
}

fn pass_state(state: &State, pass: &Pass, raw_input: &Value, context: &Scope<'_>) -> Result<Step, StateError> {
    let effective = input_path(state.input_path.as_ref(), raw_input, context)?;
    let effective = parameters(state, pass.parameters.as_ref(), effective, context)?;
    let result = pass.result.clone().unwrap_or(effective);
    let assigned = assign(state.assign.as_ref(), &result, context)?;
    let merged = result_path(pass.result_path.as_ref(), raw_input, result)?;
    let output = state_output(state, merged, context)?;
    Ok(Step::after(&pass.transition, output).assigning(assigned))
}

fn choice_state(state: &State, choice: &Choice, raw_input: &Value, context: &Scope<'_>) -> Result<Step, StateError> {
    let effective = input_path(state.input_path.as_ref(), raw_input, context)?;
    let mut taken = None;
    for rule in &choice.choices {
        if rule.rule.eval(&effective, context)? {
            taken = Some((&rule.next, rule.assign.as_ref(), rule.output.as_ref()));
            break;
        }
    }
    // The state's own `Assign` and `Output` go with its `Default`; a rule's with that rule.
    let (next, assigning, output) = match (taken, &choice.default) {
        (Some(rule), _) => rule,
        (None, Some(default)) => (default, state.assign.as_ref(), state.output.as_ref()),
        (None, None) => {
            return Err(StateError::new(
                error_names::NO_CHOICE_MATCHED,
                "no Choice rule matched the input and there is no Default",
            ));
        }
    };
    let assigned = assign(assigning, &effective, context)?;
    let output = output_or_path(output, state, effective, context)?;
    Ok(Step::Next {
        next: next.clone(),
        output,
        assigned,
    })
}

/// The Fail state's error: `Error`/`ErrorPath` and `Cause`/`CausePath`, from its raw input.
fn fail_state(state: &State, fail: &Fail, raw_input: &Value, context: &Scope<'_>) -> StateError {
    let text = |source: &FailText, field: &str| -> Result<String, StateError> {
        let field = state.field(field);
        match source {
            FailText::Absent => Ok(String::new()),
            FailText::Literal(s) => Ok(s.clone()),
            FailText::Dynamic(t) => match t.eval(raw_input, context) {
                Ok(Value::String(s)) => Ok(s),
                Ok(other) => Err(StateError::new(
                    if state.jsonata {
                        error_names::QUERY_EVALUATION_ERROR
                    } else {
                        error_names::RUNTIME
                    },
                    format!("{field} must resolve to a string, not {}", kind_of(&other)),
                )),
                Err(e) => Err(StateError::new(e.error, format!("{field}: {}", e.cause))),
            },
        }
    };
    match (text(&fail.error, "ErrorPath"), text(&fail.cause, "CausePath")) {
        (Ok(error), Ok(cause)) => StateError::new(error, cause),
        (Err(e), _) | (_, Err(e)) => e,
    }
}

fn read(path: &Path, field: &str, input: &Value, context: &Scope<'_>) -> Result<Value, StateError> {
    path.read(input, context)
        .map_err(|e| StateError::runtime(format!("{field}: {e}")))
}

/// `InputPath`: selects the effective input from the raw input; `null` gives `{}`.
fn input_path(path: Option<&Path>, raw: &Value, context: &Scope<'_>) -> Result<Value, StateError> {
    match path {
        None => Ok(json!({})),
        Some(path) => read(path, "InputPath", raw, context),
    }
}

/// `Parameters` (JSONata's `Arguments`): builds the effective input from a template.
fn parameters(
    state: &State,
    template: Option<&Template>,
    effective: Value,
    context: &Scope<'_>,
) -> Result<Value, StateError> {
    match template {
        None => Ok(effective),
        Some(t) => t
            .eval(&effective, context)
            .map_err(|e| in_field(e, state.field("Parameters"))),
    }
}

/// `ResultSelector`: reshapes a task's result with a payload template.
fn result_selector(template: Option<&Template>, result: Value, context: &Scope<'_>) -> Result<Value, StateError> {
    match template {
        None => Ok(result),
        Some(t) => t.eval(&result, context).map_err(|e| in_field(e, "ResultSelector")),
    }
}

/// `ResultPath`: places the result into the raw input; `null` discards the result and
/// `$` replaces the input.
fn result_path(path: Option<&ReferencePath>, raw: &Value, result: Value) -> Result<Value, StateError> {
    match path {
        None => Ok(raw.clone()),
        Some(path) => path.write(raw.clone(), result).map_err(|why| {
            StateError::new(
                error_names::RESULT_PATH_MATCH_FAILURE,
                format!("ResultPath `{}` cannot be applied to the input: {why}", path.text()),
            )
        }),
    }
}

/// `OutputPath`: selects the state's output; `null` gives `{}`.
fn output_path(path: Option<&Path>, value: Value, context: &Scope<'_>) -> Result<Value, StateError> {
    match path {
        None => Ok(json!({})),
        Some(path) => read(path, "OutputPath", &value, context),
    }
}

/// `Assign`: evaluates the template on `value` with the variables from before the state, and
/// enforces AWS's quotas (256 KiB per variable and per `Assign`, 10 MiB for all variables).
fn assign(template: Option<&Template>, value: &Value, context: &Scope<'_>) -> Result<Map<String, Value>, StateError> {
    let Some(template) = template else {
        return Ok(Map::new());
    };
    let Value::Object(assigned) = template.eval(value, context).map_err(|e| in_field(e, "Assign"))? else {
        return Err(StateError::runtime("Assign did not evaluate to an object"));
    };
    let limit = |what: String| StateError::new(error_names::DATA_LIMIT_EXCEEDED, what);
    let mut this = 0;
    for (name, v) in &assigned {
        let size = json_size(v);
        if size > PAYLOAD_LIMIT {
            return Err(limit(format!(
                "variable `{name}` is {size} bytes, over the {PAYLOAD_LIMIT}-byte quota"
            )));
        }
        this += size;
    }
    if this > PAYLOAD_LIMIT {
        return Err(limit(format!(
            "this Assign sets {this} bytes of variables, over the {PAYLOAD_LIMIT}-byte quota"
        )));
    }
    let kept: usize = context
        .vars
        .iter()
        .filter(|(k, _)| !assigned.contains_key(*k))
        .map(|(_, v)| json_size(v))
        .sum();
    if kept + this > VARIABLES_LIMIT {
        return Err(limit(format!(
            "the execution's variables would be {} bytes, over the {VARIABLES_LIMIT}-byte quota",
            kept + this
        )));
    }
    Ok(assigned)
}

/// The length of `v` serialized as compact JSON, without building the text.
pub(crate) fn json_size(v: &Value) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    // Writing to a counter cannot fail; a failure would only undercount.
    let _ = serde_json::to_writer(&mut count, v);
    count.0
}

fn in_field(e: StateError, field: &str) -> StateError {
    StateError::new(e.error, format!("{field}: {}", e.cause))
}

mod resume;
use resume::Child;
pub(crate) use resume::Past;

#[cfg(test)]
mod jsonata_tests;
#[cfg(test)]
mod tests;
