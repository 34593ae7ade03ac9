//! Durable queues with SQS semantics: visibility timeout, receive count, redrive to a DLQ,
//! delay, retention, long polling, batches of up to 10, and receipt handles that go stale.

use super::db::{Db, DbError, now_ms, store_error_from};
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};
use skipline_events::MessageAttributes;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;

/// SQS's limit on one receive.
pub const MAX_BATCH: usize = 10;
/// SQS's limit on a message body.
pub const MAX_MESSAGE_BYTES: usize = 256 * 1024;
/// SQS's limit on a long poll.
pub const MAX_WAIT: Duration = Duration::from_secs(20);
/// When nobody in this process signals, a long poll still looks this often (another process may send).
const POLL_EVERY: Duration = Duration::from_millis(200);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueConfig {
    pub visibility_timeout: Duration,
    pub delay: Duration,
    pub retention: Duration,
    /// Dead-letter queue and maxReceiveCount.
    pub redrive: Option<(String, u32)>,
}

impl Default for QueueConfig {
    /// SQS's defaults: 30 s visibility, no delay, 4 days retention.
    fn default() -> Self {
        Self {
            visibility_timeout: Duration::from_secs(30),
            delay: Duration::ZERO,
            retention: Duration::from_secs(4 * 24 * 3600),
            redrive: None,
        }
    }
}

/// A received message; `receipt` deletes it until it is received again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    pub message_id: String,
    pub receipt: String,
    pub body: String,
    pub attributes: MessageAttributes,
    pub receive_count: u32,
    pub sent_ms: i64,
}

/// A queue's counters and redrive, as the backends show them.
pub use crate::backend::QueueInfo as QueueStats;

#[derive(Debug, Clone, thiserror::Error)]
pub enum QueueError {
    #[error("queue {0} does not exist")]
    NoSuchQueue(String),
    #[error("the receipt handle is not valid (the message was deleted, or received again since)")]
    InvalidReceipt,
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

store_error_from!(QueueError: rusqlite::Error);

/// Wakes long polls in this process when a queue gets a message.
#[derive(Default)]
pub struct Signals(Mutex<HashMap<String, Arc<Notify>>>);

impl Signals {
    pub fn get(&self, queue: &str) -> Arc<Notify> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(queue.to_string())
            .or_default()
            .clone()
    }
    /// Wakes one long poll (or the next to start): one poller takes the whole batch, and
    /// waking every idle poller per message would cost each a transaction for nothing.
    pub fn wake(&self, queue: &str) {
        self.get(queue).notify_one();
    }
}

#[derive(Clone)]
pub struct Queues {
    db: Db,
    pub signals: Arc<Signals>,
    /// When each queue was last purged of expired messages (ms); receives skip expired ones
    /// meanwhile, so purging once a second keeps retention exact at a fraction of the cost.
    purged: Arc<Mutex<HashMap<String, i64>>>,
}

/// How often a queue's expired messages are deleted.
const PURGE_EVERY_MS: i64 = 1000;

/// Most messages one internal poller takes at once (see [`Queues::receive_batch`]).
pub const MAX_POLLER_BATCH: usize = 1000;

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn exists(c: &Connection, queue: &str) -> Result<bool, QueueError> {
    Ok(
        c.prepare_cached("SELECT EXISTS (SELECT 1 FROM queues WHERE name = ?1)")?
            .query_row([queue], |r| r.get(0))?,
    )
}

/// Validates a queue name as SQS does: 1–80 of `[A-Za-z0-9_-]`.
pub fn check_queue_name(name: &str) -> Result<(), QueueError> {
    if name.is_empty() || name.len() > 80 || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        return Err(QueueError::Invalid(format!(
            "queue name {name:?} must be 1 to 80 characters of letters, digits, '-' and '_'"
        )));
    }
    Ok(())
}

