//! Executor tests: data flow, Retry/Catch, every state type, history and resume.
//! No real sleeping: the fake clock records requested sleeps and advances instantly.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};

use crate::asl::ports::Clock;
use crate::asl::testing::{FakeClock, FakeInvoker, Ran, RecordingSink, Reply, execution, failed, run_definition};
use crate::asl::{HistoryEvent, Outcome, Resume, RetryOf, RunError, StateMachine, StateType};

pub(super) const F: &str = "arn:aws:lambda:eu-west-1:123456789012:function:f";

pub(super) fn load(definition: &Value, invoker: &FakeInvoker) -> StateMachine {
    StateMachine::load(&definition.to_string(), &BTreeMap::new(), invoker)
        .unwrap_or_else(|e| panic!("load failed: {e}"))
}

pub(super) async fn run(definition: Value, input: Value, invoker: &FakeInvoker) -> Ran {
    run_definition(&definition.to_string(), &BTreeMap::new(), input, invoker).await
}

/// A machine whose start state `T` is a Task on `F` with `extra` fields, plus helpers:
/// `Done` (Succeed) and Pass states `A`, `B`, `C` that record their name at `$.route`.
fn task_machine(extra: Value) -> Value {
    let mut task = json!({"Type": "Task", "Resource": F});
    if let (Value::Object(t), Value::Object(e)) = (&mut task, extra) {
        t.extend(e);
        if !t.contains_key("Next") {
            t.insert("End".into(), json!(true));
        }
    }
    let route = |name: &str| json!({"Type": "Pass", "Result": name, "ResultPath": "$.route", "End": true});
    json!({
        "StartAt": "T",
        "States": {"T": task, "Done": {"Type": "Succeed"}, "A": route("A"), "B": route("B"), "C": route("C")}
    })
}

pub(super) fn secs(list: &[u64]) -> Vec<Duration> {
    list.iter().map(|s| Duration::from_secs(*s)).collect()
}

pub(super) fn succeeded(output: Value) -> Outcome {
    Outcome::Succeeded { output }
}

pub(super) fn error_of(outcome: &Outcome) -> (&str, &str) {
    match outcome {
        Outcome::Failed { error, cause } => (error, cause),
        Outcome::Succeeded { output } => panic!("succeeded with {output}"),
        Outcome::TimedOut { cause, .. } => panic!("timed out: {cause}"),
    }
}

/// The retries the history shows: (`$$.State.RetryCount`, the error retried), from the
/// `retry` field of each re-scheduled task.
fn retries(events: &[HistoryEvent]) -> Vec<(u32, String)> {
    events
        .iter()
        .filter_map(|e| match e {
            HistoryEvent::TaskScheduled { retry: Some(r), .. } => Some((r.count, r.error.clone())),
            _ => None,
        })
        .collect()
}

fn retry_counts(events: &[HistoryEvent]) -> Vec<u32> {
    retries(events).into_iter().map(|(n, _)| n).collect()
}

// ---- Retry -------------------------------------------------------------------------

#[tokio::test]
async fn retries_with_exponential_backoff_capped_by_max_delay() {
    let invoker = FakeInvoker::new()
        .then(F, ["1", "2", "3", "4"].map(|cause| Reply::Fail("Flaky", cause)))
        .then(F, [Reply::Ok(json!({"ok": true}))]);
    let machine = task_machine(json!({"Retry": [{
        "ErrorEquals": ["Flaky"], "IntervalSeconds": 2, "BackoffRate": 3,
        "MaxAttempts": 4, "MaxDelaySeconds": 10, "JitterStrategy": "NONE"
    }]}));
    let ran = run(machine, json!({}), &invoker).await;
    assert_eq!(ran.outcome, succeeded(json!({"ok": true})));
    assert_eq!(ran.sleeps, secs(&[2, 6, 10, 10]));
    assert_eq!(invoker.calls().len(), 5);
    assert_eq!(retry_counts(&ran.events), [1, 2, 3, 4]);
}

/// Runs the Task machine with `retry` as its `Retry`, on a task that always fails with
/// `error`; the invoker tells how often it was called.
async fn always_failing(error: &'static str, cause: &'static str, retry: Value) -> (Ran, FakeInvoker) {
    let invoker = FakeInvoker::new().always(F, Reply::Fail(error, cause));
    let ran = run(task_machine(json!({ "Retry": retry })), json!({}), &invoker).await;
    (ran, invoker)
}

#[tokio::test]
async fn retries_stop_after_max_attempts_and_the_error_fails_the_execution() {
    let retry = json!([{"ErrorEquals": ["Flaky"], "MaxAttempts": 2}]);
    let (ran, invoker) = always_failing("Flaky", "still down", retry).await;
    assert_eq!(ran.outcome, failed("Flaky", "still down"));
    assert_eq!(ran.sleeps, secs(&[1, 2]));
    assert_eq!(invoker.calls().len(), 3);
}

#[tokio::test]
async fn retry_defaults_are_one_second_three_attempts_rate_two() {
    let (ran, invoker) = always_failing("E", "", json!([{"ErrorEquals": ["E"]}])).await;
    assert_eq!(ran.sleeps, secs(&[1, 2, 4]));
    assert_eq!(invoker.calls().len(), 4);
}

#[tokio::test]
async fn max_attempts_zero_never_retries_and_unmatched_errors_are_not_retried() {
    let (ran, invoker) = always_failing("E", "", json!([{"ErrorEquals": ["E"], "MaxAttempts": 0}])).await;
    assert_eq!(ran.sleeps, secs(&[]));
    assert_eq!(invoker.calls().len(), 1);

    let (ran, _) = always_failing("Other", "", json!([{"ErrorEquals": ["E"]}])).await;
    assert_eq!(ran.sleeps, secs(&[]));
    assert_eq!(error_of(&ran.outcome).0, "Other");
}

/// The spec's example: errors ErrorA, ErrorB, ErrorC, ErrorB.
#[tokio::test]
async fn each_retrier_counts_its_own_attempts() {
    let errors = [("ErrorA", "a"), ("ErrorB", "b"), ("ErrorC", "c"), ("ErrorB", "b again")];
    let invoker = FakeInvoker::new().then(F, errors.map(|(error, cause)| Reply::Fail(error, cause)));
    let machine = task_machine(json!({
        "Retry": [
            {"ErrorEquals": ["ErrorA", "ErrorB"], "IntervalSeconds": 1, "BackoffRate": 2.0, "MaxAttempts": 2},
            {"ErrorEquals": ["ErrorC"], "IntervalSeconds": 5}
        ],
        "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "C"}]
    }));
    let ran = run(machine, json!({"in": 1}), &invoker).await;
    assert_eq!(ran.sleeps, secs(&[1, 2, 5]));
    let retried = retries(&ran.events);
    assert_eq!(
        retried,
        [(1, "ErrorA".into()), (2, "ErrorB".into()), (3, "ErrorC".into())]
    );
    assert_eq!(
        ran.outcome,
        succeeded(json!({"in": 1, "error": {"Error": "ErrorB", "Cause": "b again"}, "route": "C"}))
    );
}

#[tokio::test]
async fn the_retry_count_is_in_the_context_object() {
    let invoker = FakeInvoker::new().always(F, Reply::Fail("E", ""));
    let machine = task_machine(json!({
        "Parameters": {"n.$": "$$.State.RetryCount"},
        "Retry": [{"ErrorEquals": ["E"], "MaxAttempts": 2}]
    }));
    run(machine, json!({}), &invoker).await;
    assert_eq!(invoker.calls_to(F), [json!({"n": 0}), json!({"n": 1}), json!({"n": 2})]);
}

// ---- Catch and error names ---------------------------------------------------------

