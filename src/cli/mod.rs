//! Command-line interface: argument parsing and dispatch. Each command family has its own module.

pub mod bench;
pub mod commands;
pub mod config;
mod executions;
mod order;
pub mod output;
mod queues;
mod serve;
mod states;
mod tokens;
mod topic;
mod vendors;

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::time::Duration;

pub const AFTER_HELP: &str = "\
Exit codes: 0 success · 1 scenario failed or no match · 2 invalid input or usage · 3 not found · 4 conflict · 5 backend unavailable

Examples:
  skipline demo                                  run the whole story on a temporary data dir
  skipline serve                                 API on http://127.0.0.1:8080, data in ./.skipline
  skipline order place --account a0 --vendor v0 --coffee Latte --size Large --price 4.50 --quantity 1 --city Sydney --wait
  skipline order status <orderid> --history
  skipline vendors subscribe --vendor-id v0 --endpoint https://shop.example.com/hook
  skipline topic test-filter --policy '{\"total\":[{\"numeric\":[\">\",10]}]}' --attributes '{\"total\":{\"DataType\":\"Number\",\"StringValue\":\"12.5\"}}'
  skipline queues replay --from notify-vendor-dlq --dry-run";

#[derive(Debug, Parser)]
#[command(
    name = "skipline",
    version,
    about = "Skip the Line: pre-order coffee from the train, pick it up on the way past.",
    long_about = "Skip the Line runs an order flow (cart item → invoice → completion event) defined by one \
Amazon States Language file, and fans events out to vendor webhooks and the cart cleaner through a topic and queues.\n\n\
By default everything runs embedded in this binary on SQLite under --data-dir; with --backend aws the same \
commands drive a deployed stack (see infra/README.md).",
    after_help = AFTER_HELP
)]
pub struct Cli {
    /// Where the embedded backend keeps its SQLite database (created if missing).
    #[arg(
        long,
        global = true,
        env = "SKIPLINE_DATA_DIR",
        default_value = ".skipline",
        value_name = "DIR"
    )]
    pub data_dir: PathBuf,
    /// Which backend commands act on.
    #[arg(long, global = true, env = "SKIPLINE_BACKEND", value_enum, default_value_t = BackendKind::Local)]
    pub backend: BackendKind,
    /// For --backend aws: the file written by `cdk deploy --outputs-file`.
    #[arg(long, global = true, env = "SKIPLINE_STACK_OUTPUTS", value_name = "FILE")]
    pub stack_outputs: Option<PathBuf>,
    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    /// More log output (-v info, -vv debug). RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BackendKind {
    /// The embedded runtime on SQLite (default; no AWS account needed).
    Local,
    /// A deployed stack, through the AWS SDK and your standard credentials.
    Aws,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP API, the state-machine executor and the consumers (embedded backend).
    Serve(ServeArgs),
    /// Start the embedded stack on a temporary data dir and play the whole story, then report.
    Demo(DemoArgs),
    /// Place orders and follow them.
    #[command(subcommand)]
    Order(OrderCommand),
    /// Inspect state-machine executions.
    #[command(subcommand)]
    Executions(ExecutionsCommand),
    /// Vendor webhook endpoints: where tickets are sent.
    #[command(subcommand)]
    Vendors(VendorsCommand),
    /// The event topic: subscriptions and filter policies.
    #[command(subcommand)]
    Topic(TopicCommand),
    /// Queues and dead-letter queues: depth, contents, replay.
    #[command(subcommand)]
    Queues(QueuesCommand),
    /// Work on a state-machine file without running a server: check it before you start or deploy it.
    #[command(subcommand)]
    States(StatesCommand),
    /// Measure the embedded runtime: completed orders/s and latency against the disk's own limit.
    Bench(bench::BenchArgs),
    /// Copy the data dir's database to FILE, safely while `serve` runs (SQLite's VACUUM INTO:
    /// every order accepted before it starts is in the copy), then check the copy with PRAGMA
    /// integrity_check. FILE must not exist; it is created owner-only (0600), because it
    /// holds webhook signing secrets.
    ///
    /// With --encrypt, --passphrase-file or --recipient, FILE holds only an age-encrypted copy
    /// (https://age-encryption.org: an audited format that the `age` and `rage` CLIs also
    /// decrypt). The plaintext copy is made and checked in the data dir, then deleted.
    #[command(after_help = BACKUP_HELP)]
    Backup(BackupArgs),
    /// API tokens for `skipline serve`: bearer tokens with scopes, shown once, stored hashed.
    #[command(subcommand)]
    Tokens(TokensCommand),
    /// Restore a backup into a new or empty data dir (--data-dir), after checking it. Refuses a
    /// data dir that holds anything. Then `skipline serve` on it resumes the executions that
    /// were running when the backup was taken.
    ///
    /// An age-encrypted backup is recognised by its header and decrypted into the data dir with
    /// --passphrase-file (or $SKIPLINE_BACKUP_PASSPHRASE) or --identity; a missing or wrong
    /// key is refused before anything is written. A plaintext backup given --passphrase-file
    /// or --identity is refused too: a sealed one was expected.
    #[command(after_help = RESTORE_HELP)]
    Restore(RestoreArgs),
}

