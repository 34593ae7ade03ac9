//! `skipline topic test-filter | subscribe | list-subscriptions`: the event topic.

use super::commands::{CliError, backend, parse_policy, read_arg};
use super::{Cli, ScopeArg, TopicCommand, output};
use crate::backend::NewSubscription;
use skipline_engine::filter::{FilterPolicy, FilterScope};
use skipline_events::MessageAttributes;

/// Attributes as SNS takes them: `{"name": {"DataType": "...", "StringValue": "..."}}`.
pub(super) fn parse_attributes(text: &str) -> Result<MessageAttributes, CliError> {
    let attrs: MessageAttributes = serde_json::from_str(text).map_err(|e| {
        CliError::Invalid(format!(
            "--attributes must look like {{\"name\": {{\"DataType\": \"String\", \"StringValue\": \"v\"}}}}: {e}"
        ))
    })?;
    for (name, value) in &attrs {
        let base = value.data_type.split('.').next().unwrap_or_default();
        let ok = matches!(base, "String" | "Number" | "Binary")
            && (value.data_type == "String.Array" || !value.data_type.starts_with("String.Array"));
        if !ok {
            return Err(CliError::Invalid(format!(
                "attribute {name}: DataType must be String, Number, String.Array or Binary (got {:?})",
                value.data_type
            )));
        }
        if base == "Number"
            && value
                .string_value
                .trim()
                .parse::<f64>()
                .map(|n| !n.is_finite())
                .unwrap_or(true)
        {
            return Err(CliError::Invalid(format!(
                "attribute {name}: {:?} is not a number",
                value.string_value
            )));
        }
        if value.data_type == "String.Array"
            && serde_json::from_str::<Vec<serde_json::Value>>(&value.string_value).is_err()
        {
            return Err(CliError::Invalid(format!(
                "attribute {name}: a String.Array value must be a JSON array in a string"
            )));
        }
    }
    Ok(attrs)
}

fn scope_of(s: ScopeArg) -> FilterScope {
    match s {
        ScopeArg::MessageAttributes => FilterScope::MessageAttributes,
        ScopeArg::MessageBody => FilterScope::MessageBody,
    }
}

pub(super) async fn run(cli: &Cli, cmd: &TopicCommand) -> Result<(), CliError> {
    match cmd {
        TopicCommand::TestFilter {
            policy,
            attributes,
            body,
            scope,
        } => {
            let scope = scope.map(scope_of).unwrap_or(if body.is_some() {
                FilterScope::MessageBody
            } else {
                FilterScope::MessageAttributes
            });
            let policy_text = read_arg("--policy", policy)?;
            let parsed = FilterPolicy::parse(&policy_text, scope).map_err(|e| CliError::Invalid(e.to_string()))?;
            let attrs = match attributes {
                Some(a) => parse_attributes(&read_arg("--attributes", a)?)?,
                None => MessageAttributes::new(),
            };
            let body = match body {
                Some(b) => read_arg("--body", b)?,
                None => String::new(),
            };
            if parsed.matches(&attrs, &body) {
                println!("match");
                return Ok(());
            }
            println!("no match");
            // Delivery treats such a body the same way, so this is an answer, not an input error.
            if scope == FilterScope::MessageBody
                && !serde_json::from_str::<serde_json::Value>(&body).is_ok_and(|v| v.is_object())
            {
                eprintln!(
                    "note: the body is not a JSON object; under FilterPolicyScope MessageBody, SNS assumes a \
                     well-formed JSON object and never delivers another body to the subscription"
                );
            }
            Err(CliError::Failed(String::new()))
        }
        TopicCommand::Subscribe {
            protocol,
            endpoint,
            filter_policy,
            filter_policy_scope,
            raw,
        } => {
            let filter_policy = filter_policy
                .as_deref()
                .map(|p| parse_policy(p, scope_of(*filter_policy_scope)))
                .transpose()?;
            let backend = backend(cli).await?;
            let info = backend
                .topic_subscribe(NewSubscription {
                    protocol: *protocol,
                    endpoint: endpoint.clone(),
                    filter_policy,
                    raw: *raw,
                })
                .await?;
            output::show(cli.json, &info, || {
                format!("subscribed {} {} as {}", info.protocol, info.endpoint, info.id)
            });
            Ok(())
        }
        TopicCommand::ListSubscriptions => {
            let list = backend(cli).await?.topic_subscriptions().await?;
            if cli.json {
                output::json(&list);
            } else {
                for s in list {
                    println!(
                        "{}  {:<5} {:<30} raw={} {}{}",
                        s.id,
                        s.protocol,
                        s.endpoint,
                        s.raw,
                        s.filter_policy.as_deref().unwrap_or("(no filter)"),
                        if s.filter_policy.is_some() {
                            format!(" [{}]", s.scope)
                        } else {
                            String::new()
                        }
                    );
                }
            }
            Ok(())
        }
    }
}
