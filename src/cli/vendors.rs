//! `skipline vendors subscribe | list | unsubscribe`: vendor webhook endpoints.

use super::commands::{CliError, backend};
use super::{Cli, VendorsCommand, output};
use skipline_handlers::ports::VendorEndpoint;

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
                let redacted: Vec<_> = list
                    .iter()
                    .map(|e| {
                        let mut v = endpoint_json(e);
                        v["secret"] = serde_json::json!(crate::api::redact(&e.secret));
                        v["createdAt"] = serde_json::json!(e.created_at);
                        v
                    })
                    .collect();
                output::json(&redacted);
            } else if list.is_empty() {
                println!("no vendor endpoints");
            } else {
                for e in list {
                    println!(
                        "{:<20} {:<20} {}  secret {}",
                        e.vendorid,
                        e.endpointid,
                        e.url,
                        crate::api::redact(&e.secret)
                    );
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
