//! `skipline bench` and `skipline bench replay`: arguments, and the report as text, JSON and SVG.

use super::Cli;
use super::commands::CliError;
use crate::bench::orders::{Flow, Mode};
use crate::bench::{self, BenchError, Plan, Report};
use clap::{Args, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ModeArg {
    Http,
    InProcess,
    Both,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FlowArg {
    /// `infra/statemachine/order_flow.asl.json`, the default flow.
    Jsonpath,
    /// `infra/statemachine/order_flow.jsonata.asl.json`, its JSONata twin.
    Jsonata,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct BenchArgs {
    #[command(subcommand)]
    pub command: Option<BenchCommand>,
    /// Orders per run.
    #[arg(long, default_value_t = 20_000, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    pub orders: u64,
    /// Concurrent clients; a comma-separated list runs a sweep, e.g. 1,8,32,128.
    #[arg(long, value_delimiter = ',', default_value = "1,8,32,128", value_parser = clap::value_parser!(u64).range(1..=4096))]
    pub concurrency: Vec<u64>,
    /// Which order-flow files run the sweep, one after the other, so that JSONata's cost shows
    /// beside JSONPath's in the same run. The first one is used for the half-rate run and the
    /// targets.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "jsonpath,jsonata")]
    pub flow: Vec<FlowArg>,
    /// Over HTTP (loopback, keep-alive), in-process (no HTTP), or both.
    #[arg(long, value_enum, default_value_t = ModeArg::Both)]
    pub mode: ModeArg,
    /// Open loop at this many orders/s instead of closed-loop clients.
    #[arg(long, value_name = "ORDERS_PER_S")]
    pub rate: Option<f64>,
    /// Skip the extra run at half of the best throughput (it measures the p99 target).
    #[arg(long)]
    pub no_half_rate: bool,
    /// Messages for the replay measurement (0 skips it).
    #[arg(long, default_value_t = 100_000)]
    pub replay_messages: u64,
    /// Items of the inline-Map measurement (a Map of Pass states, in JSONPath and in JSONata,
    /// durable and in memory); 0 skips it. At most 40,000: the items and their results must fit
    /// the 256 KiB quota on a state's input and output.
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(0..=crate::bench::map::MAX_ITEMS as u64))]
    pub map_items: u64,
    /// A short run for CI: few orders, small sweep, all parts exercised, no thresholds.
    #[arg(long)]
    pub smoke: bool,
    /// Write an SVG of throughput and p99 against concurrency.
    #[arg(long, value_name = "FILE")]
    pub plot: Option<PathBuf>,
    /// Where the fresh data dirs go (a temporary directory inside it). Must be on the disk you
    /// want measured: a tmpfs makes fsync free.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub dir: PathBuf,
    /// How long to wait for a run's orders to complete.
    #[arg(long, default_value = "120s", value_parser = super::parse_duration)]
    pub timeout: Duration,
    /// How long each baseline measurement runs.
    #[arg(long, default_value = "2s", value_parser = super::parse_duration)]
    pub baseline: Duration,
    /// Where `cargo lambda build --profile lambda` left the bootstraps.
    #[arg(long, value_name = "DIR", default_value = "target/lambda")]
    pub lambda_dir: PathBuf,
    /// Vendors the orders are spread over (each with one webhook endpoint).
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub vendors: u64,
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Messages/s moved from a DLQ back to its queue.
    Replay {
        #[arg(long, default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
        messages: u64,
        #[arg(long, value_name = "DIR", default_value = ".")]
        dir: PathBuf,
    },
}

impl From<BenchError> for CliError {
    fn from(e: BenchError) -> Self {
        match e {
            BenchError::Failed(_) => CliError::Failed(e.to_string()),
            _ => CliError::Unavailable(e.to_string()),
        }
    }
}

fn temp_root(dir: &std::path::Path) -> Result<tempfile::TempDir, CliError> {
    std::fs::create_dir_all(dir).map_err(|e| CliError::Invalid(format!("cannot create {}: {e}", dir.display())))?;
    tempfile::Builder::new()
        .prefix(".skipline-bench-")
        .tempdir_in(dir)
        .map_err(|e| CliError::Invalid(format!("cannot create a directory in {}: {e}", dir.display())))
}

fn plan(args: &BenchArgs, root: PathBuf) -> Plan {
    let modes = match args.mode {
        ModeArg::Http => vec![Mode::Http],
        ModeArg::InProcess => vec![Mode::InProcess],
        ModeArg::Both => vec![Mode::Http, Mode::InProcess],
    };
    let as_usize = |v: u64| usize::try_from(v).unwrap_or(usize::MAX);
    let mut flows = Vec::new();
    for f in &args.flow {
        let flow = match f {
            FlowArg::Jsonpath => Flow::JsonPath,
            FlowArg::Jsonata => Flow::Jsonata,
        };
        if !flows.contains(&flow) {
            flows.push(flow);
        }
    }
    let mut plan = Plan {
        root,
        orders: as_usize(args.orders),
        flows,
        concurrency: args.concurrency.iter().map(|c| as_usize(*c)).collect(),
        modes,
        rate: args.rate,
        half_rate: !args.no_half_rate,
        timeout: args.timeout,
        baseline: args.baseline,
        replay_messages: (args.replay_messages > 0).then_some(args.replay_messages),
        map_items: (args.map_items > 0).then_some(as_usize(args.map_items)),
        lambda_dir: args.lambda_dir.clone(),
        vendors: as_usize(args.vendors),
    };
    if args.smoke {
        plan.orders = plan.orders.min(200);
        plan.concurrency = vec![2, 16];
        plan.baseline = plan.baseline.min(Duration::from_millis(300));
        plan.replay_messages = plan.replay_messages.map(|n| n.min(2_000));
        plan.map_items = plan.map_items.map(|n| n.min(500));
        plan.timeout = plan.timeout.min(Duration::from_secs(20));
    }
    plan
}

pub async fn run(cli: &Cli, args: &BenchArgs) -> Result<(), CliError> {
    if let Some(BenchCommand::Replay { messages, dir }) = &args.command {
        let root = temp_root(dir)?;
        let r = bench::replay::run(root.path(), *messages).await?;
        if cli.json {
            println!(
                "{}",
                serde_json::to_string_pretty(&r).map_err(|e| CliError::Unavailable(e.to_string()))?
            );
        } else {
            println!(
                "replay: {} messages DLQ → queue in {:.3} s = {:.0} msg/s ({} commits)",
                r.messages, r.elapsed_s, r.messages_per_s, r.commits
            );
        }
        return Ok(());
    }
    if let Some(rate) = args.rate
        && !(rate.is_finite() && rate > 0.0)
    {
        return Err(CliError::Invalid("--rate must be a positive number".into()));
    }
    let root = temp_root(&args.dir)?;
    let plan = plan(args, root.path().to_path_buf());
    if cfg!(debug_assertions) && !args.smoke {
        eprintln!("note: this is a debug build; measure with `cargo run --release -- bench`");
    }
    let json = cli.json;
    if !json {
        eprintln!("{}", bench::HEADER);
    }
    let report: Report = bench::run(&plan, &|line: &str| {
        if !json {
            eprintln!("{line}");
        }
    })
    .await?;
    if let Some(path) = &args.plot {
        let b = &report.baseline;
        // One flow per chart: the first, which the targets use; the table has the others.
        let primary: Vec<_> = report
            .runs
            .iter()
            .filter(|r| Some(&r.flow) == plan.flows.first())
            .cloned()
            .collect();
        let svg = bench::plot::svg(
            &primary,
            &[
                (
                    format!(
                        "target: {:.0} orders/s = {}× the baseline",
                        b.sqlite_commits_per_s * bench::TARGET_COMMIT_RATIO,
                        bench::TARGET_COMMIT_RATIO
                    ),
                    b.sqlite_commits_per_s * bench::TARGET_COMMIT_RATIO,
                ),
                (
                    format!(
                        "naive ceiling: {:.0} commits/s ÷ {} = {:.0} orders/s",
                        b.sqlite_commits_per_s,
                        bench::NAIVE_COMMITS_PER_ORDER,
                        b.sqlite_commits_per_s / bench::NAIVE_COMMITS_PER_ORDER
                    ),
                    b.sqlite_commits_per_s / bench::NAIVE_COMMITS_PER_ORDER,
                ),
            ],
            &format!(
                "{} flow, {} orders per point, {} CPUs, {} build; baseline {:.0} fsync'd SQLite commits/s",
                plan.flows.first().map(|f| f.label()).unwrap_or("no"),
                plan.orders,
                report.machine.cpus,
                report.machine.build,
                b.sqlite_commits_per_s
            ),
        );
        std::fs::write(path, svg)
            .map_err(|e| CliError::Unavailable(format!("cannot write {}: {e}", path.display())))?;
    }
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).map_err(|e| CliError::Unavailable(e.to_string()))?
        );
    } else {
        println!("{}", bench::text(&report));
    }
    Ok(())
}
