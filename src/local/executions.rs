//! Durable executions: the record and the history, committed before anyone is told.
//!
//! The last `…StateEntered` event is the checkpoint: after a crash, an execution resumes at that
//! state with that input. Steps are idempotent (conditional puts, `If-None-Match` invoices,
//! event ids derived from the order id), so re-running the interrupted state is safe.

use super::db::{Db, DbError};
use super::live::{Live, LiveEvent};

/// Lets a data dir written before `TIMED_OUT` existed record it. SQLite cannot change a CHECK
/// constraint in place, so the table is rebuilt as SQLite's ALTER TABLE page describes (no
/// foreign key refers to it); a table that already allows it is left alone.
pub fn migrate(c: &rusqlite::Connection) -> Result<(), DbError> {
    let sql: String = c.query_row(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'executions'",
        [],
        |r| r.get(0),
    )?;
    if sql.contains("'TIMED_OUT'") {
        return Ok(());
    }
    let create = sql.replacen("'FAILED')", "'FAILED', 'TIMED_OUT')", 1).replacen(
        "CREATE TABLE executions",
        "CREATE TABLE executions_new",
        1,
    );
    if !create.contains("'TIMED_OUT'") || !create.contains("executions_new") {
        return Err(DbError::Sqlite(format!("cannot migrate the executions table: {sql}")));
    }
    super::db::migrate_batch(
        c,
        &format!(
            "{create};
             INSERT INTO executions_new SELECT * FROM executions;
             DROP TABLE executions;
             ALTER TABLE executions_new RENAME TO executions;
             CREATE INDEX IF NOT EXISTS executions_by_status ON executions (status, started_ms);"
        ),
    )
}
use rusqlite::{OptionalExtension, params};
use serde_json::Value;
use skipline_engine::asl::{HistoryEvent, HistorySink, StateType, StoredEvent};
use std::collections::HashMap;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};

/// Prefix of local execution ids; the suffix is the execution name.
/// The local region and account in every ARN the embedded runtime makes.
const LOCAL_ARN_PREFIX: &str = "arn:aws:states:local:000000000000";

/// `arn:aws:states:local:000000000000:stateMachine:{machine}`, as Step Functions shapes it.
pub fn state_machine_arn(machine: &str) -> String {
    format!("{LOCAL_ARN_PREFIX}:stateMachine:{machine}")
}

/// `arn:aws:states:local:000000000000:execution:{machine}:{name}`.
pub fn execution_arn(machine: &str, name: &str) -> String {
    format!("{LOCAL_ARN_PREFIX}:execution:{machine}:{name}")
}

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
    /// Told of each history batch once it is durable (see [`Live`]).
    live: Live,
    /// The state machine's name, in the ARNs of the executions this starts.
    machine: String,
    /// Each state's `Type`, to read histories written before they named it.
    state_types: Arc<HashMap<String, StateType>>,
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
    c.prepare_cached(&format!("{SELECT} WHERE name = ?1"))?
        .query_row([name], row_to_record)
        .optional()?
        .map(finish)
        .transpose()
}

impl Executions {
    pub fn new(db: Db, machine: &str) -> Self {
        Self {
            db,
            live: Live::default(),
            machine: machine.to_string(),
            state_types: Arc::default(),
        }
    }

    /// Reports durable history to `live`.
    pub fn with_live(mut self, live: Live) -> Self {
        self.live = live;
        self
    }

    /// The definition's state types, used to read events stored before history named them.
    pub fn with_state_types(mut self, types: HashMap<String, StateType>) -> Self {
        self.state_types = Arc::new(types);
        self
    }

    pub fn machine(&self) -> &str {
        &self.machine
    }

