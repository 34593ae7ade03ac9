//! The one place a user's input is checked, for both backends and every front door (the local
//! API, the CLI, the contract suite): parse, check ids and resolve endpoints before anything is
//! opened or written. A backend receives only what passed.

use super::{BackendError, NewSubscription, Protocol};
use skipline_events::{OrderRequest, check_id, parse_place_order};
use skipline_handlers::ports::{AttemptQuery, TicketQuery};
use skipline_handlers::vendors::{MAX_ATTEMPTS_LISTED, SubscribeError};

/// Most messages `peek` returns.
pub const MAX_PEEK: usize = 1000;

/// Refuses the first id (account, vendor, order, endpoint…) that is not of the contract's shape.
pub fn ids(ids: &[(&str, &str)]) -> Result<(), BackendError> {
    for (field, value) in ids {
        if let Some(p) = check_id(field, value) {
            return Err(BackendError::Invalid(p.to_string()));
        }
    }
    Ok(())
}

/// A validated order, with the id and the execution input both backends start it with.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderStart {
    pub orderid: String,
    /// `{"orderid", "order"}`: what the state machine receives.
    pub input: serde_json::Value,
    /// Whether the caller chose the id (an Idempotency-Key), so a retry may find it.
    pub keyed: bool,
}

/// `POST /order`: the body and the `Idempotency-Key`. The key becomes the order id and the
/// execution name; without one, a fresh id.
pub fn place_order(body: &[u8], idempotency_key: Option<&str>) -> Result<OrderStart, BackendError> {
    let order = parse_place_order(body).map_err(|e| BackendError::Invalid(e.to_string()))?;
    let orderid = match idempotency_key {
        Some(key) => {
            ids(&[("Idempotency-Key", key)])?;
            key.to_string()
        }
        None => uuid::Uuid::new_v4().to_string(),
    };
    let input = serde_json::json!({"orderid": orderid, "order": OrderRequest::from(&order)});
    Ok(OrderStart {
        orderid,
        input,
        keyed: idempotency_key.is_some(),
    })
}

/// The answer when an Idempotency-Key comes back with another body.
pub fn key_reused(orderid: &str) -> BackendError {
    BackendError::Conflict(format!(
        "Idempotency-Key {orderid} was already used for a different order"
    ))
}

/// A point in time as the delivery commands take it: RFC 3339 (`2026-12-04T08:00:00Z`), or a
/// duration ago (`30m`, `2h`, `3d`).
pub fn parse_time(field: &str, text: &str, now: jiff::Timestamp) -> Result<jiff::Timestamp, BackendError> {
    let text = text.trim();
    if let Ok(t) = text.parse::<jiff::Timestamp>() {
        return Ok(t);
    }
    let bad = || {
        BackendError::Invalid(format!(
            "{field} {text:?} is neither an RFC 3339 time (2026-12-04T08:00:00Z) nor a duration ago (30m, 2h, 3d)"
        ))
    };
    let (number, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?);
    let n: i64 = number.parse().map_err(|_| bad())?;
    let secs = match unit {
        "s" => n,
        "m" => n.checked_mul(60).ok_or_else(bad)?,
        "h" => n.checked_mul(3600).ok_or_else(bad)?,
        "d" => n.checked_mul(86_400).ok_or_else(bad)?,
        _ => return Err(bad()),
    };
    now.checked_sub(jiff::SignedDuration::from_secs(secs))
        .map_err(|_| bad())
}

/// `vendors deliveries` and `GET /vendors/{id}/deliveries`.
pub fn attempt_query(
    vendorid: &str,
    endpointid: Option<&str>,
    failed_only: bool,
    since: Option<&str>,
    until: Option<&str>,
    limit: usize,
) -> Result<AttemptQuery, BackendError> {
    ids(&[("vendorid", vendorid)])?;
    if let Some(e) = endpointid {
        ids(&[("endpointid", e)])?;
    }
    if limit == 0 || limit > MAX_ATTEMPTS_LISTED {
        return Err(BackendError::Invalid(format!(
            "limit must be between 1 and {MAX_ATTEMPTS_LISTED}"
        )));
    }
    let now = jiff::Timestamp::now();
    let since = since.map(|t| parse_time("since", t, now)).transpose()?;
    let until = until.map(|t| parse_time("until", t, now)).transpose()?;
    if let (Some(s), Some(u)) = (since, until)
        && s >= u
    {
        return Err(BackendError::Invalid(format!("since ({s}) must be before until ({u})")));
    }
    Ok(AttemptQuery {
        vendorid: vendorid.to_string(),
        endpointid: endpointid.map(str::to_string),
        failed_only,
        since,
        until,
        eventid: None,
        limit,
    })
}

/// `vendors redeliver`: exactly one of an event id or a `since`, which `until` may bound.
pub fn ticket_query(
    vendorid: &str,
    endpointid: Option<&str>,
    eventid: Option<&str>,
    since: Option<&str>,
    until: Option<&str>,
) -> Result<TicketQuery, BackendError> {
    ids(&[("vendorid", vendorid)])?;
    if let Some(e) = endpointid {
        ids(&[("endpointid", e)])?;
    }
    let now = jiff::Timestamp::now();
    match (eventid, since) {
        (Some(id), None) if until.is_none() => {
            if id.is_empty() || id.len() > 200 || !id.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)) {
                return Err(BackendError::Invalid(format!(
                    "event id {id:?} must be 1 to 200 of letters, digits, '.', '_' and '-'"
                )));
            }
            Ok(TicketQuery::Event(id.to_string()))
        }
        (None, Some(since)) => {
            let since = parse_time("since", since, now)?;
            let until = until.map(|t| parse_time("until", t, now)).transpose()?;
            if let Some(u) = until
                && since >= u
            {
                return Err(BackendError::Invalid(format!(
                    "since ({since}) must be before until ({u})"
                )));
            }
            Ok(TicketQuery::Between { since, until })
        }
        (Some(_), _) => Err(BackendError::Invalid(
            "give an event id, or a time range (since, until), not both".into(),
        )),
        (None, None) => Err(BackendError::Invalid(
            "give the event id to redeliver, or since (and until) to redeliver a time range".into(),
        )),
    }
}