const BACKUP_HELP: &str = "\
No flag takes the passphrase itself: on a command line it would show in `ps` and in shell
history. Put it in a 0600 file (--passphrase-file) or in SKIPLINE_BACKUP_PASSPHRASE.

Examples:
  skipline backup --to b.db                                  plaintext, 0600
  skipline backup --to b.db.age --recipient age1…            to a public key (age-keygen)
  skipline backup --to b.db.age --passphrase-file pass.txt   with a passphrase
  SKIPLINE_BACKUP_PASSPHRASE=… skipline backup --to b.db.age --encrypt

Nightly, from cron (to a public key: the server never holds what decrypts its backups):
  15 3 * * *  skipline --data-dir /srv/skipline backup --recipient age1… --to /b/$(date +\\%F).age

By hand: age -d -i key.txt -o skipline.db b.db.age (for a passphrase, age -d asks for it)";

const RESTORE_HELP: &str = "\
Examples:
  skipline --data-dir new restore --from b.db
  skipline --data-dir new restore --from b.db.age --passphrase-file pass.txt
  skipline --data-dir new restore --from b.db.age --identity key.txt";

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// The new backup file (its directory must exist).
    #[arg(long, value_name = "FILE")]
    pub to: PathBuf,
    /// Encrypt the backup with age. The key is --recipient, else --passphrase-file, else the
    /// passphrase in $SKIPLINE_BACKUP_PASSPHRASE. Implied by either flag.
    #[arg(long)]
    pub encrypt: bool,
    /// Encrypt with the passphrase on the first line of FILE (at least 12 characters).
    /// Anyone with the passphrase can restore the backup.
    #[arg(long, value_name = "FILE", conflicts_with = "recipients")]
    pub passphrase_file: Option<PathBuf>,
    /// Encrypt to this age public key (age1…; `age-keygen -y KEYFILE` prints it). Repeat for
    /// more: any one of their identity files can restore the backup.
    #[arg(long = "recipient", value_name = "AGE1…")]
    pub recipients: Vec<String>,
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// A file written by `skipline backup`, encrypted or not.
    #[arg(long, value_name = "FILE")]
    pub from: PathBuf,
    /// For a backup encrypted with a passphrase: the file whose first line is the passphrase.
    /// Without it, $SKIPLINE_BACKUP_PASSPHRASE is used when the backup needs one.
    #[arg(long, value_name = "FILE")]
    pub passphrase_file: Option<PathBuf>,
    /// For a backup encrypted to public keys: an age identity file (as `age-keygen` writes)
    /// holding a matching private key. Repeatable.
    #[arg(long = "identity", value_name = "FILE")]
    pub identities: Vec<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum TokensCommand {
    /// Create a token and show it once; only its SHA-256 is stored. Scopes: orders:write
    /// (POST /order), orders:read (orders, status, invoices), admin (everything else).
    #[command(
        after_help = "Examples:\n  skipline tokens create --name shop-app --scope orders:write --scope orders:read\n  curl -H \"Authorization: Bearer stl_…\" http://127.0.0.1:8080/orders/ORDERID"
    )]
    Create {
        /// 1 to 64 of letters, digits, '-' and '_'; unique among active tokens.
        #[arg(long, value_name = "NAME")]
        name: String,
        #[arg(long = "scope", value_name = "SCOPE", required = true, value_enum)]
        scopes: Vec<crate::local::tokens::Scope>,
    },
    /// Every token (never its secret), newest first, with its scopes and whether it is revoked.
    List,
    /// Revoke a token; `serve` refuses it within a second.
    Revoke {
        #[arg(long, value_name = "NAME")]
        name: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum StatesCommand {
    /// List every problem in a state-machine file (exit 0 if valid, 2 if not). Touches no data dir.
    ///
    /// By default it checks what `serve --state-machine FILE` would accept: the embedded
    /// runtime's Task resources, with its `${PutItemFunctionArn}`-style substitutions. With
    /// --language-only it checks the States Language alone, as for a file bound for AWS:
    /// any Resource and any `${Name}` placeholder are accepted.
    #[command(
        after_help = "Examples:\n  skipline states validate infra/statemachine/order_flow.asl.json\n  skipline states validate my-flow.asl.json --language-only --json"
    )]
    Validate {
        /// The state-machine definition (Amazon States Language, JSON).
        file: PathBuf,
        /// Check only the States Language, not what the embedded runtime can run.
        #[arg(long)]
        language_only: bool,
    },
    /// Run one state on an input, as AWS's TestState API does: its output and next state.
    ///
    /// Tasks do not call anything: give the result they return (--mock-result) or the error
    /// they fail with (--mock-error); Retry and Catch then act on it. Waits do not wait.
    /// Exit 0 when the state succeeds or a Catcher takes its error, 1 when it fails, 2 for
    /// bad input. Touches no data dir.
    #[command(
        after_help = "Examples:\n  skipline states test infra/statemachine/order_flow.asl.json --state DescribeRejection \\\n      --input '{\"orderid\": \"o-1\", \"order\": {}, \"error\": {\"Error\": \"ActiveOrderExists\", \"Cause\": \"{}\"}}'\n  skipline states test flow.asl.json --state PutItem --input @order.json --mock-error StoreUnavailable:down --inspection-level DEBUG"
    )]
    Test {
        /// The state-machine definition (Amazon States Language, JSON).
        file: PathBuf,
        /// The state to run.
        #[arg(long, value_name = "NAME")]
        state: String,
        /// The state's input: JSON, @file or - for stdin.
        #[arg(long, value_name = "JSON", default_value = "{}")]
        input: String,
        /// What a Task returns instead of calling its resource: JSON, @file or -.
        #[arg(long, value_name = "JSON", conflicts_with = "mock_error")]
        mock_result: Option<String>,
        /// The error a Task fails with instead of calling its resource, e.g. `StoreUnavailable:the disk is full`.
        #[arg(long, value_name = "NAME[:CAUSE]")]
        mock_error: Option<String>,
        /// Workflow variables in scope, as a JSON object (`{"count": 2}`).
        #[arg(long, value_name = "JSON", default_value = "{}")]
        variables: String,
        /// INFO: status, output, next state. DEBUG: also each processing step's value. TRACE: also every history event.
        #[arg(long, value_enum, default_value_t = InspectionLevel::Info, ignore_case = true)]
        inspection_level: InspectionLevel,
        /// Load the file as bound for AWS: any Resource, `${Name}` placeholders as written.
        #[arg(long)]
        language_only: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InspectionLevel {
    #[value(name = "INFO")]
    Info,
    #[value(name = "DEBUG")]
    Debug,
    #[value(name = "TRACE")]
    Trace,
}

#[derive(Debug, Clone, Args)]
pub struct RuntimeArgs {
    /// Permit vendor endpoints on loopback/private addresses and plain http:// (local use and tests only).
    #[arg(long, env = "SKIPLINE_ALLOW_PRIVATE_ENDPOINTS", value_parser = clap::builder::BoolishValueParser::new())]
    pub allow_private_endpoints: bool,
    /// Run this state-machine file instead of the embedded infra/statemachine/order_flow.asl.json.
    #[arg(long, env = "SKIPLINE_STATE_MACHINE", value_name = "FILE")]
    pub state_machine: Option<PathBuf>,
    /// The notify-vendor and clear-cart queues' visibility timeout: how long a failed message
    /// waits before redelivery. (Webhook deliveries follow --delivery-schedule instead.)
    #[arg(long, env = "SKIPLINE_VISIBILITY_TIMEOUT", value_name = "DURATION", default_value = "30s", value_parser = parse_duration)]
    pub visibility_timeout: Duration,
    /// Receives before a notify-vendor or clear-cart message moves to its DLQ.
    #[arg(long, env = "SKIPLINE_MAX_RECEIVE_COUNT", value_name = "N", default_value_t = 5,
          value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub max_receive_count: u32,
    /// How long one webhook delivery may take.
    #[arg(long, env = "SKIPLINE_WEBHOOK_TIMEOUT", value_name = "DURATION", default_value = "5s", value_parser = parse_duration)]
    pub webhook_timeout: Duration,
    /// When a failed webhook delivery is tried again: the waits after the first attempt, each
    /// up to 12h (SQS's visibility cap), jittered by ±10%. A 429 or 503 with Retry-After can
    /// lengthen a wait. Once the schedule is exhausted the delivery goes to deliveries-dlq;
    /// the deliveries queue's maxReceiveCount and retention are set from it. The default is
    /// Svix's: 8 attempts over about 27.5 hours.
    #[arg(long, env = "SKIPLINE_DELIVERY_SCHEDULE", value_name = "DELAYS", default_value = skipline_handlers::schedule::DEFAULT_SCHEDULE,
          value_parser = |s: &str| skipline_handlers::schedule::Schedule::parse(s).map_err(|e| e.to_string()))]
    pub delivery_schedule: skipline_handlers::schedule::Schedule,
    /// Disable an endpoint that has failed every attempt for this long (it then gets nothing
    /// until `skipline vendors enable`), and publish an EndpointDisabled event. Up to 30d.
    #[arg(long, env = "SKIPLINE_DISABLE_AFTER", value_name = "DURATION", default_value = "24h", value_parser = parse_period)]
    pub disable_after: Duration,
}

