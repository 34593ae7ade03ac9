//! The consumers: each consumer queue read as a Lambda event source mapping reads it (the one
//! rule in `skipline_handlers::esm`), and HTTP(S) topic subscriptions delivered as SNS does.

use super::Runtime;
use super::topology::{Consumer, ConsumerQueue};
use crate::local::live::{LiveEvent, orderid_of};
use crate::local::queues::{Queues, Received};
use crate::local::topic::LOCAL_TOPIC_ARN;
use async_trait::async_trait;
use aws_lambda_events::event::sqs::{SqsMessage, SqsMessageAttribute};
use skipline_handlers::clear_cart::ClearCart;
use skipline_handlers::deliver::DeliverTickets;
use skipline_handlers::esm::{EventSource, poll_once};
use skipline_handlers::notify_vendor::NotifyVendor;
use skipline_handlers::ports::{CartStore, StoreError, WebhookRequest};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Messages one deliveries poller takes at once, like the stack's event source mapping (10).
const DELIVERY_BATCH: usize = 10;
/// Pollers of the deliveries queue per consumer worker: small batches need more of them.
pub(super) const DELIVERY_POLLERS_PER_WORKER: usize = 4;

/// A local queue as an event source mapping's poller sees it.
struct QueueSource<'a> {
    queues: &'a Queues,
    queue: &'static str,
    batch: usize,
    paused: &'a AtomicBool,
}

#[async_trait]
impl EventSource for QueueSource<'_> {
    async fn receive(&self) -> Result<Vec<SqsMessage>, StoreError> {
        let batch = self
            .queues
            .receive_batch(self.queue, self.batch, Duration::from_millis(500))
            .await
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        if !batch.is_empty() && self.paused.load(Ordering::Relaxed) {
            // Paused while the long poll was open: hand the messages back untouched.
            for m in &batch {
                let _ = self
                    .queues
                    .change_visibility(self.queue, &m.receipt, Duration::ZERO)
                    .await;
            }
            return Ok(Vec::new());
        }
        Ok(batch.iter().map(|m| sqs_record(self.queue, m)).collect())
    }

    async fn delete(&self, receipts: &[String]) -> Result<Vec<bool>, StoreError> {
        self.queues
            .delete_batch(self.queue, receipts)
            .await
            .map_err(|e| StoreError::Unavailable(e.to_string()))
    }
}