fn catching_machine() -> Value {
    task_machine(json!({
        "Parameters": {"x.$": "$.x"},
        "TimeoutSeconds": 5,
        "Catch": [
            {"ErrorEquals": ["Specific"], "ResultPath": "$.err", "Next": "A"},
            {"ErrorEquals": ["States.TaskFailed"], "ResultPath": "$.err", "Next": "B"},
            {"ErrorEquals": ["States.ALL"], "ResultPath": "$.err", "Next": "C"}
        ]
    }))
}

/// Runs `catching_machine` on `{"x": 1}` with the task replying once with `reply`.
async fn run_catching(reply: Reply) -> Ran {
    run(
        catching_machine(),
        json!({"x": 1}),
        &FakeInvoker::new().then(F, [reply]),
    )
    .await
}

/// `catching_machine`'s output when the catcher routing to `route` caught `error`.
fn caught_by(route: &str, error: &str, cause: &str) -> Outcome {
    succeeded(json!({"x": 1, "err": {"Error": error, "Cause": cause}, "route": route}))
}

#[tokio::test]
async fn catch_routes_a_specific_error_to_its_catcher() {
    let ran = run_catching(Reply::Fail("Specific", "why")).await;
    assert_eq!(ran.outcome, caught_by("A", "Specific", "why"));
    // As on AWS: the failure, then the Task's exit with the Catcher's output, then its Next.
    let tail: Vec<String> = ran.events.iter().map(|e| e.type_name().into_owned()).collect();
    let failed = tail.iter().position(|t| t == "LambdaFunctionFailed");
    assert!(
        failed.is_some_and(|i| tail[i + 1] == "TaskStateExited" && tail[i + 2] == "PassStateEntered"),
        "{tail:?}"
    );
    assert!(ran.events.contains(&HistoryEvent::StateEntered {
        state_type: StateType::Pass,
        state: "A".into(),
        input: json!({"x": 1, "err": {"Error": "Specific", "Cause": "why"}}),
    }));
}

#[tokio::test]
async fn states_task_failed_catches_other_task_errors() {
    let ran = run_catching(Reply::Fail("Other", "")).await;
    assert_eq!(ran.outcome, caught_by("B", "Other", ""));
}

#[tokio::test]
async fn a_timeout_skips_task_failed_and_is_caught_by_states_all() {
    let ran = run_catching(Reply::Hang).await;
    let Outcome::Succeeded { output } = &ran.outcome else {
        panic!("{:?}", ran.outcome);
    };
    assert_eq!(output["route"], "C");
    assert_eq!(output["err"]["Error"], "States.Timeout");
    assert_eq!(ran.sleeps, secs(&[5]));
    assert!(ran.events.iter().any(|e| matches!(e,
        HistoryEvent::TaskTimedOut { error, .. } if error == "States.Timeout")));
}

// The top-level TimeoutSeconds: "If it runs longer than the specified time, the execution
// fails with a States.Timeout error" (https://docs.aws.amazon.com/step-functions/latest/dg/statemachine-structure.html);
// the execution's status is TIMED_OUT, and no Catcher sees it.
fn timed_machine() -> Value {
    let mut machine = task_machine(json!({"Catch": [{"ErrorEquals": ["States.ALL"], "Next": "A"}]}));
    machine["TimeoutSeconds"] = json!(30);
    machine
}

#[tokio::test]
async fn the_execution_timeout_ends_a_run_that_outlasts_it_and_no_catcher_sees_it() {
    let invoker = FakeInvoker::new().then(F, [Reply::Hang]);
    let ran = run(timed_machine(), json!({}), &invoker).await;
    let cause = "the execution did not finish within 30 seconds";
    assert_eq!(
        ran.outcome,
        Outcome::TimedOut {
            error: "States.Timeout".into(),
            cause: cause.into()
        }
    );
    assert_eq!(ran.sleeps, secs(&[30]));
    assert_eq!(
        ran.events.last(),
        Some(&HistoryEvent::ExecutionTimedOut {
            error: "States.Timeout".into(),
            cause: cause.into()
        })
    );
    assert!(!ran.events.iter().any(|e| e.state() == Some("A")), "{:?}", ran.events);

    // Within the limit, the timeout changes nothing.
    let invoker = FakeInvoker::new().then(F, [Reply::Ok(json!({"ok": 1}))]);
    assert_eq!(
        run(timed_machine(), json!({}), &invoker).await.outcome,
        succeeded(json!({"ok": 1}))
    );
}

#[tokio::test]
async fn a_run_resumed_after_its_deadline_times_out_without_running_a_state() {
    let invoker = FakeInvoker::new().always(F, Reply::Ok(json!({})));
    let machine = load(&timed_machine(), &invoker);
    let clock = FakeClock::new();
    let sink = RecordingSink::new();
    // Started 31 s before the clock's now: the deadline has passed.
    let mut ctx = execution(json!({}));
    ctx.start_time = clock.now() - jiff::SignedDuration::from_secs(31);
    let outcome = machine
        .run(&ctx, Resume::at_start("T", json!({})), &invoker, &clock, &sink)
        .await;
    assert!(matches!(outcome, Ok(Outcome::TimedOut { .. })), "{outcome:?}");
    assert!(invoker.calls().is_empty());
    assert_eq!(sink.events().len(), 1, "{:?}", sink.events());

    // 10 s before the deadline, a resumed run gets the 10 s that are left, not 30.
    ctx.start_time = clock.now() - jiff::SignedDuration::from_secs(20);
    let invoker = FakeInvoker::new().then(F, [Reply::Hang]);
    let outcome = machine
        .run(&ctx, Resume::at_start("T", json!({})), &invoker, &clock, &sink)
        .await;
    assert!(matches!(outcome, Ok(Outcome::TimedOut { .. })), "{outcome:?}");
    assert_eq!(clock.sleeps(), secs(&[10]));
}

#[tokio::test]
async fn states_runtime_is_not_caught_nor_retried() {
    // `$.x` is missing, so Parameters fails with States.Runtime before invoking.
    let invoker = FakeInvoker::new().always(F, Reply::Ok(json!({})));
    let ran = run(catching_machine(), json!({}), &invoker).await;
    let (error, cause) = error_of(&ran.outcome);
    assert_eq!(error, "States.Runtime");
    assert!(cause.contains("Parameters") && cause.contains("`$.x`"), "{cause}");
    assert!(invoker.calls().is_empty());

    let machine = task_machine(json!({
        "ResultSelector": {"v.$": "$.missing"},
        "Retry": [{"ErrorEquals": ["States.ALL"]}],
        "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "A"}]
    }));
    let invoker = FakeInvoker::new().always(F, Reply::Ok(json!({"present": 1})));
    let ran = run(machine, json!({}), &invoker).await;
    let (error, cause) = error_of(&ran.outcome);
    assert_eq!(error, "States.Runtime");
    assert!(cause.starts_with("ResultSelector"), "{cause}");
    assert_eq!(invoker.calls().len(), 1);
    assert!(ran.sleeps.is_empty());
}

#[tokio::test]
async fn catcher_result_path_defaults_to_replacing_the_input_and_null_keeps_it() {
    let machine = |result_path: Option<Value>| {
        let mut catcher = json!({"ErrorEquals": ["States.ALL"], "Next": "Done"});
        if let (Some(rp), Value::Object(c)) = (result_path, &mut catcher) {
            c.insert("ResultPath".into(), rp);
        }
        task_machine(json!({"Catch": [catcher]}))
    };
    let invoker = FakeInvoker::new().always(F, Reply::Fail("E", "c"));
    let ran = run(machine(None), json!({"keep": 1}), &invoker).await;
    assert_eq!(ran.outcome, succeeded(json!({"Error": "E", "Cause": "c"})));
    let ran = run(machine(Some(Value::Null)), json!({"keep": 1}), &invoker).await;
    assert_eq!(ran.outcome, succeeded(json!({"keep": 1})));
}

// ---- Data flow -----------------------------------------------------------------------

