//! Replay: moving messages out of a queue (usually a DLQ) to another queue or back through the
//! topic, in batches, each batch's copies and deletions in one transaction.
//!
//! Interrupted at any point, no message is lost: a batch either moved or did not. The body and
//! the attributes move unchanged, so the event id consumers dedupe on survives.

use super::db::{DbError, now_ms};
use super::queues::{QueueError, Queues, list_in, move_in, send_in, take_in};
use super::topic::{Topic, TopicError};
use crate::backend::{Progress, ReplayReport, ReplayRequest, ReplayTarget};

/// Messages moved per transaction: one fsync per batch.
const REPLAY_BATCH: usize = 256;

#[derive(Debug, Clone, thiserror::Error)]
pub enum ReplayError {
    #[error(transparent)]
    Queue(#[from] QueueError),
    #[error(transparent)]
    Topic(#[from] TopicError),
    /// The request names no usable destination.
    #[error("{0}")]
    Invalid(String),
}

impl From<DbError> for ReplayError {
    fn from(e: DbError) -> Self {
        ReplayError::Queue(QueueError::Db(e))
    }
}

impl From<rusqlite::Error> for ReplayError {
    fn from(e: rusqlite::Error) -> Self {
        ReplayError::Queue(e.into())
    }
}

/// Where a replay's messages go: a queue, or the topic (so filter policies apply again).
async fn destination(queues: &Queues, request: &ReplayRequest) -> Result<Option<String>, ReplayError> {
    match &request.to {
        ReplayTarget::Origin => Ok(Some(queues.source_of(&request.from).await?.ok_or_else(|| {
            ReplayError::Invalid(format!(
                "no queue dead-letters into {}; give --to QUEUE or --to-topic",
                request.from
            ))
        })?)),
        ReplayTarget::Queue(q) => {
            if !queues.exists(q).await? {
                return Err(QueueError::NoSuchQueue(q.clone()).into());
            }
            if q == &request.from {
                return Err(ReplayError::Invalid("--to must differ from --from".into()));
            }
            Ok(Some(q.clone()))
        }
        ReplayTarget::Topic => Ok(None),
    }
}

pub async fn replay(
    queues: &Queues,
    topic: &Topic,
    request: &ReplayRequest,
    progress: &dyn Progress,
) -> Result<ReplayReport, ReplayError> {
    if !queues.exists(&request.from).await? {
        return Err(QueueError::NoSuchQueue(request.from.clone()).into());
    }
    let destination = destination(queues, request).await?;
    let total = queues
        .stats()
        .await?
        .into_iter()
        .find(|s| s.name == request.from)
        .map(|s| s.visible + s.in_flight + s.delayed);
    let limit = request.max.unwrap_or(u64::MAX);
    progress.total(total.unwrap_or(0).min(limit));
    let mut report = ReplayReport {
        dry_run: request.dry_run,
        ..ReplayReport::default()
    };
    let mut after = 0_i64;
    loop {
        let remaining = limit.saturating_sub(report.moved);
        if remaining == 0 {
            break;
        }
        let (from, dest, filter, dry) = (
            request.from.clone(),
            destination.clone(),
            request.filter.clone(),
            request.dry_run,
        );
        let publisher = topic.clone();
        let batch_max = REPLAY_BATCH.min(usize::try_from(remaining).unwrap_or(REPLAY_BATCH));
        let (step, last, touched) = queues
            .db()
            .write_with(move |c| {
                // Queue to queue with nothing to decide per message: move the batch in SQL.
                if let (Some(q), None, false) = (&dest, &filter, dry) {
                    let (moved, last) = move_in(c, &from, q, after, batch_max, now_ms())?;
                    let step = ReplayReport {
                        moved,
                        ..ReplayReport::default()
                    };
                    return Ok::<_, ReplayError>((step, last, vec![q.clone()]));
                }
                let mut step = ReplayReport::default();
                let mut last = None;
                let mut touched = Vec::new();
                for (seq, message_id, body, attrs) in list_in(c, &from, after, batch_max)? {
                    last = Some(seq);
                    if filter.as_ref().is_some_and(|f| !f.matches(&attrs, &body)) {
                        step.skipped += 1;
                        continue;
                    }
                    if !dry {
                        match &dest {
                            Some(q) => {
                                send_in(c, q, &message_id, &body, &attrs, now_ms())?;
                                touched.push(q.clone());
                            }
                            None => touched.extend(publisher.publish_in(c, &message_id, &body, &attrs)?),
                        }
                        take_in(c, seq)?;
                    }
                    step.moved += 1;
                }
                Ok((step, last, touched))
            })
            .await?;
        topic.wake(&touched);
        report.moved += step.moved;
        report.skipped += step.skipped;
        progress.advance(&report);
        match last {
            Some(seq) => after = seq,
            None => break,
        }
    }
    Ok(report)
}
