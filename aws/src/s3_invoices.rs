//! [`InvoiceStore`] on S3, with conditional writes (`If-None-Match: *`), so a retried
//! put_object step can never overwrite an invoice that was already issued.

use crate::error::SdkFailure;
use async_trait::async_trait;
use aws_sdk_s3::Client;
use aws_sdk_s3::error::SdkError;
use aws_sdk_s3::operation::get_object::GetObjectError;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use skipline_handlers::ports::{InvoiceStore, PutBlobOutcome, StoreError};
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct S3Invoices {
    client: Client,
    bucket: String,
}

impl S3Invoices {
    pub fn new(client: Client, bucket: impl Into<String>) -> Self {
        Self {
            client,
            bucket: bucket.into(),
        }
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// A time-limited GET URL for `key`, so `/invoice` can hand out a link instead of proxying
    /// the body. Presigning is local computation; the object is not checked to exist.
    pub async fn presigned_get(&self, key: &str, ttl: Duration) -> Result<String, StoreError> {
        let config = PresigningConfig::expires_in(ttl).map_err(|e| StoreError::Unavailable(format!("presign: {e}")))?;
        let request = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .presigned(config)
            .await
            .map_err(|e| SdkFailure::new("S3 GetObject (presign)", &e))?;
        Ok(request.uri().to_string())
    }
}

#[async_trait]
impl InvoiceStore for S3Invoices {
    async fn put_new(&self, key: &str, body: &[u8]) -> Result<PutBlobOutcome, StoreError> {
        let result = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type("application/json")
            .if_none_match("*")
            .body(ByteStream::from(body.to_vec()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(PutBlobOutcome::Created),
            Err(e) => {
                let failure = SdkFailure::new("S3 PutObject", &e);
                // 412: something exists under the key. 409 (ConditionalRequestConflict) is a
                // concurrent conditional write in flight: transient, so the step retries.
                if failure.status == Some(412) || failure.code_is("PreconditionFailed") {
                    Ok(PutBlobOutcome::AlreadyExists)
                } else {
                    Err(StoreError::Unavailable(failure.message))
                }
            }
        }
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let result = self.client.get_object().bucket(&self.bucket).key(key).send().await;
        let out = match result {
            Ok(out) => out,
            Err(SdkError::ServiceError(ctx)) if matches!(ctx.err(), GetObjectError::NoSuchKey(_)) => return Ok(None),
            Err(e) => return Err(SdkFailure::new("S3 GetObject", &e).into()),
        };
        let bytes = out
            .body
            .collect()
            .await
            .map_err(|e| StoreError::Unavailable(format!("S3 GetObject {key}: reading the body: {e}")))?;
        Ok(Some(bytes.into_bytes().to_vec()))
    }
}