#[tokio::test]
async fn result_path_merges_into_the_raw_input() {
    let cases = [
        (
            json!("$.a.b.c"),
            json!({"a": {"keep": true, "b": {"c": {"v": 1}}}, "z": 0}),
        ),
        (Value::Null, json!({"a": {"keep": true}, "z": 0})),
        (json!("$"), json!({"v": 1})),
        (json!("$.z"), json!({"a": {"keep": true}, "z": {"v": 1}})),
    ];
    for (result_path, expected) in cases {
        let invoker = FakeInvoker::new().always(F, Reply::Ok(json!({"v": 1})));
        let machine = task_machine(json!({"ResultPath": result_path, "InputPath": "$.a"}));
        let ran = run(machine, json!({"a": {"keep": true}, "z": 0}), &invoker).await;
        assert_eq!(ran.outcome, succeeded(expected), "ResultPath {result_path}");
    }
}

#[tokio::test]
async fn a_result_path_that_cannot_apply_is_a_catchable_result_path_match_failure() {
    let invoker = FakeInvoker::new().always(F, Reply::Ok(json!(1)));
    let machine = task_machine(json!({
        "ResultPath": "$.a.b",
        "Catch": [{"ErrorEquals": ["States.ResultPathMatchFailure"], "ResultPath": "$.err", "Next": "Done"}]
    }));
    let ran = run(machine, json!({"a": "text"}), &invoker).await;
    let Outcome::Succeeded { output } = ran.outcome else {
        panic!("{:?}", ran.outcome);
    };
    assert_eq!(output["err"]["Error"], "States.ResultPathMatchFailure");
    assert_eq!(output["a"], "text");
}

#[tokio::test]
async fn input_path_parameters_result_selector_result_path_output_path_in_order() {
    let invoker = FakeInvoker::new().always(F, Reply::Ok(json!({"price": 7, "input": "x", "noise": true})));
    let machine = task_machine(json!({
        "InputPath": "$.order",
        "Parameters": {
            "id.$": "$.id",
            "meta": {"state.$": "$$.State.Name", "list": [{"exec.$": "$$.Execution.Name"}, 2]},
            "n.$": "States.MathAdd($.qty, 1)",
            "fixed": "literal"
        },
        "ResultSelector": {"total.$": "$.price", "echo": {"in.$": "$.input"}},
        "ResultPath": "$.result",
        "OutputPath": "$.result"
    }));
    let ran = run(machine, json!({"order": {"id": "o1", "qty": 2}, "other": 1}), &invoker).await;
    assert_eq!(
        invoker.calls_to(F),
        [json!({"id": "o1", "meta": {"state": "T", "list": [{"exec": "exec-1"}, 2]}, "n": 3, "fixed": "literal"})]
    );
    assert_eq!(ran.outcome, succeeded(json!({"total": 7, "echo": {"in": "x"}})));
}

#[tokio::test]
async fn null_input_path_gives_an_empty_object_and_null_output_path_too() {
    let invoker = FakeInvoker::new().always(F, Reply::Ok(json!({"r": 1})));
    let ran = run(task_machine(json!({"InputPath": null})), json!({"a": 1}), &invoker).await;
    assert_eq!(invoker.calls_to(F), [json!({})]);
    assert_eq!(ran.outcome, succeeded(json!({"r": 1})));
    let ran = run(task_machine(json!({"OutputPath": null})), json!({"a": 1}), &invoker).await;
    assert_eq!(ran.outcome, succeeded(json!({})));
}

#[tokio::test]
async fn pass_states_use_result_or_parameters_or_their_input() {
    let invoker = FakeInvoker::new();
    let pass = |fields: Value| {
        let mut state = json!({"Type": "Pass", "End": true});
        if let (Value::Object(s), Value::Object(f)) = (&mut state, fields) {
            s.extend(f);
        }
        json!({"StartAt": "P", "States": {"P": state}})
    };
    let input = json!({"a": 1, "name": "n"});
    let cases = [
        (
            json!({"Result": {"r": true}, "ResultPath": "$.res"}),
            json!({"a": 1, "name": "n", "res": {"r": true}}),
        ),
        (json!({"Result": [1, 2]}), json!([1, 2])),
        (
            json!({"Parameters": {"greeting.$": "States.Format('hi {}', $.name)"}, "ResultPath": "$.p"}),
            json!({"a": 1, "name": "n", "p": {"greeting": "hi n"}}),
        ),
        (
            json!({"InputPath": "$.a", "ResultPath": "$.copy"}),
            json!({"a": 1, "name": "n", "copy": 1}),
        ),
        (json!({}), input.clone()),
        (json!({"OutputPath": "$.name"}), json!("n")),
    ];
    for (fields, expected) in cases {
        let ran = run(pass(fields.clone()), input.clone(), &invoker).await;
        assert_eq!(ran.outcome, succeeded(expected), "{fields}");
    }
    let ran = run(pass(json!({"InputPath": "$.missing"})), input.clone(), &invoker).await;
    let (error, cause) = error_of(&ran.outcome);
    assert_eq!(error, "States.Runtime");
    assert!(cause.starts_with("InputPath: the JSONPath `$.missing`"), "{cause}");
    let ran = run(
        pass(json!({"Parameters": {"x.$": "States.StringToJson($.name)"}})),
        input,
        &invoker,
    )
    .await;
    assert_eq!(error_of(&ran.outcome).0, "States.IntrinsicFailure");
}

// ---- Choice, Wait, Succeed, Fail -----------------------------------------------------

fn choice_machine() -> Value {
    json!({
        "StartAt": "C",
        "States": {
            "C": {"Type": "Choice", "OutputPath": "$.order",
                  "Choices": [
                      {"Variable": "$.order.size", "StringEquals": "large", "Next": "Big"},
                      {"And": [{"Variable": "$.order.qty", "NumericGreaterThan": 3},
                               {"Not": {"Variable": "$.order.gift", "BooleanEquals": true}}],
                       "Next": "Bulk"}
                  ],
                  "Default": "Plain"},
            "Big": {"Type": "Pass", "Result": "big", "End": true},
            "Bulk": {"Type": "Pass", "ResultPath": "$.route", "Result": "bulk", "End": true},
            "Plain": {"Type": "Pass", "Result": "plain", "End": true}
        }
    })
}

#[tokio::test]
async fn choice_routes_to_the_first_matching_rule_then_default() {
    let invoker = FakeInvoker::new();
    let cases = [
        (json!({"size": "large", "qty": 9}), json!("big")),
        // OutputPath selected `$.order` before Bulk ran.
        (
            json!({"size": "small", "qty": 9, "gift": false}),
            json!({"size": "small", "qty": 9, "gift": false, "route": "bulk"}),
        ),
        (json!({"size": "small", "qty": 9, "gift": true}), json!("plain")),
    ];
    for (order, output) in cases {
        let ran = run(choice_machine(), json!({ "order": order }), &invoker).await;
        assert_eq!(ran.outcome, succeeded(output), "order {order}");
    }
}

#[tokio::test]
async fn choice_without_match_or_default_fails_with_no_choice_matched() {
    let machine = json!({
        "StartAt": "C",
        "States": {
            "C": {"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericEquals": 1, "Next": "S"}]},
            "S": {"Type": "Succeed"}
        }
    });
    let ran = run(machine.clone(), json!({"n": 2}), &FakeInvoker::new()).await;
    assert_eq!(error_of(&ran.outcome).0, "States.NoChoiceMatched");
    let ran = run(machine, json!({}), &FakeInvoker::new()).await;
    assert_eq!(error_of(&ran.outcome).0, "States.Runtime");
}

