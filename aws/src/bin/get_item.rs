//! Lambda `get_item`: `GET /order?accountid=&vendorid=` behind API Gateway (proxy integration),
//! with the same statuses and error body as the local API.

use aws_lambda_events::apigw::ApiGatewayProxyRequest;
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use skipline_aws::lambda::{cart_from_env, get_item_response, init_tracing};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let cart = &cart_from_env().await?;
    run(service_fn(
        move |event: LambdaEvent<ApiGatewayProxyRequest>| async move {
            Ok::<_, Error>(get_item_response(cart, &event.payload).await)
        },
    ))
    .await
}
