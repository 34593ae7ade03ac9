//! Lambda `get_object`: `GET /invoice?objectKey=` and `GET /orders/{orderid}/invoice` behind
//! API Gateway; only the two invoice key forms are ever read, the original sample's one and the
//! order id through the invoice index.

use aws_lambda_events::apigw::ApiGatewayProxyRequest;
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use skipline_aws::config::{Setting, dynamodb_client, load_sdk_config, s3_client};
use skipline_aws::lambda::{get_object_response, init_tracing, required_env};
use skipline_aws::{DynamoInvoiceIndex, S3Invoices};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let bucket = required_env(Setting::InvoiceBucket)?;
    let index_table = required_env(Setting::InvoiceIndexTable)?;
    let sdk = load_sdk_config(None).await;
    let invoices = S3Invoices::new(s3_client(&sdk), bucket);
    let index = DynamoInvoiceIndex::new(dynamodb_client(&sdk), index_table);
    let (invoices, index) = (&invoices, &index);
    run(service_fn(
        move |event: LambdaEvent<ApiGatewayProxyRequest>| async move {
            Ok::<_, Error>(get_object_response(invoices, index, &event.payload).await)
        },
    ))
    .await
}