#[tokio::test]
async fn wait_sleeps_through_the_clock() {
    let wait = |fields: Value| {
        let mut state = json!({"Type": "Wait", "Next": "S"});
        if let (Value::Object(s), Value::Object(f)) = (&mut state, fields) {
            s.extend(f);
        }
        json!({"StartAt": "W", "States": {"W": state, "S": {"Type": "Succeed"}}})
    };
    let invoker = FakeInvoker::new();
    let input = json!({"s": 12, "at": "2026-03-01T08:01:30Z", "past": "2020-01-01T00:00:00Z", "bad": "x"});
    for (fields, expected) in [
        (json!({"Seconds": 30}), secs(&[30])),
        (json!({"SecondsPath": "$.s"}), secs(&[12])),
        (json!({"TimestampPath": "$.at"}), secs(&[90])),
        (json!({"Timestamp": "2026-03-01T08:00:05Z"}), secs(&[5])),
        (json!({"TimestampPath": "$.past"}), secs(&[])),
        (json!({"Seconds": 0}), secs(&[])),
    ] {
        let ran = run(wait(fields.clone()), input.clone(), &invoker).await;
        assert_eq!(ran.sleeps, expected, "{fields}");
        assert_eq!(ran.outcome, succeeded(input.clone()), "{fields}");
    }
    for fields in [
        json!({"SecondsPath": "$.bad"}),
        json!({"TimestampPath": "$.bad"}),
        json!({"SecondsPath": "$.none"}),
    ] {
        let ran = run(wait(fields.clone()), input.clone(), &invoker).await;
        assert_eq!(error_of(&ran.outcome).0, "States.Runtime", "{fields}");
    }
}

#[tokio::test]
async fn succeed_applies_input_and_output_paths() {
    let machine =
        json!({"StartAt": "S", "States": {"S": {"Type": "Succeed", "InputPath": "$.a", "OutputPath": "$.b"}}});
    let ran = run(machine, json!({"a": {"b": [1]}}), &FakeInvoker::new()).await;
    assert_eq!(ran.outcome, succeeded(json!([1])));
}

#[tokio::test]
async fn fail_states_take_error_and_cause_from_literals_paths_or_intrinsics() {
    let fail = |state: Value| json!({"StartAt": "F", "States": {"F": state}});
    let input = json!({"e": "Broken", "n": 3, "obj": {}});
    let cases = [
        (
            json!({"Type": "Fail", "Error": "E", "Cause": "because"}),
            failed("E", "because"),
        ),
        (
            json!({"Type": "Fail", "ErrorPath": "$.e", "CausePath": "States.Format('bad {}', $.n)"}),
            failed("Broken", "bad 3"),
        ),
        (json!({"Type": "Fail"}), failed("", "")),
    ];
    for (state, expected) in cases {
        let ran = run(fail(state.clone()), input.clone(), &FakeInvoker::new()).await;
        assert_eq!(ran.outcome, expected, "{state}");
    }
    let ran = run(
        fail(json!({"Type": "Fail", "ErrorPath": "$.obj"})),
        input.clone(),
        &FakeInvoker::new(),
    )
    .await;
    let (error, cause) = error_of(&ran.outcome);
    assert_eq!(error, "States.Runtime");
    assert!(cause.contains("ErrorPath must resolve to a string"), "{cause}");
    let ran = run(
        fail(json!({"Type": "Fail", "CausePath": "$.nope"})),
        input,
        &FakeInvoker::new(),
    )
    .await;
    assert_eq!(error_of(&ran.outcome).0, "States.Runtime");
}

// ---- Context, history, resume --------------------------------------------------------

#[tokio::test]
async fn paths_can_read_the_context_object() {
    let machine = json!({
        "StartAt": "W",
        "States": {
            "W": {"Type": "Wait", "Seconds": 10, "Next": "P"},
            "P": {"Type": "Pass", "End": true, "Parameters": {
                "id.$": "$$.Execution.Id", "start.$": "$$.Execution.StartTime",
                "input.$": "$$.Execution.Input.k", "entered.$": "$$.State.EnteredTime",
                "state.$": "$$.State.Name", "machine.$": "$$.StateMachine.Name",
                "machineId.$": "$$.StateMachine.Id"
            }}
        }
    });
    let ran = run(machine, json!({"k": "v"}), &FakeInvoker::new()).await;
    assert_eq!(
        ran.outcome,
        succeeded(json!({
            "id": "arn:aws:states:eu-west-1:123456789012:execution:order-flow:exec-1",
            "start": "2026-03-01T08:00:00.000Z",
            "input": "v",
            "entered": "2026-03-01T08:00:10.000Z",
            "state": "P",
            "machine": "order-flow",
            "machineId": "arn:aws:states:eu-west-1:123456789012:stateMachine:order-flow"
        }))
    );
}

fn small_machine() -> Value {
    json!({
        "StartAt": "P",
        "States": {
            "P": {"Type": "Pass", "Result": {"q": 1}, "ResultPath": "$.p", "Next": "T"},
            "T": {"Type": "Task", "Resource": F, "ResultPath": "$.t", "Next": "S",
                  "Retry": [{"ErrorEquals": ["E"], "IntervalSeconds": 3}]},
            "S": {"Type": "Succeed"}
        }
    })
}

#[tokio::test]
async fn history_records_each_step_in_order() {
    let invoker = FakeInvoker::new().then(F, [Reply::Fail("E", "once"), Reply::Ok(json!("r"))]);
    let ran = run(small_machine(), json!({"in": 0}), &invoker).await;
    let after_p = json!({"in": 0, "p": {"q": 1}});
    let after_t = json!({"in": 0, "p": {"q": 1}, "t": "r"});
    use HistoryEvent::*;
    assert_eq!(
        ran.events,
        [
            ExecutionStarted {
                input: json!({"in": 0})
            },
            StateEntered {
                state_type: StateType::Pass,
                state: "P".into(),
                input: json!({"in": 0})
            },
            StateExited {
                state_type: StateType::Pass,
                state: "P".into(),
                output: after_p.clone(),
                assigned: None,
            },
            StateEntered {
                state_type: StateType::Task,
                state: "T".into(),
                input: after_p.clone()
            },
            TaskScheduled {
                state: "T".into(),
                resource: F.into(),
                parameters: after_p.clone(),
                retry: None,
            },
            TaskFailed {
                state: "T".into(),
                resource: F.into(),
                error: "E".into(),
                cause: "once".into()
            },
            TaskScheduled {
                state: "T".into(),
                resource: F.into(),
                parameters: after_p.clone(),
                retry: Some(RetryOf {
                    error: "E".into(),
                    count: 1
                }),
            },
            TaskSucceeded {
                state: "T".into(),
                resource: F.into(),
                output: json!("r")
            },
            StateExited {
                state_type: StateType::Task,
                state: "T".into(),
                output: after_t.clone(),
                assigned: None,
            },
            StateEntered {
                state_type: StateType::Succeed,
                state: "S".into(),
                input: after_t.clone()
            },
            StateExited {
                state_type: StateType::Succeed,
                state: "S".into(),
                output: after_t.clone(),
                assigned: None,
            },
            ExecutionSucceeded { output: after_t },
        ]
    );
}

#[tokio::test]
async fn history_ends_with_execution_failed() {
    let invoker = FakeInvoker::new().always(F, Reply::Fail("Fatal", "no"));
    let ran = run(small_machine(), json!({}), &invoker).await;
    assert_eq!(
        ran.events.last(),
        Some(&HistoryEvent::ExecutionFailed {
            error: "Fatal".into(),
            cause: "no".into()
        })
    );
}

