//! The deliveries queue and the delivery log on SQLite: the fan-out's writes, every attempt,
//! acknowledgements, and the kept tickets that `vendors redeliver` resends.

use super::db::{Db, DbError, now_ms};
use super::live::{Live, LiveEvent};
use super::queues::{QueueError, Queues, send_in};
use super::topic::Topic;
use async_trait::async_trait;
use aws_lambda_events::event::sqs::SqsMessage;
use rusqlite::params;
use skipline_events::{Delivery, MessageAttributes, TicketPayload};
use skipline_handlers::ports::{
    Attempt, AttemptOutcome, AttemptQuery, DeliveryLog, DeliveryQueue, EventPublisher, MessageVisibility, StoreError,
    TicketQuery,
};
use std::time::Duration;

/// The queue the fan-out writes one message per (event, endpoint) to.
pub const DELIVERY_QUEUE: &str = "deliveries";
pub const DELIVERY_DLQ: &str = "deliveries-dlq";

/// How long attempts, kept tickets and acknowledgements are kept: as on AWS (the delivery
/// table's TTL), longer than any queue keeps a message, so a redelivered or replayed event is
/// still deduped.
pub const DELIVERY_RETENTION: Duration = Duration::from_secs(14 * 24 * 3600);

#[derive(Clone)]
pub struct SqliteDeliveries {
    db: Db,
    queues: Queues,
    /// Told of each attempt once it is logged.
    live: Live,
}

impl SqliteDeliveries {
    pub fn new(db: Db, queues: Queues) -> Self {
        Self {
            db,
            queues,
            live: Live::default(),
        }
    }

    /// Reports each logged attempt to `live`.
    pub fn with_live(mut self, live: Live) -> Self {
        self.live = live;
        self
    }
}

impl SqliteDeliveries {
    /// Deletes what is older than [`DELIVERY_RETENTION`]; returns the rows deleted.
    pub async fn purge_expired(&self) -> Result<usize, DbError> {
        let cutoff = jiff::Timestamp::now() - jiff::SignedDuration::from_secs(DELIVERY_RETENTION.as_secs() as i64);
        let (ms, text) = (cutoff.as_millisecond(), cutoff.to_string());
        self.db
            .write(move |c| {
                let mut n = c
                    .prepare_cached("DELETE FROM delivery_attempts WHERE at_ms < ?1")?
                    .execute([ms])?;
                n += c
                    .prepare_cached("DELETE FROM tickets WHERE queued_ms < ?1")?
                    .execute([ms])?;
                // RFC 3339 in UTC, as written: text order is time order.
                n += c
                    .prepare_cached("DELETE FROM deliveries WHERE delivered_at < ?1")?
                    .execute([text])?;
                Ok(n)
            })
            .await
    }
}

fn store(e: QueueError) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

fn ms_of(t: jiff::Timestamp) -> i64 {
    t.as_millisecond()
}

fn time_of(ms: i64) -> rusqlite::Result<jiff::Timestamp> {
    jiff::Timestamp::from_millisecond(ms)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Integer, e.to_string().into()))
}

#[async_trait]
impl DeliveryQueue for SqliteDeliveries {
    /// One transaction: the kept tickets and the messages commit together, and an event whose
    /// ticket is already kept was fanned out before (its notify-vendor message came again
    /// after a stale delete), so its deliveries are not queued twice.
    async fn enqueue(&self, deliveries: &[Delivery]) -> Result<(), StoreError> {
        if deliveries.is_empty() {
            return Ok(());
        }
        let mut rows = Vec::with_capacity(deliveries.len());
        for d in deliveries {
            let body = serde_json::to_string(d).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            let payload = serde_json::to_string(&d.payload).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            rows.push((d.vendorid.clone(), d.eventid.clone(), body, payload, d.redelivery));
        }
        let queued = self
            .db
            .write_with(move |c| {
                let now = now_ms();
                let attributes = MessageAttributes::new();
                let mut fresh: std::collections::HashMap<(String, String), bool> = Default::default();
                let mut queued = 0;
                for (vendorid, eventid, body, payload, redelivery) in &rows {
                    if !redelivery {
                        let key = (vendorid.clone(), eventid.clone());
                        let is_new = match fresh.get(&key) {
                            Some(n) => *n,
                            None => {
                                let n = c
                                    .prepare_cached(
                                        "INSERT OR IGNORE INTO tickets (vendorid, eventid, queued_ms, payload)
                                         VALUES (?1, ?2, ?3, ?4)",
                                    )?
                                    .execute(params![vendorid, eventid, now, payload])?
                                    > 0;
                                fresh.insert(key, n);
                                n
                            }
                        };
                        if !is_new {
                            continue;
                        }
                    }
                    send_in(
                        c,
                        DELIVERY_QUEUE,
                        &uuid::Uuid::new_v4().to_string(),
                        body,
                        &attributes,
                        now,
                    )?;
                    queued += 1;
                }
                Ok::<_, QueueError>(queued)
            })
            .await
            .map_err(store)?;
        if queued > 0 {
            self.queues.signals.wake(DELIVERY_QUEUE);
        }
        Ok(())
    }
}

