//! `skipline`: parse arguments, set up logging, run the command, exit with its code.

use skipline::cli::commands;
use tracing_subscriber::EnvFilter;

/// The runtime allocates and frees many small JSON values per order; glibc malloc showed up as a
/// quarter of CPU in the benchmark profile (BENCHMARKS.md), mimalloc's thread-local heaps less so.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() {
    // `serve --config FILE` adds the file's settings under the command line and environment.
    let cli = skipline::cli::config::parse();
    // The demo narrates its own story; its expected failures need not shout.
    let quiet = matches!(cli.command, skipline::cli::Command::Demo(_));
    let default = match cli.verbose {
        0 if quiet => "error",
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    let code = match commands::run(cli).await {
        Ok(()) => 0,
        Err(e) => {
            let message = e.to_string();
            if !message.is_empty() && !matches!(e, commands::CliError::Failed(_) if message.is_empty()) {
                eprintln!("error: {message}");
            }
            e.exit_code()
        }
    };
    std::process::exit(code);
}