/// Appends one message inside the caller's transaction (the topic fans out through this).
pub fn send_in(
    c: &Connection,
    queue: &str,
    message_id: &str,
    body: &str,
    attributes: &MessageAttributes,
    now: i64,
) -> Result<(), QueueError> {
    if body.len() > MAX_MESSAGE_BYTES {
        return Err(QueueError::Invalid(format!(
            "message body is {} bytes; the limit is {MAX_MESSAGE_BYTES}",
            body.len()
        )));
    }
    let delay: Option<i64> = c
        .prepare_cached("SELECT delay_ms FROM queues WHERE name = ?1")?
        .query_row([queue], |r| r.get(0))
        .optional()?;
    let delay = delay.ok_or_else(|| QueueError::NoSuchQueue(queue.to_string()))?;
    let attrs = serde_json::to_string(attributes).map_err(|e| QueueError::Invalid(e.to_string()))?;
    c.prepare_cached(
        "INSERT INTO messages (queue, message_id, body, attributes, sent_ms, visible_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![queue, message_id, body, attrs, now, now + delay])?;
    Ok(())
}

impl Queues {
    pub fn new(db: Db) -> Self {
        Self {
            db,
            signals: Arc::default(),
            purged: Arc::default(),
        }
    }

    /// The database, for operations that span queues in one transaction (replay).
    pub(super) fn db(&self) -> &Db {
        &self.db
    }

    /// Creates the queue, or updates its settings if it exists (like SetQueueAttributes).
    pub async fn create(&self, name: &str, config: &QueueConfig) -> Result<(), QueueError> {
        self.upsert(name, config, true).await
    }

    /// Creates the queue only if it does not exist; an existing queue keeps its settings.
    pub async fn create_if_missing(&self, name: &str, config: &QueueConfig) -> Result<(), QueueError> {
        self.upsert(name, config, false).await
    }

    async fn upsert(&self, name: &str, config: &QueueConfig, update: bool) -> Result<(), QueueError> {
        check_queue_name(name)?;
        let (name, config) = (name.to_string(), config.clone());
        self.db
            .write_with(move |c| {
                if let Some((dlq, _)) = &config.redrive
                    && !exists(c, dlq)?
                {
                    return Err(QueueError::NoSuchQueue(dlq.clone()));
                }
                let sql = if update {
                    "INSERT INTO queues (name, visibility_timeout_ms, delay_ms, retention_ms, dlq, max_receive_count)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                     ON CONFLICT (name) DO UPDATE SET visibility_timeout_ms = excluded.visibility_timeout_ms,
                       delay_ms = excluded.delay_ms, retention_ms = excluded.retention_ms,
                       dlq = excluded.dlq, max_receive_count = excluded.max_receive_count"
                } else {
                    "INSERT INTO queues (name, visibility_timeout_ms, delay_ms, retention_ms, dlq, max_receive_count)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (name) DO NOTHING"
                };
                c.prepare_cached(sql)?.execute(params![
                    name,
                    ms(config.visibility_timeout),
                    ms(config.delay),
                    ms(config.retention),
                    config.redrive.as_ref().map(|r| r.0.clone()),
                    config.redrive.as_ref().map(|r| r.1),
                ])?;
                Ok(())
            })
            .await
    }

    pub async fn send(&self, queue: &str, body: &str, attributes: &MessageAttributes) -> Result<String, QueueError> {
        let message_id = uuid::Uuid::new_v4().to_string();
        let (q, b, a, id) = (
            queue.to_string(),
            body.to_string(),
            attributes.clone(),
            message_id.clone(),
        );
        self.db
            .write_with(move |c| send_in(c, &q, &id, &b, &a, now_ms()))
            .await?;
        self.signals.wake(queue);
        Ok(message_id)
    }

    /// Receives up to `max` (1–10) messages, waiting up to `wait` for the first one.
    /// Each received message becomes invisible for the queue's visibility timeout (or `visibility`).
    pub async fn receive(
        &self,
        queue: &str,
        max: usize,
        wait: Duration,
        visibility: Option<Duration>,
    ) -> Result<Vec<Received>, QueueError> {
        if !(1..=MAX_BATCH).contains(&max) {
            return Err(QueueError::Invalid(format!(
                "max messages must be between 1 and {MAX_BATCH}"
            )));
        }
        if wait > MAX_WAIT {
            return Err(QueueError::Invalid(format!(
                "wait must be at most {} seconds",
                MAX_WAIT.as_secs()
            )));
        }
        self.poll(queue, max, wait, visibility).await
    }

    /// Receives up to `max` (1–[`MAX_POLLER_BATCH`]) messages in one transaction, for the
    /// runtime's own pollers, as a Lambda event source mapping gathers a batch larger than one
    /// ReceiveMessage call. Same visibility, receive count and redrive semantics as `receive`.
    pub async fn receive_batch(&self, queue: &str, max: usize, wait: Duration) -> Result<Vec<Received>, QueueError> {
        if !(1..=MAX_POLLER_BATCH).contains(&max) || wait > MAX_WAIT {
            return Err(QueueError::Invalid(format!(
                "a poller takes 1 to {MAX_POLLER_BATCH} messages and waits at most {} seconds",
                MAX_WAIT.as_secs()
            )));
        }
        self.poll(queue, max, wait, None).await
    }

    async fn poll(
        &self,
        queue: &str,
        max: usize,
        wait: Duration,
        visibility: Option<Duration>,
    ) -> Result<Vec<Received>, QueueError> {
        let deadline = tokio::time::Instant::now() + wait;
        let notify = self.signals.get(queue);
        loop {
            let notified = notify.notified();
            let got = self.receive_once(queue, max, visibility).await?;
            if !got.is_empty() || tokio::time::Instant::now() >= deadline {
                return Ok(got);
            }
            let nap = POLL_EVERY.min(deadline.saturating_duration_since(tokio::time::Instant::now()));
            let _ = tokio::time::timeout(nap, notified).await;
        }
    }

    async fn receive_once(
        &self,
        queue: &str,
        max: usize,
        visibility: Option<Duration>,
    ) -> Result<Vec<Received>, QueueError> {
        let q = queue.to_string();
        let purge = {
            let now = now_ms();
            let mut purged = self.purged.lock().unwrap_or_else(|p| p.into_inner());
            let last = purged.entry(q.clone()).or_insert(0);
            let due = now - *last >= PURGE_EVERY_MS;
            if due {
                *last = now;
            }
            due
        };
        let (got, moved_to) = self
            .db
            .write_with(move |c| receive_in(c, &q, max, visibility, purge))
            .await?;
        if let Some(dlq) = moved_to {
            self.signals.wake(&dlq);
        }
        Ok(got)
    }

    /// Deletes by receipt handle; a handle from an earlier receive is refused.
    pub async fn delete(&self, queue: &str, receipt: &str) -> Result<(), QueueError> {
        let sql = "DELETE FROM messages WHERE queue = ?1 AND receipt = ?2";
        let deleted = self
            .db
            .execute(sql, vec![queue.to_string().into(), receipt.to_string().into()])
            .await?;
        if deleted == 0 {
            Err(QueueError::InvalidReceipt)
        } else {
            Ok(())
        }
    }

    /// Deletes many by receipt handle in one write; says for each whether it was deleted
    /// (a stale handle is not).
    pub async fn delete_batch(&self, queue: &str, receipts: &[String]) -> Result<Vec<bool>, QueueError> {
        if receipts.is_empty() {
            return Ok(Vec::new());
        }
        let (q, r) = (queue.to_string(), receipts.to_vec());
        Ok(self
            .db
            .write(move |c| {
                let mut stmt = c.prepare_cached("DELETE FROM messages WHERE queue = ?1 AND receipt = ?2")?;
                let mut out = Vec::with_capacity(r.len());
                for receipt in &r {
                    out.push(stmt.execute(params![q, receipt])? > 0);
                }
                Ok(out)
            })
            .await?)
    }

    /// Makes a received message visible again after `timeout` (ChangeMessageVisibility).
    pub async fn change_visibility(&self, queue: &str, receipt: &str, timeout: Duration) -> Result<(), QueueError> {
        let (q, r) = (queue.to_string(), receipt.to_string());
        let changed = self
            .db
            .write(move |c| {
                Ok(
                    c.prepare_cached("UPDATE messages SET visible_ms = ?3 WHERE queue = ?1 AND receipt = ?2")?
                        .execute(params![q, r, now_ms() + ms(timeout)])?,
                )
            })
            .await?;
        if changed == 0 {
            Err(QueueError::InvalidReceipt)
        } else {
            Ok(())
        }
    }

    pub async fn stats(&self) -> Result<Vec<QueueStats>, QueueError> {
        Ok(self
            .db
            .read(|c| {
                let now = now_ms();
                let mut stmt = c.prepare_cached(
                    "SELECT q.name, q.dlq, q.max_receive_count,
                       (SELECT count(*) FROM messages m WHERE m.queue = q.name AND m.visible_ms <= ?1 AND m.receipt IS NULL),
                       (SELECT count(*) FROM messages m WHERE m.queue = q.name AND m.visible_ms > ?1 AND m.receipt IS NOT NULL),
                       (SELECT count(*) FROM messages m WHERE m.queue = q.name AND m.visible_ms > ?1 AND m.receipt IS NULL),
                       (SELECT count(*) FROM messages m WHERE m.queue = q.name AND m.visible_ms <= ?1 AND m.receipt IS NOT NULL)
                     FROM queues q ORDER BY q.name",
                )?;
                let rows = stmt.query_map([now], |r| {
                    let visible: i64 = r.get(3)?;
                    let expired_in_flight: i64 = r.get(6)?;
                    Ok(QueueStats {
                        name: r.get(0)?,
                        dlq: r.get(1)?,
                        max_receive_count: r.get(2)?,
                        visible: (visible + expired_in_flight) as u64,
                        in_flight: r.get::<_, i64>(4)? as u64,
                        delayed: r.get::<_, i64>(5)? as u64,
                    })
                })?;
                Ok(rows.collect::<Result<Vec<_>, _>>()?)
            })
            .await?)
    }

    /// Looks without receiving: no receive count, no visibility change.
    pub async fn peek(&self, queue: &str, max: usize) -> Result<Vec<Received>, QueueError> {
        let q = queue.to_string();
        if !self.exists(&q).await? {
            return Err(QueueError::NoSuchQueue(q));
        }
        Ok(self
            .db
            .read(move |c| {
                let mut stmt = c.prepare_cached(
                    "SELECT message_id, body, attributes, receive_count, sent_ms FROM messages WHERE queue = ?1 ORDER BY seq LIMIT ?2",
                )?;
                let rows = stmt.query_map(params![q, max as i64], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, u32>(3)?, r.get::<_, i64>(4)?))
                })?;
                let mut out = Vec::new();
                for row in rows {
                    let (message_id, body, attrs, receive_count, sent_ms) = row?;
                    out.push(Received { message_id, receipt: String::new(), body, attributes: serde_json::from_str(&attrs)?, receive_count, sent_ms });
                }
                Ok(out)
            })
            .await?)
    }

    /// The queue's dead-letter source: which queue redrives into `dlq`.
    pub async fn source_of(&self, dlq: &str) -> Result<Option<String>, QueueError> {
        let sql = "SELECT name FROM queues WHERE dlq = ?1 ORDER BY name LIMIT 1";
        Ok(self.db.first(sql, vec![dlq.to_string().into()]).await?)
    }

    pub async fn exists(&self, queue: &str) -> Result<bool, QueueError> {
        let q = queue.to_string();
        self.db.read_with(move |c| exists(c, &q)).await
    }
}

