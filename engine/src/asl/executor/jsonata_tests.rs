//! JSONata states: `Arguments`, `Output`, `Assign`, `$states`, Choice `Condition`, Map
//! `Items`, Wait and Fail expressions, Catchers, and the errors AWS names for each failure.

use serde_json::{Value, json};

use super::tests::{F, error_of, load, run, succeeded};
use crate::asl::testing::{FakeInvoker, Reply};
use crate::asl::{HistoryEvent, StateMachine};

fn jsonata(states: Value, start: &str) -> Value {
    json!({"QueryLanguage": "JSONata", "StartAt": start, "States": states})
}

fn refused(definition: Value) -> String {
    match StateMachine::load(&definition.to_string(), &Default::default(), &FakeInvoker::new()) {
        Ok(m) => panic!("loaded: {m:?}"),
        Err(e) => e.to_string(),
    }
}

#[tokio::test]
async fn a_task_gets_arguments_and_output_sees_input_result_and_variables() {
    let invoker = FakeInvoker::new().always(F, Reply::Ok(json!({"total": 7})));
    let definition = jsonata(
        json!({
            "Init": {"Type": "Pass", "Assign": {"shop": "{% $states.input.vendor %}"}, "Next": "T"},
            "T": {
                "Type": "Task", "Resource": F,
                "Arguments": {"order": "{% $states.input.id %}", "at": "{% $states.context.Execution.Name %}", "fixed": "$.not-a-path", "n": [1, "{% 1 + 1 %}"]},
                "Output": {"id": "{% $states.input.id %}", "total": "{% $states.result.total %}", "shop": "{% $shop %}"},
                "Assign": {"seen": "{% $states.result.total * 2 %}"},
                "Next": "Done"
            },
            "Done": {"Type": "Succeed", "Output": "{% $merge([$states.input, {'seen': $seen}]) %}"}
        }),
        "Init",
    );
    let ran = run(definition, json!({"id": "o-1", "vendor": "v-9"}), &invoker).await;
    assert_eq!(
        ran.outcome,
        succeeded(json!({"id": "o-1", "total": 7, "shop": "v-9", "seen": 14}))
    );
    assert_eq!(
        invoker.calls_to(F),
        [json!({"order": "o-1", "at": "exec-1", "fixed": "$.not-a-path", "n": [1, 2]})]
    );
    let exit = ran.events.iter().find_map(|e| match e {
        HistoryEvent::StateExited { state, assigned, .. } if state == "T" => Some(assigned.clone()),
        _ => None,
    });
    assert_eq!(exit, Some(json!({"seen": 14}).as_object().cloned()));
}

#[tokio::test]
async fn without_output_a_task_outputs_its_result_and_a_pass_its_input() {
    let invoker = FakeInvoker::new().always(F, Reply::Ok(json!({"r": 1})));
    let definition = jsonata(
        json!({"P": {"Type": "Pass", "Next": "T"}, "T": {"Type": "Task", "Resource": F, "End": true}}),
        "P",
    );
    let ran = run(definition, json!({"in": true}), &invoker).await;
    assert_eq!(ran.outcome, succeeded(json!({"r": 1})));
    assert_eq!(
        invoker.calls_to(F),
        [json!({"in": true})],
        "no Arguments: the task gets the input"
    );
}

#[tokio::test]
async fn an_undefined_value_is_a_query_evaluation_error_that_catch_sees() {
    let definition = jsonata(
        json!({
            "T": {
                "Type": "Task", "Resource": F,
                "Arguments": {"x": "{% $states.input.missing %}"},
                "Catch": [{
                    "ErrorEquals": ["States.QueryEvaluationError"], "Next": "Caught",
                    "Output": {"why": "{% $states.errorOutput.Error %}", "was": "{% $states.input %}"},
                    "Assign": {"cause": "{% $states.errorOutput.Cause %}"}
                }],
                "End": true
            },
            "Caught": {"Type": "Pass", "Output": "{% $merge([$states.input, {'cause': $cause}]) %}", "End": true}
        }),
        "T",
    );
    let invoker = FakeInvoker::new();
    let ran = run(definition, json!({"a": 1}), &invoker).await;
    let crate::asl::Outcome::Succeeded { output } = &ran.outcome else {
        panic!("{:?}", ran.outcome)
    };
    assert_eq!(output["why"], "States.QueryEvaluationError");
    assert_eq!(output["was"], json!({"a": 1}));
    assert_eq!(
        output["cause"],
        "Arguments: the JSONata expression `$states.input.missing` returned nothing (undefined)"
    );
    assert!(invoker.calls().is_empty(), "the task never ran");
}

