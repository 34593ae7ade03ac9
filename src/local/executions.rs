//! Durable executions: the record and the history, committed before anyone is told.
//!
//! The last `StateEntered` event is the checkpoint: after a crash, an execution resumes at that
//! state with that input. Steps are idempotent (conditional puts, `If-None-Match` invoices,
//! event ids derived from the order id), so re-running the interrupted state is safe.

use super::db::{Db, DbError};
use rusqlite::{OptionalExtension, params};
use serde_json::Value;
use skipline_engine::asl::{HistoryEvent, HistorySink};
use std::sync::Arc;

/// Prefix of local execution ids; the suffix is the execution name.
pub const EXECUTION_ARN_PREFIX: &str = "arn:aws:states:local:000000000000:execution:OrderFlow:";

#[derive(Debug, Clone, PartialEq)]
pub struct ExecutionRecord {
    pub name: String,
    pub execution_id: String,
    pub input: Value,
    pub status: String,
    pub started_at: String,
    pub stopped_at: Option<String>,
    pub output: Option<Value>,
    pub error: Option<String>,
    pub cause: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Started {
    Created(ExecutionRecord),
    /// An execution with this name exists; `same_input` says whether the inputs are equal.
    Existing {
        record: ExecutionRecord,
        same_input: bool,
    },
}

#[derive(Clone)]
pub struct Executions {
    db: Db,
}

fn row_to_record(r: &rusqlite::Row<'_>) -> rusqlite::Result<(ExecutionRecord, String, Option<String>)> {
    Ok((
        ExecutionRecord {
            name: r.get(0)?,
            execution_id: r.get(1)?,
            input: Value::Null,
            status: r.get(3)?,
            started_at: r.get(4)?,
            stopped_at: r.get(5)?,
            output: None,
            error: r.get(7)?,
            cause: r.get(8)?,
        },
        r.get(2)?,
        r.get(6)?,
    ))
}

fn finish(parts: (ExecutionRecord, String, Option<String>)) -> Result<ExecutionRecord, DbError> {
    let (mut rec, input, output) = parts;
    rec.input = serde_json::from_str(&input)?;
    rec.output = output.map(|o| serde_json::from_str(&o)).transpose()?;
    Ok(rec)
}

const SELECT: &str =
    "SELECT name, execution_id, input, status, started_at, stopped_at, output, error, cause FROM executions";

fn get_in(c: &rusqlite::Connection, name: &str) -> Result<Option<ExecutionRecord>, DbError> {
    c.query_row(&format!("{SELECT} WHERE name = ?1"), [name], row_to_record)
        .optional()?
        .map(finish)
        .transpose()
}

impl Executions {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// Starts an execution, or returns the existing one with that name (Step Functions Standard semantics).
    /// The record and its `ExecutionStarted` event are durable when this returns.
    pub async fn start(&self, name: &str, input: &Value) -> Result<Started, DbError> {
        let (name, input) = (name.to_string(), input.clone());
        self.db
            .write(move |c| {
                if let Some(record) = get_in(c, &name)? {
                    let same_input = record.input == input;
                    return Ok(Started::Existing { record, same_input });
                }
                let now = jiff::Timestamp::now();
                let execution_id = format!("{EXECUTION_ARN_PREFIX}{name}");
                let input_text = serde_json::to_string(&input)?;
                c.execute(
                    "INSERT INTO executions (name, execution_id, input, status, started_at, started_ms) VALUES (?1, ?2, ?3, 'RUNNING', ?4, ?5)",
                    params![name, execution_id, input_text, now.to_string(), now.as_millisecond()],
                )?;
                append_in(c, &name, &HistoryEvent::ExecutionStarted { input: input.clone() })?;
                Ok(Started::Created(ExecutionRecord {
                    name: name.clone(),
                    execution_id,
                    input,
                    status: "RUNNING".into(),
                    started_at: now.to_string(),
                    stopped_at: None,
                    output: None,
                    error: None,
                    cause: None,
                }))
            })
            .await
    }