/// One receive inside the writer's transaction. Messages past maxReceiveCount move to the DLQ
/// here, at the moment SQS would move them: on the receive after the last allowed one.
fn receive_in(
    c: &Connection,
    queue: &str,
    max: usize,
    visibility: Option<Duration>,
    purge: bool,
) -> Result<(Vec<Received>, Option<String>), QueueError> {
    let now = now_ms();
    let config: Option<(i64, i64, Option<String>, Option<u32>)> = c
        .prepare_cached(
            "SELECT visibility_timeout_ms, retention_ms, dlq, max_receive_count FROM queues WHERE name = ?1",
        )?
        .query_row([queue], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .optional()?;
    let (vis_ms, retention_ms, dlq, max_receives) = config.ok_or_else(|| QueueError::NoSuchQueue(queue.to_string()))?;
    let vis_ms = visibility.map(ms).unwrap_or(vis_ms);
    let expired_before = now.saturating_sub(retention_ms);
    if purge {
        c.prepare_cached("DELETE FROM messages WHERE queue = ?1 AND sent_ms < ?2")?
            .execute(params![queue, expired_before])?;
    }
    let mut out = Vec::new();
    let mut moved = None;
    let mut stmt = c.prepare_cached(
        "SELECT seq, message_id, body, attributes, receive_count, sent_ms FROM messages
         WHERE queue = ?1 AND visible_ms <= ?2 AND sent_ms >= ?4 ORDER BY visible_ms, seq LIMIT ?3",
    )?;
    // Fetch a little more than asked, since some may be dead-lettered instead of returned.
    let rows: Vec<(i64, String, String, String, u32, i64)> = stmt
        .query_map(params![queue, now, (max * 4) as i64, expired_before], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?))
        })?
        .collect::<Result<_, _>>()?;
    for (seq, message_id, body, attrs, count, sent_ms) in rows {
        if out.len() >= max {
            break;
        }
        if let (Some(dlq), Some(limit)) = (&dlq, max_receives)
            && count >= limit
        {
            c.prepare_cached(
                "UPDATE messages SET queue = ?2, receive_count = 0, receipt = NULL, visible_ms = ?3 WHERE seq = ?1",
            )?
            .execute(params![seq, dlq, now])?;
            moved = Some(dlq.clone());
            continue;
        }
        let receipt = uuid::Uuid::new_v4().simple().to_string();
        c.prepare_cached(
            "UPDATE messages SET receive_count = receive_count + 1, receipt = ?2, visible_ms = ?3 WHERE seq = ?1",
        )?
        .execute(params![seq, receipt, now + vis_ms])?;
        out.push(Received {
            message_id,
            receipt,
            body,
            attributes: serde_json::from_str(&attrs).map_err(|e| QueueError::Invalid(e.to_string()))?,
            receive_count: count + 1,
            sent_ms,
        });
    }
    Ok((out, moved))
}

