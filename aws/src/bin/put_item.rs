//! Lambda `put_item`: the flow's first step. Input is the state's JSON; a failure's
//! `errorType` is the `StepError` name the state machine's Retry and Catch match.

use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use serde_json::Value;
use skipline_aws::DynamoCart;
use skipline_aws::config::{Setting, dynamodb_client, load_sdk_config};
use skipline_aws::lambda::{StepFailure, init_tracing, orderid_of, put_item_step, required_env};
use skipline_handlers::ports::SystemClock;
use tracing::Instrument;

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let table = required_env(Setting::CartTable)?;
    let cart = DynamoCart::new(dynamodb_client(&load_sdk_config(None).await), table);
    let cart = &cart;
    run(service_fn(move |event: LambdaEvent<Value>| async move {
        let span = tracing::info_span!("put_item", orderid = %orderid_of(&event.payload));
        put_item_step(cart, &SystemClock, event.payload)
            .instrument(span)
            .await
            .map_err(StepFailure)
    }))
    .await
}