    /// Starts an execution, or returns the existing one with that name (Step Functions Standard semantics).
    /// The record and its `ExecutionStarted` event are durable when this returns.
    pub async fn start(&self, name: &str, input: &Value) -> Result<Started, DbError> {
        let (name, input, machine) = (name.to_string(), input.clone(), self.machine.clone());
        let started = self
            .db
            .write(move |c| {
                if let Some(record) = get_in(c, &name)? {
                    let same_input = record.input == input;
                    return Ok(Started::Existing { record, same_input });
                }
                let now = jiff::Timestamp::now();
                let execution_id = execution_arn(&machine, &name);
                let input_text = serde_json::to_string(&input)?;
                c.prepare_cached("INSERT INTO executions (name, execution_id, input, status, started_at, started_ms) VALUES (?1, ?2, ?3, 'RUNNING', ?4, ?5)")?.execute(params![name, execution_id, input_text, now.to_string(), now.as_millisecond()],
                )?;
                let mut batch = Batch::default();
                batch.push(&HistoryEvent::ExecutionStarted { input: input.clone() }, false)?;
                write_batch_in(c, &name, &now.to_string(), batch)?;
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
            .await?;
        if let Started::Created(record) = &started {
            self.live.emit(|| {
                let field = |k: &str| {
                    let v = record
                        .input
                        .get(k)
                        .or_else(|| record.input.get("order").and_then(|o| o.get(k)));
                    v.and_then(Value::as_str).map(str::to_string)
                };
                Some(LiveEvent::Started {
                    name: record.name.clone(),
                    accountid: field("accountid"),
                    vendorid: field("vendorid"),
                })
            });
        }
        Ok(started)
    }

    pub async fn get(&self, name: &str) -> Result<Option<ExecutionRecord>, DbError> {
        let name = name.to_string();
        self.db.read(move |c| get_in(c, &name)).await
    }

    /// The history in Step Functions' vocabulary. Events written by a binary from before it
    /// (`StateEntered`, `RetryScheduled`, ...) are read in the new names; see
    /// `skipline_engine::asl::upgrade`.
    pub async fn history(&self, name: &str) -> Result<Vec<(u64, String, HistoryEvent)>, DbError> {
        let name = name.to_string();
        let stored = self
            .db
            .read(move |c| {
                // Events from before batches first: a batch always continues after them.
                let mut stmt = c.prepare_cached("SELECT seq, ts, event FROM history WHERE name = ?1 ORDER BY seq")?;
                let rows: Vec<(i64, String, String)> = stmt
                    .query_map([&name], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                    .collect::<Result<_, _>>()?;
                let mut out = rows
                    .into_iter()
                    .map(|(s, t, e)| Ok(((s.max(0) as u64, t), serde_json::from_str::<StoredEvent>(&e)?)))
                    .collect::<Result<Vec<_>, DbError>>()?;
                let mut stmt =
                    c.prepare_cached("SELECT seq, ts, events FROM history_batches WHERE name = ?1 ORDER BY seq")?;
                let batches: Vec<(i64, String, String)> = stmt
                    .query_map([&name], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                    .collect::<Result<_, _>>()?;
                for (first, ts, events) in batches {
                    let events: Vec<StoredEvent> = serde_json::from_str(&events)?;
                    for (i, e) in events.into_iter().enumerate() {
                        out.push(((first.max(0) as u64 + i as u64, ts.clone()), e));
                    }
                }
                Ok(out)
            })
            .await?;
        let types = self.state_types.clone();
        let upgraded = skipline_engine::asl::upgrade(stored, &|state| types.get(state).copied());
        Ok(upgraded.into_iter().map(|((seq, ts), e)| (seq, ts, e)).collect())
    }

    /// `FAILED` also lists `TIMED_OUT` executions, as the AWS backend's listing does.
    pub async fn list(&self, status: Option<&str>, limit: usize) -> Result<Vec<ExecutionRecord>, DbError> {
        let status = status.map(str::to_string);
        self.db
            .read(move |c| {
                let mut stmt = c.prepare_cached(&format!(
                    "{SELECT} WHERE ?1 IS NULL OR status = ?1 OR (?1 = 'FAILED' AND status = 'TIMED_OUT') ORDER BY started_ms DESC, name LIMIT ?2"
                ))?;
                let rows: Vec<_> = stmt
                    .query_map(params![status, limit as i64], row_to_record)?
                    .collect::<Result<_, _>>()?;
                rows.into_iter().map(finish).collect()
            })
            .await
    }

    /// Running executions created after `rowid` (0 = all), oldest first, and the highest rowid
    /// seen, finished or not, so the next call starts there. Cost is proportional to the new
    /// rows, not to all running executions (`+status` keeps SQLite on the rowid range).
    pub async fn running_since(&self, rowid: i64) -> Result<(Vec<String>, i64), DbError> {
        self.db
            .read(move |c| {
                let max: i64 = c
                    .prepare_cached("SELECT coalesce(max(rowid), 0) FROM executions")?
                    .query_row([], |r| r.get(0))?;
                let mut stmt = c.prepare_cached(
                    "SELECT name FROM executions WHERE rowid > ?1 AND rowid <= ?2 AND +status = 'RUNNING' ORDER BY rowid",
                )?;
                let names = stmt
                    .query_map(params![rowid, max], |r| r.get(0))?
                    .collect::<Result<Vec<String>, _>>()?;
                Ok((names, max))
            })
            .await
    }

    /// Appends events in order, all in one commit.
    pub async fn append_many(&self, name: &str, events: &[HistoryEvent]) -> Result<(), DbError> {
        let mut batch = Batch::default();
        let watched = self.live.watched();
        for e in events {
            batch.push(e, watched)?;
        }
        self.append_batch(name, batch).await
    }

    /// Writes a batch as one history row; a terminal event in it also closes the record, in
    /// the same commit. The events were serialised when recorded, so the writer thread only
    /// runs SQL.
    pub async fn append_batch(&self, name: &str, mut batch: Batch) -> Result<(), DbError> {
        if batch.is_empty() {
            return Ok(());
        }
        let now = jiff::Timestamp::now().to_string();
        let live_event = std::mem::take(&mut batch.live);
        let live_event = (!live_event.is_empty())
            .then(|| live_event_of(name, &live_event))
            .flatten();
        let name = name.to_string();
        self.db.write(move |c| write_batch_in(c, &name, &now, batch)).await?;
        if let Some(e) = live_event {
            self.live.emit(|| Some(e));
        }
        Ok(())
    }
}

/// How a batch ends its execution: status, output, error and cause, as the record keeps them.
type Closing = (&'static str, Option<String>, Option<String>, Option<String>);

/// History events serialised once, as they are recorded, to be written as one row.
#[derive(Debug, Default)]
pub struct Batch {
    /// The events as a JSON array, still without its closing bracket.
    json: Vec<u8>,
    count: i64,
    /// How the execution ended, if an event here ended it: status, output, error, cause.
    closing: Option<Closing>,
    /// The events themselves, kept only while someone watches the live feed.
    live: Vec<HistoryEvent>,
}

impl Batch {
    /// Adds `event`; `keep` keeps a copy for the live feed.
    pub fn push(&mut self, event: &HistoryEvent, keep: bool) -> Result<(), DbError> {
        let before = self.json.len();
        self.json.push(if self.count == 0 { b'[' } else { b',' });
        if let Err(e) = serde_json::to_writer(&mut self.json, event) {
            // Leave the array as it was: half an event would make the whole row unreadable.
            self.json.truncate(before);
            return Err(e.into());
        }
        self.count += 1;
        self.closing = match event {
            HistoryEvent::ExecutionSucceeded { output } => {
                Some(("SUCCEEDED", Some(serde_json::to_string(output)?), None, None))
            }
            HistoryEvent::ExecutionFailed { error, cause } => {
                Some(("FAILED", None, Some(error.clone()), Some(cause.clone())))
            }
            HistoryEvent::ExecutionTimedOut { error, cause } => {
                Some(("TIMED_OUT", None, Some(error.clone()), Some(cause.clone())))
            }
            _ => self.closing.take(),
        };
        if keep {
            self.live.push(event.clone());
        }
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
}

/// The number the next event of `name` gets: after its last batch, or, for an execution
/// begun by a binary from before batches, after its last per-event row.
fn next_seq_in(c: &rusqlite::Connection, name: &str) -> Result<i64, DbError> {
    let after_batches: Option<i64> = c
        .prepare_cached("SELECT seq + count FROM history_batches WHERE name = ?1 ORDER BY seq DESC LIMIT 1")?
        .query_row([name], |r| r.get(0))
        .optional()?;
    if let Some(next) = after_batches {
        return Ok(next);
    }
    Ok(
        c.prepare_cached("SELECT coalesce(max(seq), 0) + 1 FROM history WHERE name = ?1")?
            .query_row([name], |r| r.get(0))?,
    )
}

fn write_batch_in(c: &rusqlite::Connection, name: &str, now: &str, mut batch: Batch) -> Result<(), DbError> {
    batch.json.push(b']');
    let events = String::from_utf8(batch.json).map_err(|e| DbError::Corrupt(e.to_string()))?;
    let seq = next_seq_in(c, name)?;
    c.prepare_cached("INSERT INTO history_batches (name, seq, count, ts, events) VALUES (?1, ?2, ?3, ?4, ?5)")?
        .execute(params![name, seq, batch.count, now, events])?;
    if let Some((status, output, error, cause)) = &batch.closing {
        c.prepare_cached(
            "UPDATE executions SET status = ?2, stopped_at = ?3, output = ?4, error = ?5, cause = ?6 WHERE name = ?1",
        )?
        .execute(params![name, status, now, output, error, cause])?;
    }
    Ok(())
}

/// A history batch as the live feed shows it: its top-level steps, and how the execution ended
/// if it did. `None` when the batch holds nothing a watcher follows (only scoped events).
fn live_event_of(name: &str, events: &[HistoryEvent]) -> Option<LiveEvent> {
    let mut steps = Vec::new();
    let (mut status, mut error, mut cause) = ("RUNNING", None, None);
    for e in events {
        match e {
            HistoryEvent::StateEntered { state, .. } | HistoryEvent::StateExited { state, .. } => {
                steps.push(format!("{}:{state}", e.type_name()));
            }
            HistoryEvent::TaskFailed { state, error: err, .. } => steps.push(format!("TaskFailed:{state}:{err}")),
            HistoryEvent::ExecutionSucceeded { .. } => {
                status = "SUCCEEDED";
                steps.push(e.type_name().into_owned());
            }
            HistoryEvent::ExecutionFailed { error: err, cause: why }
            | HistoryEvent::ExecutionTimedOut { error: err, cause: why } => {
                status = if matches!(e, HistoryEvent::ExecutionFailed { .. }) {
                    "FAILED"
                } else {
                    "TIMED_OUT"
                };
                (error, cause) = (Some(err.clone()), Some(why.clone()));
                steps.push(e.type_name().into_owned());
            }
            _ => {}
        }
    }
    (!steps.is_empty()).then(|| LiveEvent::Execution {
        name: name.to_string(),
        steps,
        status: status.to_string(),
        error,
        cause,
    })
}

/// The engine's history sink for one execution. It writes only at checkpoints, and buffers
/// the events in between (`TaskScheduled`, `TaskSucceeded`, `StateExited`, ...), which are
/// written in order, in the same commit, with the next checkpoint.
///
/// Why this keeps every guarantee (the full argument is in BENCHMARKS.md):
/// - A `…StateEntered` for a state that can have an effect (Task, Wait, or any type not known to
///   be pure) is durable before the engine runs that state, because `record` awaits the commit
///   before returning and the engine awaits `record` before it runs the state. So after a crash
///   the execution never resumes at a state earlier than one whose effect may have happened.
/// - A `…StateEntered` equal to the durable resume point (the first state after
///   `ExecutionStarted`, or the state being resumed) adds nothing to recovery: it is buffered.
/// - `…StateEntered` of pure states (Pass, Choice, Succeed, Fail) is buffered: they have no
///   effect, so losing it means re-running the preceding Task, which is idempotent (conditional
///   cart put, `If-None-Match` invoice, consumers dedupe events by event id).
/// - Inside a Parallel branch or Map iteration, the entry and the exit of each such state are
///   durable at once, so a resumed Map or Parallel keeps the children that finished.
/// - Terminal events (`ExecutionSucceeded`, `ExecutionFailed`, `ExecutionTimedOut`) flush the buffer and are durable
///   before the engine returns, so a finished execution is never reported running.
/// - Buffered events lost in a crash are the ones the resumed run records again.
pub struct ExecutionSink {
    pub executions: Arc<Executions>,
    pub name: String,
    /// States whose `…StateEntered` must be durable before they run.
    pub checkpoints: Arc<HashSet<String>>,
    /// Told of each checkpoint once it is durable (see `Runtime::on_checkpoint`).
    pub on_durable: Option<crate::local::runtime::CheckpointHook>,
    state: Mutex<SinkState>,
}

#[derive(Default)]
struct SinkState {
    pending: Batch,
    /// Where a resumed run would start if the process died now.
    durable_resume: Option<(String, Value)>,
    /// When each top-level state was entered, for its duration metric (only while serving).
    entered: Vec<(String, std::time::Instant)>,
}

impl ExecutionSink {
    /// `resume` is the durable resume point the run starts from.
    pub fn new(
        executions: Arc<Executions>,
        name: &str,
        checkpoints: Arc<HashSet<String>>,
        resume: (String, Value),
    ) -> Self {
        Self {
            executions,
            name: name.to_string(),
            checkpoints,
            on_durable: None,
            state: Mutex::new(SinkState {
                pending: Batch::default(),
                durable_resume: Some(resume),
                entered: Vec::new(),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, SinkState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Records a top-level state's duration when it exits.
fn state_timing(entered: &mut Vec<(String, std::time::Instant)>, event: &HistoryEvent) {
    match event {
        HistoryEvent::StateEntered { state, .. } => entered.push((state.clone(), std::time::Instant::now())),
        HistoryEvent::StateExited { state, .. } => {
            if let Some(i) = entered.iter().rposition(|(s, _)| s == state) {
                let (name, at) = entered.swap_remove(i);
                metrics::histogram!(crate::metrics::STATE_SECONDS, "state" => name).record(at.elapsed().as_secs_f64());
            }
        }
        _ => {}
    }
}

#[async_trait::async_trait]
impl HistorySink for ExecutionSink {
    async fn record(&self, event: &HistoryEvent) -> Result<(), String> {
        let batch = {
            let mut st = self.lock();
            if crate::metrics::handle().is_some() {
                state_timing(&mut st.entered, event);
            }
            st.pending
                .push(event, self.executions.live.watched())
                .map_err(|e| e.to_string())?;
            let flush = match event {
                HistoryEvent::StateEntered { state, input, .. } => {
                    let unchanged = st
                        .durable_resume
                        .as_ref()
                        .is_some_and(|(s, i)| s == state && i == input);
                    let needed = !unchanged && self.checkpoints.contains(state);
                    if needed {
                        st.durable_resume = Some((state.clone(), input.clone()));
                    }
                    needed
                }
                // Inside a Parallel branch or Map iteration: a state with effects must be
                // durable before it runs, as at the top, and so must its exit. A branch or
                // iteration that has finished its last such state may wait a long time for
                // the next checkpoint (its siblings), and a resumed Map or Parallel keeps the
                // children whose exits are durable instead of running them again.
                HistoryEvent::Scoped { event, .. } => matches!(
                    event.unscoped(),
                    HistoryEvent::StateEntered { state_type, .. } | HistoryEvent::StateExited { state_type, .. }
                        if state_type.is_checkpoint()
                ),
                HistoryEvent::ExecutionSucceeded { .. }
                | HistoryEvent::ExecutionFailed { .. }
                | HistoryEvent::ExecutionTimedOut { .. } => true,
                _ => false,
            };
            if !flush {
                return Ok(());
            }
            std::mem::take(&mut st.pending)
        };
        let result = self.executions.append_batch(&self.name, batch).await;
        if let (Ok(()), Some(hook)) = (&result, &self.on_durable) {
            match event {
                HistoryEvent::StateEntered { state, .. } => hook(&self.name, state),
                HistoryEvent::Scoped { .. } => {}
                other => hook(&self.name, &other.type_name()),
            }
        }
        if result.is_err() {
            // Not durable: the run stops here and resumes from the last durable checkpoint.
            self.lock().durable_resume = None;
        }
        result.map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use skipline_engine::asl::Resume;

    fn entered(state: &str, input: Value) -> HistoryEvent {
        HistoryEvent::StateEntered {
            state_type: StateType::Task,
            state: state.into(),
            input,
        }
    }

    #[test]
    fn a_table_from_before_timed_out_is_rebuilt_with_its_rows_and_then_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let c = rusqlite::Connection::open(dir.path().join("old.db")).unwrap();
        let old = crate::local::schema::SCHEMA.replace(", 'TIMED_OUT')", ")");
        c.execute_batch(&old).unwrap();
        c.execute(
            "INSERT INTO executions (name, execution_id, input, status, started_at, started_ms) VALUES ('e', 'x', '{}', 'FAILED', 't', 1)",
            [],
        )
        .unwrap();
        let timed_out = "UPDATE executions SET status = 'TIMED_OUT'";
        assert!(c.execute(timed_out, []).is_err(), "the old table refuses TIMED_OUT");
        migrate(&c).unwrap();
        assert_eq!(c.execute(timed_out, []).unwrap(), 1, "the row survived");
        migrate(&c).unwrap();
        let indexes: i64 = c
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE name = 'executions_by_status'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(indexes, 1);
    }

    #[tokio::test]
    async fn a_history_written_one_row_per_event_reads_and_continues_in_batches() {
        let (_dir, db) = crate::local::db::temp_db();
        let executions = Executions::new(db.clone(), "OrderFlow");
        // An execution as an older binary left it: its record, and one row per event.
        db.write(|c| {
            c.execute(
                "INSERT INTO executions (name, execution_id, input, status, started_at, started_ms) VALUES ('old', 'x', '{\"n\":1}', 'RUNNING', '2026-12-01T00:00:00Z', 1)",
                [],
            )?;
            for (seq, event) in [
                (1, json!({"type": "ExecutionStarted", "input": {"n": 1}})),
                (2, json!({"type": "StateEntered", "state": "A", "input": {"n": 1}})),
            ] {
                c.execute(
                    "INSERT INTO history (name, seq, ts, event) VALUES ('old', ?1, '2026-12-01T00:00:00Z', ?2)",
                    params![seq, event.to_string()],
                )?;
            }
            Ok(())
        })
        .await
        .unwrap();
        executions
            .append_many(
                "old",
                &[
                    HistoryEvent::StateExited {
                        state_type: StateType::Task,
                        state: "A".into(),
                        output: json!({"n": 2}),
                        assigned: None,
                    },
                    HistoryEvent::ExecutionSucceeded {
                        output: json!({"n": 2}),
                    },
                ],
            )
            .await
            .unwrap();
        let history = executions.history("old").await.unwrap();
        let seqs: Vec<u64> = history.iter().map(|(s, _, _)| *s).collect();
        assert_eq!(seqs, vec![1, 2, 3, 4], "{history:?}");
        assert!(
            matches!(&history[1].2, HistoryEvent::StateEntered { state, .. } if state == "A"),
            "the old vocabulary is read in the new names: {:?}",
            history[1].2
        );
        assert!(matches!(&history[3].2, HistoryEvent::ExecutionSucceeded { .. }));
        let record = executions.get("old").await.unwrap().unwrap();
        assert_eq!(
            (record.status.as_str(), record.output),
            ("SUCCEEDED", Some(json!({"n": 2})))
        );
    }

    #[tokio::test]
    async fn checkpoints_are_durable_before_their_state_runs_and_the_rest_waits() {
        let (_dir, db) = crate::local::db::temp_db();
        let executions = Arc::new(Executions::new(db, "OrderFlow"));
        let input = json!({"n": 1});
        executions.start("e1", &input).await.unwrap();
        // What the engine's `StateMachine::checkpoint_states` names for Tasks A, B and Wait W.
        let checkpoints: Arc<HashSet<String>> = Arc::new(["A", "B", "W"].map(String::from).into());
        let sink = ExecutionSink::new(executions.clone(), "e1", checkpoints, ("A".into(), input.clone()));
        let durable = || async { executions.history("e1").await.unwrap().len() };

        // The first state equals the durable resume point: nothing to write.
        sink.record(&entered("A", input.clone())).await.unwrap();
        sink.record(&HistoryEvent::StateExited {
            state_type: StateType::Task,
            state: "A".into(),
            output: json!({"n": 2}),
            assigned: None,
        })
        .await
        .unwrap();
        assert_eq!(durable().await, 1);
        // A pure state waits; the next Task's checkpoint carries everything before it.
        sink.record(&entered("P", json!({"n": 2}))).await.unwrap();
        assert_eq!(durable().await, 1);
        sink.record(&entered("B", json!({"n": 2}))).await.unwrap();
        assert_eq!(durable().await, 5);
        let history = executions.history("e1").await.unwrap();
        let resume = Resume::from_history(history.into_iter().map(|(_, _, e)| e).collect());
        assert!(
            matches!(&resume, Some(Resume::At { state, input, .. }) if state == "B" && *input == json!({"n": 2})),
            "{resume:?}"
        );
        sink.record(&entered("W", json!({"n": 3}))).await.unwrap();
        assert_eq!(durable().await, 6, "a Wait is a checkpoint too");
        sink.record(&entered("Done", json!({"n": 3}))).await.unwrap();
        sink.record(&HistoryEvent::ExecutionSucceeded {
            output: json!({"n": 3}),
        })
        .await
        .unwrap();
        let history = executions.history("e1").await.unwrap();
        assert_eq!(history.len(), 8);
        let seqs: Vec<u64> = history.iter().map(|(s, _, _)| *s).collect();
        assert_eq!(seqs, (1..=8).collect::<Vec<_>>(), "in order, no gaps");
        assert_eq!(executions.get("e1").await.unwrap().unwrap().status, "SUCCEEDED");
    }
}
