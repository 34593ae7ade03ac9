//! The order-events topic: publish with message attributes, subscribe queues with filter
//! policies, and list subscriptions with their attributes.

use crate::error::AwsError;
use crate::pages;
use aws_sdk_sns::Client;
use aws_sdk_sns::types::MessageAttributeValue;
use skipline_engine::filter::FilterScope;
use skipline_events::MessageAttributes;

/// SNS's "topic or subscription does not exist" codes.
const NOT_FOUND: &[&str] = &["NotFound", "NotFoundException", "ResourceNotFound"];

/// Publishes `message` with `attributes`; returns the SNS message id.
pub async fn publish(
    client: &Client,
    topic_arn: &str,
    message: &str,
    attributes: &MessageAttributes,
) -> Result<String, AwsError> {
    let mut request = client.publish().topic_arn(topic_arn).message(message);
    for (name, value) in attributes {
        let attribute = MessageAttributeValue::builder()
            .data_type(&value.data_type)
            .string_value(&value.string_value)
            .build()
            .map_err(|e| AwsError::Unexpected(format!("message attribute {name}: {e}")))?;
        request = request.message_attributes(name, attribute);
    }
    let out = request
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("SNS Publish", &e, NOT_FOUND))?;
    Ok(out.message_id.unwrap_or_default())
}

/// A subscription as the CLI shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    pub arn: String,
    pub protocol: String,
    pub endpoint: String,
    pub filter_policy: Option<String>,
    pub scope: FilterScope,
    pub raw: bool,
}

/// Subscribes `endpoint` (a queue ARN for `sqs`); the attributes are set atomically with the
/// subscription, so no message is delivered unfiltered or enveloped in between.
pub async fn subscribe(
    client: &Client,
    topic_arn: &str,
    protocol: &str,
    endpoint: &str,
    filter_policy: Option<&str>,
    scope: FilterScope,
    raw: bool,
) -> Result<String, AwsError> {
    let mut request = client
        .subscribe()
        .topic_arn(topic_arn)
        .protocol(protocol)
        .endpoint(endpoint)
        .return_subscription_arn(true)
        .attributes("RawMessageDelivery", raw.to_string());
    if let Some(policy) = filter_policy {
        request = request
            .attributes("FilterPolicy", policy)
            .attributes("FilterPolicyScope", scope.as_str());
    }
    let out = request
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("SNS Subscribe", &e, NOT_FOUND))?;
    out.subscription_arn
        .ok_or_else(|| AwsError::Unexpected("SNS Subscribe returned no subscription ARN".into()))
}

/// Every subscription of the topic, with filter policy, scope and raw delivery.
pub async fn subscriptions(client: &Client, topic_arn: &str) -> Result<Vec<Subscription>, AwsError> {
    pages::collect(pages::ALL, |next, _| async move {
        let out = client
            .list_subscriptions_by_topic()
            .topic_arn(topic_arn)
            .set_next_token(next)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("SNS ListSubscriptionsByTopic", &e, NOT_FOUND))?;
        let mut found = Vec::new();
        for s in out.subscriptions.unwrap_or_default() {
            let arn = s.subscription_arn.unwrap_or_default();
            let mut sub = Subscription {
                protocol: s.protocol.unwrap_or_default(),
                endpoint: s.endpoint.unwrap_or_default(),
                filter_policy: None,
                scope: FilterScope::default(),
                raw: false,
                arn: arn.clone(),
            };
            // Unconfirmed subscriptions have the placeholder ARN "PendingConfirmation" and no attributes.
            if arn.starts_with("arn:") {
                let attrs = client
                    .get_subscription_attributes()
                    .subscription_arn(&arn)
                    .send()
                    .await
                    .map_err(|e| AwsError::from_sdk("SNS GetSubscriptionAttributes", &e, NOT_FOUND))?
                    .attributes
                    .unwrap_or_default();
                sub.filter_policy = attrs.get("FilterPolicy").filter(|p| !p.is_empty()).cloned();
                sub.scope = attrs
                    .get("FilterPolicyScope")
                    .and_then(|s| s.parse().ok())
                    .unwrap_or_default();
                sub.raw = attrs
                    .get("RawMessageDelivery")
                    .is_some_and(|r| r.eq_ignore_ascii_case("true"));
            }
            found.push(sub);
        }
        Ok((found, out.next_token))
    })
    .await
}
