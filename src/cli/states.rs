//! `skipline states validate`: a state-machine file checked as `serve` or AWS would take it,
//! with every problem listed, and no data dir touched.

use super::commands::CliError;
use super::{Cli, StatesCommand, output};
use skipline_engine::asl::{AnyResource, LoadError, StateMachine};

/// Step Functions' limit on a definition's size.
const MAX_DEFINITION: u64 = 1024 * 1024;

pub(super) fn run(cli: &Cli, cmd: &StatesCommand) -> Result<(), CliError> {
    match cmd {
        StatesCommand::Validate { file, language_only } => {
            let text = read_definition(file)?;
            let problems = if *language_only {
                StateMachine::validate(&text, None, &AnyResource)
            } else {
                crate::local::invoker::validate_for_local(&text)
            };
            let checked = if *language_only {
                "the States Language only"
            } else {
                "what `serve --state-machine` runs"
            };
            // For a file bound for AWS, what only this executor lacks (a DISTRIBUTED Map, a
            // heartbeat) is valid States Language: said as "not checked", not as a problem.
            let (unchecked, problems): (Vec<_>, Vec<_>) = problems
                .iter()
                .partition(|p| *language_only && matches!(p, LoadError::Unsupported { .. }));
            // Each with its line and column in the file as written, where it has one.
            let described = |p: &&LoadError| match p.locate(&text) {
                Some(at) => format!("{at}: {p}"),
                None => p.to_string(),
            };
            let unchecked: Vec<String> = unchecked.iter().map(described).collect();
            let problems: Vec<String> = problems.iter().map(described).collect();
            if cli.json {
                output::json(&serde_json::json!({
                    "file": file.display().to_string(),
                    "checked": checked,
                    "valid": problems.is_empty(),
                    "problems": problems,
                    "unchecked": unchecked,
                }));
            } else {
                for u in &unchecked {
                    eprintln!("note: not checked here (valid on AWS, not run by the embedded engine): {u}");
                }
                if problems.is_empty() {
                    println!("{}: valid ({checked})", file.display());
                }
                for p in &problems {
                    eprintln!("  - {p}");
                }
            }
            if problems.is_empty() {
                Ok(())
            } else {
                Err(CliError::Invalid(format!(
                    "{}: {} problem{} ({checked})",
                    file.display(),
                    problems.len(),
                    if problems.len() == 1 { "" } else { "s" }
                )))
            }
        }
    }
}

fn read_definition(file: &std::path::Path) -> Result<String, CliError> {
    let meta =
        std::fs::metadata(file).map_err(|e| CliError::Invalid(format!("cannot read {}: {e}", file.display())))?;
    if !meta.is_file() {
        return Err(CliError::Invalid(format!("{} is not a file", file.display())));
    }
    if meta.len() > MAX_DEFINITION {
        return Err(CliError::Invalid(format!(
            "{} is {} bytes; a state-machine definition has at most {MAX_DEFINITION}",
            file.display(),
            meta.len()
        )));
    }
    std::fs::read_to_string(file).map_err(|e| CliError::Invalid(format!("cannot read {}: {e}", file.display())))
}