#[tokio::test]
async fn resuming_at_a_checkpoint_continues_from_that_state() {
    let invoker = FakeInvoker::new().always(F, Reply::Ok(json!("r")));
    let machine = load(&small_machine(), &invoker);
    let (clock, sink) = (FakeClock::new(), RecordingSink::new());
    let checkpoint = json!({"in": 0, "p": {"q": 1}});
    // A resume with no variables assigned before the checkpoint.
    let at = |state: &str, input: Value| Resume::At {
        state: state.into(),
        input,
        variables: Default::default(),
        history: Vec::new(),
    };
    let outcome = machine
        .run(
            &execution(json!({"in": 0})),
            at("T", checkpoint.clone()),
            &invoker,
            &clock,
            &sink,
        )
        .await;
    assert_eq!(outcome, Ok(succeeded(json!({"in": 0, "p": {"q": 1}, "t": "r"}))));
    assert_eq!(
        sink.events().first(),
        Some(&HistoryEvent::StateEntered {
            state_type: StateType::Task,
            state: "T".into(),
            input: checkpoint
        })
    );
    assert_eq!(invoker.calls().len(), 1);

    let unknown = machine
        .run(&execution(json!({})), at("Nope", json!({})), &invoker, &clock, &sink)
        .await;
    assert_eq!(unknown, Err(RunError::UnknownState("Nope".into())));
}

#[tokio::test]
async fn a_failing_history_sink_stops_the_run_before_the_step() {
    let invoker = FakeInvoker::new().always(F, Reply::Ok(json!("r")));
    let machine = load(&small_machine(), &invoker);
    // Event 4 is T's TaskScheduled: the task must not run if it cannot be recorded.
    let (clock, sink) = (FakeClock::new(), RecordingSink::failing_at(4));
    let outcome = machine
        .run(
            &execution(json!({})),
            Resume::Start { input: json!({}) },
            &invoker,
            &clock,
            &sink,
        )
        .await;
    assert_eq!(outcome, Err(RunError::History("disk full".into())));
    assert!(invoker.calls().is_empty());
    assert!(matches!(sink.events().last(), Some(HistoryEvent::StateEntered { state, .. }) if state == "T"));
}

#[test]
fn the_run_future_is_send() {
    fn assert_send<T: Send>(_: &T) {}
    let invoker = FakeInvoker::new();
    let machine = load(&small_machine(), &invoker);
    let (clock, sink) = (FakeClock::new(), RecordingSink::new());
    let ctx = execution(json!({}));
    let future = machine.run(&ctx, Resume::Start { input: json!({}) }, &invoker, &clock, &sink);
    assert_send(&future);
}

#[test]
fn only_tasks_and_waits_need_a_durable_checkpoint() {
    let invoker = FakeInvoker::new();
    let machine = load(
        &json!({"StartAt": "A", "States": {
            "A": {"Type": "Task", "Resource": F, "Next": "P"},
            "P": {"Type": "Pass", "Next": "C"},
            "C": {"Type": "Choice", "Choices": [{"Variable": "$.x", "IsPresent": true, "Next": "W"}], "Default": "F"},
            "W": {"Type": "Wait", "Seconds": 1, "Next": "B"},
            "B": {"Type": "Task", "Resource": F, "Next": "Done"},
            "F": {"Type": "Fail", "Error": "E"},
            "Done": {"Type": "Succeed"}
        }}),
        &invoker,
    );
    assert_eq!(machine.checkpoint_states().collect::<Vec<_>>(), ["A", "B", "W"]);
}

// ---- Variables (`Assign`) ------------------------------------------------------------
// Semantics as documented on https://docs.aws.amazon.com/step-functions/latest/dg/workflow-variables.html:
// every assignment in one `Assign` reads the values from before the state; the state's own
// output does too; a Task's `Assign` reads its result after `ResultSelector`; a Catcher's reads
// the error output; a Choice's top-level `Assign` goes with its `Default`.

fn pass(extra: Value, next: &str) -> Value {
    let mut p = json!({"Type": "Pass", "Next": next});
    if let (Value::Object(p), Value::Object(e)) = (&mut p, extra) {
        p.extend(e);
    }
    p
}

fn show(parameters: Value) -> Value {
    json!({"Type": "Pass", "Parameters": parameters, "End": true})
}

#[tokio::test]
async fn assigned_variables_are_read_by_later_states_with_dollar_name() {
    // The documented example's three assignments, read in Parameters and in an intrinsic.
    let machine = json!({"StartAt": "Init", "States": {
        "Init": pass(json!({"Assign": {"productName": "product1", "count": 42, "available": true}}), "Use"),
        "Use": show(json!({"product.$": "$productName", "next.$": "States.MathAdd($count, 1)", "ok.$": "$available"})),
    }});
    let ran = run(machine, json!({}), &FakeInvoker::new()).await;
    assert_eq!(
        ran.outcome,
        succeeded(json!({"product": "product1", "next": 43, "ok": true}))
    );
    let exit = ran.events.iter().find_map(|e| match e {
        HistoryEvent::StateExited { state, assigned, .. } if state == "Init" => assigned.clone(),
        _ => None,
    });
    assert_eq!(
        exit.map(Value::Object),
        Some(json!({"productName": "product1", "count": 42, "available": true})),
        "the history shows the assigned values"
    );
}

#[tokio::test]
async fn every_assignment_reads_the_values_from_before_the_state() {
    let machine = json!({"StartAt": "Init", "States": {
        "Init": pass(json!({"Assign": {"x": 1, "y": 2}}), "Swap"),
        // The state's own Parameters and output see the old values too.
        "Swap": pass(json!({"Assign": {"x.$": "$y", "y.$": "$x"}, "Parameters": {"seen.$": "$x"}}), "Show"),
        "Show": show(json!({"x.$": "$x", "y.$": "$y", "before.$": "$.seen"})),
    }});
    let ran = run(machine, json!({}), &FakeInvoker::new()).await;
    assert_eq!(ran.outcome, succeeded(json!({"x": 2, "y": 1, "before": 1})));
}

#[tokio::test]
async fn a_task_assigns_from_its_selected_result_even_when_result_path_discards_it() {
    let invoker = FakeInvoker::new().then(F, [Reply::Ok(json!({"a": {"b": 5}}))]);
    let machine = json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": F, "ResultSelector": {"v.$": "$.a.b"},
              "Assign": {"got.$": "$.v"}, "ResultPath": null, "Next": "Show"},
        "Show": show(json!({"got.$": "$got", "input.$": "$"})),
    }});
    let ran = run(machine, json!({"in": 1}), &invoker).await;
    assert_eq!(ran.outcome, succeeded(json!({"got": 5, "input": {"in": 1}})));
}

#[tokio::test]
async fn a_catcher_assigns_from_the_error_output() {
    let invoker = FakeInvoker::new().then(F, [Reply::Fail("Broken", "why")]);
    let machine = json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": F, "Assign": {"never": true}, "End": true,
              "Catch": [{"ErrorEquals": ["States.ALL"], "Assign": {"err.$": "$.Error", "why.$": "$.Cause"},
                         "ResultPath": null, "Next": "Show"}]},
        "Show": show(json!({"err.$": "$err", "why.$": "$why"})),
    }});
    let ran = run(machine, json!({}), &invoker).await;
    assert_eq!(ran.outcome, succeeded(json!({"err": "Broken", "why": "why"})));
}

#[tokio::test]
async fn a_choice_assigns_with_the_matched_rule_or_with_its_default() {
    let machine = |n: i64| {
        json!({"StartAt": "C", "States": {
            "C": {"Type": "Choice", "Assign": {"route": "default"},
                  "Choices": [{"Variable": "$.n", "NumericGreaterThan": 10, "Assign": {"route": "big", "n.$": "$.n"}, "Next": "Show"}],
                  "Default": "Show"},
            "Show": show(json!({"route.$": "$route", "input.$": "$", "n": n})),
        }})
    };
    let big = run(machine(1), json!({"n": 11}), &FakeInvoker::new()).await;
    assert_eq!(
        big.outcome,
        succeeded(json!({"route": "big", "input": {"n": 11}, "n": 1}))
    );
    let small = run(machine(1), json!({"n": 3}), &FakeInvoker::new()).await;
    assert_eq!(
        small.outcome,
        succeeded(json!({"route": "default", "input": {"n": 3}, "n": 1}))
    );
}

