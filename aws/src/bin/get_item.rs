//! Lambda `get_item`: `GET /order?accountid=&vendorid=` behind API Gateway (proxy integration),
//! with the same statuses and error body as the local API.

use aws_lambda_events::apigw::ApiGatewayProxyRequest;
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use skipline_aws::DynamoCart;
use skipline_aws::config::{Setting, dynamodb_client, load_sdk_config};
use skipline_aws::lambda::{get_item_response, init_tracing, required_env};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let table = required_env(Setting::CartTable)?;
    let cart = DynamoCart::new(dynamodb_client(&load_sdk_config(None).await), table);
    let cart = &cart;
    run(service_fn(
        move |event: LambdaEvent<ApiGatewayProxyRequest>| async move {
            Ok::<_, Error>(get_item_response(cart, &event.payload).await)
        },
    ))
    .await
}
