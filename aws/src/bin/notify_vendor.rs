//! Lambda `notify_vendor`: SQS batches of completed orders → one message per vendor endpoint
//! on the deliveries queue, each of which `deliver_ticket` sends on its own schedule.

use aws_lambda_events::sqs::SqsEvent;
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use skipline_aws::config::{Setting, dynamodb_client, load_sdk_config, sqs_client};
use skipline_aws::lambda::{init_tracing, required_env};
use skipline_aws::{DynamoDeliveryLog, DynamoVendorDirectory, SqsDeliveryQueue};
use skipline_handlers::notify_vendor::NotifyVendor;
use skipline_handlers::ports::SystemClock;
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let sdk = load_sdk_config(None).await;
    let dynamodb = dynamodb_client(&sdk);
    let directory = DynamoVendorDirectory::new(dynamodb.clone(), required_env(Setting::VendorTable)?);
    let queue = SqsDeliveryQueue {
        sqs: sqs_client(&sdk),
        queue_url: required_env(Setting::DeliveryQueueUrl)?,
        log: DynamoDeliveryLog::new(dynamodb, required_env(Setting::DeliveryTable)?, Arc::new(SystemClock)),
    };
    let consumer = NotifyVendor {
        directory: &directory,
        deliveries: &queue,
    };
    let consumer = &consumer;
    run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        Ok::<_, Error>(consumer.handle(event.payload).await)
    }))
    .await
}
