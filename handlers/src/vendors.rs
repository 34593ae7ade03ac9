//! Vendor endpoint subscriptions: validation and the signing secret.

use crate::ports::{Clock, Health, Signing, StoreError, VendorDirectory, VendorEndpoint};
use crate::webhook::{EndpointError, check_endpoint_url, generate_secret, secret_key};
use serde::Serialize;
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

/// What is wrong with a caller-supplied signing secret, if anything: it must be a Standard
/// Webhooks secret (`whsec_` + base64 of a 24- to 64-byte key), as the receivers' libraries
/// read it.
pub fn check_secret(secret: &str) -> Option<String> {
    secret_key(secret)
        .err()
        .map(|e| format!("secret must be a Standard Webhooks secret, `whsec_` + base64 of a 24- to 64-byte key: {e}"))
}

/// How long the previous secret keeps signing after a rotation unless the caller says otherwise.
pub const DEFAULT_ROTATION_GRACE: std::time::Duration = std::time::Duration::from_secs(24 * 3600);
/// The longest grace period accepted: a week, past which two secrets are a liability.
pub const MAX_ROTATION_GRACE: std::time::Duration = std::time::Duration::from_secs(7 * 24 * 3600);

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
            return Err(SubscribeError::Invalid(problem));
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
        signing: Signing::Standard,
        previous_secret: None,
        previous_until: None,
        health: Default::default(),
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

/// A rotation request, validated like [`NewEndpoint`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotation {
    pub vendorid: String,
    pub endpointid: String,
    /// The new secret; generated when `None`.
    pub secret: Option<String>,
    /// How long the old secret keeps signing beside the new one.
    pub grace: std::time::Duration,
}

impl Rotation {
    pub fn parse(
        vendorid: &str,
        endpointid: &str,
        secret: Option<&str>,
        grace: Option<std::time::Duration>,
    ) -> Result<Self, SubscribeError> {
        check_endpoint_ids(vendorid, endpointid)?;
        if let Some(problem) = secret.and_then(check_secret) {
            return Err(SubscribeError::Invalid(problem));
        }
        let grace = grace.unwrap_or(DEFAULT_ROTATION_GRACE);
        if grace > MAX_ROTATION_GRACE {
            return Err(SubscribeError::Invalid(format!(
                "the grace period must be at most {} hours",
                MAX_ROTATION_GRACE.as_secs() / 3600
            )));
        }
        Ok(Rotation {
            vendorid: vendorid.to_string(),
            endpointid: endpointid.to_string(),
            secret: secret.map(str::to_string),
            grace,
        })
    }
}

/// Gives the endpoint a new secret. The old one keeps signing beside it for the grace period
/// (a grace of zero drops it at once), and a legacy endpoint moves to Standard Webhooks only:
/// rotating is how its receiver opts in. A secret still in its grace period from an earlier
/// rotation is dropped: at most two secrets sign.
pub async fn rotate_secret(
    directory: &dyn VendorDirectory,
    clock: &dyn Clock,
    rotation: &Rotation,
) -> Result<Subscribed, SubscribeError> {
    let (vendorid, endpointid) = (&rotation.vendorid, &rotation.endpointid);
    let not_found = || SubscribeError::NotFound(format!("vendor {vendorid} has no endpoint {endpointid}"));
    let current = directory
        .list(Some(vendorid))
        .await?
        .into_iter()
        .find(|e| &e.endpointid == endpointid)
        .ok_or_else(not_found)?;
    let secret = rotation.secret.clone().unwrap_or_else(generate_secret);
    if secret == current.secret {
        return Err(SubscribeError::Invalid(
            "the new secret is the current one; give another or let one be generated".into(),
        ));
    }
    let grace = jiff::SignedDuration::try_from(rotation.grace)
        .map_err(|e| SubscribeError::Invalid(format!("grace period: {e}")))?;
    let until = clock
        .now()
        .checked_add(grace)
        .map_err(|e| SubscribeError::Invalid(format!("grace period: {e}")))?;
    let keep_old = !rotation.grace.is_zero();
    let endpoint = VendorEndpoint {
        previous_secret: keep_old.then(|| current.secret.clone()),
        previous_until: keep_old.then_some(until),
        secret,
        signing: Signing::Standard,
        ..current
    };
    if !directory.replace(&endpoint).await? {
        return Err(not_found());
    }
    Ok(Subscribed {
        endpoint,
        secret_generated: rotation.secret.is_none(),
    })
}

