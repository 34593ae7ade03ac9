//! What a resumed run takes from the history it continues, so that a Map or Parallel cut off
//! by a crash keeps its finished iterations and branches instead of running them again.
//!
//! The top-level resume point is the last `…StateEntered` (see [`crate::asl::Resume`]). If
//! that state is a Map or Parallel whose attempt had started (`MapStateStarted` or
//! `ParallelStateStarted`, with no `…StateFailed` after it), the resumed run continues that
//! attempt rather than starting another:
//! - a child (iteration or branch) whose last state exited and ended it keeps that output;
//! - a child that had entered a state resumes there, with the variables it had assigned;
//! - a child with no events starts from its `StartAt`.
//!
//! The same holds one level down, for a Map or Parallel that a resumed child resumes at.
//! A child's final exit counts as its end only if that state cannot have been caught (it has
//! no Catchers): a caught exit goes on to the Catcher's `Next`, and telling the two apart
//! would need a field AWS's history does not have. Such a state runs again, like any state
//! whose exit was not durable.

use std::collections::HashMap;
use std::sync::Mutex;

use serde_json::{Map, Value};

use crate::asl::definition::{Kind, State, StateMachine, Transition};
use crate::asl::history::HistoryEvent;

/// The durable history a run resumed from, by scope (`""` is the top level), each event with
/// its position in the whole history.
#[derive(Default)]
pub(crate) struct Past {
    by_scope: HashMap<String, Vec<(usize, HistoryEvent)>>,
    /// (scope, state) pairs whose next Map or Parallel attempt continues an interrupted one,
    /// each with the position its events start after (the enclosing attempt's start). Taken
    /// once, so a retry or a later visit starts afresh.
    resumable: Mutex<HashMap<(String, String), usize>>,
}

/// Where one iteration or branch of an interrupted attempt had got to.
#[derive(Debug, PartialEq)]
pub(crate) enum Child {
    NotStarted,
    /// It had ended with this output.
    Done(Value),
    /// It had entered `state` with `input`, after assigning `assigned` itself.
    At {
        state: String,
        input: Value,
        assigned: Map<String, Value>,
    },
}

/// An interrupted Map or Parallel attempt.
pub(crate) struct Interrupted {
    pub(crate) children: Vec<Child>,
    /// The position of its `…StateStarted`: its children's events come after it.
    pub(crate) since: usize,
}

impl Past {
    /// `history` is the execution's durable history; `state` the top-level state it resumes at.
    pub(crate) fn new(history: Vec<HistoryEvent>, state: &str) -> Past {
        let mut by_scope: HashMap<String, Vec<(usize, HistoryEvent)>> = HashMap::new();
        for (i, event) in history.into_iter().enumerate() {
            let (scope, event) = match event {
                HistoryEvent::Scoped { scope, event } => (scope, *event),
                event => (String::new(), event),
            };
            by_scope.entry(scope).or_default().push((i, event));
        }
        Past {
            by_scope,
            resumable: Mutex::new(HashMap::from([((String::new(), state.to_string()), 0)])),
        }
    }

    fn events(&self, scope: &str) -> &[(usize, HistoryEvent)] {
        self.by_scope.get(scope).map_or(&[], Vec::as_slice)
    }

    /// The attempt of the Map or Parallel `state` (at `scope`) that a crash cut off, if this
    /// is the first attempt since resuming there and that attempt had started. `machine`
    /// gives child `i`'s definition; `count` is how many children this attempt has, and an
    /// attempt that had a different number is not continued.
    pub(crate) fn interrupted<'m>(
        &self,
        scope: &str,
        state: &str,
        count: usize,
        child_scope: impl Fn(usize) -> String,
        machine: impl Fn(usize) -> &'m StateMachine,
    ) -> Option<Interrupted> {
        let key = (scope.to_string(), state.to_string());
        let after = self.resumable.lock().unwrap_or_else(|p| p.into_inner()).remove(&key)?;
        let all = self.events(scope);
        let events = &all[all.partition_point(|(i, _)| *i < after)..];
        let visit = visit_start(events, state)?;
        let (since, length) = events
            .iter()
            .rev()
            .take_while(|(i, _)| *i >= visit)
            .find_map(|(i, e)| match e {
                HistoryEvent::MapStateStarted { state: s, length } if s == state => Some((*i, *length as usize)),
                HistoryEvent::ParallelStateStarted { state: s } if s == state => Some((*i, count)),
                _ => None,
            })?;
        let failed = events.iter().any(|(i, e)| {
            *i > since
                && matches!(e, HistoryEvent::MapStateFailed { state: s, .. } | HistoryEvent::ParallelStateFailed { state: s, .. } if s == state)
        });
        if failed || length != count {
            return None;
        }
        let children = (0..count)
            .map(|i| child(self.events(&child_scope(i)), since, machine(i)))
            .collect();
        Some(Interrupted { children, since })
    }

    /// Lets the Map or Parallel that the child at `scope` resumes at continue its own
    /// attempt, from the events after the enclosing attempt's start.
    pub(crate) fn resume_within(&self, scope: &str, state: &str, interrupted: &Interrupted) {
        self.resumable
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert((scope.to_string(), state.to_string()), interrupted.since);
    }
}

/// Where the latest visit of `state` began, counting the `…StateEntered` a resumed run
/// records again as the same visit: every event back to there belongs to `state` and none is
/// its exit. `None` if the state was never entered.
fn visit_start(events: &[(usize, HistoryEvent)], state: &str) -> Option<usize> {
    let mut start = None;
    for (i, e) in events.iter().rev() {
        match e {
            HistoryEvent::StateEntered { state: s, .. } if s == state => start = Some(*i),
            HistoryEvent::StateExited { .. } => break,
            e if e.state() == Some(state) => {}
            _ if start.is_some() => break,
            _ => {}
        }
    }
    start
}

/// Where a child had got to, from its events after `since`.
fn child(events: &[(usize, HistoryEvent)], since: usize, machine: &StateMachine) -> Child {
    let mut assigned = Map::new();
    let mut at = Child::NotStarted;
    for (_, e) in events.iter().filter(|(i, _)| *i > since) {
        match e {
            HistoryEvent::StateEntered { state, input, .. } => {
                at = Child::At {
                    state: state.clone(),
                    input: input.clone(),
                    assigned: assigned.clone(),
                };
            }
            HistoryEvent::StateExited {
                state,
                output,
                assigned: vars,
                ..
            } => {
                if let Some(vars) = vars {
                    assigned.extend(vars.iter().map(|(k, v)| (k.clone(), v.clone())));
                }
                if machine.states.get(state).is_some_and(ends_when_exited) {
                    return Child::Done(output.clone());
                }
            }
            _ => {}
        }
    }
    at
}

/// Whether every exit of `state` ends its machine: a Succeed, or `End: true` with no
/// Catcher that could have sent it elsewhere.
fn ends_when_exited(state: &State) -> bool {
    let (transition, catchers) = match &state.kind {
        Kind::Succeed => return true,
        Kind::Task(t) => (&t.transition, t.catch.len()),
        Kind::Parallel(p) => (&p.common.transition, p.common.catch.len()),
        Kind::Map(m) => (&m.common.transition, m.common.catch.len()),
        Kind::Pass(p) => (&p.transition, 0),
        Kind::Wait(w) => (&w.transition, 0),
        Kind::Choice(_) | Kind::Fail(_) => return false,
    };
    matches!(transition, Transition::End) && catchers == 0
}