/// `skipline serve`. Every option can also come from the environment (`SKIPLINE_` and the
/// option's name, e.g. SKIPLINE_BIND) or from a TOML file (`--config`); see [`config`].
#[derive(Debug, Args)]
#[command(after_help = SERVE_AFTER_HELP)]
pub struct ServeArgs {
    /// Read settings from this TOML file: one `name = value` per option, named as the long
    /// option without its dashes (`bind = "0.0.0.0:8443"`, `tls-cert = "/etc/skipline/cert.pem"`).
    /// The command line wins over the environment, which wins over the file.
    #[arg(long, env = "SKIPLINE_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Print the effective settings as TOML, each with where it came from, and exit: nothing
    /// is opened or created. The output is itself a valid --config file.
    #[arg(long)]
    pub print_config: bool,
    /// Address to listen on. Loopback by default. Anything else exposes the API to the network,
    /// so it is refused until an API token exists (`skipline tokens create`).
    #[arg(long, env = "SKIPLINE_BIND", default_value = "127.0.0.1:8080", value_name = "ADDR")]
    pub bind: std::net::SocketAddr,
    /// Serve a non-loopback --bind with no API token: anyone who can reach it can do anything.
    /// Only for a network you control entirely.
    #[arg(long, env = "SKIPLINE_INSECURE_NO_AUTH", value_parser = clap::builder::BoolishValueParser::new())]
    pub insecure_no_auth: bool,
    /// Serve HTTPS with this PEM certificate chain (leaf first), e.g. Let's Encrypt's
    /// fullchain.pem. Needs --tls-key. TLS 1.2 and 1.3 through rustls.
    #[arg(long, env = "SKIPLINE_TLS_CERT", value_name = "PEM", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key (PKCS#8, PKCS#1 or SEC1) for --tls-cert. Read once at start; keep it
    /// owner-only.
    #[arg(long, env = "SKIPLINE_TLS_KEY", value_name = "PEM", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// On SIGTERM or SIGINT: how long open requests, running executions and consumer batches
    /// may take to finish before the process exits 0 anyway. What is cut off resumes from its
    /// last durable checkpoint at the next start. A second signal exits at once.
    #[arg(long, env = "SKIPLINE_SHUTDOWN_TIMEOUT", value_name = "DURATION", default_value = "10s",
          value_parser = parse_shutdown_timeout)]
    pub shutdown_timeout: Duration,
    /// Requests/s one API token may make (its bucket refills at this rate). Requests without a
    /// token, in open development mode, share one bucket. API Gateway in our stack: 50/s overall.
    #[arg(long, env = "SKIPLINE_TOKEN_RATE", value_name = "RPS", default_value_t = crate::api::throttle::DEFAULT_TOKEN_RATE,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub token_rate: u32,
    /// Requests one token may make at once before the rate applies (API Gateway: 100 overall).
    #[arg(long, env = "SKIPLINE_TOKEN_BURST", value_name = "N", default_value_t = crate::api::throttle::DEFAULT_TOKEN_BURST,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub token_burst: u32,
    /// Requests/s for the whole API, checked before any token is looked at.
    #[arg(long, env = "SKIPLINE_GLOBAL_RATE", value_name = "RPS", default_value_t = crate::api::throttle::DEFAULT_GLOBAL_RATE,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub global_rate: u32,
    /// Requests the whole API takes at once before the overall rate applies.
    #[arg(long, env = "SKIPLINE_GLOBAL_BURST", value_name = "N", default_value_t = crate::api::throttle::DEFAULT_GLOBAL_BURST,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub global_burst: u32,
    #[command(flatten)]
    pub runtime: RuntimeArgs,
    /// Where each setting came from; filled in by [`config::parse`], for --print-config.
    #[arg(skip)]
    pub settings: Vec<config::Setting>,
}