#[tokio::test]
async fn resuming_restores_the_variables_the_checkpoint_saw() {
    let invoker = FakeInvoker::new().always(F, Reply::Ok(json!("r")));
    let machine = load(
        &json!({"StartAt": "Init", "States": {
            "Init": pass(json!({"Assign": {"who": "first run"}}), "T"),
            "T": {"Type": "Task", "Resource": F, "ResultPath": "$.t", "Next": "Show"},
            "Show": show(json!({"who.$": "$who", "t.$": "$.t"})),
        }}),
        &invoker,
    );
    // What a host passes after a crash in T: the variables of the history before T's entry.
    let history = [HistoryEvent::StateExited {
        state_type: StateType::Pass,
        state: "Init".into(),
        output: json!({}),
        assigned: Some(json!({"who": "first run"}).as_object().cloned().unwrap_or_default()),
    }];
    let (clock, sink) = (FakeClock::new(), RecordingSink::new());
    let outcome = machine
        .run(
            &execution(json!({})),
            Resume::At {
                state: "T".into(),
                input: json!({}),
                variables: crate::asl::variables_at(&history),
                history: Vec::new(),
            },
            &invoker,
            &clock,
            &sink,
        )
        .await;
    assert_eq!(outcome, Ok(succeeded(json!({"who": "first run", "t": "r"}))));
}

#[tokio::test]
async fn an_unassigned_variable_is_a_runtime_error() {
    let machine = json!({"StartAt": "Show", "States": {"Show": show(json!({"x.$": "$nope"}))}});
    let ran = run(machine, json!({}), &FakeInvoker::new()).await;
    let (error, cause) = error_of(&ran.outcome);
    assert_eq!(error, "States.Runtime");
    assert!(cause.contains("$nope"), "{cause}");
}

#[tokio::test]
async fn variables_and_outputs_over_the_quotas_fail_with_data_limit_exceeded() {
    let big = "x".repeat(300 * 1024);
    // A variable over 256 KiB; `States.ALL` does not catch the terminal error.
    let invoker = FakeInvoker::new().then(F, [Reply::Ok(json!(big))]);
    let machine = json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": F, "Assign": {"v.$": "$"}, "ResultPath": null, "End": true,
              "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}]},
        "Caught": {"Type": "Succeed"},
    }});
    let ran = run(machine, json!({}), &invoker).await;
    let (error, cause) = error_of(&ran.outcome);
    assert_eq!(error, "States.DataLimitExceeded");
    assert!(cause.contains("variable `v`"), "{cause}");

    // A state output over 256 KiB.
    let machine = json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": big, "End": true}}});
    let ran = run(machine, json!({}), &FakeInvoker::new()).await;
    let (error, cause) = error_of(&ran.outcome);
    assert_eq!(error, "States.DataLimitExceeded");
    assert!(cause.contains("the output of state `P`"), "{cause}");
}

// ---- Parallel and Map ------------------------------------------------------------------
// Examples from https://docs.aws.amazon.com/step-functions/latest/dg/state-parallel.html and
// https://docs.aws.amazon.com/step-functions/latest/dg/state-map-inline.html, with their
// documented inputs and outputs (Lambda results scripted by the fake invoker).

const ADD: &str = "arn:aws:lambda:us-east-1:123456789012:function:Add";
const SUBTRACT: &str = "arn:aws:lambda:us-east-1:123456789012:function:Subtract";

fn branch(start: &str, state: Value) -> Value {
    json!({"StartAt": start, "States": {start: state}})
}

fn task_end(resource: &str) -> Value {
    json!({"Type": "Task", "Resource": resource, "End": true})
}

/// The documented example's two branches, one Task each: `Add` on ADD, `Subtract` on SUBTRACT.
fn add_and_subtract() -> Value {
    json!([branch("Add", task_end(ADD)), branch("Subtract", task_end(SUBTRACT))])
}

/// The documented example's Lambda results for the input [3, 2].
fn adds_to_5_subtracts_to_1() -> FakeInvoker {
    FakeInvoker::new()
        .then(ADD, [Reply::Ok(json!(5))])
        .then(SUBTRACT, [Reply::Ok(json!(1))])
}

fn types_of(events: &[HistoryEvent]) -> Vec<String> {
    events
        .iter()
        .map(|e| match e.scope() {
            Some(scope) => format!("{scope}:{}", e.type_name()),
            None => e.type_name().into_owned(),
        })
        .collect()
}

#[tokio::test]
async fn parallel_outputs_are_the_branch_outputs_in_branch_order() {
    // The documented "Parallel state input and output processing" example: [3, 2] → [5, 1].
    let invoker = adds_to_5_subtracts_to_1();
    let machine = json!({"StartAt": "Parallel", "States": {"Parallel": {
        "Type": "Parallel", "Next": "Final State",
        "Branches": add_and_subtract()},
        "Final State": {"Type": "Pass", "End": true}}});
    let ran = run(machine, json!([3, 2]), &invoker).await;
    assert_eq!(ran.outcome, succeeded(json!([5, 1])));
    assert_eq!(
        invoker.calls_to(ADD),
        [json!([3, 2])],
        "each branch gets the state's input"
    );
    let types = types_of(&ran.events);
    assert_eq!(types[1], "ParallelStateEntered");
    assert_eq!(types[2], "ParallelStateStarted");
    assert!(types.contains(&"Parallel/0:TaskStateEntered".to_string()), "{types:?}");
    assert!(
        types.contains(&"Parallel/1:LambdaFunctionSucceeded".to_string()),
        "{types:?}"
    );
    let succeeded_at = types.iter().position(|t| t == "ParallelStateSucceeded");
    let exited_at = types.iter().position(|t| t == "ParallelStateExited");
    assert!(succeeded_at.is_some() && succeeded_at < exited_at, "{types:?}");
}

#[tokio::test]
async fn parallel_result_selector_result_path_and_output_path_apply_to_the_array() {
    let invoker = adds_to_5_subtracts_to_1();
    let machine = json!({"StartAt": "P", "States": {"P": {
        "Type": "Parallel", "End": true,
        "Branches": add_and_subtract(),
        "ResultSelector": {"sum.$": "$[0]", "difference.$": "$[1]"},
        "ResultPath": "$.math", "OutputPath": "$.math"}}});
    let ran = run(machine, json!({"numbers": [3, 2]}), &invoker).await;
    assert_eq!(ran.outcome, succeeded(json!({"sum": 5, "difference": 1})));
}

#[tokio::test]
async fn a_failing_branch_stops_the_others_and_the_parallel_catches_its_error() {
    // Branch 1 would never finish; branch 0's failure ends the state anyway.
    let invoker = FakeInvoker::new()
        .then(ADD, [Reply::Fail("Overflow", "too big")])
        .always(SUBTRACT, Reply::Hang);
    let machine = json!({"StartAt": "P", "States": {
        "P": {"Type": "Parallel", "End": true,
              "Branches": add_and_subtract(),
              "Catch": [{"ErrorEquals": ["Overflow"], "ResultPath": "$.error", "Next": "Handled"}]},
        "Handled": {"Type": "Pass", "End": true}}});
    let ran = run(machine, json!({"in": 1}), &invoker).await;
    assert_eq!(
        ran.outcome,
        succeeded(json!({"in": 1, "error": {"Error": "Overflow", "Cause": "too big"}}))
    );
    assert!(types_of(&ran.events).contains(&"ParallelStateFailed".to_string()));
}

#[tokio::test]
async fn a_parallel_is_retried_as_a_whole() {
    let invoker = FakeInvoker::new()
        .then(ADD, [Reply::Fail("Flaky", "once"), Reply::Ok(json!(5))])
        .always(SUBTRACT, Reply::Ok(json!(1)));
    let machine = json!({"StartAt": "P", "States": {"P": {
        "Type": "Parallel", "End": true,
        "Branches": add_and_subtract(),
        "Retry": [{"ErrorEquals": ["Flaky"], "IntervalSeconds": 2}]}}});
    let ran = run(machine, json!([3, 2]), &invoker).await;
    assert_eq!(ran.outcome, succeeded(json!([5, 1])));
    assert_eq!(ran.sleeps, secs(&[2]));
}

