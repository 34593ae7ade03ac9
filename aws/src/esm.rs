//! A Lambda SQS event source mapping, in-process: receive a batch, hand it to a consumer as
//! the `SqsEvent` Lambda would build, delete what succeeded, leave what failed.
//!
//! Failed messages are not made visible again early: like the real mapping, they reappear
//! after the queue's visibility timeout and reach the DLQ through the queue's RedrivePolicy
//! after `maxReceiveCount` receives.

use crate::error::AwsError;
use crate::sqs;
use aws_lambda_events::encodings::Base64Data;
use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage, SqsMessageAttribute};
use aws_sdk_sqs::types::Message;
use std::collections::HashSet;
use std::future::Future;

/// What one poll did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PollReport {
    pub received: usize,
    pub deleted: usize,
    /// Left on the queue for redelivery.
    pub failed: usize,
}

#[derive(Debug, Clone)]
pub struct EventSourceMapping {
    client: aws_sdk_sqs::Client,
    queue_url: String,
    queue_arn: String,
    region: String,
    batch_size: usize,
    wait_seconds: i32,
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

    /// Receives one batch and runs `consumer` on it. As with Lambda's
    /// `ReportBatchItemFailures`, a failure id that names no record of the batch fails the
    /// whole batch.
    pub async fn poll_once<F, Fut>(&self, consumer: F) -> Result<PollReport, AwsError>
    where
        F: FnOnce(SqsEvent) -> Fut,
        Fut: Future<Output = SqsBatchResponse>,
    {
        let messages = sqs::receive(&self.client, &self.queue_url, self.batch_size, None, self.wait_seconds).await?;
        if messages.is_empty() {
            return Ok(PollReport::default());
        }
        let ids: HashSet<String> = messages.iter().filter_map(|m| m.message_id.clone()).collect();
        let response = consumer(self.event(&messages)).await;
        let failed: HashSet<String> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.clone())
            .collect();
        let whole_batch_failed = failed.iter().any(|id| !ids.contains(id));
        let handles: Vec<String> = if whole_batch_failed {
            Vec::new()
        } else {
            messages
                .iter()
                .filter(|m| m.message_id.as_ref().is_some_and(|id| !failed.contains(id)))
                .filter_map(|m| m.receipt_handle.clone())
                .collect()
        };
        let undeleted = sqs::delete_batch(&self.client, &self.queue_url, &handles).await?;
        if !undeleted.is_empty() {
            tracing::warn!(queue = %self.queue_url, count = undeleted.len(), "delete failed; those messages will be redelivered");
        }
        let deleted = handles.len() - undeleted.len();
        Ok(PollReport {
            received: messages.len(),
            deleted,
            failed: messages.len() - handles.len(),
        })
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

fn base64_data(bytes: &[u8]) -> Base64Data {
    let mut data = Base64Data::default();
    *data = bytes.to_vec();
    data
}