const SERVE_AFTER_HELP: &str = "\
Settings: command line > environment (SKIPLINE_BIND, SKIPLINE_TLS_CERT, …) > --config FILE > default.

Examples:
  skipline serve                                        http://127.0.0.1:8080, open development mode
  skipline tokens create --name ops --scope admin       then, on a VPS:
  skipline serve --bind 0.0.0.0:8443 --tls-cert /etc/skipline/fullchain.pem --tls-key /etc/skipline/key.pem
  skipline serve --config /etc/skipline/serve.toml --print-config

A serve.toml:
  data-dir = \"/srv/skipline\"
  bind = \"0.0.0.0:8443\"
  tls-cert = \"/etc/skipline/fullchain.pem\"
  tls-key = \"/etc/skipline/key.pem\"
  token-rate = 100

On SIGTERM: stop accepting, let open requests, executions and consumer batches finish for up
to --shutdown-timeout, exit 0. The API is described at /openapi.json.";

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Keep the demo's data dir instead of deleting it, and print its path.
    #[arg(long)]
    pub keep: bool,
}

#[derive(Debug, Subcommand)]
pub enum OrderCommand {
    /// Start the order flow for one order.
    Place(PlaceArgs),
    /// Show an order's status; with --history, its execution timeline.
    Status {
        orderid: String,
        #[arg(long)]
        history: bool,
    },
}