fn shipment() -> Value {
    json!({
        "ship-date": "2016-03-14T01:59:00Z",
        "detail": {
            "delivery-partner": "UQS",
            "shipped": [
                {"prod": "R31", "dest-code": 9511, "quantity": 1344},
                {"prod": "S39", "dest-code": 9511, "quantity": 40},
                {"prod": "R31", "dest-code": 9833, "quantity": 12}
            ]
        }
    })
}

#[tokio::test]
async fn map_runs_the_processor_per_item_with_item_selector_and_the_context() {
    // The documented ItemsPath / ItemSelector example: each parcel with its courier.
    let machine = json!({"StartAt": "Validate-All", "States": {"Validate-All": {
        "Type": "Map", "End": true,
        "ItemsPath": "$.detail.shipped",
        "ItemSelector": {"parcel.$": "$$.Map.Item.Value", "courier.$": "$.detail.delivery-partner",
                         "index.$": "$$.Map.Item.Index"},
        "MaxConcurrency": 0,
        "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "Validate",
                          "States": {"Validate": {"Type": "Pass", "End": true}}}}}});
    let ran = run(machine, shipment(), &FakeInvoker::new()).await;
    let shipped = shipment()["detail"]["shipped"].clone();
    let expected: Vec<Value> = (0..3)
        .map(|i| json!({"parcel": shipped[i], "courier": "UQS", "index": i}))
        .collect();
    assert_eq!(ran.outcome, succeeded(Value::Array(expected)));
    let types = types_of(&ran.events);
    assert_eq!(&types[1..3], ["MapStateEntered", "MapStateStarted"]);
    for i in 0..3 {
        assert!(
            types.contains(&format!("Validate-All/{i}:PassStateEntered")),
            "{types:?}"
        );
    }
    assert_eq!(types.iter().filter(|t| *t == "MapIterationSucceeded").count(), 3);
}

#[tokio::test]
async fn the_legacy_iterator_and_parameters_still_work() {
    let machine = json!({"StartAt": "M", "States": {"M": {
        "Type": "Map", "End": true, "ItemsPath": "$.detail.shipped", "MaxConcurrency": 1,
        "Parameters": {"prod.$": "$$.Map.Item.Value.prod"},
        "Iterator": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}}}});
    let ran = run(machine, shipment(), &FakeInvoker::new()).await;
    assert_eq!(
        ran.outcome,
        succeeded(json!([{"prod": "R31"}, {"prod": "S39"}, {"prod": "R31"}]))
    );
}

#[tokio::test]
async fn a_failing_iteration_fails_the_map_with_its_error() {
    let invoker = FakeInvoker::new().then(F, [Reply::Ok(json!(1)), Reply::Fail("BadItem", "item 1")]);
    let machine = json!({"StartAt": "M", "States": {"M": {
        "Type": "Map", "End": true, "MaxConcurrency": 1,
        "ItemProcessor": {"StartAt": "T", "States": {"T": task_end(F)}}}}});
    let ran = run(machine, json!([10, 11, 12]), &invoker).await;
    assert_eq!(ran.outcome, failed("BadItem", "item 1"));
    let types = types_of(&ran.events);
    assert!(types.contains(&"MapIterationFailed".to_string()), "{types:?}");
    assert!(types.contains(&"MapStateFailed".to_string()), "{types:?}");
    assert_eq!(invoker.calls().len(), 2, "MaxConcurrency 1: item 2 never started");
}

