//! The messaging topology, as one table: which queues the topic fans out to, with which filter
//! policy, which DLQ each redrives to, and which consumer reads each. The CDK app builds the
//! same queues (`infra/lib/messaging.ts`); `tests` below reads that file and fails on drift.

use super::{Runtime, RuntimeError};
use crate::local::deliveries::{DELIVERY_DLQ, DELIVERY_QUEUE};
use crate::local::queues::QueueConfig;
use skipline_engine::filter::{FilterPolicy, FilterScope};
use std::collections::HashSet;
use std::time::Duration;

/// The filter both consumer subscriptions use, on both backends.
pub const COMPLETED_FILTER: &str = r#"{"eventtype":["OrderCompleted"]}"#;

/// Which handler a consumer queue feeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consumer {
    NotifyVendor,
    ClearCart,
    Deliver,
}

/// One consumer queue: subscribed to the topic with raw delivery and `filter`, redriving to
/// `dlq` after the runtime's `max_receive_count` (the deliveries queue: see [`DELIVERY_CONSUMER`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConsumerQueue {
    pub queue: &'static str,
    pub dlq: &'static str,
    pub filter: &'static str,
    pub consumer: Consumer,
}

pub const NOTIFY_QUEUE: &str = "notify-vendor";
pub const CLEAR_QUEUE: &str = "clear-cart";

pub const CONSUMER_QUEUES: [ConsumerQueue; 2] = [
    ConsumerQueue {
        queue: NOTIFY_QUEUE,
        dlq: "notify-vendor-dlq",
        filter: COMPLETED_FILTER,
        consumer: Consumer::NotifyVendor,
    },
    ConsumerQueue {
        queue: CLEAR_QUEUE,
        dlq: "clear-cart-dlq",
        filter: COMPLETED_FILTER,
        consumer: Consumer::ClearCart,
    },
];

/// The deliveries queue: fed by the notify-vendor consumer's fan-out, not by the topic (its
/// `filter` is unused). Its visibility, retention and maxReceiveCount follow the retry schedule.
pub const DELIVERY_CONSUMER: ConsumerQueue = ConsumerQueue {
    queue: DELIVERY_QUEUE,
    dlq: DELIVERY_DLQ,
    filter: "",
    consumer: Consumer::Deliver,
};

/// How long a received delivery stays hidden before its consumer sets the next attempt's
/// delay: past the POST's timeout, so that no second poller takes it meanwhile.
fn delivery_visibility(webhook_timeout: Duration) -> Duration {
    webhook_timeout + Duration::from_secs(30)
}

/// SQS's default retention for the work queues, and the DLQs' longer one (as in the stack).
const QUEUE_RETENTION: Duration = Duration::from_secs(4 * 24 * 3600);
const DLQ_RETENTION: Duration = Duration::from_secs(14 * 24 * 3600);