#[derive(Debug, Args)]
pub struct PlaceArgs {
    /// The request body as JSON (`{"order": {...}}`), or @FILE to read it from a file, or - for stdin.
    #[arg(long, value_name = "JSON|@FILE|-", conflicts_with_all = ["account", "vendor"])]
    pub body: Option<String>,
    /// The customer's account id (1–64 of letters, digits, '_' and '-').
    #[arg(long, value_name = "ACCOUNTID", requires_all = ["vendor", "coffee", "price"])]
    pub account: Option<String>,
    /// The coffee shop's vendor id.
    #[arg(long, value_name = "VENDORID")]
    pub vendor: Option<String>,
    /// What to make, e.g. "Flat white".
    #[arg(long, value_name = "TYPE")]
    pub coffee: Option<String>,
    /// Small, Regular, Medium or Large.
    #[arg(long, value_name = "SIZE", default_value = "Regular")]
    pub size: String,
    /// Unit price, e.g. 4.50.
    #[arg(long, value_name = "PRICE")]
    pub price: Option<String>,
    /// Cups, 1 to 20.
    #[arg(long, default_value_t = 1)]
    pub quantity: u32,
    /// Where the order is picked up (used by topic filter policies).
    #[arg(long, default_value = "Sydney")]
    pub city: String,
    /// Makes retries safe: the same key with the same order returns the same order.
    #[arg(long, value_name = "KEY")]
    pub idempotency_key: Option<String>,
    /// Wait until the order completes or fails (needs a running `skipline serve` on the same data dir).
    #[arg(long)]
    pub wait: bool,
    /// How long --wait waits.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub timeout: Duration,
}

