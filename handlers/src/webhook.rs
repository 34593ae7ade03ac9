//! Webhook signing (Standard Webhooks 1.0, and the legacy scheme endpoints created before it
//! keep until their secret is rotated) and the endpoint policy (the SSRF guard).

use crate::ports::{Signing, VendorEndpoint};
use base64::Engine as _;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use skipline_events::{
    HEADER_WEBHOOK_ID, HEADER_WEBHOOK_SIGNATURE, HEADER_WEBHOOK_TIMESTAMP, LEGACY_HEADER_EVENT_ID,
    LEGACY_HEADER_SIGNATURE, LEGACY_HEADER_TIMESTAMP,
};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use url::{Host, Url};

type HmacSha256 = Hmac<Sha256>;

/// Longest endpoint URL accepted.
pub const MAX_URL_LEN: usize = 2048;

/// The prefix Standard Webhooks gives secrets; the base64 key follows it.
pub const SECRET_PREFIX: &str = "whsec_";
/// Key sizes Standard Webhooks allows (24 to 64 bytes); generated keys are 32.
pub const KEY_BYTES: std::ops::RangeInclusive<usize> = 24..=64;

/// Standard base64, with or without padding: the official libraries accept both.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Why a string is not a Standard Webhooks secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("secret must start with `whsec_` (Standard Webhooks)")]
    Prefix,
    #[error("what follows `whsec_` must be base64 (A-Z, a-z, 0-9, +, /): {0}")]
    Base64(String),
    #[error("the key must be 24 to 64 bytes once base64-decoded, not {0}")]
    Length(usize),
}

/// The HMAC key of a `whsec_<base64>` secret, as the official libraries derive it.
pub fn secret_key(secret: &str) -> Result<Vec<u8>, SecretError> {
    let encoded = secret.strip_prefix(SECRET_PREFIX).ok_or(SecretError::Prefix)?;
    let key = BASE64.decode(encoded).map_err(|e| SecretError::Base64(e.to_string()))?;
    if !KEY_BYTES.contains(&key.len()) {
        return Err(SecretError::Length(key.len()));
    }
    Ok(key)
}

/// A new random signing secret: 32 random bytes, `whsec_<base64>`.
pub fn generate_secret() -> String {
    let bytes: [u8; 32] = rand::random();
    format!("{SECRET_PREFIX}{}", STANDARD.encode(bytes))
}

/// One Standard Webhooks signature: `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`.
pub fn sign(key: &[u8], msg_id: &str, timestamp: i64, body: &[u8]) -> String {
    format!(
        "v1,{}",
        STANDARD.encode(standard_mac(key, msg_id, timestamp, body).finalize().into_bytes())
    )
}

/// Constant-time check of a `webhook-signature` header (space-separated `v1,<base64>`
/// signatures, any one of which may match), as a receiver does it. Tests use the official
/// `standardwebhooks` package; this is for the demo's and the benchmark's receivers.
pub fn verify(secret: &str, msg_id: &str, timestamp: i64, body: &[u8], header: &str) -> bool {
    let Ok(key) = secret_key(secret) else {
        return false;
    };
    header.split(' ').any(|versioned| {
        let Some(encoded) = versioned.strip_prefix("v1,") else {
            return false;
        };
        let Ok(expected) = STANDARD.decode(encoded) else {
            return false;
        };
        standard_mac(&key, msg_id, timestamp, body)
            .verify_slice(&expected)
            .is_ok()
    })
}

/// [`verify`] over a request's Standard Webhooks headers, which `header` looks up by name.
pub fn verify_headers<'h>(secret: &str, header: impl Fn(&str) -> Option<&'h str>, body: &[u8]) -> bool {
    let (Some(id), Some(timestamp), Some(signature)) = (
        header(HEADER_WEBHOOK_ID),
        header(HEADER_WEBHOOK_TIMESTAMP).and_then(|t| t.parse::<i64>().ok()),
        header(HEADER_WEBHOOK_SIGNATURE),
    ) else {
        return false;
    };
    verify(secret, id, timestamp, body, signature)
}