#[async_trait]
impl MessageVisibility for SqliteDeliveries {
    async fn retry_in(&self, record: &SqsMessage, delay: Duration) -> Result<(), StoreError> {
        let queue = record
            .event_source_arn
            .as_deref()
            .and_then(|arn| arn.rsplit(':').next())
            .unwrap_or(DELIVERY_QUEUE);
        let receipt = skipline_handlers::ports::receipt_handle(record)?;
        self.queues
            .change_visibility(queue, receipt, delay)
            .await
            .map_err(store)
    }
}

fn attempt_from(r: &rusqlite::Row<'_>) -> rusqlite::Result<Attempt> {
    let outcome: String = r.get(8)?;
    Ok(Attempt {
        vendorid: r.get(0)?,
        endpointid: r.get(1)?,
        eventid: r.get(2)?,
        attempt: r.get(3)?,
        at: time_of(r.get(4)?)?,
        status: r.get(5)?,
        error: r.get(6)?,
        latency_ms: r.get::<_, i64>(7)?.max(0) as u64,
        outcome: AttemptOutcome::parse(&outcome).ok_or_else(|| {
            rusqlite::Error::FromSqlConversionFailure(
                8,
                rusqlite::types::Type::Text,
                format!("outcome {outcome:?}").into(),
            )
        })?,
        next_attempt_at: r.get::<_, Option<i64>>(9)?.map(time_of).transpose()?,
        redelivery: r.get(10)?,
    })
}

#[async_trait]
impl DeliveryLog for SqliteDeliveries {
    async fn was_delivered(&self, eventid: &str, endpointid: &str) -> Result<bool, StoreError> {
        let (ev, ep) = (eventid.to_string(), endpointid.to_string());
        Ok(self
            .db
            .read(move |c| {
                Ok(
                    c.prepare_cached(
                        "SELECT EXISTS (SELECT 1 FROM deliveries WHERE eventid = ?1 AND endpointid = ?2)",
                    )?
                    .query_row(params![ev, ep], |r| r.get(0))?,
                )
            })
            .await?)
    }

    async fn record_attempt(&self, a: &Attempt) -> Result<(), StoreError> {
        metrics::counter!(crate::metrics::DELIVERIES, "outcome" => a.outcome.as_str()).increment(1);
        if a.outcome != AttemptOutcome::Skipped {
            metrics::histogram!(crate::metrics::DELIVERY_SECONDS).record(a.latency_ms as f64 / 1000.0);
        }
        // Built before the write, and only for a watcher: no copy on the hot path otherwise.
        let logged = self.live.watched().then(|| serde_json::to_value(a).ok()).flatten();
        let a = a.clone();
        self.db
            .write(move |c| {
                c.prepare_cached(
                    "INSERT INTO delivery_attempts (vendorid, endpointid, eventid, attempt, at_ms, status, error,
                       latency_ms, outcome, next_attempt_ms, redelivery)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                )?
                .execute(params![
                    a.vendorid,
                    a.endpointid,
                    a.eventid,
                    a.attempt,
                    ms_of(a.at),
                    a.status,
                    a.error,
                    a.latency_ms as i64,
                    a.outcome.as_str(),
                    a.next_attempt_at.map(ms_of),
                    a.redelivery
                ])?;
                if a.outcome == AttemptOutcome::Delivered {
                    c.prepare_cached(
                        "INSERT OR IGNORE INTO deliveries (eventid, endpointid, delivered_at) VALUES (?1, ?2, ?3)",
                    )?
                    .execute(params![a.eventid, a.endpointid, a.at.to_string()])?;
                }
                Ok(())
            })
            .await?;
        if let Some(attempt) = logged {
            self.live.emit(|| Some(LiveEvent::Delivery { attempt }));
        }
        Ok(())
    }

    async fn attempts(&self, q: &AttemptQuery) -> Result<Vec<Attempt>, StoreError> {
        let q = q.clone();
        Ok(self
            .db
            .read(move |c| {
                let mut stmt = c.prepare_cached(
                    "SELECT vendorid, endpointid, eventid, attempt, at_ms, status, error, latency_ms, outcome,
                       next_attempt_ms, redelivery
                     FROM delivery_attempts
                     WHERE vendorid = ?1 AND (?2 IS NULL OR endpointid = ?2) AND (?3 IS NULL OR eventid = ?3)
                       AND (?4 = 0 OR outcome <> 'delivered') AND at_ms >= ?5 AND at_ms < ?6
                     ORDER BY at_ms DESC, seq DESC LIMIT ?7",
                )?;
                let rows = stmt.query_map(
                    params![
                        q.vendorid,
                        q.endpointid,
                        q.eventid,
                        q.failed_only,
                        q.since.map(ms_of).unwrap_or(i64::MIN),
                        q.until.map(ms_of).unwrap_or(i64::MAX),
                        q.limit as i64
                    ],
                    attempt_from,
                )?;
                Ok(rows.collect::<Result<Vec<_>, _>>()?)
            })
            .await?)
    }

    async fn tickets(
        &self,
        vendorid: &str,
        query: &TicketQuery,
        limit: usize,
    ) -> Result<Vec<TicketPayload>, StoreError> {
        let (v, q) = (vendorid.to_string(), query.clone());
        Ok(self
            .db
            .read(move |c| {
                let payloads: Vec<String> = match &q {
                    TicketQuery::Event(id) => c
                        .prepare_cached("SELECT payload FROM tickets WHERE vendorid = ?1 AND eventid = ?2")?
                        .query_map(params![v, id], |r| r.get(0))?
                        .collect::<Result<_, _>>()?,
                    TicketQuery::Between { since, until } => c
                        .prepare_cached(
                            "SELECT payload FROM tickets WHERE vendorid = ?1 AND queued_ms >= ?2 AND queued_ms < ?3
                             ORDER BY queued_ms, eventid LIMIT ?4",
                        )?
                        .query_map(
                            params![v, ms_of(*since), until.map(ms_of).unwrap_or(i64::MAX), limit as i64],
                            |r| r.get(0),
                        )?
                        .collect::<Result<_, _>>()?,
                };
                payloads
                    .iter()
                    .map(|p| serde_json::from_str(p).map_err(DbError::from))
                    .collect()
            })
            .await?)
    }
}

