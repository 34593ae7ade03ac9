//! Lambda `get_object`: `GET /invoice?objectKey=` and `GET /orders/{orderid}/invoice` behind
//! API Gateway; only the two invoice key forms are ever read, the original sample's one and the
//! order id through the invoice index.

use aws_lambda_events::apigw::ApiGatewayProxyRequest;
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use skipline_aws::lambda::{get_object_response, init_tracing, invoices_from_env};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let (invoices, index) = &invoices_from_env().await?;
    run(service_fn(
        move |event: LambdaEvent<ApiGatewayProxyRequest>| async move {
            Ok::<_, Error>(get_object_response(invoices, index, &event.payload).await)
        },
    ))
    .await
}