fn standard_mac(key: &[u8], msg_id: &str, timestamp: i64, body: &[u8]) -> HmacSha256 {
    let mut mac = new_mac(key);
    mac.update(msg_id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The signature of endpoints created before Standard Webhooks (kept for them until their
/// secret is rotated): `sha256=<hex HMAC-SHA256 of "{timestamp}.{body}">`, keyed by the whole
/// secret string.
pub fn legacy_sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = new_mac(secret.as_bytes());
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Constant-time check of a legacy `X-Skipline-Signature`, as an old receiver does it.
pub fn legacy_verify(secret: &str, timestamp: i64, body: &[u8], signature: &str) -> bool {
    let Some(expected) = signature.strip_prefix("sha256=").and_then(|h| hex::decode(h).ok()) else {
        return false;
    };
    let mut mac = new_mac(secret.as_bytes());
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

/// The headers that sign one delivery of `body`, the event `msg_id`, to `endpoint` at `now`:
/// Standard Webhooks' three, with one signature per live secret (the current one, and the
/// previous one during its grace period), and for a [`Signing::Legacy`] endpoint the old
/// `X-Skipline-*` ones too. A secret that is not `whsec_<base64>` (one supplied before secrets
/// were checked for it) signs only the legacy headers.
pub fn signed_headers(
    endpoint: &VendorEndpoint,
    msg_id: &str,
    now: jiff::Timestamp,
    body: &[u8],
) -> Vec<(String, String)> {
    let timestamp = now.as_second();
    let signatures: Vec<String> = std::iter::once(endpoint.secret.as_str())
        .chain(endpoint.previous_at(now))
        .filter_map(|secret| secret_key(secret).ok())
        .map(|key| sign(&key, msg_id, timestamp, body))
        .collect();
    let mut headers = vec![
        ("content-type".to_string(), "application/json".to_string()),
        (HEADER_WEBHOOK_ID.to_string(), msg_id.to_string()),
        (HEADER_WEBHOOK_TIMESTAMP.to_string(), timestamp.to_string()),
    ];
    if !signatures.is_empty() {
        headers.push((HEADER_WEBHOOK_SIGNATURE.to_string(), signatures.join(" ")));
    }
    if endpoint.signing == Signing::Legacy {
        headers.extend([
            (LEGACY_HEADER_EVENT_ID.to_string(), msg_id.to_string()),
            (LEGACY_HEADER_TIMESTAMP.to_string(), timestamp.to_string()),
            (
                LEGACY_HEADER_SIGNATURE.to_string(),
                legacy_sign(&endpoint.secret, timestamp, body),
            ),
        ]);
    }
    headers
}

fn new_mac(key: &[u8]) -> HmacSha256 {
    // HMAC accepts keys of any length, so this never fails.
    HmacSha256::new_from_slice(key).unwrap_or_else(|_| unreachable_mac())
}

#[cold]
fn unreachable_mac() -> HmacSha256 {
    unreachable!("HMAC-SHA256 accepts keys of any length")
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EndpointError {
    #[error("endpoint is not a valid URL: {0}")]
    Malformed(String),
    #[error("endpoint must use https:// (http:// is allowed only with --allow-private-endpoints)")]
    NotHttps,
    #[error("endpoint must not carry credentials in the URL")]
    Credentials,
    #[error("endpoint host {host} is {reason}; refused unless --allow-private-endpoints is given")]
    Private { host: String, reason: &'static str },
}

/// Checks an endpoint before it is stored and again before each delivery.
/// IP-literal hosts are checked here; names are checked after DNS resolution by the sender.
pub fn check_endpoint_url(raw: &str, allow_private: bool) -> Result<Url, EndpointError> {
    if raw.len() > MAX_URL_LEN {
        return Err(EndpointError::Malformed(format!(
            "longer than {MAX_URL_LEN} characters"
        )));
    }
    if raw.chars().any(char::is_control) {
        return Err(EndpointError::Malformed("contains control characters".into()));
    }
    let url = Url::parse(raw).map_err(|e| EndpointError::Malformed(e.to_string()))?;
    match url.scheme() {
        "https" => {}
        "http" if allow_private => {}
        _ => return Err(EndpointError::NotHttps),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(EndpointError::Credentials);
    }
    let host = url.host().ok_or_else(|| EndpointError::Malformed("no host".into()))?;
    if !allow_private {
        let reason = match &host {
            Host::Ipv4(ip) => forbidden_ip(IpAddr::V4(*ip)),
            Host::Ipv6(ip) => forbidden_ip(IpAddr::V6(*ip)),
            Host::Domain(d) => {
                let d = d.trim_end_matches('.').to_ascii_lowercase();
                (d == "localhost" || d.ends_with(".localhost") || d.ends_with(".internal") || d.ends_with(".local"))
                    .then_some("a local name")
            }
        };
        if let Some(reason) = reason {
            return Err(EndpointError::Private {
                host: host.to_string(),
                reason,
            });
        }
    }
    Ok(url)
}

/// Why an address must not be a webhook target, if it must not.
pub fn forbidden_ip(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return forbidden_v4(v4);
            }
            forbidden_v6(v6)
        }
    }
}

fn forbidden_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let o = ip.octets();
    first_reason([
        (ip.is_loopback(), "a loopback address"),
        (ip.is_private(), "a private address"),
        (ip.is_link_local(), "a link-local address"),
        (ip.is_unspecified() || o[0] == 0, "an unspecified address"),
        (o[0] == 100 && (o[1] & 0xc0) == 64, "a carrier-grade NAT address"),
        (
            ip.is_broadcast() || ip.is_multicast() || o[0] >= 240,
            "a broadcast, multicast or reserved address",
        ),
        (
            (o[0] == 192 && o[1] == 0 && o[2] == 0) || (o[0] == 198 && (o[1] & 0xfe) == 18),
            "a special-purpose address",
        ),
    ])
}

fn forbidden_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let s = ip.segments();
    first_reason([
        (ip.is_loopback(), "a loopback address"),
        (ip.is_unspecified(), "an unspecified address"),
        ((s[0] & 0xfe00) == 0xfc00, "a unique-local (private) address"),
        ((s[0] & 0xffc0) == 0xfe80, "a link-local address"),
        (ip.is_multicast(), "a multicast address"),
    ])
    .or_else(|| {
        // NAT64 embeds an IPv4 address in the low 32 bits.
        let nat64 = s[0] == 0x64 && s[1] == 0xff9b;
        let embedded = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
        nat64.then(|| forbidden_v4(embedded)).flatten()
    })
}

/// The reason of the first rule that holds, in order: the address checks as a table.
fn first_reason<const N: usize>(rules: [(bool, &'static str); N]) -> Option<&'static str> {
    rules.into_iter().find_map(|(holds, why)| holds.then_some(why))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example in the Standard Webhooks spec and its libraries' tests (Svix's docs):
    /// <https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md>.
    const SPEC_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const SPEC_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const SPEC_TS: i64 = 1_614_265_330;
    const SPEC_BODY: &[u8] = br#"{"test": 2432232314}"#;

    #[test]
    fn signs_the_specs_example_as_the_official_libraries_do() {
        let key = secret_key(SPEC_SECRET).unwrap();
        assert_eq!(
            sign(&key, SPEC_ID, SPEC_TS, SPEC_BODY),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn a_receiver_can_verify_one_of_several_signatures() {
        let key = secret_key(SPEC_SECRET).unwrap();
        let other = generate_secret();
        let good = sign(&key, SPEC_ID, SPEC_TS, SPEC_BODY);
        let theirs = sign(&secret_key(&other).unwrap(), SPEC_ID, SPEC_TS, SPEC_BODY);
        let both = format!("{theirs} {good}");
        assert!(verify(SPEC_SECRET, SPEC_ID, SPEC_TS, SPEC_BODY, &good));
        assert!(verify(SPEC_SECRET, SPEC_ID, SPEC_TS, SPEC_BODY, &both));
        assert!(verify(&other, SPEC_ID, SPEC_TS, SPEC_BODY, &both));
        assert!(!verify(SPEC_SECRET, SPEC_ID, SPEC_TS, SPEC_BODY, &theirs));
        assert!(!verify(SPEC_SECRET, "msg_other", SPEC_TS, SPEC_BODY, &good));
        assert!(!verify(SPEC_SECRET, SPEC_ID, SPEC_TS + 1, SPEC_BODY, &good));
        assert!(!verify(SPEC_SECRET, SPEC_ID, SPEC_TS, b"{}", &good));
        assert!(!verify(SPEC_SECRET, SPEC_ID, SPEC_TS, SPEC_BODY, "v2,abc v1,!!"));
    }

    #[test]
    fn secrets_are_whsec_base64_of_24_to_64_bytes() {
        let a = generate_secret();
        assert_eq!(secret_key(&a).map(|k| k.len()), Ok(32));
        assert_ne!(a, generate_secret());
        // Unpadded base64 is accepted, as the official libraries accept it.
        let unpadded = a.trim_end_matches('=');
        assert_eq!(secret_key(unpadded), secret_key(&a));
        assert_eq!(secret_key("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"), Err(SecretError::Prefix));
        assert!(matches!(secret_key("whsec_not-base64!"), Err(SecretError::Base64(_))));
        assert_eq!(secret_key("whsec_c2hvcnQ="), Err(SecretError::Length(5)));
        // Today's generated secrets (`whsec_` + 64 hex digits) are valid base64 of 48 bytes.
        let hex_secret = format!("whsec_{}", "ab".repeat(32));
        assert_eq!(secret_key(&hex_secret).map(|k| k.len()), Ok(48));
    }

    fn endpoint_with(secret: &str, signing: Signing) -> VendorEndpoint {
        VendorEndpoint {
            secret: secret.to_string(),
            signing,
            ..crate::testing::endpoint("v0", "e1", "https://shop.example.com/hook")
        }
    }

    fn header<'h>(headers: &'h [(String, String)], name: &str) -> Option<&'h str> {
        headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    #[test]
    fn headers_carry_one_signature_per_live_secret() {
        let now: jiff::Timestamp = "2026-12-04T10:00:00Z".parse().unwrap();
        let (old, new) = (generate_secret(), generate_secret());
        let mut ep = endpoint_with(&new, Signing::Standard);
        ep.previous_secret = Some(old.clone());
        ep.previous_until = Some(now + jiff::SignedDuration::from_hours(24));
        let h = signed_headers(&ep, "o1.OrderCompleted", now, b"{}");
        assert_eq!(header(&h, HEADER_WEBHOOK_ID), Some("o1.OrderCompleted"));
        assert_eq!(
            header(&h, HEADER_WEBHOOK_TIMESTAMP),
            Some(now.as_second().to_string().as_str())
        );
        let sig = header(&h, HEADER_WEBHOOK_SIGNATURE).unwrap();
        assert_eq!(sig.split(' ').count(), 2, "{sig}");
        for secret in [&old, &new] {
            assert!(verify(secret, "o1.OrderCompleted", now.as_second(), b"{}", sig));
        }
        assert_eq!(header(&h, LEGACY_HEADER_SIGNATURE), None);
        // After the grace period only the new secret signs.
        let later = now + jiff::SignedDuration::from_hours(24);
        let h = signed_headers(&ep, "o1.OrderCompleted", later, b"{}");
        let sig = header(&h, HEADER_WEBHOOK_SIGNATURE).unwrap();
        assert!(!sig.contains(' '));
        assert!(!verify(&old, "o1.OrderCompleted", later.as_second(), b"{}", sig));
        assert!(verify(&new, "o1.OrderCompleted", later.as_second(), b"{}", sig));
    }

    #[test]
    fn legacy_endpoints_get_the_old_headers_as_well() {
        let now: jiff::Timestamp = "2026-12-04T10:00:00Z".parse().unwrap();
        let ts = now.as_second();
        let hex_secret = format!("whsec_{}", "5a".repeat(32));
        let h = signed_headers(&endpoint_with(&hex_secret, Signing::Legacy), "e", now, b"{}");
        let legacy = header(&h, LEGACY_HEADER_SIGNATURE).unwrap();
        assert!(
            legacy_verify(&hex_secret, ts, b"{}", legacy),
            "the old receiver's check"
        );
        assert_eq!(header(&h, LEGACY_HEADER_EVENT_ID), Some("e"));
        assert_eq!(header(&h, LEGACY_HEADER_TIMESTAMP), Some(ts.to_string().as_str()));
        let standard = header(&h, HEADER_WEBHOOK_SIGNATURE).unwrap();
        assert!(
            verify(&hex_secret, "e", ts, b"{}", standard),
            "and the standard one, same secret"
        );
        // A supplied secret that is not base64 can only sign the old way.
        let h = signed_headers(
            &endpoint_with("legacy-supplied-secret-0001", Signing::Legacy),
            "e",
            now,
            b"{}",
        );
        assert_eq!(header(&h, HEADER_WEBHOOK_SIGNATURE), None);
        assert!(legacy_verify(
            "legacy-supplied-secret-0001",
            ts,
            b"{}",
            header(&h, LEGACY_HEADER_SIGNATURE).unwrap()
        ));
    }

    #[test]
    fn legacy_signatures_match_an_independent_hmac() {
        // python3 -c "import hmac,hashlib;print(hmac.new(b'key',b'1.hello',hashlib.sha256).hexdigest())"
        let sig = legacy_sign("key", 1, b"hello");
        assert_eq!(
            sig,
            "sha256=9233658ef5e21fe59dba8abb099c978547d7626f87090a6a585c26a2a98a91f8"
        );
        assert!(legacy_verify("key", 1, b"hello", &sig));
        assert!(!legacy_verify("kez", 1, b"hello", &sig));
        assert!(!legacy_verify("key", 2, b"hello", &sig));
        assert!(!legacy_verify("key", 1, b"hello", "sha256=zz"));
    }

    #[test]
    fn the_guard_refuses_private_targets() {
        for bad in [
            "http://example.com/hook",
            "ftp://example.com/",
            "https://127.0.0.1/hook",
            "https://10.1.2.3/",
            "https://172.16.0.1/",
            "https://192.168.1.1/",
            "https://169.254.169.254/latest/meta-data",
            "https://[::1]/",
            "https://[fd00::1]/",
            "https://[fe80::1]/",
            "https://[::ffff:10.0.0.1]/",
            "https://0.0.0.0/",
            "https://100.64.0.1/",
            "https://localhost/",
            "https://metadata.google.internal/",
            "https://user:pw@example.com/",
            "not a url",
        ] {
            assert!(check_endpoint_url(bad, false).is_err(), "{bad} accepted");
        }
        assert!(check_endpoint_url("https://shop.example.com/hook", false).is_ok());
        assert!(check_endpoint_url("https://93.184.216.34/hook", false).is_ok());
        assert!(check_endpoint_url("http://127.0.0.1:8080/hook", true).is_ok());
        let msg = check_endpoint_url("https://10.0.0.1/", false).unwrap_err().to_string();
        assert!(
            msg.contains("private address") && msg.contains("--allow-private-endpoints"),
            "{msg}"
        );
    }
}
