//! Lambda `clear_cart`: SQS batches of completed orders → conditional delete of each cart
//! item, only while it still holds that order.

use aws_lambda_events::sqs::SqsEvent;
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use skipline_aws::DynamoCart;
use skipline_aws::config::{Setting, dynamodb_client, load_sdk_config};
use skipline_aws::lambda::{init_tracing, required_env};
use skipline_handlers::clear_cart::ClearCart;

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let table = required_env(Setting::CartTable)?;
    let cart = DynamoCart::new(dynamodb_client(&load_sdk_config(None).await), table);
    let consumer = ClearCart { cart: &cart };
    let consumer = &consumer;
    run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        Ok::<_, Error>(consumer.handle(event.payload).await)
    }))
    .await
}