/// Checks a (vendor, endpoint) pair of ids as every route and command takes them.
pub fn check_endpoint_ids(vendorid: &str, endpointid: &str) -> Result<(), SubscribeError> {
    for (field, value) in [("vendorid", vendorid), ("endpointid", endpointid)] {
        if let Some(p) = check_id(field, value) {
            return Err(SubscribeError::Invalid(p.to_string()));
        }
    }
    Ok(())
}

/// Lets a disabled endpoint get deliveries again, with a fresh auto-disable clock. Tickets it
/// missed while disabled are not sent by this; `vendors redeliver` sends them. Returns the
/// endpoint as it is now; enabling an enabled one changes nothing.
pub async fn enable(
    directory: &dyn VendorDirectory,
    vendorid: &str,
    endpointid: &str,
) -> Result<VendorEndpoint, SubscribeError> {
    check_endpoint_ids(vendorid, endpointid)?;
    let not_found = || SubscribeError::NotFound(format!("vendor {vendorid} has no endpoint {endpointid}"));
    let mut endpoint = directory.get(vendorid, endpointid).await?.ok_or_else(not_found)?;
    if endpoint.health != Health::default() {
        endpoint.health = Health::default();
        if !directory.set_health(vendorid, endpointid, &endpoint.health).await? {
            return Err(not_found());
        }
    }
    Ok(endpoint)
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
        for (secret, why) in [("whsec_c2hvcnQ=", "24- to 64-byte"), ("not-a-whsec-secret-x", "whsec_")] {
            let refused = subscribe(&dir, &clock, "v0", "https://shop.example.com/y", Some(secret), false).await;
            assert!(
                matches!(&refused, Err(SubscribeError::Invalid(m)) if m.contains(why)),
                "{secret}: {refused:?}"
            );
        }
        assert_eq!(dir.list(None).await.unwrap().len(), 1, "refusals write nothing");

        assert_eq!(s.endpoint.signing, Signing::Standard);

        unsubscribe_vendor(&dir, "v0", &s.endpoint.endpointid).await.unwrap();
        assert!(matches!(
            unsubscribe_vendor(&dir, "v0", &s.endpoint.endpointid).await,
            Err(SubscribeError::NotFound(_))
        ));
    }

    #[tokio::test]
    async fn rotation_keeps_the_old_secret_for_the_grace_period_and_ends_legacy_signing() {
        let dir = MemoryDirectory::default();
        let clock = FixedClock::default();
        let legacy = VendorEndpoint {
            signing: Signing::Legacy,
            ..crate::testing::endpoint("v0", "e1", "https://shop.example.com/hook")
        };
        dir.insert(legacy.clone());
        let r = Rotation::parse("v0", "e1", None, None).unwrap();
        let rotated = rotate_secret(&dir, &clock, &r).await.unwrap();
        assert!(rotated.secret_generated);
        let stored = dir.list(Some("v0")).await.unwrap().remove(0);
        assert_eq!(stored, rotated.endpoint);
        assert_ne!(stored.secret, legacy.secret);
        assert_eq!(stored.signing, Signing::Standard);
        assert_eq!(stored.previous_secret.as_deref(), Some(legacy.secret.as_str()));
        let now = clock.now();
        assert_eq!(stored.previous_until, Some(now + jiff::SignedDuration::from_hours(24)));
        assert_eq!(stored.previous_at(now), Some(legacy.secret.as_str()));
        assert_eq!(stored.previous_at(now + jiff::SignedDuration::from_hours(24)), None);

        // Rotating again drops the first secret: at most two sign.
        let again = Rotation::parse("v0", "e1", None, Some(std::time::Duration::ZERO)).unwrap();
        let twice = rotate_secret(&dir, &clock, &again).await.unwrap().endpoint;
        assert_eq!((twice.previous_secret, twice.previous_until), (None, None));

        for bad in [
            Rotation::parse("v/0", "e1", None, None),
            Rotation::parse("v0", "e1", Some("short"), None),
            Rotation::parse("v0", "e1", None, Some(std::time::Duration::from_secs(8 * 24 * 3600))),
        ] {
            assert!(matches!(bad, Err(SubscribeError::Invalid(_))), "{bad:?}");
        }
        let missing = Rotation::parse("v0", "nope", None, None).unwrap();
        assert!(matches!(
            rotate_secret(&dir, &clock, &missing).await,
            Err(SubscribeError::NotFound(_))
        ));
        let same = Rotation::parse("v0", "e1", Some(&twice.secret), None).unwrap();
        assert!(matches!(
            rotate_secret(&dir, &clock, &same).await,
            Err(SubscribeError::Invalid(_))
        ));
    }
}

