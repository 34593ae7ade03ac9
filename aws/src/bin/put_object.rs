//! Lambda `put_object`: renders the invoice and writes it once (S3 `If-None-Match: *`); the
//! output carries the completion event and its attributes for the publish step.

use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use serde_json::Value;
use skipline_aws::lambda::{StepFailure, init_tracing, invoices_from_env, orderid_of, put_object_step};
use skipline_handlers::ports::SystemClock;
use tracing::Instrument;

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let (invoices, index) = &invoices_from_env().await?;
    run(service_fn(move |event: LambdaEvent<Value>| async move {
        let span = tracing::info_span!("put_object", orderid = %orderid_of(&event.payload));
        put_object_step(invoices, index, &SystemClock, event.payload)
            .instrument(span)
            .await
            .map_err(StepFailure)
    }))
    .await
}
