//! `skipline queues list | peek | replay`: queues and dead-letter queues.

use super::commands::{CliError, backend, parse_policy};
use super::{Cli, QueuesCommand, output};
use crate::backend::{Progress, ReplayReport, ReplayRequest, ReplayTarget};
use skipline_engine::filter::FilterScope;
use std::io::IsTerminal;

/// A bar on a terminal, plain lines otherwise.
struct ReplayProgress {
    bar: Option<indicatif::ProgressBar>,
}

impl Progress for ReplayProgress {
    fn total(&self, total: u64) {
        if let Some(bar) = &self.bar {
            bar.set_length(total);
        } else {
            eprintln!("replaying up to {total} messages");
        }
    }
    fn advance(&self, r: &ReplayReport) {
        match &self.bar {
            Some(bar) => {
                bar.set_position(r.moved + r.skipped);
                bar.set_message(format!("moved {} skipped {}", r.moved, r.skipped));
            }
            None => eprintln!("moved {} skipped {} failed {}", r.moved, r.skipped, r.failed),
        }
    }
}

pub(super) async fn run(cli: &Cli, cmd: &QueuesCommand) -> Result<(), CliError> {
    match cmd {
        QueuesCommand::List => {
            let list = backend(cli).await?.queues().await?;
            if cli.json {
                output::json(&list);
            } else {
                println!(
                    "{:<24} {:>8} {:>9} {:>8}  DLQ",
                    "QUEUE", "VISIBLE", "IN FLIGHT", "DELAYED"
                );
                for q in &list {
                    let dlq_depth = q
                        .dlq
                        .as_ref()
                        .and_then(|d| list.iter().find(|x| &x.name == d))
                        .map(|d| d.visible + d.in_flight);
                    println!(
                        "{:<24} {:>8} {:>9} {:>8}  {}",
                        q.name,
                        q.visible,
                        q.in_flight,
                        q.delayed,
                        match (&q.dlq, dlq_depth, q.max_receive_count) {
                            (Some(d), Some(n), Some(m)) => format!("{d} ({n} messages, after {m} receives)"),
                            (Some(d), _, _) => d.clone(),
                            _ => "-".into(),
                        }
                    );
                }
            }
        }
        QueuesCommand::Peek { queue, max } => {
            let list = backend(cli).await?.peek(queue, *max as usize).await?;
            output::lines(cli.json, &list, &list, &format!("{queue} is empty"), |m| {
                format!(
                    "{}  received {}×  sent {}\n  {}",
                    m.message_id, m.receive_count, m.sent_at, m.body
                )
            });
        }
        QueuesCommand::Replay {
            from,
            to,
            to_topic,
            max,
            filter_policy,
            dry_run,
        } => {
            let filter = filter_policy
                .as_deref()
                .map(|p| parse_policy(p, FilterScope::MessageAttributes))
                .transpose()?
                .map(|(_, p)| p);
            let request = ReplayRequest {
                from: from.clone(),
                to: match (to, to_topic) {
                    (Some(q), _) => ReplayTarget::Queue(q.clone()),
                    (None, true) => ReplayTarget::Topic,
                    (None, false) => ReplayTarget::Origin,
                },
                max: *max,
                filter,
                dry_run: *dry_run,
            };
            let backend = backend(cli).await?;
            let bar = (std::io::stderr().is_terminal() && !cli.json).then(|| {
                let bar = indicatif::ProgressBar::new(0);
                bar.set_style(
                    indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} {msg}")
                        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
                );
                bar
            });
            let progress = ReplayProgress { bar };
            let report = backend.replay(&request, &progress).await?;
            if let Some(bar) = &progress.bar {
                bar.finish_and_clear();
            }
            output::show(cli.json, &report, || {
                format!(
                    "{}moved {} skipped {} failed {}",
                    if report.dry_run { "dry run: would have " } else { "" },
                    report.moved,
                    report.skipped,
                    report.failed
                )
            });
            if report.failed > 0 {
                return Err(CliError::Failed(format!("{} messages failed to move", report.failed)));
            }
        }
    }
    Ok(())
}
