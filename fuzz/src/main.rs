//! The stable-toolchain fuzzer. Usage:
//!   cargo run --release -p skipline-fuzz -- [--target NAME|all] [--iterations N] [--secs S] [--seed N]
//! Crashing inputs are written to fuzz/artifacts/<target>/crash-<n>; the exit code is 1 if any.

use clap::Parser;
use skipline_fuzz::{Fuzzer, targets};
use std::time::{Duration, Instant};

/// Mutational fuzzing of the parsers and validators on the stable toolchain. Each target runs
/// its seeds first, then mutations of its corpus; a panic is a crash and is saved to disk.
#[derive(Parser)]
#[command(name = "skipline-fuzz")]
struct Args {
    /// One target (place_order, filter_policy, asl_load, jsonpath) or `all`.
    #[arg(long, default_value = "all")]
    target: String,
    /// Stop each target after this many executions.
    #[arg(long)]
    iterations: Option<u64>,
    /// Stop each target after this many seconds (default 60 when --iterations is not given).
    #[arg(long)]
    secs: Option<u64>,
    /// RNG seed; the same seed and limits replay the same inputs.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

fn main() {
    let args = Args::parse();
    let names: Vec<&str> = targets().iter().map(|t| t.name).collect();
    if args.target != "all" && !names.contains(&args.target.as_str()) {
        eprintln!(
            "error: unknown target {:?}; expected one of {} or all",
            args.target,
            names.join(", ")
        );
        std::process::exit(2);
    }
    let only = args.target;
    let iterations = args.iterations.unwrap_or(u64::MAX);
    let secs = args.secs.or(args.iterations.is_none().then_some(60));
    let seed = args.seed;
    let artifacts = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("artifacts");
    let mut total = 0;
    let mut crashes = 0;
    for target in targets().iter().filter(|t| only == "all" || only == t.name) {
        let started = Instant::now();
        let deadline = secs.map(|s| started + Duration::from_secs(s));
        let report = Fuzzer::new(seed).run(target, iterations, deadline);
        println!(
            "{:<14} executions {:>9}  corpus {:>5}  outcomes {:>5}  crashes {}  slowest {:?}  ({:.1}s, seed {seed})",
            target.name,
            report.executions,
            report.corpus,
            report.outcomes,
            report.crashes.len(),
            report.slowest,
            started.elapsed().as_secs_f64()
        );
        for (i, c) in report.crashes.iter().enumerate() {
            let dir = artifacts.join(target.name);
            let _ = std::fs::create_dir_all(&dir);
            let path = dir.join(format!("crash-{seed}-{i}"));
            let _ = std::fs::write(&path, &c.input);
            println!(
                "  CRASH {}: {}\n    input {:?}\n    saved {}",
                c.target,
                c.panic,
                String::from_utf8_lossy(&c.input),
                path.display()
            );
        }
        total += report.executions;
        crashes += report.crashes.len();
    }
    println!("total executions {total}, crashes {crashes}");
    if crashes > 0 {
        std::process::exit(1);
    }
}
