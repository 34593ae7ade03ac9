//! Queue operations the backend and the event-source driver share: name/URL/ARN resolution,
//! counters, receive with every attribute, batch delete, and re-send that keeps a message's
//! body and attributes (so the event id a consumer dedupes on survives a replay).

use crate::error::AwsError;
use crate::pages;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::error::BuildError;
use aws_sdk_sqs::types::{
    ChangeMessageVisibilityBatchRequestEntry, DeleteMessageBatchRequestEntry, Message, MessageAttributeValue,
    MessageSystemAttributeName, QueueAttributeName, SendMessageBatchRequestEntry,
};
use std::collections::HashMap;

/// SQS's "no such queue" codes (JSON and query protocols spell it differently).
const NOT_FOUND: &[&str] = &["QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue"];

/// SQS's hard limit on a batch (receive, delete, send).
pub const MAX_BATCH: usize = 10;

/// The queue name from a URL (`…/123456789012/name`) or ARN (`arn:aws:sqs:region:acct:name`).
pub fn queue_name(url_or_arn: &str) -> &str {
    let s = url_or_arn.trim_end_matches('/');
    s.rsplit(['/', ':']).next().unwrap_or(s)
}

/// Resolves a queue name, URL or ARN to its URL.
pub async fn queue_url(client: &Client, queue: &str) -> Result<String, AwsError> {
    if queue.starts_with("http://") || queue.starts_with("https://") {
        return Ok(queue.to_string());
    }
    let out = client
        .get_queue_url()
        .queue_name(queue_name(queue))
        .send()
        .await
        .map_err(|e| AwsError::from_sdk(&format!("SQS GetQueueUrl {queue}"), &e, NOT_FOUND))?;
    out.queue_url
        .ok_or_else(|| AwsError::NotFound(format!("no queue named {queue}")))
}

/// A queue's counters and redrive policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueStats {
    pub arn: String,
    pub visible: u64,
    pub in_flight: u64,
    pub delayed: u64,
    /// `(dead-letter queue ARN, maxReceiveCount)` from the RedrivePolicy.
    pub redrive: Option<(String, u32)>,
}

/// GetQueueAttributes for `name` (or `All`); an attribute the queue lacks is absent.
async fn queue_attributes(
    client: &Client,
    url: &str,
    name: QueueAttributeName,
) -> Result<HashMap<QueueAttributeName, String>, AwsError> {
    let out = client
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(name)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk(&format!("SQS GetQueueAttributes {url}"), &e, NOT_FOUND))?;
    Ok(out.attributes.unwrap_or_default())
}

pub async fn queue_stats(client: &Client, url: &str) -> Result<QueueStats, AwsError> {
    let attrs = queue_attributes(client, url, QueueAttributeName::All).await?;
    let count = |name: QueueAttributeName| attrs.get(&name).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    let redrive = attrs
        .get(&QueueAttributeName::RedrivePolicy)
        .and_then(|p| parse_redrive_policy(p));
    Ok(QueueStats {
        arn: attrs.get(&QueueAttributeName::QueueArn).cloned().unwrap_or_default(),
        visible: count(QueueAttributeName::ApproximateNumberOfMessages),
        in_flight: count(QueueAttributeName::ApproximateNumberOfMessagesNotVisible),
        delayed: count(QueueAttributeName::ApproximateNumberOfMessagesDelayed),
        redrive,
    })
}

/// `{"deadLetterTargetArn": "...", "maxReceiveCount": 5}`; the count is a number or a string
/// depending on who wrote the policy (CloudFormation writes numbers, some SDKs strings).
pub fn parse_redrive_policy(policy: &str) -> Option<(String, u32)> {
    let v: serde_json::Value = serde_json::from_str(policy).ok()?;
    let arn = v.get("deadLetterTargetArn")?.as_str()?.to_string();
    let max = match v.get("maxReceiveCount")? {
        serde_json::Value::Number(n) => n.as_u64()?,
        serde_json::Value::String(s) => s.parse().ok()?,
        _ => return None,
    };
    Some((arn, u32::try_from(max).ok()?))
}

