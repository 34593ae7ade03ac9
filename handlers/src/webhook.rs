//! Webhook signing and the endpoint policy (the SSRF guard).

use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use url::{Host, Url};

type HmacSha256 = Hmac<Sha256>;

/// Longest endpoint URL accepted.
pub const MAX_URL_LEN: usize = 2048;

/// `sha256=<hex>` of HMAC-SHA256 over `"{timestamp}.{body}"`; the timestamp stops replays of old bodies.
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    format!(
        "sha256={}",
        hex::encode(mac_for(secret, timestamp, body).finalize().into_bytes())
    )
}

/// Constant-time check of a signature header, as a receiver would do it.
pub fn verify(secret: &str, timestamp: i64, body: &[u8], signature: &str) -> bool {
    let Some(hex_part) = signature.strip_prefix("sha256=") else {
        return false;
    };
    let Ok(expected) = hex::decode(hex_part) else {
        return false;
    };
    mac_for(secret, timestamp, body).verify_slice(&expected).is_ok()
}

fn mac_for(secret: &str, timestamp: i64, body: &[u8]) -> HmacSha256 {
    // HMAC accepts keys of any length, so this never fails.
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).unwrap_or_else(|_| unreachable_mac());
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

#[cold]
fn unreachable_mac() -> HmacSha256 {
    unreachable!("HMAC-SHA256 accepts keys of any length")
}

/// A new random signing secret: 32 bytes, hex.
pub fn generate_secret() -> String {
    let bytes: [u8; 32] = rand::random();
    format!("whsec_{}", hex::encode(bytes))
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
    if ip.is_loopback() {
        Some("a loopback address")
    } else if ip.is_private() {
        Some("a private address")
    } else if ip.is_link_local() {
        Some("a link-local address")
    } else if ip.is_unspecified() || o[0] == 0 {
        Some("an unspecified address")
    } else if o[0] == 100 && (o[1] & 0xc0) == 64 {
        Some("a carrier-grade NAT address")
    } else if ip.is_broadcast() || ip.is_multicast() || o[0] >= 240 {
        Some("a broadcast, multicast or reserved address")
    } else if (o[0] == 192 && o[1] == 0 && o[2] == 0) || (o[0] == 198 && (o[1] & 0xfe) == 18) {
        Some("a special-purpose address")
    } else {
        None
    }
}

fn forbidden_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let s = ip.segments();
    if ip.is_loopback() {
        Some("a loopback address")
    } else if ip.is_unspecified() {
        Some("an unspecified address")
    } else if (s[0] & 0xfe00) == 0xfc00 {
        Some("a unique-local (private) address")
    } else if (s[0] & 0xffc0) == 0xfe80 {
        Some("a link-local address")
    } else if ip.is_multicast() {
        Some("a multicast address")
    } else if s[0] == 0x64 && s[1] == 0xff9b {
        // NAT64 embeds an IPv4 address in the low 32 bits.
        forbidden_v4(Ipv4Addr::new(
            (s[6] >> 8) as u8,
            s[6] as u8,
            (s[7] >> 8) as u8,
            s[7] as u8,
        ))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_receiver_can_verify_the_signature() {
        let sig = sign("whsec_abc", 1_700_000_000, b"{\"a\":1}");
        assert!(sig.starts_with("sha256="));
        assert_eq!(sig.len(), 7 + 64);
        assert!(verify("whsec_abc", 1_700_000_000, b"{\"a\":1}", &sig));
        assert!(!verify("whsec_abd", 1_700_000_000, b"{\"a\":1}", &sig));
        assert!(!verify("whsec_abc", 1_700_000_001, b"{\"a\":1}", &sig));
        assert!(!verify("whsec_abc", 1_700_000_000, b"{\"a\":2}", &sig));
        assert!(!verify("whsec_abc", 1_700_000_000, b"{\"a\":1}", "sha256=zz"));
    }

    #[test]
    fn matches_an_independent_hmac() {
        // python3 -c "import hmac,hashlib;print(hmac.new(b'key',b'1.hello',hashlib.sha256).hexdigest())"
        assert_eq!(
            sign("key", 1, b"hello"),
            "sha256=9233658ef5e21fe59dba8abb099c978547d7626f87090a6a585c26a2a98a91f8"
        );
    }

    #[test]
    fn secrets_are_random_and_long() {
        let a = generate_secret();
        assert_eq!(a.len(), 6 + 64);
        assert_ne!(a, generate_secret());
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