#[derive(Debug, Subcommand)]
pub enum ExecutionsCommand {
    /// List executions, newest first.
    List {
        #[arg(long, value_parser = ["RUNNING", "SUCCEEDED", "FAILED"], ignore_case = true)]
        status: Option<String>,
        #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=1000))]
        limit: u32,
    },
    /// Show one execution as a readable timeline.
    Show { orderid: String },
}

#[derive(Debug, Subcommand)]
pub enum VendorsCommand {
    /// Register a webhook endpoint for a vendor. The signing secret is shown once.
    Subscribe {
        #[arg(long, value_name = "VENDORID")]
        vendor_id: String,
        /// An https:// URL that accepts POSTed tickets.
        #[arg(long, value_name = "URL")]
        endpoint: String,
        /// Use this signing secret instead of generating one: a Standard Webhooks secret,
        /// `whsec_` + base64 of a 24- to 64-byte key.
        #[arg(long, value_name = "SECRET")]
        secret: Option<String>,
        /// Permit loopback/private addresses and http:// (local use and tests only).
        #[arg(long)]
        allow_private_endpoints: bool,
    },
    /// Give an endpoint a new signing secret, shown once. For the grace period every ticket
    /// carries a signature with each secret (Standard Webhooks allows several), so the
    /// receiver can switch over without missing one; then the old secret stops signing.
    /// An endpoint from before Standard Webhooks also stops getting the legacy X-Skipline-*
    /// headers: rotating is how its receiver moves to an off-the-shelf verifier.
    RotateSecret {
        #[arg(long, value_name = "VENDORID")]
        vendor_id: String,
        #[arg(long, value_name = "ENDPOINTID")]
        endpoint_id: String,
        /// Use this secret (`whsec_` + base64 of a 24- to 64-byte key) instead of generating one.
        #[arg(long, value_name = "SECRET")]
        secret: Option<String>,
        /// How long the old secret keeps signing beside the new one: e.g. 30m, 24h, 3d; 0 drops
        /// it at once. At most 7 days.
        #[arg(long, value_name = "DURATION", default_value = "24h", value_parser = parse_grace)]
        grace: Duration,
    },
    /// List endpoints (secrets redacted), with how each is signed: `standard-webhooks`, or
    /// `legacy` for one created before Standard Webhooks (it gets the old headers too until
    /// its secret is rotated).
    List {
        #[arg(long, value_name = "VENDORID")]
        vendor_id: Option<String>,
    },
    /// Let a disabled endpoint (410 Gone, or failing for --disable-after) get deliveries
    /// again. What it missed is not resent by this: use `vendors redeliver --since`.
    Enable {
        #[arg(long = "vendor", visible_alias = "vendor-id", value_name = "VENDORID")]
        vendor_id: String,
        #[arg(long = "endpoint", visible_alias = "endpoint-id", value_name = "ENDPOINTID")]
        endpoint_id: String,
    },
    /// The delivery log, newest first: every attempt with its status or error, latency and
    /// outcome (delivered, failed, exhausted, disabled, skipped), and when the next is due.
    Deliveries {
        #[arg(long = "vendor", visible_alias = "vendor-id", value_name = "VENDORID")]
        vendor_id: String,
        #[arg(long = "endpoint", visible_alias = "endpoint-id", value_name = "ENDPOINTID")]
        endpoint_id: Option<String>,
        /// Only attempts that did not deliver.
        #[arg(long)]
        failed: bool,
        /// From this time: RFC 3339 (2026-12-04T08:00:00Z) or a duration ago (30m, 2h, 3d).
        #[arg(long, value_name = "TIME")]
        since: Option<String>,
        /// Before this time, as --since.
        #[arg(long, value_name = "TIME")]
        until: Option<String>,
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=1000))]
        limit: u32,
    },
    /// Send tickets again with the same webhook-id (receivers dedupe on it), even to endpoints
    /// that acknowledged them: one event, or every ticket the vendor was sent in a time range.
    /// They go through the deliveries queue and its schedule like any delivery.
    #[command(group(clap::ArgGroup::new("which").required(true).args(["event", "since"])))]
    Redeliver {
        #[arg(long = "vendor", visible_alias = "vendor-id", value_name = "VENDORID")]
        vendor_id: String,
        /// Only this endpoint; default: all the vendor's enabled endpoints.
        #[arg(long = "endpoint", visible_alias = "endpoint-id", value_name = "ENDPOINTID")]
        endpoint_id: Option<String>,
        /// The event id (the webhook-id), e.g. `<orderid>.OrderCompleted`.
        #[arg(long = "event", value_name = "EVENTID", conflicts_with_all = ["since", "until"])]
        event: Option<String>,
        /// Tickets sent out from this time: RFC 3339 or a duration ago (30m, 2h, 3d).
        #[arg(long, value_name = "TIME")]
        since: Option<String>,
        /// …and before this time.
        #[arg(long, value_name = "TIME", requires = "since")]
        until: Option<String>,
    },
    /// Remove an endpoint.
    Unsubscribe {
        #[arg(long, value_name = "VENDORID")]
        vendor_id: String,
        #[arg(long, value_name = "ENDPOINTID")]
        endpoint_id: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScopeArg {
    #[value(name = "MessageAttributes")]
    MessageAttributes,
    #[value(name = "MessageBody")]
    MessageBody,
}

#[derive(Debug, Subcommand)]
pub enum TopicCommand {
    /// Check a filter policy against a message before subscribing: prints `match` (exit 0), `no match` (exit 1) or the error (exit 2).
    TestFilter {
        /// The filter policy JSON, or @FILE.
        #[arg(long, value_name = "JSON|@FILE")]
        policy: String,
        /// Message attributes as SNS takes them: {"name": {"DataType": "String", "StringValue": "..."}}.
        #[arg(
            long,
            value_name = "JSON|@FILE",
            conflicts_with = "body",
            required_unless_present = "body"
        )]
        attributes: Option<String>,
        /// A message body (for --scope MessageBody).
        #[arg(long, value_name = "JSON|@FILE")]
        body: Option<String>,
        /// Where the policy applies; defaults to MessageBody when --body is given.
        #[arg(long, value_enum)]
        scope: Option<ScopeArg>,
    },
    /// Subscribe a queue or an HTTP(S) endpoint to the topic.
    Subscribe {
        #[arg(long, value_enum)]
        protocol: crate::backend::Protocol,
        /// A queue name (or ARN) for sqs; a URL for http/https.
        #[arg(long)]
        endpoint: String,
        #[arg(long, value_name = "JSON|@FILE")]
        filter_policy: Option<String>,
        #[arg(long, value_enum, default_value = "MessageAttributes")]
        filter_policy_scope: ScopeArg,
        /// Deliver the message as published, without the SNS envelope.
        #[arg(long)]
        raw: bool,
    },
    /// List the topic's subscriptions.
    ListSubscriptions,
}