pub async fn queue_arn(client: &Client, url: &str) -> Result<String, AwsError> {
    let attrs = queue_attributes(client, url, QueueAttributeName::QueueArn).await?;
    attrs
        .get(&QueueAttributeName::QueueArn)
        .cloned()
        .ok_or_else(|| AwsError::Unexpected(format!("{url} has no QueueArn attribute")))
}

/// Receives up to `max` (≤ 10) messages with all system and message attributes.
/// `visibility` overrides the queue's visibility timeout for these messages (0 = peek; SQS
/// still counts it as a receive, so peeking moves a message towards its DLQ).
pub async fn receive(
    client: &Client,
    url: &str,
    max: usize,
    visibility: Option<i32>,
    wait_seconds: i32,
) -> Result<Vec<Message>, AwsError> {
    let max = max.clamp(1, MAX_BATCH) as i32;
    let out = client
        .receive_message()
        .queue_url(url)
        .max_number_of_messages(max)
        .set_visibility_timeout(visibility)
        .wait_time_seconds(wait_seconds)
        .message_system_attribute_names(MessageSystemAttributeName::All)
        .message_attribute_names("All")
        .send()
        .await
        .map_err(|e| AwsError::from_sdk(&format!("SQS ReceiveMessage {url}"), &e, NOT_FOUND))?;
    Ok(out.messages.unwrap_or_default())
}

/// A received message in plain types, for callers that should not see the SDK's `Message`.
/// It keeps the message attributes exactly as received (binary ones too, which
/// [`attributes`](Self::attributes) leaves out), so [`send_copies`] re-sends them unchanged.
#[derive(Debug, Clone, PartialEq)]
pub struct Received {
    pub message_id: String,
    /// Empty if SQS sent none (it always does for a received message).
    pub receipt_handle: String,
    pub body: String,
    /// The message attributes in our contract's shape (see [`contract_attributes`]).
    pub attributes: skipline_events::MessageAttributes,
    /// `ApproximateReceiveCount`, this receive included (0 if absent).
    pub receive_count: u32,
    /// `SentTimestamp`, epoch milliseconds (0 if absent).
    pub sent_ms: i64,
    sdk_attributes: Option<HashMap<String, MessageAttributeValue>>,
}

impl From<Message> for Received {
    fn from(m: Message) -> Self {
        let system = |name: MessageSystemAttributeName| system_attribute(&m, &name);
        Received {
            receive_count: system(MessageSystemAttributeName::ApproximateReceiveCount)
                .and_then(|c| c.parse().ok())
                .unwrap_or(0),
            sent_ms: system(MessageSystemAttributeName::SentTimestamp)
                .and_then(|t| t.parse().ok())
                .unwrap_or(0),
            attributes: contract_attributes(&m),
            message_id: m.message_id.unwrap_or_default(),
            receipt_handle: m.receipt_handle.unwrap_or_default(),
            body: m.body.unwrap_or_default(),
            sdk_attributes: m.message_attributes,
        }
    }
}

/// [`receive`], in plain types.
pub async fn receive_plain(
    client: &Client,
    url: &str,
    max: usize,
    visibility: Option<i32>,
    wait_seconds: i32,
) -> Result<Vec<Received>, AwsError> {
    let messages = receive(client, url, max, visibility, wait_seconds).await?;
    Ok(messages.into_iter().map(Received::from).collect())
}

/// Runs one batch request per [`MAX_BATCH`] items. `entry` builds an item's request entry from
/// the entry id it is given (the item's index in its batch); `send` sends a batch and returns
/// the entry ids the response lists (failed or successful, as the caller asks). The answer says,
/// per item, whether its id was listed. `what` names the entry in a build error.
async fn in_batches<T, E, Fut>(
    items: &[T],
    what: &str,
    entry: impl Fn(String, &T) -> Result<E, BuildError>,
    send: impl Fn(Vec<E>) -> Fut,
) -> Result<Vec<bool>, AwsError>
where
    Fut: Future<Output = Result<Vec<String>, AwsError>>,
{
    let mut listed = vec![false; items.len()];
    for (chunk_index, chunk) in items.chunks(MAX_BATCH).enumerate() {
        let entries = chunk
            .iter()
            .enumerate()
            .map(|(i, item)| entry(i.to_string(), item))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| AwsError::Unexpected(format!("{what} entry: {e}")))?;
        for id in send(entries).await? {
            if let Ok(i) = id.parse::<usize>()
                && i < chunk.len()
            {
                listed[chunk_index * MAX_BATCH + i] = true;
            }
        }
    }
    Ok(listed)
}

