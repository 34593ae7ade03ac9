//! Lambda `notify_vendor`: SQS batches of completed orders → one signed webhook per vendor
//! endpoint, deduplicated by the delivery log; failed records are reported, not thrown.

use aws_lambda_events::sqs::SqsEvent;
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use skipline_aws::config::{Setting, dynamodb_client, load_sdk_config};
use skipline_aws::lambda::{init_tracing, required_env};
use skipline_aws::{DynamoDeliveryLog, DynamoVendorDirectory};
use skipline_handlers::notify_vendor::NotifyVendor;
use skipline_handlers::ports::SystemClock;
use skipline_http::{DEFAULT_TIMEOUT, HttpWebhookClient};
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let dynamodb = dynamodb_client(&load_sdk_config(None).await);
    let directory = DynamoVendorDirectory::new(dynamodb.clone(), required_env(Setting::VendorTable)?);
    let deliveries = DynamoDeliveryLog::new(dynamodb, required_env(Setting::DeliveryTable)?, Arc::new(SystemClock));
    // On AWS the SSRF guard is always on: vendor endpoints must be public HTTPS.
    let webhooks = HttpWebhookClient::new(DEFAULT_TIMEOUT, false)?;
    let consumer = NotifyVendor {
        directory: &directory,
        deliveries: &deliveries,
        webhooks: &webhooks,
        clock: &SystemClock,
        allow_private_endpoints: false,
    };
    let consumer = &consumer;
    run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        Ok::<_, Error>(consumer.handle(event.payload).await)
    }))
    .await
}