#[tokio::test]
async fn a_catcher_without_output_outputs_the_error_output() {
    let invoker = FakeInvoker::new().always(F, Reply::Fail("Boom", "it broke"));
    let definition = jsonata(
        json!({"T": {"Type": "Task", "Resource": F, "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "End"}], "End": true},
               "End": {"Type": "Succeed"}}),
        "T",
    );
    let ran = run(definition, json!({}), &invoker).await;
    assert_eq!(ran.outcome, succeeded(json!({"Error": "Boom", "Cause": "it broke"})));
}

#[tokio::test]
async fn choice_conditions_pick_the_first_true_rule_with_its_output_and_assign() {
    let definition = jsonata(
        json!({
            "C": {
                "Type": "Choice",
                "Choices": [
                    {"Condition": "{% $states.input.n > 10 %}", "Next": "Big", "Output": {"size": "big"}, "Assign": {"rule": 1}},
                    {"Condition": "{% $states.input.n > 5 %}", "Next": "Big", "Output": {"size": "medium"}, "Assign": {"rule": 2}}
                ],
                "Default": "Small",
                "Output": {"size": "small"},
                "Assign": {"rule": 0}
            },
            "Big": {"Type": "Pass", "Output": "{% $merge([$states.input, {'rule': $rule}]) %}", "End": true},
            "Small": {"Type": "Pass", "Output": "{% $merge([$states.input, {'rule': $rule}]) %}", "End": true}
        }),
        "C",
    );
    for (n, expected) in [
        (20, json!({"size": "big", "rule": 1})),
        (7, json!({"size": "medium", "rule": 2})),
        (1, json!({"size": "small", "rule": 0})),
    ] {
        let ran = run(definition.clone(), json!({"n": n}), &FakeInvoker::new()).await;
        assert_eq!(ran.outcome, succeeded(expected), "n = {n}");
    }
    let not_boolean = jsonata(
        json!({"C": {"Type": "Choice", "Choices": [{"Condition": "{% $states.input.n %}", "Next": "D"}], "Default": "D"}, "D": {"Type": "Succeed"}}),
        "C",
    );
    let ran = run(not_boolean, json!({"n": 3}), &FakeInvoker::new()).await;
    let (error, cause) = error_of(&ran.outcome);
    assert_eq!(error, "States.QueryEvaluationError");
    assert!(cause.contains("Condition must give a boolean, not a number"), "{cause}");
}

#[tokio::test]
async fn map_items_and_item_selector_see_the_item_and_the_state_input() {
    let definition = jsonata(
        json!({
            "M": {
                "Type": "Map",
                "Items": "{% $states.input.lines %}",
                "ItemSelector": {"sku": "{% $states.context.Map.Item.Value.sku %}", "index": "{% $states.context.Map.Item.Index %}", "shop": "{% $states.input.shop %}"},
                "MaxConcurrency": "{% 2 %}",
                "ItemProcessor": {"StartAt": "Line", "States": {"Line": {"Type": "Pass", "Output": "{% $states.input.shop & ':' & $states.input.sku & '#' & $states.input.index %}", "End": true}}},
                "Output": {"lines": "{% $states.result %}", "count": "{% $count($states.result) %}"},
                "End": true
            }
        }),
        "M",
    );
    let input = json!({"shop": "v-1", "lines": [{"sku": "latte"}, {"sku": "mocha"}]});
    let ran = run(definition, input, &FakeInvoker::new()).await;
    assert_eq!(
        ran.outcome,
        succeeded(json!({"lines": ["v-1:latte#0", "v-1:mocha#1"], "count": 2}))
    );
    let literal = jsonata(
        json!({"M": {"Type": "Map", "Items": [1, "{% 1 + 1 %}", 3], "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "Output": "{% $states.input * 10 %}", "End": true}}}, "End": true}}),
        "M",
    );
    let ran = run(literal, json!({}), &FakeInvoker::new()).await;
    assert_eq!(ran.outcome, succeeded(json!([10, 20, 30])));
}

#[tokio::test]
async fn parallel_arguments_reach_every_branch_and_output_sees_the_array() {
    let branch = |name: &str| json!({"StartAt": name, "States": {name: {"Type": "Pass", "Output": {"branch": name, "v": "{% $states.input.v %}"}, "End": true}}});
    let definition = jsonata(
        json!({"P": {"Type": "Parallel", "Arguments": {"v": "{% $states.input.x + 1 %}"}, "Branches": [branch("A"), branch("B")],
                     "Output": "{% $states.result.branch %}", "End": true}}),
        "P",
    );
    let ran = run(definition, json!({"x": 1}), &FakeInvoker::new()).await;
    assert_eq!(ran.outcome, succeeded(json!(["A", "B"])));
}

#[tokio::test]
async fn wait_seconds_and_timestamp_and_task_timeout_may_be_expressions() {
    let invoker = FakeInvoker::new().always(F, Reply::Hang);
    let definition = jsonata(
        json!({
            "W": {"Type": "Wait", "Seconds": "{% $states.input.delay %}", "Next": "W2"},
            "W2": {"Type": "Wait", "Timestamp": "{% $states.input.until %}", "Next": "T"},
            "T": {"Type": "Task", "Resource": F, "TimeoutSeconds": "{% $states.input.delay * 3 %}", "End": true}
        }),
        "W",
    );
    let input = json!({"delay": 2, "until": "2026-03-01T08:00:10Z"});
    let ran = run(definition, input, &invoker).await;
    assert_eq!(error_of(&ran.outcome).0, "States.Timeout");
    assert_eq!(ran.sleeps, super::tests::secs(&[2, 8, 6]));
    let bad = jsonata(
        json!({"W": {"Type": "Wait", "Seconds": "{% 'soon' %}", "End": true}}),
        "W",
    );
    let ran = run(bad, json!({}), &FakeInvoker::new()).await;
    assert_eq!(
        error_of(&ran.outcome),
        (
            "States.QueryEvaluationError",
            "Seconds must give a non-negative integer, not \"soon\""
        )
    );
}

#[tokio::test]
async fn fail_error_and_cause_may_be_expressions() {
    let definition = jsonata(
        json!({"F": {"Type": "Fail", "Error": "{% 'Order.' & $states.input.kind %}", "Cause": "plain text"}}),
        "F",
    );
    let ran = run(definition, json!({"kind": "Rejected"}), &FakeInvoker::new()).await;
    assert_eq!(error_of(&ran.outcome), ("Order.Rejected", "plain text"));
}

#[tokio::test]
async fn a_jsonata_state_in_a_jsonpath_machine_and_branches_take_the_machine_language() {
    let definition = json!({
        "StartAt": "Old",
        "States": {
            "Old": {"Type": "Pass", "Parameters": {"n.$": "$.n"}, "Next": "New"},
            "New": {"Type": "Parallel", "QueryLanguage": "JSONata", "Output": "{% $states.result[0] %}", "End": true,
                    "Branches": [{"StartAt": "B", "States": {"B": {"Type": "Pass", "Parameters": {"doubled.$": "States.MathAdd($.n, $.n)"}, "End": true}}}]}
        }
    });
    let ran = run(definition, json!({"n": 4}), &FakeInvoker::new()).await;
    assert_eq!(ran.outcome, succeeded(json!({"doubled": 8})));
}

#[test]
fn load_refuses_fields_of_the_other_language_and_unreachable_states_members() {
    let cases = [
        (
            jsonata(json!({"S": {"Type": "Pass", "InputPath": "$.a", "End": true}}), "S"),
            "state `S`, field `InputPath`: is a JSONPath field and this state's QueryLanguage is JSONata: read `$states.input`",
        ),
        (
            jsonata(
                json!({"S": {"Type": "Task", "Resource": F, "Parameters": {}, "End": true}}),
                "S",
            ),
            "field `Parameters`: is a JSONPath field and this state's QueryLanguage is JSONata: use `Arguments`",
        ),
        (
            json!({"StartAt": "S", "States": {"S": {"Type": "Pass", "Output": {}, "End": true}}}),
            "field `Output`: is a JSONata field: set `\"QueryLanguage\": \"JSONata\"`",
        ),
        (
            jsonata(
                json!({"S": {"Type": "Pass", "QueryLanguage": "JSONPath", "End": true}}),
                "S",
            ),
            "a state cannot be JSONPath where the definition is JSONata",
        ),
        (
            jsonata(
                json!({"S": {"Type": "Pass", "Output": {"a.$": "$.x"}, "End": true}}),
                "S",
            ),
            "field `Output.a.$`: a `.$` key is JSONPath",
        ),
        (
            jsonata(
                json!({"S": {"Type": "Pass", "Output": "{% $states.input.( %}", "End": true}}),
                "S",
            ),
            "field `Output`: `{% $states.input.( %}` is not a JSONata expression",
        ),
        (
            jsonata(
                json!({"S": {"Type": "Pass", "Output": "{% $eval('1') %}", "End": true}}),
                "S",
            ),
            "`$eval` is not available in Step Functions' JSONata",
        ),
        (
            jsonata(
                json!({"S": {"Type": "Task", "Resource": F, "Arguments": "{% $states.result %}", "End": true}}),
                "S",
            ),
            "field `Arguments`: `{% $states.result %}` reads `$states.result`, which exists only in the `Output` and `Assign` of a Task",
        ),
        (
            jsonata(
                json!({"S": {"Type": "Pass", "Output": "{% $states.errorOutput %}", "End": true}}),
                "S",
            ),
            "reads `$states.errorOutput`, which exists only in a Catcher's",
        ),
        (
            jsonata(
                json!({"S": {"Type": "Choice", "Choices": [{"Variable": "$.a", "IsNull": true, "Next": "S"}]}}),
                "S",
            ),
            "field `Choices[0].Variable`: is a JSONPath Choice rule field",
        ),
        (
            jsonata(
                json!({"S": {"Type": "Pass", "Assign": {"states": 1}, "End": true}}),
                "S",
            ),
            "`states` is reserved",
        ),
        (
            jsonata(
                json!({"S": {"Type": "Task", "Resource": F, "TimeoutSeconds": "soon", "End": true}}),
                "S",
            ),
            "field `TimeoutSeconds`: must be an integer from 1 to 99999999 or a `{% … %}` expression",
        ),
        (
            jsonata(
                json!({"S": {"Type": "Map", "Items": {"a": 1}, "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Succeed"}}}, "End": true}}),
                "S",
            ),
            "field `Items`: must be an array or a `{% … %}` expression",
        ),
    ];
    for (definition, expected) in cases {
        let message = refused(definition.clone());
        assert!(
            message.contains(expected),
            "{definition}\n  message: {message}\n  expected: {expected}"
        );
    }
    // Not an expression: a literal string, even with `{%` inside.
    let machine = load(
        &jsonata(json!({"S": {"Type": "Pass", "Output": " {% 1 %}", "End": true}}), "S"),
        &FakeInvoker::new(),
    );
    assert_eq!(machine.state_names().count(), 1);
}

/// AWS's documented examples, with their documented inputs and results.
#[tokio::test]
async fn the_documented_examples_give_the_documented_results() {
    let invoker = FakeInvoker::new();
    // https://docs.aws.amazon.com/step-functions/latest/dg/transforming-data.html: an expression
    // at any depth (`"Items": [1, "{% $two %}", 3]`), and a string without `{% %}` is a literal.
    let definition = jsonata(
        json!({
            "Two": {"Type": "Pass", "Assign": {"two": 2}, "Next": "M"},
            "M": {"Type": "Map", "Items": [1, "{% $two %}", 3],
                  "ItemProcessor": {"StartAt": "I", "States": {"I": {"Type": "Pass", "End": true}}},
                  "Next": "L"},
            "L": {"Type": "Pass", "Output": {"items": "{% $states.input %}", "not-evaluated": "$customerName"}, "End": true}
        }),
        "Two",
    );
    let ran = run(definition, json!({}), &invoker).await;
    assert_eq!(
        ran.outcome,
        succeeded(json!({"items": [1, 2, 3], "not-evaluated": "$customerName"}))
    );

    // https://docs.aws.amazon.com/step-functions/latest/dg/workflow-variables.html: with x = 3
    // and a = 6, `{"x": "{% $a %}", "nextX": "{% $x %}"}` gives x = 6 and nextX = 3, because
    // every assignment sees the values from before the state.
    let definition = jsonata(
        json!({
            "Init": {"Type": "Pass", "Assign": {"x": 3, "a": 6}, "Next": "Swap"},
            "Swap": {"Type": "Pass", "Assign": {"x": "{% $a %}", "nextX": "{% $x %}"}, "Next": "Show"},
            "Show": {"Type": "Pass", "Output": {"x": "{% $x %}", "nextX": "{% $nextX %}"}, "End": true}
        }),
        "Init",
    );
    let ran = run(definition, json!({}), &invoker).await;
    assert_eq!(ran.outcome, succeeded(json!({"x": 6, "nextX": 3})));

    // https://states-language.net/spec.html (Map, JSONata): `"Assign": {"shipped": "{% $states.result %}"}`
    // assigns the array of iteration outputs, in item order.
    let definition = jsonata(
        json!({
            "M": {"Type": "Map", "Items": "{% $states.input.parcels %}",
                  "ItemProcessor": {"StartAt": "I", "States": {"I": {"Type": "Pass", "Output": "{% $states.input.prod %}", "End": true}}},
                  "Assign": {"shipped": "{% $states.result %}"}, "Next": "Show"},
            "Show": {"Type": "Pass", "Output": "{% $shipped %}", "End": true}
        }),
        "M",
    );
    let ran = run(
        definition,
        json!({"parcels": [{"prod": "R31"}, {"prod": "S39"}, {"prod": "R40"}]}),
        &invoker,
    )
    .await;
    assert_eq!(ran.outcome, succeeded(json!(["R31", "S39", "R40"])));
}