#[async_trait]
impl EventPublisher for Topic {
    async fn publish(&self, message: &str, attributes: &MessageAttributes) -> Result<(), StoreError> {
        Topic::publish(self, &uuid::Uuid::new_v4().to_string(), message, attributes)
            .await
            .map(|_| ())
            .map_err(|e| StoreError::Unavailable(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attempt(at: jiff::Timestamp, outcome: AttemptOutcome) -> Attempt {
        Attempt {
            eventid: format!("o{}.OrderCompleted", at.as_second()),
            vendorid: "v0".into(),
            endpointid: "ep1".into(),
            attempt: 1,
            at,
            status: Some(200),
            error: None,
            latency_ms: 3,
            outcome,
            next_attempt_at: None,
            redelivery: false,
        }
    }

    #[tokio::test]
    async fn the_log_is_kept_for_its_retention_only() {
        let (_dir, db) = crate::local::db::temp_db();
        let d = SqliteDeliveries::new(db.clone(), Queues::new(db));
        let now = jiff::Timestamp::now();
        let old = now - jiff::SignedDuration::from_secs(DELIVERY_RETENTION.as_secs() as i64 + 60);
        d.record_attempt(&attempt(old, AttemptOutcome::Delivered))
            .await
            .unwrap();
        d.record_attempt(&attempt(now, AttemptOutcome::Delivered))
            .await
            .unwrap();
        assert_eq!(
            d.purge_expired().await.unwrap(),
            2,
            "the old attempt and its acknowledgement"
        );
        let q = AttemptQuery {
            vendorid: "v0".into(),
            limit: 10,
            ..AttemptQuery::default()
        };
        let left = d.attempts(&q).await.unwrap();
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].at.as_millisecond(), now.as_millisecond());
        assert!(d.was_delivered(&left[0].eventid, "ep1").await.unwrap());
        assert!(
            !d.was_delivered(&format!("o{}.OrderCompleted", old.as_second()), "ep1")
                .await
                .unwrap()
        );
        assert_eq!(d.purge_expired().await.unwrap(), 0);
    }

    #[tokio::test]
    async fn an_event_is_fanned_out_once_unless_redelivered() {
        let (_dir, db) = crate::local::db::temp_db();
        let queues = Queues::new(db.clone());
        queues.create(DELIVERY_QUEUE, &Default::default()).await.unwrap();
        let d = SqliteDeliveries::new(db, queues.clone());
        let event =
            skipline_handlers::sqs::decode_event(&skipline_handlers::testing::completed_event_json("o1", "a0", "v0"))
                .unwrap();
        let payload = TicketPayload::from_event(&event).unwrap();
        let both = [
            Delivery::new("v0", "ep1", &payload, false),
            Delivery::new("v0", "ep2", &payload, false),
        ];
        d.enqueue(&both).await.unwrap();
        d.enqueue(&both).await.unwrap();
        let depth = || async { queues.peek(DELIVERY_QUEUE, 100).await.unwrap().len() };
        assert_eq!(depth().await, 2, "the second fan-out of the same event queues nothing");
        d.enqueue(&[Delivery::new("v0", "ep1", &payload, true)]).await.unwrap();
        assert_eq!(depth().await, 3, "a redelivery always goes");
        let kept = d
            .tickets("v0", &TicketQuery::Event("o1.OrderCompleted".into()), 10)
            .await
            .unwrap();
        assert_eq!(kept, [payload]);
    }
}
