//! Vendor endpoint subscriptions: validation and the signing secret.

use crate::ports::{Clock, StoreError, VendorDirectory, VendorEndpoint};
use crate::webhook::{EndpointError, check_endpoint_url, generate_secret};
use skipline_events::check_id;

/// More endpoints than this per vendor is almost certainly a mistake or abuse.
pub const MAX_ENDPOINTS_PER_VENDOR: usize = 10;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubscribeError {
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Endpoint(#[from] EndpointError),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A new subscription; `secret_generated` says whether to show the secret (it is shown once).
#[derive(Debug, Clone)]
pub struct Subscribed {
    pub endpoint: VendorEndpoint,
    pub secret_generated: bool,
}

/// What is wrong with a caller-supplied signing secret, if anything. Short secrets make the
/// HMAC guessable; whitespace is usually a copy-paste accident that would break verification.
pub fn check_secret(secret: &str) -> Option<&'static str> {
    let bad_char = secret.chars().any(|c| c.is_whitespace() || c.is_control());
    (secret.len() < 16 || secret.len() > 256 || bad_char)
        .then_some("secret must be 16 to 256 characters with no whitespace")
}

/// A subscription request, validated: nothing is looked up or written to build one, so a
/// front door can refuse bad input before it opens anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEndpoint {
    pub vendorid: String,
    pub url: url::Url,
    pub secret: Option<String>,
}

impl NewEndpoint {
    pub fn parse(vendorid: &str, url: &str, secret: Option<&str>, allow_private: bool) -> Result<Self, SubscribeError> {
        if let Some(p) = check_id("vendorid", vendorid) {
            return Err(SubscribeError::Invalid(p.to_string()));
        }
        let url = check_endpoint_url(url, allow_private)?;
        if let Some(problem) = secret.and_then(check_secret) {
            return Err(SubscribeError::Invalid(problem.into()));
        }
        Ok(NewEndpoint {
            vendorid: vendorid.to_string(),
            url,
            secret: secret.map(str::to_string),
        })
    }
}

/// Adds the endpoint unless the vendor already has it or has too many.
pub async fn subscribe_vendor(
    directory: &dyn VendorDirectory,
    clock: &dyn Clock,
    new: &NewEndpoint,
) -> Result<Subscribed, SubscribeError> {
    let (vendorid, url) = (&new.vendorid, &new.url);
    let existing = directory.list(Some(vendorid)).await?;
    if existing.iter().any(|e| e.url == url.as_str()) {
        return Err(SubscribeError::Conflict(format!(
            "{url} is already subscribed for vendor {vendorid}"
        )));
    }
    if existing.len() >= MAX_ENDPOINTS_PER_VENDOR {
        return Err(SubscribeError::Conflict(format!(
            "vendor {vendorid} already has {MAX_ENDPOINTS_PER_VENDOR} endpoints; unsubscribe one first"
        )));
    }
    let endpoint = VendorEndpoint {
        vendorid: vendorid.clone(),
        endpointid: format!("ep_{}", hex::encode(rand::random::<[u8; 8]>())),
        url: url.to_string(),
        secret: new.secret.clone().unwrap_or_else(generate_secret),
        created_at: clock.now().to_string(),
    };
    directory.add(&endpoint).await?;
    Ok(Subscribed {
        endpoint,
        secret_generated: new.secret.is_none(),
    })
}

pub async fn unsubscribe_vendor(
    directory: &dyn VendorDirectory,
    vendorid: &str,
    endpointid: &str,
) -> Result<(), SubscribeError> {
    for (field, value) in [("vendorid", vendorid), ("endpointid", endpointid)] {
        if let Some(p) = check_id(field, value) {
            return Err(SubscribeError::Invalid(p.to_string()));
        }
    }
    if directory.remove(vendorid, endpointid).await? {
        Ok(())
    } else {
        Err(SubscribeError::NotFound(format!(
            "vendor {vendorid} has no endpoint {endpointid}"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{FixedClock, MemoryDirectory};

    async fn subscribe(
        dir: &MemoryDirectory,
        clock: &FixedClock,
        vendorid: &str,
        url: &str,
        secret: Option<&str>,
        allow_private: bool,
    ) -> Result<Subscribed, SubscribeError> {
        subscribe_vendor(dir, clock, &NewEndpoint::parse(vendorid, url, secret, allow_private)?).await
    }

    #[tokio::test]
    async fn subscribes_with_a_generated_secret_and_refuses_bad_input() {
        let dir = MemoryDirectory::default();
        let clock = FixedClock::default();
        let s = subscribe(&dir, &clock, "v0", "https://shop.example.com/hook", None, false)
            .await
            .unwrap();
        assert!(s.secret_generated);
        assert!(s.endpoint.secret.starts_with("whsec_"));
        assert_eq!(dir.list(Some("v0")).await.unwrap().len(), 1);

        let dup = subscribe(&dir, &clock, "v0", "https://shop.example.com/hook", None, false).await;
        assert!(matches!(dup, Err(SubscribeError::Conflict(_))));
        let private = subscribe(&dir, &clock, "v0", "https://192.168.0.10/hook", None, false).await;
        assert!(matches!(
            private,
            Err(SubscribeError::Endpoint(EndpointError::Private { .. }))
        ));
        let bad_vendor = subscribe(&dir, &clock, "v/0", "https://shop.example.com/x", None, false).await;
        assert!(matches!(bad_vendor, Err(SubscribeError::Invalid(_))));
        let short = subscribe(&dir, &clock, "v0", "https://shop.example.com/y", Some("short"), false).await;
        assert!(matches!(short, Err(SubscribeError::Invalid(m)) if m.contains("16 to 256")));
        assert_eq!(dir.list(None).await.unwrap().len(), 1, "refusals write nothing");

        unsubscribe_vendor(&dir, "v0", &s.endpoint.endpointid).await.unwrap();
        assert!(matches!(
            unsubscribe_vendor(&dir, "v0", &s.endpoint.endpointid).await,
            Err(SubscribeError::NotFound(_))
        ));
    }
}
