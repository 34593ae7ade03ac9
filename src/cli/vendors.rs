//! `skipline vendors subscribe | list | unsubscribe | rotate-secret | enable | deliveries |
//! redeliver`: vendor webhook endpoints and their deliveries.

use super::commands::{CliError, backend};
use super::{Cli, VendorsCommand, output};
use crate::backend::requests;
use skipline_handlers::ports::{Attempt, Signing, VendorEndpoint};

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
            let redacted: Vec<_> = list.iter().map(crate::api::endpoint_summary).collect();
            let now = jiff::Timestamp::now();
            output::lines(cli.json, &redacted, &list, "no vendor endpoints", |e| {
                format!(
                    "{:<20} {:<20} {}  secret {}  {}{}",
                    e.vendorid,
                    e.endpointid,
                    e.url,
                    crate::api::redact(&e.secret),
                    e.signing.as_str(),
                    signing_note(e, now)
                )
            });
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
        VendorsCommand::Enable { vendor_id, endpoint_id } => {
            let ep = backend(cli)
                .await?
                .enable_vendor_endpoint(vendor_id, endpoint_id)
                .await?;
            if cli.json {
                output::json(&crate::api::endpoint_summary(&ep));
            } else {
                println!(
                    "enabled {endpoint_id} (vendor {vendor_id}); missed tickets are not resent: use `skipline vendors redeliver --since`"
                );
            }
        }
        VendorsCommand::Deliveries {
            vendor_id,
            endpoint_id,
            failed,
            since,
            until,
            limit,
        } => {
            let query = requests::attempt_query(
                vendor_id,
                endpoint_id.as_deref(),
                *failed,
                since.as_deref(),
                until.as_deref(),
                *limit as usize,
            )?;
            let attempts = backend(cli).await?.vendor_deliveries(&query).await?;
            let items: Vec<_> = attempts.iter().map(crate::api::attempt_json).collect();
            output::lines(cli.json, &items, &attempts, "no delivery attempts", attempt_line);
        }
        VendorsCommand::Redeliver {
            vendor_id,
            endpoint_id,
            event,
            since,
            until,
        } => {
            let query = requests::ticket_query(
                vendor_id,
                endpoint_id.as_deref(),
                event.as_deref(),
                since.as_deref(),
                until.as_deref(),
            )?;
            let report = backend(cli)
                .await?
                .redeliver(vendor_id, endpoint_id.as_deref(), &query)
                .await?;
            output::show(cli.json, &report, || {
                format!(
                    "queued {} {} for {} {} ({}), with the same webhook-id",
                    report.deliveries,
                    plural(report.deliveries, "delivery", "deliveries"),
                    report.events,
                    plural(report.events, "ticket", "tickets"),
                    report.endpoints.join(", ")
                )
            });
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

fn plural<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 { one } else { many }
}

/// One attempt as a line: when, where, which, what came of it.
fn attempt_line(a: &Attempt) -> String {
    let answer = match (a.status, &a.error) {
        (Some(status), _) => format!("HTTP {status}"),
        (None, Some(error)) => error.clone(),
        (None, None) => "-".into(),
    };
    let mut line = format!(
        "{}  {:<20} {:<32} #{:<2} {:<9} {:<12} {:>5} ms",
        a.at,
        a.endpointid,
        a.eventid,
        a.attempt,
        a.outcome.as_str(),
        answer,
        a.latency_ms
    );
    if let Some(next) = a.next_attempt_at {
        line.push_str(&format!("  next {next}"));
    }
    if a.redelivery {
        line.push_str("  (redelivery)");
    }
    line
}

/// Why a listed endpoint needs attention, if it does: its state, then its signing.
fn signing_note(e: &VendorEndpoint, now: jiff::Timestamp) -> String {
    let mut note = String::new();
    match (&e.health.disabled_at, &e.health.failing_since) {
        (Some(at), _) => note.push_str(&format!(
            " DISABLED since {at}: {} (skipline vendors enable)",
            e.health.disabled_reason.as_deref().unwrap_or("no reason recorded")
        )),
        (None, Some(since)) => note.push_str(&format!(" (failing since {since})")),
        (None, None) => {}
    }
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
