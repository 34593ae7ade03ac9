//! Skip the Line on AWS: an adapter per port (DynamoDB, S3), helpers for the topic, queues and
//! state machine, and the glue the seven Lambda entrypoints (`src/bin/`) share.
//!
//! What this crate is for: everything that speaks the AWS SDK. What it is not for: behaviour —
//! that lives in `skipline-handlers`, which never sees an SDK type.
//!
//! - [`config`]: settings from the environment or CDK outputs, and SDK clients.
//! - [`dynamodb_cart`], [`dynamodb_vendors`], [`dynamodb_invoice_index`], [`s3_invoices`],
//!   [`deliveries`]: the port adapters.
//! - [`sns`], [`sqs`], [`sfn`]: topic, queue and state-machine operations for the CLI backend.
//! - [`lambda`]: what the entrypoints share (logging, event shapes, error types).
//! - [`invoker`] and [`esm`]: Step Functions' task dispatch and Lambda's SQS event source
//!   mapping, in-process, so the flow can run against an AWS-compatible endpoint without Lambda.
//!
//! The SDK crates are re-exported so that tests and the CLI use exactly these versions.

/// A DynamoDB port adapter: the client and its table's name, built by `new`, as every table
/// adapter in this crate is.
macro_rules! dynamo_table_adapter {
    ($(#[$attr:meta])* $name:ident) => {
        $(#[$attr])*
        #[derive(Debug, Clone)]
        pub struct $name {
            client: aws_sdk_dynamodb::Client,
            table: String,
        }

        impl $name {
            pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
                Self {
                    client,
                    table: table.into(),
                }
            }
        }
    };
}

pub mod config;
pub mod deliveries;
pub mod dynamodb_cart;
pub mod dynamodb_invoice_index;
pub mod dynamodb_json;
pub mod dynamodb_vendors;
pub mod error;
pub mod esm;
pub mod invoker;
pub mod lambda;
mod pages;
pub mod s3_invoices;
pub mod sfn;
pub mod sns;
pub mod sqs;

pub use aws_config;
pub use aws_lambda_events;
pub use aws_sdk_dynamodb;
pub use aws_sdk_s3;
pub use aws_sdk_sfn;
pub use aws_sdk_sns;
pub use aws_sdk_sqs;
pub use lambda_runtime;

pub use config::{AwsClients, ConfigError, Setting, Settings};
pub use deliveries::{DynamoDeliveryLog, SnsPublisher, SqsDeliveryQueue, SqsVisibility};
pub use dynamodb_cart::DynamoCart;
pub use dynamodb_invoice_index::DynamoInvoiceIndex;
pub use dynamodb_vendors::DynamoVendorDirectory;
pub use error::{AwsError, SdkFailure};
pub use s3_invoices::S3Invoices;
