//! `skipline vendors subscribe | list | unsubscribe | rotate-secret`: vendor webhook endpoints.

use super::commands::{CliError, backend};
use super::{Cli, VendorsCommand, output};
use skipline_handlers::ports::{Signing, VendorEndpoint};

pub(super) async fn run(cli: &Cli, cmd: &VendorsCommand) -> Result<(), CliError> {
    match cmd {
        VendorsCommand::Subscribe {
            vendor_id,
            endpoint,
            secret,
            allow_private_endpoints,
        } => {
            let backend = backend(cli).await?;
            let (ep, generated) = backend
                .subscribe_vendor(vendor_id, endpoint, secret.as_deref(), *allow_private_endpoints)
                .await?;
            if cli.json {
                let mut v = endpoint_json(&ep);
                if generated {
                    v["secret"] = serde_json::json!(ep.secret);
                }
                output::json(&v);
            } else {
                println!("subscribed {} for vendor {} as {}", ep.url, ep.vendorid, ep.endpointid);
                if generated {
                    println!("signing secret (shown once, store it now): {}", ep.secret);
                }
            }
        }
        VendorsCommand::List { vendor_id } => {
            let list = backend(cli).await?.list_vendor_endpoints(vendor_id.as_deref()).await?;
            if cli.json {
                let redacted: Vec<_> = list.iter().map(crate::api::endpoint_summary).collect();
                output::json(&redacted);
            } else if list.is_empty() {
                println!("no vendor endpoints");
            } else {
                let now = jiff::Timestamp::now();
                for e in list {
                    println!(
                        "{:<20} {:<20} {}  secret {}  {}{}",
                        e.vendorid,
                        e.endpointid,
                        e.url,
                        crate::api::redact(&e.secret),
                        e.signing.as_str(),
                        signing_note(&e, now)
                    );
                }
            }
        }
        VendorsCommand::RotateSecret {
            vendor_id,
            endpoint_id,
            secret,
            grace,
        } => {
            let (ep, generated) = backend(cli)
                .await?
                .rotate_vendor_secret(vendor_id, endpoint_id, secret.as_deref(), Some(*grace))
                .await?;
            if cli.json {
                let mut v = crate::api::endpoint_summary(&ep);
                if generated {
                    v["secret"] = serde_json::json!(ep.secret);
                }
                output::json(&v);
            } else {
                println!("rotated the signing secret of {endpoint_id} (vendor {vendor_id})");
                if generated {
                    println!("new signing secret (shown once, store it now): {}", ep.secret);
                }
                match ep.previous_until {
                    Some(until) => println!("the old secret signs too until {until}"),
                    None => println!("the old secret no longer signs"),
                }
            }
        }
        VendorsCommand::Unsubscribe { vendor_id, endpoint_id } => {
            backend(cli).await?.unsubscribe_vendor(vendor_id, endpoint_id).await?;
            if !cli.json {
                println!("unsubscribed {endpoint_id} from vendor {vendor_id}");
            }
        }
    }
    Ok(())
}

/// An endpoint as `--json` shows it, before the caller adds the secret (when it may be shown)
/// and anything else it reports.
fn endpoint_json(ep: &VendorEndpoint) -> serde_json::Value {
    serde_json::json!({"vendorid": ep.vendorid, "endpointid": ep.endpointid, "url": ep.url})
}

/// Why a listed endpoint's signing needs attention, if it does.
fn signing_note(e: &VendorEndpoint, now: jiff::Timestamp) -> String {
    let mut note = String::new();
    if e.signing == Signing::Legacy {
        note.push_str(" (also X-Skipline-* headers; rotate the secret to end them)");
        if skipline_handlers::webhook::secret_key(&e.secret).is_err() {
            note.push_str(" (its secret is not whsec_<base64>: no Standard Webhooks signature until rotated)");
        }
    }
    if let (Some(until), Some(_)) = (e.previous_until, e.previous_at(now)) {
        note.push_str(&format!(" (old secret signs until {until})"));
    }
    note
}