    pub async fn get(&self, name: &str) -> Result<Option<ExecutionRecord>, DbError> {
        let name = name.to_string();
        self.db.read(move |c| get_in(c, &name)).await
    }

    pub async fn history(&self, name: &str) -> Result<Vec<(u64, String, HistoryEvent)>, DbError> {
        let name = name.to_string();
        self.db
            .read(move |c| {
                let mut stmt = c.prepare_cached("SELECT seq, ts, event FROM history WHERE name = ?1 ORDER BY seq")?;
                let rows: Vec<(i64, String, String)> = stmt
                    .query_map([name], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                    .collect::<Result<_, _>>()?;
                rows.into_iter()
                    .map(|(s, t, e)| Ok((s.max(0) as u64, t, serde_json::from_str(&e)?)))
                    .collect()
            })
            .await
    }

    pub async fn list(&self, status: Option<&str>, limit: usize) -> Result<Vec<ExecutionRecord>, DbError> {
        let status = status.map(str::to_string);
        self.db
            .read(move |c| {
                let mut stmt = c.prepare_cached(&format!(
                    "{SELECT} WHERE ?1 IS NULL OR status = ?1 ORDER BY started_ms DESC, name LIMIT ?2"
                ))?;
                let rows: Vec<_> = stmt
                    .query_map(params![status, limit as i64], row_to_record)?
                    .collect::<Result<_, _>>()?;
                rows.into_iter().map(finish).collect()
            })
            .await
    }

    /// Names of executions that have not finished, oldest first.
    pub async fn running(&self) -> Result<Vec<String>, DbError> {
        self.db
            .read(|c| {
                let mut stmt =
                    c.prepare_cached("SELECT name FROM executions WHERE status = 'RUNNING' ORDER BY started_ms, name")?;
                let rows = stmt.query_map([], |r| r.get(0))?;
                Ok(rows.collect::<Result<Vec<String>, _>>()?)
            })
            .await
    }

    /// Appends one history event; a terminal event also closes the record, in the same commit.
    pub async fn append(&self, name: &str, event: &HistoryEvent) -> Result<(), DbError> {
        let (name, event) = (name.to_string(), event.clone());
        self.db.write(move |c| append_in(c, &name, &event)).await
    }
}

fn append_in(c: &rusqlite::Connection, name: &str, event: &HistoryEvent) -> Result<(), DbError> {
    let now = jiff::Timestamp::now().to_string();
    let text = serde_json::to_string(event)?;
    c.prepare_cached(
        "INSERT INTO history (name, seq, ts, event) VALUES (?1, (SELECT coalesce(max(seq), 0) + 1 FROM history WHERE name = ?1), ?2, ?3)",
    )?
    .execute(params![name, now, text])?;
    match event {
        HistoryEvent::ExecutionSucceeded { output } => {
            c.execute(
                "UPDATE executions SET status = 'SUCCEEDED', stopped_at = ?2, output = ?3 WHERE name = ?1",
                params![name, now, serde_json::to_string(output)?],
            )?;
        }
        HistoryEvent::ExecutionFailed { error, cause } => {
            c.execute(
                "UPDATE executions SET status = 'FAILED', stopped_at = ?2, error = ?3, cause = ?4 WHERE name = ?1",
                params![name, now, error, cause],
            )?;
        }
        _ => {}
    }
    Ok(())
}

/// Where to pick an unfinished execution up: the last state entered, with its input.
pub fn resume_point(history: &[(u64, String, HistoryEvent)]) -> Option<(String, Value)> {
    history.iter().rev().find_map(|(_, _, e)| match e {
        HistoryEvent::StateEntered { state, input } => Some((state.clone(), input.clone())),
        _ => None,
    })
}

/// The engine's history sink for one execution.
pub struct ExecutionSink {
    pub executions: Arc<Executions>,
    pub name: String,
}

#[async_trait::async_trait]
impl HistorySink for ExecutionSink {
    async fn record(&self, event: &HistoryEvent) -> Result<(), String> {
        self.executions
            .append(&self.name, event)
            .await
            .map_err(|e| e.to_string())
    }
}
