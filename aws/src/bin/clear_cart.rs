//! Lambda `clear_cart`: SQS batches of completed orders → conditional delete of each cart
//! item, only while it still holds that order.

use aws_lambda_events::sqs::SqsEvent;
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use skipline_aws::lambda::{cart_from_env, init_tracing};
use skipline_handlers::clear_cart::ClearCart;

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let cart = cart_from_env().await?;
    let consumer = ClearCart { cart: &cart };
    let consumer = &consumer;
    run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        Ok::<_, Error>(consumer.handle(event.payload).await)
    }))
    .await
}