/// The items whose flag is set.
fn flagged(items: &[String], flags: Vec<bool>) -> Vec<String> {
    items
        .iter()
        .zip(flags)
        .filter(|(_, f)| *f)
        .map(|(item, _)| item.clone())
        .collect()
}

/// One batch call per [`MAX_BATCH`] items through [`in_batches`]: `$op` is the client method and
/// `$name` the operation (for errors), `$listed` the response field (`failed` or `successful`)
/// whose entry ids come back, and each item's entry is `$entry` built with its id and the
/// setters given. A macro, because the batch calls differ only in SDK types that share no trait.
macro_rules! batch {
    ($client:expr, $url:expr, $items:expr => $op:ident $name:literal $listed:ident,
     |$item:ident| $entry:ident { $($setter:ident($value:expr)),* }) => {
        in_batches(
            $items,
            $name,
            |id, $item| $entry::builder().id(id)$(.$setter($value))*.build(),
            |entries| async move {
                let out = $client.$op().queue_url($url).set_entries(Some(entries)).send().await.map_err(|e| {
                    AwsError::from_sdk(&format!(concat!("SQS ", $name, " {}"), $url), &e, NOT_FOUND)
                })?;
                Ok(out.$listed.into_iter().map(|e| e.id).collect())
            },
        )
    };
}

/// Deletes by receipt handle; returns the handles that failed (they will reappear).
pub async fn delete_batch(client: &Client, url: &str, receipt_handles: &[String]) -> Result<Vec<String>, AwsError> {
    let failed = batch!(client, url, receipt_handles => delete_message_batch "DeleteMessageBatch" failed,
        |handle| DeleteMessageBatchRequestEntry { receipt_handle(handle) })
    .await?;
    Ok(flagged(receipt_handles, failed))
}

/// Sends copies of `messages` (body and message attributes unchanged) to `url`; returns, per
/// input message, whether SQS accepted it.
pub async fn send_copies(client: &Client, url: &str, messages: &[&Received]) -> Result<Vec<bool>, AwsError> {
    send_entries(client, url, messages, |m| {
        (m.body.clone(), m.sdk_attributes.clone().filter(|a| !a.is_empty()))
    })
    .await
}

/// Sends `bodies` without attributes; returns, per body, whether SQS accepted it.
pub async fn send_bodies(client: &Client, url: &str, bodies: &[String]) -> Result<Vec<bool>, AwsError> {
    send_entries(client, url, bodies, |body| (body.clone(), None)).await
}

/// SendMessageBatch for [`send_copies`] and [`send_bodies`]: `message` gives an item's body and
/// message attributes; the answer says, per item, whether SQS accepted it.
async fn send_entries<T>(
    client: &Client,
    url: &str,
    items: &[T],
    message: impl Fn(&T) -> (String, Option<HashMap<String, MessageAttributeValue>>),
) -> Result<Vec<bool>, AwsError> {
    let messages: Vec<_> = items.iter().map(message).collect();
    batch!(client, url, &messages => send_message_batch "SendMessageBatch" successful,
        |m| SendMessageBatchRequestEntry { message_body(m.0.clone()), set_message_attributes(m.1.clone()) })
    .await
}

/// Hides a received message for `seconds` from now (ChangeMessageVisibility).
pub async fn change_visibility(client: &Client, url: &str, receipt_handle: &str, seconds: i32) -> Result<(), AwsError> {
    client
        .change_message_visibility()
        .queue_url(url)
        .receipt_handle(receipt_handle)
        .visibility_timeout(seconds)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk(&format!("SQS ChangeMessageVisibility {url}"), &e, NOT_FOUND))?;
    Ok(())
}

