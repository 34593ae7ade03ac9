//! SNS subscription filter policies, with the semantics Amazon SNS documents.
//!
//! [`FilterPolicy::parse`] validates a policy the way `Subscribe` / `SetSubscriptionAttributes`
//! would (same limits, AWS-like messages); [`FilterPolicy::matches`] then decides whether one
//! published message reaches the subscription. Topics, queues and delivery live elsewhere.
//!
//! - `parse`: JSON policy → validated rule tree (and the 5-key / 150-combination limits).
//! - `matching`: rule tree × message attributes or JSON body → bool.
//!
//! Where the AWS pages disagree between revisions, the newest text wins; see the notes on
//! `anything-but` in `matching`.

mod matching;
mod parse;
#[cfg(test)]
mod tests;

use skipline_events::attributes::MessageAttributes;

/// Which part of a message a subscription's policy is matched against (`FilterPolicyScope`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, Default)]
pub enum FilterScope {
    /// SNS's default: only message attributes are seen.
    #[default]
    MessageAttributes,
    /// The body must be a JSON object; policies may nest to follow it.
    MessageBody,
}

impl FilterScope {
    pub fn as_str(self) -> &'static str {
        match self {
            FilterScope::MessageAttributes => "MessageAttributes",
            FilterScope::MessageBody => "MessageBody",
        }
    }
}

impl std::fmt::Display for FilterScope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for FilterScope {
    type Err = PolicyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "MessageAttributes" => Ok(FilterScope::MessageAttributes),
            "MessageBody" => Ok(FilterScope::MessageBody),
            other => Err(PolicyError::InvalidScope(other.to_string())),
        }
    }
}

/// Why a filter policy was rejected. `Display` gives the AWS-like message.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PolicyError {
    #[error(
        "Invalid parameter: FilterPolicyScope: Invalid value [{0}]. Please use either MessageBody or MessageAttributes"
    )]
    InvalidScope(String),
    #[error("Invalid parameter: FilterPolicy: Filter policy is too large ({bytes} bytes; the maximum is 256 KB)")]
    TooLarge { bytes: usize },
    #[error("Invalid parameter: FilterPolicy: failed to parse JSON. {0}")]
    InvalidJson(String),
    #[error("Invalid parameter: FilterPolicy: Filter policy must be a JSON object")]
    NotAnObject,
    #[error("Invalid parameter: FilterPolicy: Empty objects are not allowed in a filter policy")]
    EmptyObject,
    #[error("Invalid parameter: FilterPolicy: \"{key}\" must be an object or an array")]
    NotObjectOrArray { key: String },
    #[error("Invalid parameter: FilterPolicy: Empty arrays are not allowed")]
    EmptyArray,
    #[error("Invalid parameter: Filter policy scope MessageAttributes does not support nested filter policy")]
    NestedInAttributeScope,
    #[error("Invalid parameter: FilterPolicy: Filter policy is nested too deeply (more than {max} levels)")]
    TooDeep { max: usize },
    #[error("Invalid parameter: FilterPolicy: Filter policy can not have more than 5 keys (found {count})")]
    TooManyKeys { count: usize },
    #[error(
        "Invalid parameter: FilterPolicy: Filter policy is too complex ({combinations} combinations; the maximum is 150)"
    )]
    TooComplex { combinations: u64 },
    /// A match expression is malformed; the text says which rule it breaks.
    #[error("Invalid parameter: FilterPolicy: {0}")]
    InvalidMatch(String),
}

/// A validated subscription filter policy.
#[derive(Debug, Clone)]
pub struct FilterPolicy {
    scope: FilterScope,
    root: parse::Conjunction,
}

impl FilterPolicy {
    /// Parse and validate `policy_json` for `scope`, enforcing SNS's limits: at most 256 KB of
    /// text, 5 keys (attribute names, or leaf keys of a nested body policy) and 150 combinations.
    pub fn parse(policy_json: &str, scope: FilterScope) -> Result<FilterPolicy, PolicyError> {
        let root = parse::parse(policy_json, scope)?;
        Ok(FilterPolicy { scope, root })
    }

    pub fn scope(&self) -> FilterScope {
        self.scope
    }

    /// Match against message attributes, whatever the policy's scope. `Binary` attributes are
    /// invisible (SNS ignores them), so `exists: false` matches them.
    pub fn matches_attributes(&self, attrs: &MessageAttributes) -> bool {
        self.root
            .eval(&|path: &[String]| matching::attribute_field(attrs, path))
    }

    /// Match against a JSON body. A body that isn't a JSON object never matches, because SNS
    /// assumes a well-formed JSON object for body-scoped policies.
    pub fn matches_body(&self, body: &str) -> bool {
        match serde_json::from_str::<serde_json::Value>(body) {
            Ok(value @ serde_json::Value::Object(_)) => {
                self.root.eval(&|path: &[String]| matching::body_field(&value, path))
            }
            _ => false,
        }
    }

    /// What SNS does on publish: match the part of the message the scope names.
    pub fn matches(&self, attrs: &MessageAttributes, body: &str) -> bool {
        match self.scope {
            FilterScope::MessageAttributes => self.matches_attributes(attrs),
            FilterScope::MessageBody => self.matches_body(body),
        }
    }
}