#[tokio::test]
async fn map_over_something_not_an_array_is_a_runtime_error() {
    let machine = json!({"StartAt": "M", "States": {"M": {
        "Type": "Map", "End": true, "ItemsPath": "$.items",
        "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}}}});
    let ran = run(machine, json!({"items": {"a": 1}}), &FakeInvoker::new()).await;
    let (error, cause) = error_of(&ran.outcome);
    assert_eq!(error, "States.Runtime");
    assert!(cause.contains("must select an array, not an object"), "{cause}");
}

#[tokio::test]
async fn iterations_read_outer_variables_and_do_not_write_them_back() {
    let machine = json!({"StartAt": "Init", "States": {
        "Init": pass(json!({"Assign": {"greeting": "hello", "seen": "outer"}}), "M"),
        "M": {"Type": "Map", "Next": "Show",
              "ItemProcessor": {"StartAt": "Inner", "States": {"Inner": {
                  "Type": "Pass", "Parameters": {"g.$": "$greeting", "item.$": "$"},
                  "Assign": {"seen": "inner"}, "End": true}}},
              "Assign": {"count.$": "States.ArrayLength($)"}},
        "Show": show(json!({"results.$": "$", "seen.$": "$seen", "count.$": "$count"})),
    }});
    let ran = run(machine, json!([1, 2]), &FakeInvoker::new()).await;
    assert_eq!(
        ran.outcome,
        succeeded(json!({
            "results": [{"g": "hello", "item": 1}, {"g": "hello", "item": 2}],
            "seen": "outer",
            "count": 2
        }))
    );
    // The inner assignments are in the (scoped) history, and do not count as outer ones.
    assert_eq!(crate::asl::variables_at(&ran.events).get("seen"), Some(&json!("outer")));
}

#[tokio::test]
async fn nested_parallel_inside_map_scopes_its_events() {
    let machine = json!({"StartAt": "M", "States": {"M": {
        "Type": "Map", "End": true,
        "ItemProcessor": {"StartAt": "Fan", "States": {"Fan": {
            "Type": "Parallel", "End": true,
            "Branches": [branch("A", json!({"Type": "Pass", "Result": "a", "End": true})),
                         branch("B", json!({"Type": "Pass", "Result": "b", "End": true}))]}}}}}});
    let ran = run(machine, json!([1, 2]), &FakeInvoker::new()).await;
    assert_eq!(ran.outcome, succeeded(json!([["a", "b"], ["a", "b"]])));
    let types = types_of(&ran.events);
    assert!(types.contains(&"M/1/Fan/0:PassStateEntered".to_string()), "{types:?}");
    assert!(types.contains(&"M/0:ParallelStateSucceeded".to_string()), "{types:?}");
}

// ---- Resuming inside a Map or Parallel ------------------------------------------------

/// Runs `machine` until it stops making progress (a task hangs, as if the process died),
/// continuing from `history` if it is not empty; the events it recorded, and the calls.
async fn run_until_stuck(machine: &StateMachine, history: &[HistoryEvent], invoker: &FakeInvoker) -> Vec<HistoryEvent> {
    let (clock, sink) = (FakeClock::new(), RecordingSink::new());
    let input = json!({"items": [1, 2, 3]});
    let resume = match Resume::from_history(history.to_vec()) {
        Some(resume) => resume,
        None => Resume::Start { input: input.clone() },
    };
    let ctx = execution(input);
    let run = machine.run(&ctx, resume, invoker, &clock, &sink);
    let stuck = tokio::time::timeout(Duration::from_millis(100), run).await;
    assert!(stuck.is_err(), "the run was meant to hang: {stuck:?}");
    sink.events()
}

/// Resumes `machine` from a crashed run's `history` with a fresh clock, returning the outcome
/// and the events recorded after resuming.
async fn resume_after_crash(
    machine: &StateMachine,
    history: Vec<HistoryEvent>,
    invoker: &FakeInvoker,
) -> (Result<Outcome, RunError>, RecordingSink) {
    let resume = Resume::from_history(history).unwrap_or_else(|| panic!("no resume point"));
    let (clock, sink) = (FakeClock::new(), RecordingSink::new());
    let outcome = machine.run(&execution(json!({})), resume, invoker, &clock, &sink).await;
    (outcome, sink)
}

fn task_map(processor_extra: Value) -> Value {
    let mut processor = json!({"StartAt": "Times", "States": {
        "Times": {"Type": "Task", "Resource": F, "End": true}}});
    if let (Value::Object(extra), Some(states)) = (processor_extra, processor["States"].as_object_mut()) {
        states.extend(extra);
    }
    json!({"StartAt": "Each", "States": {"Each": {"Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 1,
        "ItemProcessor": processor, "End": true}}})
}

#[tokio::test]
async fn a_map_resumed_after_a_crash_keeps_the_iterations_that_finished_even_across_two_crashes() {
    let definition = task_map(json!({}));
    let stuck_at = |replies: Vec<Reply>| FakeInvoker::new().then(F, replies);
    let machine = load(&definition, &FakeInvoker::new());

    // Item 0 finishes; item 1's task never answers: the process "dies" there.
    let invoker = stuck_at(vec![Reply::Ok(json!(10)), Reply::Hang]);
    let mut history = run_until_stuck(&machine, &[], &invoker).await;
    assert_eq!(invoker.calls_to(F), [json!(1), json!(2)]);

    // Resumed: item 0 is not run again; item 1 is, and item 2 hangs this time.
    let invoker = stuck_at(vec![Reply::Ok(json!(20)), Reply::Hang]);
    history.extend(run_until_stuck(&machine, &history, &invoker).await);
    assert_eq!(invoker.calls_to(F), [json!(2), json!(3)]);

    // Resumed again: only item 2 runs, and the output has every item's result in order.
    let invoker = stuck_at(vec![Reply::Ok(json!(30))]);
    let (clock, sink) = (FakeClock::new(), RecordingSink::new());
    let resume = Resume::from_history(history.clone()).unwrap_or_else(|| panic!("no resume point"));
    let outcome = machine
        .run(&execution(json!({})), resume, &invoker, &clock, &sink)
        .await;
    assert_eq!(outcome, Ok(succeeded(json!([10, 20, 30]))));
    assert_eq!(invoker.calls_to(F), [json!(3)]);
    // The interrupted attempt goes on: no second MapStateStarted, one start per iteration.
    history.extend(sink.events());
    let started = |f: &dyn Fn(&HistoryEvent) -> bool| history.iter().filter(|e| f(e)).count();
    assert_eq!(started(&|e| matches!(e, HistoryEvent::MapStateStarted { .. })), 1);
    for index in 0..3 {
        let n = started(&|e| matches!(e, HistoryEvent::MapIterationStarted { index: i, .. } if *i == index));
        assert_eq!(n, 1, "iteration {index}");
    }
}

#[tokio::test]
async fn an_iteration_resumes_at_its_own_state_with_the_variables_it_had_assigned() {
    // Each iteration assigns `$doubled` in a Pass, then calls the task with it.
    let mut definition = task_map(
        json!({"Double": {"Type": "Pass", "Assign": {"doubled.$": "States.MathAdd($, $)"},
        "Next": "Times"}}),
    );
    definition["States"]["Each"]["ItemProcessor"]["StartAt"] = json!("Double");
    definition["States"]["Each"]["ItemProcessor"]["States"]["Times"]["Parameters"] = json!({"n.$": "$doubled"});
    let machine = load(&definition, &FakeInvoker::new());
    let invoker = FakeInvoker::new().then(F, [Reply::Ok(json!("a")), Reply::Hang]);
    let history = run_until_stuck(&machine, &[], &invoker).await;

    let invoker = FakeInvoker::new().always(F, Reply::Ok(json!("b")));
    let (outcome, sink) = resume_after_crash(&machine, history, &invoker).await;
    assert_eq!(outcome, Ok(succeeded(json!(["a", "b", "b"]))));
    // Item 1 resumed at `Times` (its Pass is not re-run) and still saw its `$doubled`.
    assert_eq!(invoker.calls_to(F), [json!({"n": 4}), json!({"n": 6})]);
    let passes = sink
        .events()
        .iter()
        .filter(|e| {
            matches!(e.unscoped(),
        HistoryEvent::StateEntered { state, .. } if state == "Double")
        })
        .count();
    assert_eq!(passes, 1, "only item 2's Pass runs after resuming");
}

#[tokio::test]
async fn a_parallel_resumed_after_a_crash_keeps_the_branches_that_finished() {
    const G: &str = "arn:aws:lambda:eu-west-1:123456789012:function:g";
    let branch = |resource: &str| json!({"StartAt": "Call", "States": {"Call": {"Type": "Task", "Resource": resource, "End": true}}});
    let definition = json!({"StartAt": "Fan", "States": {"Fan": {"Type": "Parallel",
        "Branches": [branch(F), branch(G)], "End": true}}});
    let machine = load(&definition, &FakeInvoker::new());
    let invoker = FakeInvoker::new()
        .then(F, [Reply::Ok(json!("f"))])
        .then(G, [Reply::Hang]);
    let history = run_until_stuck(&machine, &[], &invoker).await;

    let invoker = FakeInvoker::new().always(G, Reply::Ok(json!("g")));
    let (outcome, sink) = resume_after_crash(&machine, history, &invoker).await;
    assert_eq!(outcome, Ok(succeeded(json!(["f", "g"]))));
    assert!(
        invoker.calls_to(F).is_empty(),
        "branch 0 had finished: {:?}",
        invoker.calls()
    );
    assert_eq!(invoker.calls_to(G).len(), 1);
    assert!(
        !sink
            .events()
            .iter()
            .any(|e| matches!(e, HistoryEvent::ParallelStateStarted { .. }))
    );
}

#[tokio::test]
async fn a_map_whose_attempt_had_failed_or_whose_last_state_has_a_catcher_runs_again() {
    // The attempt failed before the crash (during the retry's wait): the retry starts afresh.
    let mut definition = task_map(json!({}));
    definition["States"]["Each"]["Retry"] = json!([{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 5}]);
    let machine = load(&definition, &FakeInvoker::new());
    let invoker = FakeInvoker::new().then(F, [Reply::Ok(json!(1)), Reply::Fail("Boom", "")]);
    let (clock, sink) = (FakeClock::new(), RecordingSink::new());
    let input = json!({"items": [1, 2, 3]});
    let failed = machine
        .run(
            &execution(input.clone()),
            Resume::Start { input },
            &invoker,
            &clock,
            &sink,
        )
        .await;
    assert!(matches!(failed, Ok(Outcome::Failed { .. })), "{failed:?}");
    let mut history = sink.events();
    // Cut the history where the retry was waiting: after the first attempt's MapStateFailed.
    let cut = history
        .iter()
        .position(|e| matches!(e, HistoryEvent::MapStateFailed { .. }));
    history.truncate(cut.map_or(0, |i| i + 1));
    let invoker = FakeInvoker::new().always(F, Reply::Ok(json!(0)));
    let (outcome, _) = resume_after_crash(&machine, history, &invoker).await;
    assert_eq!(outcome, Ok(succeeded(json!([0, 0, 0]))));
    assert_eq!(invoker.calls_to(F).len(), 3, "every item runs again");

    // A last state with a Catcher might have been caught, so it runs again on resume.
    let mut definition = task_map(json!({"Caught": {"Type": "Pass", "End": true}}));
    definition["States"]["Each"]["ItemProcessor"]["States"]["Times"]["Catch"] =
        json!([{"ErrorEquals": ["States.ALL"], "Next": "Caught"}]);
    let machine = load(&definition, &FakeInvoker::new());
    let invoker = FakeInvoker::new().then(F, [Reply::Ok(json!(1)), Reply::Hang]);
    let history = run_until_stuck(&machine, &[], &invoker).await;
    let invoker = FakeInvoker::new().always(F, Reply::Ok(json!(0)));
    let (outcome, _) = resume_after_crash(&machine, history, &invoker).await;
    assert_eq!(outcome, Ok(succeeded(json!([0, 0, 0]))));
    assert_eq!(invoker.calls_to(F).len(), 3);
}