/// Deletes one message by sequence inside the caller's transaction (replay: after the copy is written).
pub fn take_in(c: &Connection, seq: i64) -> Result<(), QueueError> {
    c.prepare_cached("DELETE FROM messages WHERE seq = ?1")?
        .execute([seq])?;
    Ok(())
}

/// Moves up to `limit` messages with `seq > after_seq` from `from` to `to`, in order, inside the
/// caller's transaction: the same rows `send_in` + `take_in` would write, done in SQL so an
/// unfiltered replay does not decode and re-encode every message's attributes.
/// `+queue` keeps SQLite on the rowid range: through the `(queue, visible_ms)` index it would
/// visit every message of the queue for each batch. Returns (moved, last seq moved).
pub fn move_in(
    c: &Connection,
    from: &str,
    to: &str,
    after_seq: i64,
    limit: usize,
    now: i64,
) -> Result<(u64, Option<i64>), QueueError> {
    let (last, count): (Option<i64>, i64) = c
        .prepare_cached(
            "SELECT max(seq), count(*) FROM (SELECT seq FROM messages WHERE +queue = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3)",
        )?
        .query_row(params![from, after_seq, limit as i64], |r| Ok((r.get(0)?, r.get(1)?)))?;
    let Some(last) = last else {
        return Ok((0, None));
    };
    let delay: i64 = c
        .prepare_cached("SELECT delay_ms FROM queues WHERE name = ?1")?
        .query_row([to], |r| r.get(0))
        .optional()?
        .ok_or_else(|| QueueError::NoSuchQueue(to.to_string()))?;
    c.prepare_cached(
        "INSERT INTO messages (queue, message_id, body, attributes, sent_ms, visible_ms)
         SELECT ?1, message_id, body, attributes, ?2, ?3 FROM messages
         WHERE +queue = ?4 AND seq > ?5 AND seq <= ?6 ORDER BY seq",
    )?
    .execute(params![to, now, now + delay, from, after_seq, last])?;
    c.prepare_cached("DELETE FROM messages WHERE +queue = ?1 AND seq > ?2 AND seq <= ?3")?
        .execute(params![from, after_seq, last])?;
    Ok((count as u64, Some(last)))
}

