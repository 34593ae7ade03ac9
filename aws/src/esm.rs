//! A Lambda SQS event source mapping, in-process, over SQS: the [`EventSource`] adapter for the
//! mapping's one rule in `skipline_handlers::esm` (receive, consume, delete what succeeded),
//! with the records Lambda would build.

use crate::error::AwsError;
use crate::sqs;
use async_trait::async_trait;
use aws_lambda_events::encodings::Base64Data;
use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage, SqsMessageAttribute};
use aws_sdk_sqs::types::Message;
use skipline_handlers::esm::{EventSource, PollReport};
use skipline_handlers::ports::StoreError;
use std::future::Future;

#[derive(Debug, Clone)]
pub struct EventSourceMapping {
    client: aws_sdk_sqs::Client,
    queue_url: String,
    queue_arn: String,
    region: String,
    batch_size: usize,
    wait_seconds: i32,
}

fn unavailable(e: AwsError) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

impl EventSourceMapping {
    /// Resolves the queue's ARN once (records carry it as `eventSourceARN`).
    pub async fn new(client: aws_sdk_sqs::Client, queue_url: &str) -> Result<Self, AwsError> {
        let queue_arn = sqs::queue_arn(&client, queue_url).await?;
        let region = queue_arn.split(':').nth(3).unwrap_or_default().to_string();
        Ok(Self {
            client,
            queue_url: queue_url.to_string(),
            queue_arn,
            region,
            batch_size: 10,
            wait_seconds: 0,
        })
    }

    /// Batch size, 1 to 10 (the infra's mapping uses 10).
    pub fn with_batch_size(mut self, size: usize) -> Self {
        self.batch_size = size.clamp(1, sqs::MAX_BATCH);
        self
    }

    /// Long-poll wait per receive, 0 to 20 seconds.
    pub fn with_wait_seconds(mut self, seconds: i32) -> Self {
        self.wait_seconds = seconds.clamp(0, 20);
        self
    }

    pub fn queue_url(&self) -> &str {
        &self.queue_url
    }

    /// Receives one batch and runs `consumer` on it, by the mapping's one rule
    /// ([`skipline_handlers::esm::poll_once`]).
    pub async fn poll_once<F, Fut>(&self, consumer: F) -> Result<PollReport, StoreError>
    where
        F: FnOnce(SqsEvent) -> Fut,
        Fut: Future<Output = SqsBatchResponse>,
    {
        skipline_handlers::esm::poll_once(self, consumer).await
    }

    /// The event Lambda would deliver for these messages.
    pub fn event(&self, messages: &[Message]) -> SqsEvent {
        let mut event = SqsEvent::default();
        event.records = messages.iter().map(|m| self.record(m)).collect();
        event
    }

    fn record(&self, m: &Message) -> SqsMessage {
        let mut r = SqsMessage::default();
        r.message_id = m.message_id.clone();
        r.receipt_handle = m.receipt_handle.clone();
        r.body = m.body.clone();
        r.md5_of_body = m.md5_of_body.clone();
        r.md5_of_message_attributes = m.md5_of_message_attributes.clone();
        r.attributes = m
            .attributes
            .as_ref()
            .map(|a| a.iter().map(|(k, v)| (k.as_str().to_string(), v.clone())).collect())
            .unwrap_or_default();
        r.message_attributes = m
            .message_attributes
            .as_ref()
            .map(|attrs| {
                attrs
                    .iter()
                    .map(|(name, v)| {
                        let mut a = SqsMessageAttribute::default();
                        a.data_type = Some(v.data_type.clone());
                        a.string_value = v.string_value.clone();
                        a.binary_value = v.binary_value.as_ref().map(|b| base64_data(b.as_ref()));
                        a.string_list_values = v.string_list_values.clone().unwrap_or_default();
                        a.binary_list_values = v
                            .binary_list_values
                            .iter()
                            .flatten()
                            .map(|b| base64_data(b.as_ref()))
                            .collect();
                        (name.clone(), a)
                    })
                    .collect()
            })
            .unwrap_or_default();
        r.event_source = Some("aws:sqs".to_string());
        r.event_source_arn = Some(self.queue_arn.clone());
        r.aws_region = Some(self.region.clone());
        r
    }
}

#[async_trait]
impl EventSource for EventSourceMapping {
    async fn receive(&self) -> Result<Vec<SqsMessage>, StoreError> {
        let messages = sqs::receive(&self.client, &self.queue_url, self.batch_size, None, self.wait_seconds)
            .await
            .map_err(unavailable)?;
        Ok(messages.iter().map(|m| self.record(m)).collect())
    }

    async fn delete(&self, receipts: &[String]) -> Result<Vec<bool>, StoreError> {
        let undeleted = sqs::delete_batch(&self.client, &self.queue_url, receipts)
            .await
            .map_err(unavailable)?;
        Ok(receipts.iter().map(|r| !undeleted.contains(r)).collect())
    }
}

fn base64_data(bytes: &[u8]) -> Base64Data {
    let mut data = Base64Data::default();
    *data = bytes.to_vec();
    data
}
