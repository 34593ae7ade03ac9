//! How results are shown: text for people, `--json` for tools.

use crate::backend::{HistoryEntry, OrderStatus};
use serde::Serialize;

/// Prints `value` as pretty JSON.
pub fn json<T: Serialize>(value: &T) {
    match serde_json::to_string_pretty(value) {
        Ok(text) => println!("{text}"),
        Err(e) => eprintln!("error: cannot render output: {e}"),
    }
}

/// `value` as JSON with `--json`, else the text line `text` makes.
pub fn show<T: Serialize>(json_wanted: bool, value: &T, text: impl FnOnce() -> String) {
    if json_wanted {
        json(value);
    } else {
        println!("{}", text());
    }
}

/// A listing: `as_json` with `--json`; otherwise one line per item, or `empty` when there are
/// none, so that an empty listing says so instead of printing nothing.
pub fn lines<T>(json_wanted: bool, as_json: &impl Serialize, items: &[T], empty: &str, line: impl Fn(&T) -> String) {
    if json_wanted {
        json(as_json);
    } else if items.is_empty() {
        println!("{empty}");
    } else {
        for item in items {
            println!("{}", line(item));
        }
    }
}

/// A short, readable summary of an entry's detail.
fn detail_summary(entry: &HistoryEntry) -> String {
    let d = &entry.detail;
    let pick = |k: &str| {
        d.get(k)
            .map(|v| v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()))
    };
    match entry.kind.as_str() {
        "TaskScheduled" | "LambdaFunctionScheduled" => {
            let resource = pick("resource").unwrap_or_default();
            match d.get("retry") {
                Some(r) => format!(
                    "{resource} (retry {} after {})",
                    r.get("count").map(|c| c.to_string()).unwrap_or_default(),
                    r.get("error").and_then(|e| e.as_str()).unwrap_or_default()
                ),
                None => resource,
            }
        }
        "TaskFailed"
        | "LambdaFunctionFailed"
        | "TaskTimedOut"
        | "LambdaFunctionTimedOut"
        | "ExecutionFailed"
        | "ExecutionTimedOut" => {
            let cause = pick("cause").unwrap_or_default();
            let cause = serde_json::from_str::<serde_json::Value>(&cause)
                .ok()
                .and_then(|v| v.get("errorMessage").and_then(|m| m.as_str()).map(str::to_string))
                .unwrap_or(cause);
            format!("{}: {}", pick("error").unwrap_or_default(), truncate(&cause, 100))
        }
        _ => String::new(),
    }
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(n).collect::<String>())
    }
}

/// The execution as a timeline: one line per event, time relative to the start.
pub fn timeline(status: &OrderStatus) -> String {
    let mut out = format!(
        "order {}  {}\nexecution {}\nstarted {}{}\n",
        status.orderid,
        status.status.as_str(),
        status.execution_id,
        status.started_at,
        status
            .stopped_at
            .as_ref()
            .map(|s| format!(", stopped {s}"))
            .unwrap_or_default()
    );
    if let Some(k) = &status.invoice_key {
        out.push_str(&format!("invoice {k}\n"));
    }
    if let Some(e) = &status.error {
        out.push_str(&format!(
            "error {e}: {}\n",
            status.cause.as_deref().map(|c| truncate(c, 160)).unwrap_or_default()
        ));
    }
    let start: Option<jiff::Timestamp> = status.history.first().and_then(|h| h.timestamp.parse().ok());
    for h in &status.history {
        let offset = match (start, h.timestamp.parse::<jiff::Timestamp>()) {
            (Some(s), Ok(t)) => format!("{:>+8.3}s", (t.as_millisecond() - s.as_millisecond()) as f64 / 1000.0),
            _ => h.timestamp.clone(),
        };
        // Wide enough for Step Functions' longest common names (`LambdaFunctionSucceeded`).
        let line = format!(
            "  {offset}  {:<24} {:<20} {}",
            h.kind,
            h.state.as_deref().unwrap_or(""),
            detail_summary(h)
        );
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}