pub fn peek_max(max: usize) -> Result<(), BackendError> {
    if max == 0 || max > MAX_PEEK {
        return Err(BackendError::Invalid(format!("--max must be between 1 and {MAX_PEEK}")));
    }
    Ok(())
}

/// Where a topic subscription delivers, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TopicEndpoint {
    /// A queue by name, ARN or URL, as the user gave it; the backend resolves it.
    Queue(String),
    /// An `http://` or `https://` endpoint, matching the protocol.
    Url { protocol: &'static str, url: url::Url },
}

impl TopicEndpoint {
    /// The queue's name: the last part of an ARN (`arn:…:name`) or a queue URL
    /// (`https://…/name`); anything else is taken as the name itself, and checked as one.
    pub fn queue_name(queue: &str) -> &str {
        if queue.starts_with("arn:") {
            queue.rsplit(':').next().unwrap_or(queue)
        } else if queue.starts_with("https://") || queue.starts_with("http://") {
            queue.trim_end_matches('/').rsplit('/').next().unwrap_or(queue)
        } else {
            queue
        }
    }
}

/// `allow_private` is the backend's: SNS on AWS delivers from AWS, where no private address of
/// ours is reachable, so that backend never allows one.
pub fn topic_endpoint(sub: &NewSubscription, allow_private: bool) -> Result<TopicEndpoint, BackendError> {
    let wanted = match sub.protocol {
        Protocol::Sqs => {
            let name = TopicEndpoint::queue_name(&sub.endpoint);
            crate::local::queues::check_queue_name(name).map_err(|e| BackendError::Invalid(e.to_string()))?;
            return Ok(TopicEndpoint::Queue(sub.endpoint.clone()));
        }
        Protocol::Http => "http",
        Protocol::Https => "https",
    };
    let url = skipline_handlers::webhook::check_endpoint_url(&sub.endpoint, allow_private)
        .map_err(|e| BackendError::Invalid(e.to_string()))?;
    if url.scheme() != wanted {
        return Err(BackendError::Invalid(format!(
            "--protocol {wanted} needs an {wanted}:// endpoint"
        )));
    }
    Ok(TopicEndpoint::Url { protocol: wanted, url })
}

/// A replay may not move a queue onto itself.
pub fn replay_target(from: &str, to: &str) -> Result<(), BackendError> {
    if TopicEndpoint::queue_name(from) == TopicEndpoint::queue_name(to) {
        return Err(BackendError::Invalid("--to must differ from --from".into()));
    }
    Ok(())
}

impl From<SubscribeError> for BackendError {
    fn from(e: SubscribeError) -> Self {
        match e {
            SubscribeError::Invalid(_) | SubscribeError::Endpoint(_) => BackendError::Invalid(e.to_string()),
            SubscribeError::NotFound(m) => BackendError::NotFound(m),
            SubscribeError::Conflict(m) => BackendError::Conflict(m),
            SubscribeError::Store(s) => BackendError::Unavailable(s.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_names_come_from_names_arns_and_urls() {
        for q in [
            "my-queue",
            "arn:aws:sqs:us-east-1:123456789012:my-queue",
            "https://sqs.us-east-1.amazonaws.com/123456789012/my-queue",
        ] {
            assert_eq!(TopicEndpoint::queue_name(q), "my-queue", "{q}");
        }
    }

    #[test]
    fn topic_endpoints_are_checked_once_for_both_backends() {
        let sub = |protocol, endpoint: &str| NewSubscription {
            protocol,
            endpoint: endpoint.into(),
            filter_policy: None,
            raw: false,
        };
        let url = "https://sqs.us-east-1.amazonaws.com/123456789012/my-queue";
        assert_eq!(
            topic_endpoint(&sub(Protocol::Sqs, url), false).unwrap(),
            TopicEndpoint::Queue(url.into()),
            "a queue URL is accepted (the AWS backend resolves it)"
        );
        assert!(topic_endpoint(&sub(Protocol::Sqs, "bad name!"), false).is_err());
        assert!(
            topic_endpoint(&sub(Protocol::Sqs, "../etc"), false).is_err(),
            "a path is not a name"
        );
        let e = topic_endpoint(&sub(Protocol::Http, "https://shop.example.com/x"), false).unwrap_err();
        assert!(e.to_string().contains("needs an http://"), "{e}");
        let e = topic_endpoint(&sub(Protocol::Https, "http://shop.example.com/x"), false).unwrap_err();
        assert!(e.to_string().contains("https://"), "{e}");
        assert!(topic_endpoint(&sub(Protocol::Http, "http://127.0.0.1/x"), false).is_err());
        assert!(topic_endpoint(&sub(Protocol::Http, "http://127.0.0.1/x"), true).is_ok());
    }
}
