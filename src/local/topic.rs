//! The topic: subscriptions with filter policies, and a publish that fans out atomically.
//!
//! A publish writes every matching subscription's copy in the same transaction as the topic
//! log entry, so a crash leaves either all copies or none.

use super::db::{Db, DbError, now_ms, store_error_from};
use super::queues::{QueueError, Signals, exists_in, send_in};
use rusqlite::{Connection, params};
use serde::Serialize;
use skipline_engine::filter::{FilterPolicy, FilterScope};
use skipline_events::MessageAttributes;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The local topic's ARN, substituted for `${TopicArn}` in the state machine.
pub const LOCAL_TOPIC_ARN: &str = "arn:aws:sns:local:000000000000:skipline-events";
/// Prefix of the queues that carry HTTP(S) subscriptions to their delivery worker.
pub const HTTP_QUEUE_PREFIX: &str = "sns-http-";

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Subscription {
    pub id: String,
    pub protocol: String,
    pub endpoint: String,
    pub filter_policy: Option<String>,
    pub scope: FilterScope,
    pub raw: bool,
}

impl Subscription {
    /// The queue a copy lands in: the subscribed queue, or the HTTP delivery queue.
    pub fn queue(&self) -> String {
        if self.protocol == "sqs" {
            self.endpoint.clone()
        } else {
            format!("{HTTP_QUEUE_PREFIX}{}", self.id)
        }
    }
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum TopicError {
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    NotFound(String),
    /// The same subscription exists already.
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

store_error_from!(TopicError: rusqlite::Error, serde_json::Error);

/// A copy the topic could not write: the subscribed queue is gone, or the message is too large.
impl From<QueueError> for TopicError {
    fn from(e: QueueError) -> Self {
        match e {
            QueueError::NoSuchQueue(_) => TopicError::NotFound(e.to_string()),
            QueueError::Invalid(m) => TopicError::Invalid(m),
            QueueError::InvalidReceipt => TopicError::Invalid(e.to_string()),
            QueueError::Db(d) => TopicError::Db(d),
        }
    }
}

/// Parsed filter policies by subscription id and text, so a publish does not re-parse them.
type PolicyCache = Arc<Mutex<HashMap<(String, String), Arc<FilterPolicy>>>>;

#[derive(Clone)]
pub struct Topic {
    db: Db,
    policies: PolicyCache,
    /// The queues' wake-ups, so a publish wakes the long polls of the queues it wrote to.
    signals: Arc<Signals>,
}

fn load_subscriptions(c: &Connection) -> Result<Vec<Subscription>, DbError> {
    let mut stmt = c.prepare_cached(
        "SELECT id, protocol, endpoint, filter_policy, scope, raw FROM subscriptions ORDER BY created_at, id",
    )?;
    let rows = stmt.query_map([], |r| {
        let scope: String = r.get(4)?;
        Ok(Subscription {
            id: r.get(0)?,
            protocol: r.get(1)?,
            endpoint: r.get(2)?,
            filter_policy: r.get(3)?,
            scope: if scope == "MessageBody" {
                FilterScope::MessageBody
            } else {
                FilterScope::MessageAttributes
            },
            raw: r.get(5)?,
        })
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// SNS's envelope for non-raw delivery.
pub fn envelope(message_id: &str, message: &str, attributes: &MessageAttributes, timestamp: &str) -> String {
    let attrs: serde_json::Map<String, serde_json::Value> = attributes
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                serde_json::json!({"Type": v.data_type, "Value": v.string_value}),
            )
        })
        .collect();
    serde_json::json!({
        "Type": "Notification",
        "MessageId": message_id,
        "TopicArn": LOCAL_TOPIC_ARN,
        "Message": message,
        "Timestamp": timestamp,
        "MessageAttributes": attrs,
    })
    .to_string()
}

impl Topic {
    pub fn new(db: Db, signals: Arc<Signals>) -> Self {
        Self {
            db,
            policies: Arc::default(),
            signals,
        }
    }

    /// Subscribes a queue (`sqs`) or an HTTP(S) endpoint. The policy must already be valid.
    pub async fn subscribe(
        &self,
        protocol: &str,
        endpoint: &str,
        policy: Option<&FilterPolicy>,
        policy_text: Option<&str>,
        raw: bool,
    ) -> Result<Subscription, TopicError> {
        let sub = Subscription {
            id: uuid::Uuid::new_v4().to_string(),
            protocol: protocol.to_string(),
            endpoint: endpoint.to_string(),
            filter_policy: policy_text.map(str::to_string),
            scope: policy.map(FilterPolicy::scope).unwrap_or_default(),
            raw,
        };
        let s = sub.clone();
        let now = jiff::Timestamp::now().to_string();
        self.db
            .write_with(move |c| {
                if s.protocol == "sqs" && !exists_in(c, &s.endpoint)? {
                    return Err(TopicError::NotFound(format!("queue {} does not exist; see `skipline queues list`", s.endpoint)));
                }
                let dup: bool = c.prepare_cached("SELECT EXISTS (SELECT 1 FROM subscriptions WHERE protocol = ?1 AND endpoint = ?2)")?.query_row(params![s.protocol, s.endpoint],
                    |r| r.get(0),
                )?;
                if dup {
                    return Err(TopicError::Conflict(format!("{} {} is already subscribed", s.protocol, s.endpoint)));
                }
                c.prepare_cached("INSERT INTO subscriptions (id, protocol, endpoint, filter_policy, scope, raw, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")?.execute(params![s.id, s.protocol, s.endpoint, s.filter_policy, s.scope.as_str(), s.raw, now],
                )?;
                if s.protocol != "sqs" {
                    c.prepare_cached("INSERT INTO queues (name, visibility_timeout_ms, delay_ms, retention_ms) VALUES (?1, 30000, 0, 345600000)")?.execute([s.queue()],
                    )?;
                }
                Ok(())
            })
            .await?;
        Ok(sub)
    }

    pub async fn subscriptions(&self) -> Result<Vec<Subscription>, TopicError> {
        Ok(self.db.read(load_subscriptions).await?)
    }

    fn policy(&self, sub: &Subscription) -> Option<Arc<FilterPolicy>> {
        let text = sub.filter_policy.as_ref()?;
        let key = (sub.id.clone(), text.clone());
        let mut cache = self.policies.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(p) = cache.get(&key) {
            return Some(p.clone());
        }
        // Stored policies were validated on subscribe; one that no longer parses matches nothing.
        let parsed = Arc::new(FilterPolicy::parse(text, sub.scope).ok()?);
        cache.insert(key, parsed.clone());
        Some(parsed)
    }

    /// Publishes inside the caller's transaction; returns the queues that got a copy, which the
    /// caller wakes ([`Topic::wake`]) once its transaction has committed.
    pub fn publish_in(
        &self,
        c: &Connection,
        message_id: &str,
        message: &str,
        attributes: &MessageAttributes,
    ) -> Result<Vec<String>, TopicError> {
        let now = now_ms();
        let timestamp = jiff::Timestamp::from_millisecond(now)
            .map(|t| t.to_string())
            .unwrap_or_default();
        let mut delivered = Vec::new();
        for sub in load_subscriptions(c)? {
            let matches = match self.policy(&sub) {
                Some(policy) => policy.matches(attributes, message),
                None => sub.filter_policy.is_none(),
            };
            if !matches {
                continue;
            }
            let queue = sub.queue();
            if sub.raw {
                send_in(c, &queue, message_id, message, attributes, now)
            } else {
                send_in(
                    c,
                    &queue,
                    message_id,
                    &envelope(message_id, message, attributes, &timestamp),
                    &MessageAttributes::new(),
                    now,
                )
            }?;
            delivered.push(queue);
        }
        let attrs = serde_json::to_string(attributes)?;
        c.prepare_cached(
            "INSERT INTO topic_log (message_id, body, attributes, published_at, copies) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![message_id, message, attrs, timestamp, delivered.len() as i64])?;
        Ok(delivered)
    }

    /// Publishes in its own transaction; durable when this returns, and the queues that got a
    /// copy are woken.
    pub async fn publish(
        &self,
        message_id: &str,
        message: &str,
        attributes: &MessageAttributes,
    ) -> Result<Vec<String>, TopicError> {
        let this = self.clone();
        let (id, m, a) = (message_id.to_string(), message.to_string(), attributes.clone());
        let queues = self.db.write_with(move |c| this.publish_in(c, &id, &m, &a)).await?;
        self.wake(&queues);
        Ok(queues)
    }

    /// Wakes the long polls of `queues`, after the copies written to them have committed.
    pub fn wake(&self, queues: &[String]) {
        queues.iter().for_each(|q| self.signals.wake(q));
    }
}
