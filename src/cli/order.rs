//! `skipline order place` and `skipline order status`.

use super::commands::{CliError, backend, read_arg};
use super::{BackendKind, Cli, OrderCommand, PlaceArgs, output};
use crate::backend::ExecStatus;

fn place_body(args: &PlaceArgs) -> Result<Vec<u8>, CliError> {
    if let Some(b) = &args.body {
        return Ok(read_arg("--body", b)?.into_bytes());
    }
    let (Some(account), Some(vendor), Some(coffee), Some(price)) =
        (&args.account, &args.vendor, &args.coffee, &args.price)
    else {
        return Err(CliError::Invalid(
            "give --body JSON, or --account, --vendor, --coffee and --price (see `skipline order place --help`)".into(),
        ));
    };
    let body = serde_json::json!({"order": {
        "accountid": account, "vendorid": vendor, "orderdate": jiff::Timestamp::now().to_string(), "city": args.city,
        "details": {"coffeetype": coffee, "coffeesize": args.size, "unitprice": price, "quantity": args.quantity},
        "eventtype": ["new_order"]}});
    Ok(body.to_string().into_bytes())
}

pub(super) async fn run(cli: &Cli, cmd: &OrderCommand) -> Result<(), CliError> {
    match cmd {
        OrderCommand::Place(args) => {
            let body = place_body(args)?;
            let backend = backend(cli).await?;
            let placed = backend.place_order(&body, args.idempotency_key.as_deref()).await?;
            if cli.backend == BackendKind::Local && !serve_running(cli) {
                eprintln!(
                    "note: no `skipline serve` is running on {}; the order will run when one starts",
                    cli.data_dir.display()
                );
            }
            if !args.wait {
                output::show(cli.json, &placed, || {
                    format!(
                        "order {} {} ({})",
                        placed.orderid,
                        if placed.created { "accepted" } else { "already placed" },
                        placed.execution_id
                    )
                });
                return Ok(());
            }
            let deadline = tokio::time::Instant::now() + args.timeout;
            loop {
                let status = backend.order_status(&placed.orderid, false).await?;
                if status.status != ExecStatus::Running {
                    output::show(cli.json, &status, || {
                        format!(
                            "order {} {}{}",
                            status.orderid,
                            status.status.as_str(),
                            status.error.as_ref().map(|e| format!(" ({e})")).unwrap_or_default()
                        )
                    });
                    return if status.status == ExecStatus::Succeeded {
                        Ok(())
                    } else {
                        Err(CliError::Failed(format!("order {} did not complete", status.orderid)))
                    };
                }
                if tokio::time::Instant::now() >= deadline {
                    return Err(CliError::Unavailable(format!(
                        "order {} still RUNNING after {:?}; is `skipline serve` running?",
                        placed.orderid, args.timeout
                    )));
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
        OrderCommand::Status { orderid, history } => {
            let status = backend(cli).await?.order_status(orderid, *history).await?;
            if cli.json {
                output::json(&status);
            } else if *history {
                print!("{}", output::timeline(&status));
            } else {
                println!(
                    "{} {}{}{}",
                    status.orderid,
                    status.status.as_str(),
                    status
                        .invoice_key
                        .as_ref()
                        .map(|k| format!(" invoice {k}"))
                        .unwrap_or_default(),
                    status.error.as_ref().map(|e| format!(" error {e}")).unwrap_or_default()
                );
            }
            Ok(())
        }
    }
}

pub(super) fn serve_running(cli: &Cli) -> bool {
    std::fs::File::open(cli.data_dir.join("serve.lock"))
        .map(|f| f.try_lock().is_err())
        .unwrap_or(false)
}
