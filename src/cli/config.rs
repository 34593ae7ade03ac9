//! `serve --config FILE` and `serve --print-config`: settings from a TOML file, under the
//! environment and the command line.
//!
//! clap already reads the command line and the environment (each option's `env`), so a file
//! only fills in what both left unset: each of its entries becomes one more `--name=value`
//! argument, and clap parses it as it parses the command line. So there is one parser, one set
//! of messages and ranges, and no second list of options to keep in step with [`ServeArgs`].
//!
//! [`ServeArgs`]: super::ServeArgs

use super::{Cli, Command};
use clap::parser::ValueSource;
use clap::{CommandFactory, FromArgMatches};
use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// A config file is a handful of lines; anything larger is a wrong path.
const MAX_CONFIG_BYTES: u64 = 64 * 1024;

/// The global option a config file may set beside `serve`'s own.
const DATA_DIR: &str = "data-dir";

/// Options that are about this invocation, not settings a file could hold.
const NOT_SETTINGS: [&str; 3] = ["config", "print-config", "help"];

/// Where a setting's value came from, highest precedence first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    CommandLine,
    /// The variable's name.
    Environment(String),
    File(PathBuf),
    Default,
    /// Not given anywhere, and with no default (an optional setting left off).
    Unset,
}

/// One effective `serve` setting, as `--print-config` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    /// The long option's name, which is also its key in a config file.
    pub name: String,
    /// As given (or the default); `None` when unset.
    pub value: Option<String>,
    /// A flag (`true`/`false`) rather than an option with a value.
    pub flag: bool,
    pub source: Source,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("config file {path}: {reason}")]
    File { path: PathBuf, reason: String },
}

fn file_error(path: &Path, reason: impl Into<String>) -> ConfigError {
    ConfigError::File {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

/// Parses the process's arguments. Usage errors exit as clap exits (code 2, with usage);
/// a bad config file prints one `error:` line and exits 2.
pub fn parse() -> Cli {
    match parse_from(std::env::args_os()) {
        Ok(cli) => cli,
        Err(ParseError::Clap(e)) => e.exit(),
        Err(ParseError::Config(e)) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error(transparent)]
    Clap(#[from] clap::Error),
    #[error(transparent)]
    Config(#[from] ConfigError),
}

/// [`parse`] for any argument list (tests).
pub fn parse_from<I, T>(args: I) -> Result<Cli, ParseError>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let mut args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let command = Cli::command();
    let mut matches = command.clone().try_get_matches_from(&args)?;
    let mut from_file = BTreeSet::new();
    let config = match matches.subcommand() {
        Some(("serve", serve)) => serve.get_one::<PathBuf>("config").cloned(),
        _ => None,
    };
    if let Some(path) = &config {
        let extra = file_args(path, &command, &matches, &mut from_file)?;
        if !extra.is_empty() {
            args.extend(extra);
            matches = command
                .clone()
                .try_get_matches_from(&args)
                .map_err(|e| file_error(path, first_line(&e)))?;
        }
    }
    let mut cli = Cli::from_arg_matches(&matches)?;
    if let (Command::Serve(serve), Some(("serve", serve_matches))) = (&mut cli.command, matches.subcommand()) {
        serve.settings = settings(&command, &matches, serve_matches, config.as_deref(), &from_file);
    }
    Ok(cli)
}

/// clap's message on one line, without its "error: " prefix, usage and help hint.
fn first_line(e: &clap::Error) -> String {
    let text = e.to_string();
    let message: Vec<&str> = text
        .lines()
        .take_while(|l| !l.trim().is_empty() && !l.starts_with("Usage:"))
        .map(str::trim)
        .collect();
    let line = message.join(" ");
    line.strip_prefix("error: ").unwrap_or(&line).to_string()
}

fn serve_command(command: &clap::Command) -> Option<&clap::Command> {
    command.get_subcommands().find(|c| c.get_name() == "serve")
}

/// The file's entries as extra arguments, leaving out what the command line or the
/// environment already set. Records which names the file supplied.
fn file_args(
    path: &Path,
    command: &clap::Command,
    matches: &clap::ArgMatches,
    from_file: &mut BTreeSet<String>,
) -> Result<Vec<OsString>, ConfigError> {
    let text = read_limited(path)?;
    let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
        // toml's message names the line and column; keep it on one line.
        file_error(path, e.to_string().split_whitespace().collect::<Vec<_>>().join(" "))
    })?;
    let serve = serve_command(command).ok_or_else(|| file_error(path, "no serve command"))?;
    let Some(("serve", serve_matches)) = matches.subcommand() else {
        return Ok(Vec::new());
    };
    let known = known_names(command);
    let mut extra = Vec::new();
    for (key, value) in &table {
        let name = key.replace('_', "-");
        if !known.contains(&name) {
            return Err(file_error(
                path,
                format!(
                    "unknown setting {:?}; the settings are {}",
                    key.chars().take(64).collect::<String>(),
                    known.iter().cloned().collect::<Vec<_>>().join(", ")
                ),
            ));
        }
        let (arg, arg_matches) = if name == DATA_DIR {
            (find_arg(command, &name), matches)
        } else {
            (find_arg(serve, &name), serve_matches)
        };
        let arg = arg.ok_or_else(|| file_error(path, format!("unknown setting {name:?}")))?;
        if matches!(
            arg_matches.value_source(arg.get_id().as_str()),
            Some(ValueSource::CommandLine | ValueSource::EnvVariable)
        ) {
            continue;
        }
        if !from_file.insert(name.clone()) {
            return Err(file_error(path, format!("{name} is set twice")));
        }
        if is_flag(arg) {
            match value {
                toml::Value::Boolean(true) => extra.push(OsString::from(format!("--{name}"))),
                toml::Value::Boolean(false) => {}
                _ => return Err(file_error(path, format!("{name} must be true or false"))),
            }
            continue;
        }
        let text = match value {
            toml::Value::String(s) => s.clone(),
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Float(f) => f.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            _ => {
                return Err(file_error(
                    path,
                    format!("{name} must be a string, a number or a boolean"),
                ));
            }
        };
        extra.push(OsString::from(format!("--{name}={text}")));
    }
    Ok(extra)
}

fn read_limited(path: &Path) -> Result<String, ConfigError> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| file_error(path, format!("cannot open: {e}")))?;
    let mut bytes = Vec::new();
    file.take(MAX_CONFIG_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| file_error(path, format!("cannot read: {e}")))?;
    if bytes.len() as u64 > MAX_CONFIG_BYTES {
        return Err(file_error(
            path,
            format!("larger than {MAX_CONFIG_BYTES} bytes; is it the right file?"),
        ));
    }
    String::from_utf8(bytes).map_err(|_| file_error(path, "not UTF-8 text"))
}