/// Most tickets one `redeliver` resends, and most attempts one listing shows.
pub const MAX_REDELIVER: usize = 1000;
pub const MAX_ATTEMPTS_LISTED: usize = 1000;

/// What `redeliver` queued.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Redelivered {
    /// Distinct events resent.
    pub events: usize,
    /// Deliveries queued: events × endpoints.
    pub deliveries: usize,
    /// The endpoints they went to.
    pub endpoints: Vec<String>,
}

/// Resends kept tickets to the vendor's enabled endpoints (or one of them), with the same
/// `webhook-id`, even where they were acknowledged, as Svix's recover does: the receiver
/// dedupes. Each goes through the deliveries queue and its schedule like any delivery.
pub async fn redeliver(
    directory: &dyn VendorDirectory,
    log: &dyn crate::ports::DeliveryLog,
    queue: &dyn crate::ports::DeliveryQueue,
    vendorid: &str,
    endpointid: Option<&str>,
    query: &crate::ports::TicketQuery,
) -> Result<Redelivered, SubscribeError> {
    let endpoints: Vec<VendorEndpoint> = directory
        .list(Some(vendorid))
        .await?
        .into_iter()
        .filter(|e| endpointid.is_none_or(|id| e.endpointid == id))
        .collect();
    if let Some(id) = endpointid
        && endpoints.is_empty()
    {
        return Err(SubscribeError::NotFound(format!(
            "vendor {vendorid} has no endpoint {id}"
        )));
    }
    if let Some(off) = endpoints
        .iter()
        .find(|e| endpointid.is_some() && e.health.is_disabled())
    {
        return Err(SubscribeError::Conflict(format!(
            "endpoint {} is disabled; enable it first (skipline vendors enable)",
            off.endpointid
        )));
    }
    let targets: Vec<&VendorEndpoint> = endpoints.iter().filter(|e| !e.health.is_disabled()).collect();
    if targets.is_empty() {
        return Err(SubscribeError::NotFound(format!(
            "vendor {vendorid} has no enabled endpoints"
        )));
    }
    let tickets = log.tickets(vendorid, query, MAX_REDELIVER).await?;
    if let (crate::ports::TicketQuery::Event(id), true) = (query, tickets.is_empty()) {
        return Err(SubscribeError::NotFound(format!(
            "no ticket {id} was sent to vendor {vendorid}"
        )));
    }
    let deliveries: Vec<skipline_events::Delivery> = tickets
        .iter()
        .flat_map(|t| {
            targets
                .iter()
                .map(move |e| skipline_events::Delivery::new(vendorid, &e.endpointid, t, true))
        })
        .collect();
    // Ten tickets per enqueue, so a large recovery is not one huge transaction or request.
    for chunk in deliveries.chunks(targets.len().max(1) * 10) {
        queue.enqueue(chunk).await?;
    }
    Ok(Redelivered {
        events: tickets.len(),
        deliveries: deliveries.len(),
        endpoints: targets.iter().map(|e| e.endpointid.clone()).collect(),
    })
}
