//! A Lambda SQS event source mapping, once for both backends: receive a batch, hand it to the
//! consumer as the `SqsEvent` Lambda builds, delete what succeeded, leave what failed.
//!
//! Failed messages are not made visible early: as with the real mapping, they reappear after the
//! queue's visibility timeout and reach the DLQ through its redrive policy. As with Lambda's
//! `ReportBatchItemFailures`, a failure id that names no record of the batch fails the whole
//! batch. The queues behind it are adapters ([`EventSource`]): SQS on AWS, SQLite locally.

use crate::ports::StoreError;
use async_trait::async_trait;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use std::collections::HashSet;
use std::future::Future;

/// A queue as an event source mapping sees it.
#[async_trait]
pub trait EventSource: Send + Sync {
    /// One batch, as the records Lambda would deliver (each with its receipt handle); may be empty.
    async fn receive(&self) -> Result<Vec<SqsMessage>, StoreError>;
    /// Deletes by receipt handle; says for each whether it was deleted (a stale one is not).
    async fn delete(&self, receipts: &[String]) -> Result<Vec<bool>, StoreError>;
}

/// What one poll did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PollReport {
    pub received: usize,
    /// The records deleted after the consumer finished them.
    pub deleted: Vec<SqsMessage>,
    /// Left on the queue for redelivery.
    pub failed: usize,
}

/// Which records to delete after `response`: all but the failed ones, or none when a failure id
/// names no record of the batch.
pub fn finished<'a>(records: &'a [SqsMessage], response: &SqsBatchResponse) -> Vec<&'a SqsMessage> {
    let ids: HashSet<&str> = records.iter().filter_map(|r| r.message_id.as_deref()).collect();
    let failed: HashSet<&str> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    if failed.iter().any(|id| !ids.contains(id)) {
        tracing::warn!("the consumer reported a failure id that is not in the batch; the whole batch fails");
        return Vec::new();
    }
    records
        .iter()
        .filter(|r| r.message_id.as_deref().is_none_or(|id| !failed.contains(id)))
        .collect()
}

/// Receives one batch and runs `consumer` on it; deletes what it finished.
pub async fn poll_once<F, Fut>(source: &dyn EventSource, consumer: F) -> Result<PollReport, StoreError>
where
    F: FnOnce(SqsEvent) -> Fut,
    Fut: Future<Output = SqsBatchResponse>,
{
    let records = source.receive().await?;
    if records.is_empty() {
        return Ok(PollReport::default());
    }
    let mut event = SqsEvent::default();
    event.records = records.clone();
    let response = consumer(event).await;
    let done = finished(&records, &response);
    let receipts: Vec<String> = done.iter().filter_map(|r| r.receipt_handle.clone()).collect();
    let deleted = source.delete(&receipts).await?;
    let mut report = PollReport {
        received: records.len(),
        failed: records.len() - done.len(),
        ..PollReport::default()
    };
    for (record, ok) in done.into_iter().zip(deleted) {
        if ok {
            report.deleted.push(record.clone());
        } else {
            tracing::warn!(message_id = ?record.message_id, "delete failed (receipt went stale); the message will be redelivered");
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sqs::record;
    use aws_lambda_events::event::sqs::BatchItemFailure;
    use std::sync::Mutex;

    #[derive(Default)]
    struct Batch {
        records: Vec<SqsMessage>,
        deleted: Mutex<Vec<String>>,
    }

    #[async_trait]
    impl EventSource for Batch {
        async fn receive(&self) -> Result<Vec<SqsMessage>, StoreError> {
            Ok(self.records.clone())
        }
        async fn delete(&self, receipts: &[String]) -> Result<Vec<bool>, StoreError> {
            self.deleted.lock().unwrap().extend(receipts.iter().cloned());
            Ok(vec![true; receipts.len()])
        }
    }

    fn batch() -> Batch {
        let records = ["m1", "m2", "m3"]
            .iter()
            .map(|id| {
                let mut r = record(id, "{}");
                r.receipt_handle = Some(format!("r-{id}"));
                r
            })
            .collect();
        Batch {
            records,
            ..Batch::default()
        }
    }

    fn failing(ids: &[&str]) -> SqsBatchResponse {
        let mut response = SqsBatchResponse::default();
        for id in ids {
            let mut f = BatchItemFailure::default();
            f.item_identifier = (*id).to_string();
            response.batch_item_failures.push(f);
        }
        response
    }

    #[tokio::test]
    async fn deletes_all_but_the_failed_records() {
        let source = batch();
        let report = poll_once(&source, |_| async { failing(&["m2"]) }).await.unwrap();
        assert_eq!((report.received, report.failed, report.deleted.len()), (3, 1, 2));
        assert_eq!(*source.deleted.lock().unwrap(), ["r-m1", "r-m3"]);
    }

    #[tokio::test]
    async fn an_unknown_failure_id_fails_the_whole_batch() {
        let source = batch();
        let report = poll_once(&source, |_| async { failing(&["not-in-batch"]) })
            .await
            .unwrap();
        assert_eq!((report.received, report.failed, report.deleted.len()), (3, 3, 0));
        assert!(source.deleted.lock().unwrap().is_empty());
    }
}
