//! Lambda `get_object`: `GET /invoice?objectKey=` and `GET /orders/{orderid}/invoice` behind
//! API Gateway; only keys of the invoice shape are ever read.

use aws_lambda_events::apigw::ApiGatewayProxyRequest;
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use skipline_aws::S3Invoices;
use skipline_aws::config::{Setting, load_sdk_config, s3_client};
use skipline_aws::lambda::{get_object_response, init_tracing, required_env};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let bucket = required_env(Setting::InvoiceBucket)?;
    let invoices = S3Invoices::new(s3_client(&load_sdk_config(None).await), bucket);
    let invoices = &invoices;
    run(service_fn(
        move |event: LambdaEvent<ApiGatewayProxyRequest>| async move {
            Ok::<_, Error>(get_object_response(invoices, &event.payload).await)
        },
    ))
    .await
}
