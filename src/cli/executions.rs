//! `skipline executions list` and `skipline executions show`.

use super::commands::{CliError, backend};
use super::{Cli, ExecutionsCommand, output};
use crate::backend::ExecStatus;

pub(super) async fn run(cli: &Cli, cmd: &ExecutionsCommand) -> Result<(), CliError> {
    let backend = backend(cli).await?;
    match cmd {
        ExecutionsCommand::List { status, limit } => {
            let status = status.as_deref().and_then(ExecStatus::parse);
            let list = backend.list_executions(status, *limit as usize).await?;
            if cli.json {
                output::json(&list);
            } else if list.is_empty() {
                println!("no executions");
            } else {
                println!("{:<38} {:<10} STARTED", "ORDER", "STATUS");
                for e in list {
                    println!("{:<38} {:<10} {}", e.orderid, e.status.as_str(), e.started_at);
                }
            }
        }
        ExecutionsCommand::Show { orderid } => {
            let status = backend.order_status(orderid, true).await?;
            if cli.json {
                output::json(&status);
            } else {
                print!("{}", output::timeline(&status));
            }
        }
    }
    Ok(())
}
