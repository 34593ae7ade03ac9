//! Lambda `put_object`: renders the invoice and writes it once (S3 `If-None-Match: *`); the
//! output carries the completion event and its attributes for the publish step.

use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use serde_json::Value;
use skipline_aws::config::{Setting, dynamodb_client, load_sdk_config, s3_client};
use skipline_aws::lambda::{StepFailure, init_tracing, orderid_of, put_object_step, required_env};
use skipline_aws::{DynamoInvoiceIndex, S3Invoices};
use skipline_handlers::ports::SystemClock;
use tracing::Instrument;

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let bucket = required_env(Setting::InvoiceBucket)?;
    let index_table = required_env(Setting::InvoiceIndexTable)?;
    let sdk = load_sdk_config(None).await;
    let invoices = S3Invoices::new(s3_client(&sdk), bucket);
    let index = DynamoInvoiceIndex::new(dynamodb_client(&sdk), index_table);
    let (invoices, index) = (&invoices, &index);
    run(service_fn(move |event: LambdaEvent<Value>| async move {
        let span = tracing::info_span!("put_object", orderid = %orderid_of(&event.payload));
        put_object_step(invoices, index, &SystemClock, event.payload)
            .instrument(span)
            .await
            .map_err(StepFailure)
    }))
    .await
}