#[derive(Debug, Subcommand)]
pub enum QueuesCommand {
    /// Depth, in-flight and delayed counts, and each queue's DLQ.
    List,
    /// Show messages without consuming them.
    Peek {
        queue: String,
        #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=1000))]
        max: u32,
    },
    /// Move messages from a DLQ back to its queue (default), to another queue, or re-publish them to the topic.
    Replay {
        #[arg(long, value_name = "QUEUE")]
        from: String,
        /// Destination queue; default: the queue that dead-letters into --from.
        #[arg(long, value_name = "QUEUE", conflicts_with = "to_topic")]
        to: Option<String>,
        /// Re-publish to the topic so filter policies apply again.
        #[arg(long)]
        to_topic: bool,
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
        max: Option<u64>,
        /// Only messages matching this policy (on their attributes) move.
        #[arg(long, value_name = "JSON|@FILE")]
        filter_policy: Option<String>,
        /// Count what would move; move nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

/// Accepts `500ms`, `2s`, `1m`, `1h`, or a bare number of seconds, up to 24 hours.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    parse_duration_up_to(text, 24 * 3600)
}

/// `serve --shutdown-timeout`: up to 10 minutes, beyond which a supervisor has long given up.
fn parse_shutdown_timeout(text: &str) -> Result<Duration, String> {
    let d = parse_duration(text)?;
    if d.is_zero() || d > Duration::from_secs(600) {
        return Err(format!("{text:?} is out of range (more than 0, up to 10m)"));
    }
    Ok(d)
}

/// A rotation's grace period: as [`parse_duration`], with days (`2d`), up to
/// [`skipline_handlers::vendors::MAX_ROTATION_GRACE`].
pub fn parse_grace(text: &str) -> Result<Duration, String> {
    parse_duration_up_to(text, skipline_handlers::vendors::MAX_ROTATION_GRACE.as_secs())
}

/// An auto-disable period: as [`parse_duration`], with days, up to 30 days.
pub fn parse_period(text: &str) -> Result<Duration, String> {
    parse_duration_up_to(text, 30 * 86_400)
}

fn parse_duration_up_to(text: &str, max_secs: u64) -> Result<Duration, String> {
    let secs = skipline_handlers::schedule::seconds_in(text, "duration", true)?;
    if !secs.is_finite() || !(0.0..=max_secs as f64).contains(&secs) {
        let max = if max_secs.is_multiple_of(86_400) && max_secs > 86_400 {
            format!("{}d", max_secs / 86_400)
        } else {
            format!("{}h", max_secs / 3600)
        };
        return Err(format!("{text:?} is out of range (0 to {max})"));
    }
    Ok(Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("2").unwrap(), Duration::from_secs(2));
        assert_eq!(parse_duration("1m").unwrap(), Duration::from_secs(60));
        assert_eq!(parse_duration("2h").unwrap(), Duration::from_secs(7200));
        assert!(parse_duration("25h").unwrap_err().contains("0 to 24h"));
        assert_eq!(parse_grace("2d").unwrap(), Duration::from_secs(2 * 86_400));
        assert!(parse_grace("8d").unwrap_err().contains("0 to 7d"));
        assert!(parse_grace("1w").unwrap_err().contains("unknown unit"));
        assert!(parse_duration("-1s").is_err());
        assert!(parse_duration("abc").is_err());
    }
}