/// The queues whose RedrivePolicy targets `dlq_url`.
pub async fn dead_letter_sources(client: &Client, dlq_url: &str) -> Result<Vec<String>, AwsError> {
    pages::collect(pages::ALL, |next, _| async move {
        let out = client
            .list_dead_letter_source_queues()
            .queue_url(dlq_url)
            .set_next_token(next)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(&format!("SQS ListDeadLetterSourceQueues {dlq_url}"), &e, NOT_FOUND))?;
        Ok((out.queue_urls, out.next_token))
    })
    .await
}

/// Makes messages visible again now (visibility timeout 0); returns the handles that failed.
pub async fn release_batch(client: &Client, url: &str, receipt_handles: &[String]) -> Result<Vec<String>, AwsError> {
    let failed =
        batch!(client, url, receipt_handles => change_message_visibility_batch "ChangeMessageVisibilityBatch" failed,
        |handle| ChangeMessageVisibilityBatchRequestEntry { receipt_handle(handle), visibility_timeout(0) })
        .await?;
    Ok(flagged(receipt_handles, failed))
}

/// Lets `topic_arn` send to the queue, as `SqsSubscription` does in CDK: without a queue policy
/// SNS cannot deliver, and the subscription fails silently. A queue that already has a policy is
/// left alone (it may be managed elsewhere); the return value says whether the topic is allowed.
pub async fn allow_topic(client: &Client, url: &str, queue_arn: &str, topic_arn: &str) -> Result<bool, AwsError> {
    let attrs = queue_attributes(client, url, QueueAttributeName::Policy).await?;
    if let Some(policy) = attrs.get(&QueueAttributeName::Policy).filter(|p| !p.trim().is_empty()) {
        return Ok(policy.contains(topic_arn));
    }
    let policy = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "AllowSkipTheLineTopic",
            "Effect": "Allow",
            "Principal": {"Service": "sns.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": queue_arn,
            "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}}
        }]
    });
    client
        .set_queue_attributes()
        .queue_url(url)
        .attributes(QueueAttributeName::Policy, policy.to_string())
        .send()
        .await
        .map_err(|e| AwsError::from_sdk(&format!("SQS SetQueueAttributes {url}"), &e, NOT_FOUND))?;
    Ok(true)
}

/// Message attributes in our contract's shape (`String`/`Number` values; binary ones dropped,
/// as SNS filter policies ignore them too).
pub fn contract_attributes(message: &Message) -> skipline_events::MessageAttributes {
    message
        .message_attributes
        .as_ref()
        .map(|attrs| {
            attrs
                .iter()
                .filter_map(|(name, v)| {
                    v.string_value.as_ref().map(|s| {
                        (
                            name.clone(),
                            skipline_events::MessageAttributeValue {
                                data_type: v.data_type.clone(),
                                string_value: s.clone(),
                            },
                        )
                    })
                })
                .collect()
        })
        .unwrap_or_default()
}

/// A system attribute such as `ApproximateReceiveCount`, as text.
fn system_attribute<'a>(message: &'a Message, name: &MessageSystemAttributeName) -> Option<&'a str> {
    message
        .attributes
        .as_ref()
        .and_then(|a: &HashMap<MessageSystemAttributeName, String>| a.get(name))
        .map(String::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_redrive_policies() {
        assert_eq!(
            queue_name("http://127.0.0.1:5000/123456789012/notify-vendor"),
            "notify-vendor"
        );
        assert_eq!(
            queue_name("arn:aws:sqs:us-east-1:123456789012:clear-cart-dlq"),
            "clear-cart-dlq"
        );
        assert_eq!(queue_name("plain"), "plain");
        assert_eq!(
            parse_redrive_policy(r#"{"deadLetterTargetArn":"arn:aws:sqs:r:1:d","maxReceiveCount":5}"#),
            Some(("arn:aws:sqs:r:1:d".into(), 5))
        );
        assert_eq!(
            parse_redrive_policy(r#"{"deadLetterTargetArn":"a","maxReceiveCount":"3"}"#),
            Some(("a".into(), 3))
        );
        assert_eq!(parse_redrive_policy("nope"), None);
    }
}