fn find_arg<'a>(command: &'a clap::Command, long: &str) -> Option<&'a clap::Arg> {
    command.get_arguments().find(|a| a.get_long() == Some(long))
}

fn is_flag(arg: &clap::Arg) -> bool {
    matches!(arg.get_action(), clap::ArgAction::SetTrue)
}

/// The names a file may set: `data-dir` and every `serve` option that is a setting.
fn known_names(command: &clap::Command) -> BTreeSet<String> {
    let mut names = BTreeSet::from([DATA_DIR.to_string()]);
    if let Some(serve) = serve_command(command) {
        names.extend(
            serve
                .get_arguments()
                .filter_map(|a| a.get_long())
                .filter(|l| !NOT_SETTINGS.contains(l))
                .map(str::to_string),
        );
    }
    names
}

fn settings(
    command: &clap::Command,
    matches: &clap::ArgMatches,
    serve_matches: &clap::ArgMatches,
    config: Option<&Path>,
    from_file: &BTreeSet<String>,
) -> Vec<Setting> {
    let mut out = Vec::new();
    let serve_args = serve_command(command)
        .map(|s| s.get_arguments().collect::<Vec<_>>())
        .unwrap_or_default();
    let all = find_arg(command, DATA_DIR)
        .map(|a| (a, matches))
        .into_iter()
        .chain(serve_args.into_iter().map(|a| (a, serve_matches)));
    for (arg, m) in all {
        let Some(name) = arg.get_long() else { continue };
        if NOT_SETTINGS.contains(&name) {
            continue;
        }
        let id = arg.get_id().as_str();
        let value = m.get_raw(id).map(|values| {
            values
                .map(|v| v.to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join(",")
        });
        let source = match (m.value_source(id), config) {
            (_, Some(path)) if from_file.contains(name) => Source::File(path.to_path_buf()),
            (Some(ValueSource::CommandLine), _) => Source::CommandLine,
            (Some(ValueSource::EnvVariable), _) => Source::Environment(
                arg.get_env()
                    .map(|e| e.to_string_lossy().into_owned())
                    .unwrap_or_default(),
            ),
            (Some(ValueSource::DefaultValue), _) => Source::Default,
            _ => Source::Unset,
        };
        out.push(Setting {
            name: name.to_string(),
            value: if source == Source::Unset { None } else { value },
            flag: is_flag(arg),
            source,
        });
    }
    out
}

/// The settings as a TOML document that `--config` reads back, each line saying where its
/// value came from. No `serve` setting is a secret (tokens live hashed in the data dir, and
/// the TLS key is named by its path, never read here), so nothing needs redacting.
pub fn render(settings: &[Setting]) -> String {
    let mut out = String::from(
        "# skipline serve: the effective settings\n\
         # (command line > environment > --config file > default)\n",
    );
    for s in settings {
        let from = match &s.source {
            Source::CommandLine => "command line".to_string(),
            Source::Environment(var) => format!("environment, {var}"),
            Source::File(path) => format!("config file {}", path.display()),
            Source::Default => "default".to_string(),
            Source::Unset => "not set".to_string(),
        };
        match &s.value {
            None => out.push_str(&format!("# {} =  ({from})\n", s.name)),
            Some(v) => {
                // Flags and whole numbers are TOML literals as written; the rest are strings.
                let literal = if s.flag || is_integer(v) {
                    v.clone()
                } else {
                    toml::Value::String(v.clone()).to_string()
                };
                out.push_str(&format!("{} = {literal}  # {from}\n", s.name));
            }
        }
    }
    out
}

/// Digits that TOML reads as the same integer (no leading zero, within i64).
fn is_integer(v: &str) -> bool {
    v.parse::<i64>().is_ok_and(|n| n >= 0 && n.to_string() == v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serve_args(cli: Cli) -> super::super::ServeArgs {
        match cli.command {
            Command::Serve(args) => args,
            other => panic!("not serve: {other:?}"),
        }
    }

    fn write(dir: &Path, text: &str) -> PathBuf {
        let path = dir.join("serve.toml");
        std::fs::write(&path, text).unwrap();
        path
    }

    fn setting<'a>(args: &'a super::super::ServeArgs, name: &str) -> &'a Setting {
        args.settings.iter().find(|s| s.name == name).unwrap()
    }

    #[test]
    fn the_file_fills_what_the_command_line_left_unset() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            dir.path(),
            "bind = \"127.0.0.1:9999\"\ntoken_rate = 7\ninsecure-no-auth = true\ndata-dir = \"/srv/x\"\nvisibility-timeout = \"2s\"\n",
        );
        let cli = parse_from([
            "skipline",
            "serve",
            "--config",
            path.to_str().unwrap(),
            "--token-rate",
            "9",
        ])
        .unwrap();
        assert_eq!(cli.data_dir, PathBuf::from("/srv/x"));
        let args = serve_args(cli);
        assert_eq!(args.bind.port(), 9999);
        assert_eq!(args.token_rate, 9, "the command line wins over the file");
        assert!(args.insecure_no_auth);
        assert_eq!(args.runtime.visibility_timeout, std::time::Duration::from_secs(2));
        assert_eq!(setting(&args, "bind").source, Source::File(path.clone()));
        assert_eq!(setting(&args, "token-rate").source, Source::CommandLine);
        assert_eq!(setting(&args, "global-rate").source, Source::Default);
        assert_eq!(setting(&args, "tls-cert").source, Source::Unset);
    }

    #[test]
    fn bad_files_are_refused_with_their_path_and_the_reason() {
        let dir = tempfile::tempdir().unwrap();
        for (text, expect) in [
            ("bind = ", "expected"),
            ("bnid = \"x\"", "unknown setting \"bnid\""),
            ("bind = \"not an address\"", "--bind"),
            ("token-rate = 0", "--token-rate"),
            ("insecure-no-auth = \"yes\"", "must be true or false"),
            ("bind = [1, 2]", "must be a string"),
            ("tls-cert = \"/c.pem\"", "--tls-key"),
        ] {
            let path = write(dir.path(), text);
            let err = parse_from(["skipline", "serve", "--config", path.to_str().unwrap()])
                .expect_err(text)
                .to_string();
            assert!(err.contains(path.to_str().unwrap()), "{text}: {err}");
            assert!(err.contains(expect), "{text}: {err}");
        }
        let missing = dir.path().join("nope.toml");
        let err = parse_from(["skipline", "serve", "--config", missing.to_str().unwrap()]).unwrap_err();
        assert!(err.to_string().contains("cannot open"), "{err}");
    }

    #[test]
    fn print_config_reads_back_as_the_same_settings() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "bind = \"127.0.0.1:7000\"\nglobal-burst = 12\n");
        let args = serve_args(
            parse_from([
                "skipline",
                "serve",
                "--config",
                path.to_str().unwrap(),
                "--allow-private-endpoints",
            ])
            .unwrap(),
        );
        let printed = render(&args.settings);
        assert!(
            printed.contains("bind = \"127.0.0.1:7000\"  # config file"),
            "{printed}"
        );
        assert!(printed.contains("global-burst = 12  # config file"), "{printed}");
        assert!(
            printed.contains("allow-private-endpoints = true  # command line"),
            "{printed}"
        );
        assert!(printed.contains("# tls-cert =  (not set)"), "{printed}");
        let again = write(dir.path(), &printed);
        let reread = serve_args(parse_from(["skipline", "serve", "--config", again.to_str().unwrap()]).unwrap());
        let values = |a: &super::super::ServeArgs| {
            a.settings
                .iter()
                .map(|s| (s.name.clone(), s.value.clone()))
                .collect::<Vec<_>>()
        };
        assert_eq!(values(&reread), values(&args));
    }
}
