//! Lambda `put_item`: the flow's first step. Input is the state's JSON; a failure's
//! `errorType` is the `StepError` name the state machine's Retry and Catch match.

use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use serde_json::Value;
use skipline_aws::lambda::{StepFailure, cart_from_env, init_tracing, orderid_of, put_item_step};
use skipline_handlers::ports::SystemClock;
use tracing::Instrument;

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let cart = &cart_from_env().await?;
    run(service_fn(move |event: LambdaEvent<Value>| async move {
        let span = tracing::info_span!("put_item", orderid = %orderid_of(&event.payload));
        put_item_step(cart, &SystemClock, event.payload)
            .instrument(span)
            .await
            .map_err(StepFailure)
    }))
    .await
}