/// Messages of a queue in order, for replay: (seq, message_id, body, attributes).
pub fn list_in(
    c: &Connection,
    queue: &str,
    after_seq: i64,
    limit: usize,
) -> Result<Vec<(i64, String, String, MessageAttributes)>, QueueError> {
    let mut stmt = c.prepare_cached(
        "SELECT seq, message_id, body, attributes FROM messages WHERE +queue = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
    )?;
    let rows: Vec<(i64, String, String, String)> = stmt
        .query_map(params![queue, after_seq, limit as i64], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?
        .collect::<Result<_, _>>()?;
    rows.into_iter()
        .map(|(s, id, b, a)| {
            Ok((
                s,
                id,
                b,
                serde_json::from_str(&a).map_err(|e| QueueError::Invalid(e.to_string()))?,
            ))
        })
        .collect()
}

/// Whether a queue exists, inside a transaction.
pub fn exists_in(c: &Connection, queue: &str) -> Result<bool, QueueError> {
    exists(c, queue)
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn setup(vis_ms: u64, max_receives: u32) -> (tempfile::TempDir, Queues) {
        let (dir, db) = crate::local::db::temp_db();
        let q = Queues::new(db);
        q.create("dlq", &QueueConfig::default()).await.unwrap();
        let config = QueueConfig {
            visibility_timeout: Duration::from_millis(vis_ms),
            redrive: Some(("dlq".into(), max_receives)),
            ..QueueConfig::default()
        };
        q.create("work", &config).await.unwrap();
        (dir, q)
    }

    #[tokio::test]
    async fn redelivers_after_the_visibility_timeout() {
        let (_d, q) = setup(150, 5).await;
        q.send("work", "hello", &MessageAttributes::new()).await.unwrap();
        let first = q.receive("work", 10, Duration::ZERO, None).await.unwrap();
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].receive_count, 1);
        assert!(
            q.receive("work", 10, Duration::ZERO, None).await.unwrap().is_empty(),
            "invisible while in flight"
        );
        let again = q.receive("work", 10, Duration::from_secs(2), None).await.unwrap();
        assert_eq!(again.len(), 1, "visible again after the timeout");
        assert_eq!(again[0].receive_count, 2);
        assert_eq!(again[0].message_id, first[0].message_id);
    }

    #[tokio::test]
    async fn stale_receipts_are_rejected_and_fresh_ones_delete() {
        let (_d, q) = setup(50, 5).await;
        q.send("work", "m", &MessageAttributes::new()).await.unwrap();
        let first = q.receive("work", 1, Duration::ZERO, None).await.unwrap();
        let second = q.receive("work", 1, Duration::from_secs(2), None).await.unwrap();
        assert!(matches!(
            q.delete("work", &first[0].receipt).await,
            Err(QueueError::InvalidReceipt)
        ));
        q.delete("work", &second[0].receipt).await.unwrap();
        assert!(matches!(
            q.delete("work", &second[0].receipt).await,
            Err(QueueError::InvalidReceipt)
        ));
        assert!(q.peek("work", 10).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn max_receive_count_moves_to_the_dlq() {
        let (_d, q) = setup(1, 2).await;
        q.send("work", "poison", &MessageAttributes::new()).await.unwrap();
        for expected in 1..=2 {
            tokio::time::sleep(Duration::from_millis(5)).await;
            let got = q.receive("work", 1, Duration::ZERO, None).await.unwrap();
            assert_eq!(got[0].receive_count, expected);
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
        assert!(q.receive("work", 1, Duration::ZERO, None).await.unwrap().is_empty());
        let dead = q.peek("dlq", 10).await.unwrap();
        assert_eq!(dead.len(), 1);
        assert_eq!(dead[0].body, "poison");
    }

    #[tokio::test]
    async fn long_poll_wakes_on_send_and_batches_are_capped() {
        let (_d, q) = setup(30_000, 5).await;
        let q2 = q.clone();
        let waiter = tokio::spawn(async move { q2.receive("work", 10, Duration::from_secs(5), None).await });
        tokio::time::sleep(Duration::from_millis(50)).await;
        q.send("work", "late", &MessageAttributes::new()).await.unwrap();
        let got = waiter.await.unwrap().unwrap();
        assert_eq!(got.len(), 1);
        for i in 0..15 {
            q.send("work", &format!("m{i}"), &MessageAttributes::new())
                .await
                .unwrap();
        }
        assert_eq!(q.receive("work", 10, Duration::ZERO, None).await.unwrap().len(), 10);
        assert_eq!(q.receive("work", 10, Duration::ZERO, None).await.unwrap().len(), 5);
        assert!(matches!(
            q.receive("work", 11, Duration::ZERO, None).await,
            Err(QueueError::Invalid(_))
        ));
        assert!(matches!(
            q.receive("work", 0, Duration::ZERO, None).await,
            Err(QueueError::Invalid(_))
        ));
        assert!(matches!(
            q.receive("nope", 1, Duration::ZERO, None).await,
            Err(QueueError::NoSuchQueue(_))
        ));
    }

    #[tokio::test]
    async fn delay_and_retention_apply() {
        let dir = tempfile::tempdir().unwrap();
        let q = Queues::new(Db::open(&dir.path().join("q.db")).unwrap());
        let slow = QueueConfig {
            delay: Duration::from_millis(200),
            ..QueueConfig::default()
        };
        q.create("slow", &slow).await.unwrap();
        q.send("slow", "x", &MessageAttributes::new()).await.unwrap();
        assert!(q.receive("slow", 1, Duration::ZERO, None).await.unwrap().is_empty());
        assert_eq!(q.stats().await.unwrap()[0].delayed, 1);
        assert_eq!(
            q.receive("slow", 1, Duration::from_secs(2), None).await.unwrap().len(),
            1
        );
        let short = QueueConfig {
            retention: Duration::from_millis(1),
            ..QueueConfig::default()
        };
        q.create("short", &short).await.unwrap();
        q.send("short", "gone", &MessageAttributes::new()).await.unwrap();
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert!(q.receive("short", 1, Duration::ZERO, None).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn move_in_keeps_order_ids_and_attributes_and_empties_the_source() {
        let (_d, q) = setup(50, 5).await;
        let mut attrs = MessageAttributes::new();
        attrs.insert(
            "eventtype".into(),
            skipline_events::MessageAttributeValue::string("OrderCompleted"),
        );
        let mut ids = Vec::new();
        for i in 0..5 {
            ids.push(q.send("dlq", &format!("m{i}"), &attrs).await.unwrap());
        }
        // A batch of 3, then the rest from where it stopped.
        let (moved, last) =
            q.db.write_with(|c| move_in(c, "dlq", "work", 0, 3, now_ms()))
                .await
                .unwrap();
        assert_eq!(moved, 3);
        let after = last.unwrap();
        let (rest, _) =
            q.db.write_with(move |c| move_in(c, "dlq", "work", after, 10, now_ms()))
                .await
                .unwrap();
        assert_eq!(rest, 2);
        let got = q.receive("work", 10, Duration::ZERO, None).await.unwrap();
        assert_eq!(got.iter().map(|m| m.message_id.clone()).collect::<Vec<_>>(), ids);
        assert_eq!(
            got.iter().map(|m| m.body.as_str()).collect::<Vec<_>>(),
            ["m0", "m1", "m2", "m3", "m4"]
        );
        assert!(got.iter().all(|m| m.attributes == attrs && m.receive_count == 1));
        assert!(q.receive("dlq", 10, Duration::ZERO, None).await.unwrap().is_empty());
        let none =
            q.db.write_with(|c| move_in(c, "dlq", "work", 0, 10, now_ms()))
                .await
                .unwrap();
        assert_eq!(none, (0, None));
    }
}