impl Runtime {
    /// Creates the table's queues, DLQs and subscriptions that do not exist yet; with
    /// `apply_queue_settings`, also brings existing queues to this run's settings.
    pub(super) async fn ensure_topology(&self) -> Result<(), RuntimeError> {
        let dlq_config = QueueConfig {
            retention: DLQ_RETENTION,
            ..QueueConfig::default()
        };
        let existing: HashSet<String> = self
            .topic
            .subscriptions()
            .await
            .map_err(|e| RuntimeError::Setup(e.to_string()))?
            .into_iter()
            .map(|s| s.endpoint)
            .collect();
        for c in &CONSUMER_QUEUES {
            self.queues.create_if_missing(c.dlq, &dlq_config).await?;
            let config = QueueConfig {
                visibility_timeout: self.config.visibility_timeout,
                retention: QUEUE_RETENTION,
                redrive: Some((c.dlq.to_string(), self.config.max_receive_count)),
                ..QueueConfig::default()
            };
            if self.config.apply_queue_settings {
                self.queues.create(c.queue, &config).await?;
            } else {
                self.queues.create_if_missing(c.queue, &config).await?;
            }
            if !existing.contains(c.queue) {
                let policy = FilterPolicy::parse(c.filter, FilterScope::MessageAttributes)
                    .map_err(|e| RuntimeError::Setup(e.to_string()))?;
                self.topic
                    .subscribe("sqs", c.queue, Some(&policy), Some(c.filter), true)
                    .await
                    .map_err(|e| RuntimeError::Setup(e.to_string()))?;
            }
        }
        // The deliveries queue follows the schedule: serve brings it up to date, so that a
        // schedule changed since the last run changes its maxReceiveCount and retention too.
        let schedule = &self.config.delivery_schedule;
        self.queues
            .create_if_missing(
                DELIVERY_DLQ,
                &QueueConfig {
                    retention: DLQ_RETENTION,
                    ..QueueConfig::default()
                },
            )
            .await?;
        let config = QueueConfig {
            visibility_timeout: delivery_visibility(self.config.webhook_timeout),
            retention: schedule.retention(),
            redrive: Some((DELIVERY_DLQ.to_string(), schedule.max_receive_count())),
            ..QueueConfig::default()
        };
        if self.config.apply_queue_settings {
            self.queues.create(DELIVERY_QUEUE, &config).await?;
        } else {
            self.queues.create_if_missing(DELIVERY_QUEUE, &config).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The CDK app's messaging construct, as written.
    const MESSAGING_TS: &str = include_str!("../../../infra/lib/messaging.ts");

    #[test]
    fn the_table_matches_the_cdk_app() {
        // Each consumer queue is built by `consumerQueue('<name>', …)`, whose DLQ is `<name>-dlq`.
        let built: Vec<&str> = MESSAGING_TS
            .split("this.consumerQueue('")
            .skip(1)
            .filter_map(|rest| rest.split('\'').next())
            .collect();
        let ours: Vec<&str> = CONSUMER_QUEUES.iter().map(|c| c.queue).collect();
        assert_eq!(built, ours, "the queues infra/lib/messaging.ts builds");
        for c in &CONSUMER_QUEUES {
            assert_eq!(c.dlq, format!("{}-dlq", c.queue));
        }
        assert!(
            MESSAGING_TS.contains("new sqs.Queue(this, `${id}-dlq`"),
            "the DLQ naming"
        );
        assert!(MESSAGING_TS.contains("rawMessageDelivery: true"));
        assert!(MESSAGING_TS.contains("retentionPeriod: Duration.days(14)"));
        assert!(MESSAGING_TS.contains("retentionPeriod: Duration.days(4)"));
        assert_eq!(QUEUE_RETENTION.as_secs(), 4 * 24 * 3600);
        assert_eq!(DLQ_RETENTION.as_secs(), 14 * 24 * 3600);
        // The filter: `ORDER_COMPLETED_FILTER = { eventtype: ['OrderCompleted'] }`.
        let ts_filter = MESSAGING_TS
            .split("ORDER_COMPLETED_FILTER = ")
            .nth(1)
            .and_then(|rest| rest.split(';').next())
            .expect("ORDER_COMPLETED_FILTER in messaging.ts")
            .replace('\'', "\"")
            .replace("eventtype", "\"eventtype\"");
        let ts: serde_json::Value = serde_json::from_str(&ts_filter).expect("the filter is JSON once quoted");
        for c in &CONSUMER_QUEUES {
            assert_eq!(
                ts,
                serde_json::from_str::<serde_json::Value>(c.filter).unwrap(),
                "{}",
                c.queue
            );
        }
        // maxReceiveCount: the stack's constant is the embedded default.
        assert!(MESSAGING_TS.contains("export const MAX_RECEIVE_COUNT = 5;"));
        assert_eq!(crate::local::runtime::RuntimeConfig::new("x").max_receive_count, 5);
        // The deliveries queue: same name and DLQ naming, not subscribed, the same default
        // schedule and auto-disable period (the stack parses the schedule as Schedule::parse does).
        assert!(MESSAGING_TS.contains(&format!("this.deliveryQueue('{}'", DELIVERY_CONSUMER.queue)));
        assert_eq!(DELIVERY_CONSUMER.dlq, format!("{}-dlq", DELIVERY_CONSUMER.queue));
        assert!(MESSAGING_TS.contains(&format!(
            "export const DEFAULT_DELIVERY_SCHEDULE = '{}';",
            skipline_handlers::schedule::DEFAULT_SCHEDULE
        )));
        assert!(MESSAGING_TS.contains("export const DEFAULT_DISABLE_AFTER_SECONDS = 24 * 3600;"));
        assert_eq!(skipline_handlers::deliver::DEFAULT_DISABLE_AFTER.as_secs(), 24 * 3600);
        assert!(!CONSUMER_QUEUES.iter().any(|c| c.queue == DELIVERY_CONSUMER.queue));
    }
}
