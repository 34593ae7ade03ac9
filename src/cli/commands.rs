//! What each command does. Errors become an exit code and one `error:` line here, nowhere else.

use super::output;
use super::*;
use crate::backend::aws::AwsBackend;
use crate::backend::local::LocalBackend;
use crate::backend::{
    Backend, BackendError, ExecStatus, NewSubscription, Progress, ReplayReport, ReplayRequest, ReplayTarget,
};
use crate::local::runtime::{Overrides, Runtime, RuntimeConfig};
use skipline_engine::filter::{FilterPolicy, FilterScope};
use skipline_events::MessageAttributes;
use std::io::{IsTerminal, Read};
use std::sync::Arc;

/// Arguments read from `@FILE` or `-` are capped, so a wrong path cannot eat memory.
const MAX_ARG_BYTES: u64 = 1024 * 1024;

/// A command's failure: what to print and which exit code.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Unavailable(String),
    /// Printed already; exit 1.
    #[error("{0}")]
    Failed(String),
}

impl CliError {
    pub fn exit_code(&self) -> i32 {
        match self {
            CliError::Failed(_) => 1,
            CliError::Invalid(_) => 2,
            CliError::NotFound(_) => 3,
            CliError::Conflict(_) => 4,
            CliError::Unavailable(_) => 5,
        }
    }
}

impl From<BackendError> for CliError {
    fn from(e: BackendError) -> Self {
        match e {
            BackendError::Invalid(m) => CliError::Invalid(m),
            BackendError::NotFound(m) => CliError::NotFound(m),
            BackendError::Conflict(m) => CliError::Conflict(m),
            BackendError::Unsupported(m) => CliError::Invalid(m),
            BackendError::Unavailable(m) => CliError::Unavailable(m),
        }
    }
}

impl From<crate::local::runtime::RuntimeError> for CliError {
    fn from(e: crate::local::runtime::RuntimeError) -> Self {
        use crate::local::runtime::RuntimeError as R;
        match e {
            R::StateMachine { .. } | R::DataDir { .. } => CliError::Invalid(e.to_string()),
            R::Locked(_) => CliError::Conflict(e.to_string()),
            _ => CliError::Unavailable(e.to_string()),
        }
    }
}

/// Reads an argument given literally, as `@FILE`, or as `-` (stdin).
pub fn read_arg(name: &str, text: &str) -> Result<String, CliError> {
    let mut out = String::new();
    let read = |r: &mut dyn Read, out: &mut String| r.take(MAX_ARG_BYTES + 1).read_to_string(out);
    if text == "-" {
        read(&mut std::io::stdin(), &mut out)
            .map_err(|e| CliError::Invalid(format!("{name}: cannot read stdin: {e}")))?;
    } else if let Some(path) = text.strip_prefix('@') {
        let mut f =
            std::fs::File::open(path).map_err(|e| CliError::Invalid(format!("{name}: cannot open {path}: {e}")))?;
        read(&mut f, &mut out).map_err(|e| CliError::Invalid(format!("{name}: cannot read {path}: {e}")))?;
    } else {
        return Ok(text.to_string());
    }
    if out.len() as u64 > MAX_ARG_BYTES {
        return Err(CliError::Invalid(format!(
            "{name}: input is larger than {MAX_ARG_BYTES} bytes"
        )));
    }
    Ok(out)
}

fn runtime_config(cli: &Cli, args: Option<&RuntimeArgs>) -> RuntimeConfig {
    let mut config = RuntimeConfig::new(&cli.data_dir);
    if let Some(a) = args {
        config.allow_private_endpoints = a.allow_private_endpoints;
        config.state_machine = a.state_machine.clone();
        config.visibility_timeout = a.visibility_timeout;
        config.max_receive_count = a.max_receive_count;
        config.webhook_timeout = a.webhook_timeout;
        config.apply_queue_settings = true;
    }
    config
}

/// The backend the flags choose. The embedded one opens its data dir only when an operation
/// needs it, after the operation has checked its input, so a refused command leaves nothing
/// behind and a read never creates a data dir.
async fn backend(cli: &Cli) -> Result<Arc<dyn Backend>, CliError> {
    match cli.backend {
        BackendKind::Aws => Ok(Arc::new(AwsBackend::from_env(cli.stack_outputs.as_deref()).await?)),
        BackendKind::Local => Ok(Arc::new(LocalBackend::lazy(runtime_config(cli, None)))),
    }
}