impl Runtime {
    /// One poller of a consumer queue: receive a batch, invoke the queue's consumer, delete
    /// what it finished. One invocation per poll, as an event source mapping with this batch
    /// size makes; the consumers handle their records concurrently.
    pub(super) async fn consume(self: Arc<Self>, queue: &'static ConsumerQueue) {
        let notify = NotifyVendor {
            directory: self.vendors.as_ref(),
            deliveries: self.deliveries.as_ref(),
        };
        let jitter = skipline_handlers::schedule::random_unit;
        let deliver = DeliverTickets {
            directory: self.vendors.as_ref(),
            log: self.deliveries.as_ref(),
            webhooks: self.webhooks.as_ref(),
            visibility: self.deliveries.as_ref(),
            events: &self.topic,
            clock: self.clock.as_ref(),
            schedule: &self.config.delivery_schedule,
            disable_after: self.config.disable_after,
            allow_private_endpoints: self.config.allow_private_endpoints,
            jitter: &jitter,
        };
        let cart: &dyn CartStore = self.cart.as_ref();
        let clear = ClearCart { cart };
        let (notify, clear, deliver) = (&notify, &clear, &deliver);
        // A poller finishes its batch before it takes the next, so deliveries come in small
        // batches: a hanging endpoint holds back at most the few deliveries that share its
        // batch (and those are sent at once, concurrently), never the rest of the queue.
        let batch = match queue.consumer {
            Consumer::Deliver => DELIVERY_BATCH.min(self.config.consumer_batch),
            _ => self.config.consumer_batch,
        };
        let source = QueueSource {
            queues: &self.queues,
            queue: queue.queue,
            batch,
            paused: &self.consumers_paused,
        };
        while !self.stopped() {
            self.beat(queue.queue);
            if self.consumers_paused.load(Ordering::Relaxed) {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
            let polled = poll_once(&source, |event| async move {
                match queue.consumer {
                    Consumer::NotifyVendor => notify.handle(event).await,
                    Consumer::ClearCart => clear.handle(event).await,
                    Consumer::Deliver => deliver.handle(event).await,
                }
            })
            .await;
            match polled {
                Ok(report) => {
                    if let Some(hook) = self.consumed.get()
                        && !report.deleted.is_empty()
                    {
                        hook(queue.queue, &report.deleted);
                    }
                    if !report.deleted.is_empty() {
                        self.live.emit(|| {
                            Some(LiveEvent::Consumed {
                                queue: queue.queue.to_string(),
                                orderids: report
                                    .deleted
                                    .iter()
                                    .filter_map(|m| m.body.as_deref().and_then(orderid_of))
                                    .collect(),
                            })
                        });
                    }
                }
                Err(e) => {
                    tracing::error!(queue = queue.queue, error = %e, "poll failed");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }

    /// Delivers HTTP(S) topic subscriptions from their queues, as SNS's HTTP delivery does.
    pub(super) async fn deliver_http(self: Arc<Self>) {
        while !self.stopped() {
            let subs = match self.topic.subscriptions().await {
                Ok(subs) => subs,
                Err(e) => {
                    tracing::error!(error = %e, "cannot read the topic's subscriptions; HTTP delivery waits");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            let mut idle = true;
            for sub in subs.iter().filter(|s| s.protocol != "sqs") {
                let queue = sub.queue();
                let Ok(batch) = self.queues.receive(&queue, 10, Duration::ZERO, None).await else {
                    continue;
                };
                for m in batch {
                    idle = false;
                    let request = WebhookRequest {
                        url: sub.endpoint.clone(),
                        headers: vec![
                            ("Content-Type".into(), "text/plain; charset=UTF-8".into()),
                            ("x-amz-sns-message-type".into(), "Notification".into()),
                            ("x-amz-sns-message-id".into(), m.message_id.clone()),
                            ("x-amz-sns-topic-arn".into(), LOCAL_TOPIC_ARN.into()),
                            ("x-amz-sns-subscription-arn".into(), sub.id.clone()),
                        ],
                        body: m.body.clone().into_bytes(),
                    };
                    match self.webhooks.post(&request).await {
                        Ok(answer) if answer.is_success() => {
                            let _ = self.queues.delete(&queue, &m.receipt).await;
                        }
                        Ok(answer) => {
                            tracing::warn!(endpoint = %sub.endpoint, status = answer.status, "HTTP subscription delivery failed; will retry")
                        }
                        Err(e) => {
                            tracing::warn!(endpoint = %sub.endpoint, error = %e, "HTTP subscription delivery failed; will retry")
                        }
                    }
                }
            }
            if idle {
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        }
    }
}

/// An SQS record as Lambda would see it.
fn sqs_record(queue: &str, m: &Received) -> SqsMessage {
    let mut r = SqsMessage::default();
    r.message_id = Some(m.message_id.clone());
    r.receipt_handle = Some(m.receipt.clone());
    r.body = Some(m.body.clone());
    r.event_source = Some("aws:sqs".into());
    r.event_source_arn = Some(format!("arn:aws:sqs:local:000000000000:{queue}"));
    r.attributes
        .insert("ApproximateReceiveCount".into(), m.receive_count.to_string());
    r.attributes.insert("SentTimestamp".into(), m.sent_ms.to_string());
    for (name, value) in &m.attributes {
        let mut a = SqsMessageAttribute::default();
        a.data_type = Some(value.data_type.clone());
        a.string_value = Some(value.string_value.clone());
        r.message_attributes.insert(name.clone(), a);
    }
    r
}
