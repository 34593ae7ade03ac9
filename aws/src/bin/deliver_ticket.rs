//! Lambda `deliver_ticket`: SQS batches from the deliveries queue → one signed POST each, then
//! done, retried on the schedule through `ChangeMessageVisibility`, or the endpoint disabled.
//!
//! `DELIVERY_SCHEDULE` (e.g. `5s,5m,30m,2h,5h,10h,10h`) and `DISABLE_AFTER_SECONDS` come from
//! the stack, which sets the queue's retention and maxReceiveCount from the same schedule.

use aws_lambda_events::sqs::SqsEvent;
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use skipline_aws::config::{Setting, dynamodb_client, load_sdk_config, sns_client, sqs_client};
use skipline_aws::lambda::{init_tracing, required_env};
use skipline_aws::{DynamoDeliveryLog, DynamoVendorDirectory, SnsPublisher, SqsVisibility};
use skipline_handlers::deliver::{DEFAULT_DISABLE_AFTER, DeliverTickets};
use skipline_handlers::ports::SystemClock;
use skipline_handlers::schedule::Schedule;
use skipline_http::{DEFAULT_TIMEOUT, HttpWebhookClient};
use std::sync::Arc;
use std::time::Duration;

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let schedule = match std::env::var("DELIVERY_SCHEDULE") {
        Ok(text) if !text.trim().is_empty() => Schedule::parse(&text)?,
        _ => Schedule::default(),
    };
    let disable_after = match std::env::var("DISABLE_AFTER_SECONDS") {
        Ok(text) => Duration::from_secs(
            text.trim()
                .parse()
                .map_err(|e| format!("DISABLE_AFTER_SECONDS={text:?}: {e}"))?,
        ),
        Err(_) => DEFAULT_DISABLE_AFTER,
    };
    let sdk = load_sdk_config(None).await;
    let dynamodb = dynamodb_client(&sdk);
    let directory = DynamoVendorDirectory::new(dynamodb.clone(), required_env(Setting::VendorTable)?);
    let log = DynamoDeliveryLog::new(dynamodb, required_env(Setting::DeliveryTable)?, Arc::new(SystemClock));
    let visibility = SqsVisibility {
        sqs: sqs_client(&sdk),
        queue_url: required_env(Setting::DeliveryQueueUrl)?,
    };
    let events = SnsPublisher {
        sns: sns_client(&sdk),
        topic_arn: required_env(Setting::TopicArn)?,
    };
    // On AWS the SSRF guard is always on: vendor endpoints must be public HTTPS.
    let webhooks = HttpWebhookClient::new(DEFAULT_TIMEOUT, false)?;
    let jitter = skipline_handlers::schedule::random_unit;
    let consumer = DeliverTickets {
        directory: &directory,
        log: &log,
        webhooks: &webhooks,
        visibility: &visibility,
        events: &events,
        clock: &SystemClock,
        schedule: &schedule,
        disable_after,
        allow_private_endpoints: false,
        jitter: &jitter,
    };
    let consumer = &consumer;
    run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        Ok::<_, Error>(consumer.handle(event.payload).await)
    }))
    .await
}