/// Attributes as SNS takes them: `{"name": {"DataType": "...", "StringValue": "..."}}`.
pub fn parse_attributes(text: &str) -> Result<MessageAttributes, CliError> {
    let attrs: MessageAttributes = serde_json::from_str(text).map_err(|e| {
        CliError::Invalid(format!(
            "--attributes must look like {{\"name\": {{\"DataType\": \"String\", \"StringValue\": \"v\"}}}}: {e}"
        ))
    })?;
    for (name, value) in &attrs {
        let base = value.data_type.split('.').next().unwrap_or_default();
        let ok = matches!(base, "String" | "Number" | "Binary")
            && (value.data_type == "String.Array" || !value.data_type.starts_with("String.Array"));
        if !ok {
            return Err(CliError::Invalid(format!(
                "attribute {name}: DataType must be String, Number, String.Array or Binary (got {:?})",
                value.data_type
            )));
        }
        if base == "Number"
            && value
                .string_value
                .trim()
                .parse::<f64>()
                .map(|n| !n.is_finite())
                .unwrap_or(true)
        {
            return Err(CliError::Invalid(format!(
                "attribute {name}: {:?} is not a number",
                value.string_value
            )));
        }
        if value.data_type == "String.Array"
            && serde_json::from_str::<Vec<serde_json::Value>>(&value.string_value).is_err()
        {
            return Err(CliError::Invalid(format!(
                "attribute {name}: a String.Array value must be a JSON array in a string"
            )));
        }
    }
    Ok(attrs)
}

fn scope_of(s: ScopeArg) -> FilterScope {
    match s {
        ScopeArg::MessageAttributes => FilterScope::MessageAttributes,
        ScopeArg::MessageBody => FilterScope::MessageBody,
    }
}

fn parse_policy(text: &str, scope: FilterScope) -> Result<(String, FilterPolicy), CliError> {
    let text = read_arg("--filter-policy", text)?;
    let policy = FilterPolicy::parse(&text, scope).map_err(|e| CliError::Invalid(e.to_string()))?;
    Ok((text, policy))
}

/// Runs the parsed command line; the caller turns the result into the exit code.
pub async fn run(cli: Cli) -> Result<(), CliError> {
    match &cli.command {
        Command::Serve(args) => serve(&cli, args).await,
        Command::Demo(args) => crate::demo::run(args, cli.json).await,
        Command::Order(cmd) => order(&cli, cmd).await,
        Command::Executions(cmd) => executions(&cli, cmd).await,
        Command::Vendors(cmd) => vendors(&cli, cmd).await,
        Command::Topic(cmd) => topic(&cli, cmd).await,
        Command::Queues(cmd) => queues(&cli, cmd).await,
        Command::Bench(args) => super::bench::run(&cli, args).await,
    }
}

async fn serve(cli: &Cli, args: &ServeArgs) -> Result<(), CliError> {
    if cli.backend == BackendKind::Aws {
        return Err(CliError::Invalid(
            "`serve` runs the embedded backend; on AWS the API is API Gateway (see infra/README.md)".into(),
        ));
    }
    // Refuse before opening: opening creates the data dir and applies the queue settings.
    if let Some(path) = &args.runtime.state_machine {
        std::fs::metadata(path).map_err(|e| CliError::Invalid(format!("state machine {}: {e}", path.display())))?;
    }
    if serve_running(cli) {
        return Err(CliError::Conflict(format!(
            "another `skipline serve` is already running on {} (it holds serve.lock)",
            cli.data_dir.display()
        )));
    }
    let rt = Runtime::open(runtime_config(cli, Some(&args.runtime)), Overrides::default()).await?;
    rt.lock_for_serving()?;
    if !args.bind.ip().is_loopback() {
        tracing::warn!(bind = %args.bind, "listening on a non-loopback address: the API has no authentication");
        eprintln!(
            "warning: {} is not a loopback address; anyone who can reach it can place orders",
            args.bind
        );
    }
    let listener = tokio::net::TcpListener::bind(args.bind)
        .await
        .map_err(|e| CliError::Unavailable(format!("cannot listen on {}: {e}", args.bind)))?;
    let handles = rt.start_background();
    let state = crate::api::ApiState {
        backend: Arc::new(LocalBackend::new(rt.clone())),
        allow_private_endpoints: args.runtime.allow_private_endpoints,
    };
    let addr = listener
        .local_addr()
        .map_err(|e| CliError::Unavailable(e.to_string()))?;
    println!(
        "skipline listening on http://{addr} (data dir {})",
        cli.data_dir.display()
    );
    crate::api::serve(listener, state, shutdown_signal())
        .await
        .map_err(|e| CliError::Unavailable(format!("server failed: {e}")))?;
    rt.stop();
    for h in handles {
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), h).await;
    }
    Ok(())
}

/// Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

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

async fn order(cli: &Cli, cmd: &OrderCommand) -> Result<(), CliError> {
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
                if cli.json {
                    output::json(&placed);
                } else {
                    println!(
                        "order {} {} ({})",
                        placed.orderid,
                        if placed.created { "accepted" } else { "already placed" },
                        placed.execution_id
                    );
                }
                return Ok(());
            }
            let deadline = tokio::time::Instant::now() + args.timeout;
            loop {
                let status = backend.order_status(&placed.orderid, false).await?;
                if status.status != ExecStatus::Running {
                    if cli.json {
                        output::json(&status);
                    } else {
                        println!(
                            "order {} {}{}",
                            status.orderid,
                            status.status.as_str(),
                            status.error.as_ref().map(|e| format!(" ({e})")).unwrap_or_default()
                        );
                    }
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

fn serve_running(cli: &Cli) -> bool {
    std::fs::File::open(cli.data_dir.join("serve.lock"))
        .map(|f| f.try_lock().is_err())
        .unwrap_or(false)
}

async fn executions(cli: &Cli, cmd: &ExecutionsCommand) -> Result<(), CliError> {
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

async fn vendors(cli: &Cli, cmd: &VendorsCommand) -> Result<(), CliError> {
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
                let mut v = serde_json::json!({"vendorid": ep.vendorid, "endpointid": ep.endpointid, "url": ep.url});
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
            if cli.json {
                let redacted: Vec<_> = list
                    .iter()
                    .map(|e| serde_json::json!({"vendorid": e.vendorid, "endpointid": e.endpointid, "url": e.url, "secret": crate::api::redact(&e.secret), "createdAt": e.created_at}))
                    .collect();
                output::json(&redacted);
            } else if list.is_empty() {
                println!("no vendor endpoints");
            } else {
                for e in list {
                    println!(
                        "{:<20} {:<20} {}  secret {}",
                        e.vendorid,
                        e.endpointid,
                        e.url,
                        crate::api::redact(&e.secret)
                    );
                }
            }
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

async fn topic(cli: &Cli, cmd: &TopicCommand) -> Result<(), CliError> {
    match cmd {
        TopicCommand::TestFilter {
            policy,
            attributes,
            body,
            scope,
        } => {
            let scope = scope.map(scope_of).unwrap_or(if body.is_some() {
                FilterScope::MessageBody
            } else {
                FilterScope::MessageAttributes
            });
            let policy_text = read_arg("--policy", policy)?;
            let parsed = FilterPolicy::parse(&policy_text, scope).map_err(|e| CliError::Invalid(e.to_string()))?;
            let attrs = match attributes {
                Some(a) => parse_attributes(&read_arg("--attributes", a)?)?,
                None => MessageAttributes::new(),
            };
            let body = match body {
                Some(b) => read_arg("--body", b)?,
                None => String::new(),
            };
            if parsed.matches(&attrs, &body) {
                println!("match");
                return Ok(());
            }
            println!("no match");
            // Delivery treats such a body the same way, so this is an answer, not an input error.
            if scope == FilterScope::MessageBody
                && !serde_json::from_str::<serde_json::Value>(&body).is_ok_and(|v| v.is_object())
            {
                eprintln!(
                    "note: the body is not a JSON object; under FilterPolicyScope MessageBody, SNS assumes a \
                     well-formed JSON object and never delivers another body to the subscription"
                );
            }
            Err(CliError::Failed(String::new()))
        }
        TopicCommand::Subscribe {
            protocol,
            endpoint,
            filter_policy,
            filter_policy_scope,
            raw,
        } => {
            let filter_policy = filter_policy
                .as_deref()
                .map(|p| parse_policy(p, scope_of(*filter_policy_scope)))
                .transpose()?;
            let backend = backend(cli).await?;
            let info = backend
                .topic_subscribe(NewSubscription {
                    protocol: *protocol,
                    endpoint: endpoint.clone(),
                    filter_policy,
                    raw: *raw,
                })
                .await?;
            if cli.json {
                output::json(&info);
            } else {
                println!("subscribed {} {} as {}", info.protocol, info.endpoint, info.id);
            }
            Ok(())
        }
        TopicCommand::ListSubscriptions => {
            let list = backend(cli).await?.topic_subscriptions().await?;
            if cli.json {
                output::json(&list);
            } else {
                for s in list {
                    println!(
                        "{}  {:<5} {:<30} raw={} {}{}",
                        s.id,
                        s.protocol,
                        s.endpoint,
                        s.raw,
                        s.filter_policy.as_deref().unwrap_or("(no filter)"),
                        if s.filter_policy.is_some() {
                            format!(" [{}]", s.scope)
                        } else {
                            String::new()
                        }
                    );
                }
            }
            Ok(())
        }
    }
}

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

async fn queues(cli: &Cli, cmd: &QueuesCommand) -> Result<(), CliError> {
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
            if cli.json {
                output::json(&list);
            } else if list.is_empty() {
                println!("{queue} is empty");
            } else {
                for m in list {
                    println!(
                        "{}  received {}×  sent {}\n  {}",
                        m.message_id, m.receive_count, m.sent_at, m.body
                    );
                }
            }
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
            if cli.json {
                output::json(&report);
            } else {
                println!(
                    "{}moved {} skipped {} failed {}",
                    if report.dry_run { "dry run: would have " } else { "" },
                    report.moved,
                    report.skipped,
                    report.failed
                );
            }
            if report.failed > 0 {
                return Err(CliError::Failed(format!("{} messages failed to move", report.failed)));
            }
        }
    }
    Ok(())
}
