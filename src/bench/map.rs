//! `skipline bench`'s Map measurement: one inline Map over N items of Pass states, in JSONPath
//! and in JSONata, run by the engine with the runtime's durable history sink on a fresh SQLite
//! database, beside the same machine with a sink that keeps nothing (the same-run baseline
//! that shows what durability costs).
//!
//! It drives `StateMachine::run` with `ExecutionSink` directly, as the runtime's dispatcher does,
//! without an order around it: the Map is what is measured, not the order flow.

use super::BenchError;
use super::stats::{Percentiles, peak_rss_mib, reset_peak_rss};
use crate::local::db::Db;
use crate::local::executions::{ExecutionSink, Executions, execution_arn, state_machine_arn};
use serde::Serialize;
use serde_json::{Value, json};
use skipline_engine::asl::{
    AnyResource, ExecutionContext, HistoryEvent, HistorySink, Outcome, Resume, StateMachine, SystemClock,
};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// The machine under test in one query language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Language {
    #[serde(rename = "JSONPath")]
    JsonPath,
    #[serde(rename = "JSONata")]
    Jsonata,
}

impl Language {
    pub fn label(self) -> &'static str {
        match self {
            Language::JsonPath => "JSONPath",
            Language::Jsonata => "JSONata",
        }
    }

    /// The same Map in both languages: each item is a number, the selector pairs it with its
    /// index, and the Pass state inside adds the two, so every iteration evaluates a selector
    /// and a template. Numbers keep 40,000 items and their results under the 256 KiB quota on
    /// a state's input and output, which the engine enforces as Step Functions does.
    fn definition(self) -> Value {
        match self {
            Language::JsonPath => json!({"StartAt": "M", "States": {"M": {
                "Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 0,
                "ItemSelector": {"index.$": "$$.Map.Item.Index", "item.$": "$$.Map.Item.Value"},
                "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass",
                    "Parameters": {"n.$": "States.MathAdd($.index, $.item)"}, "OutputPath": "$.n", "End": true}}},
                "End": true}}}),
            Language::Jsonata => json!({"QueryLanguage": "JSONata", "StartAt": "M", "States": {"M": {
                "Type": "Map", "Items": "{% $states.input.items %}", "MaxConcurrency": 0,
                "ItemSelector": {"index": "{% $states.context.Map.Item.Index %}", "item": "{% $states.context.Map.Item.Value %}"},
                "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass",
                    "Output": "{% $states.input.index + $states.input.item %}", "End": true}}},
                "End": true}}}),
        }
    }
}

/// The most items [`run`] takes: more would exceed the 256 KiB state input and output quota.
pub const MAX_ITEMS: usize = 40_000;

/// What one language's Map measured. Latencies are in milliseconds.
#[derive(Debug, Clone, Serialize)]
pub struct MapResult {
    pub language: Language,
    pub items: usize,
    /// Durable: the runtime's history sink on SQLite (synchronous=FULL).
    #[serde(rename = "itemsPerS")]
    pub items_per_s: f64,
    #[serde(rename = "elapsedS")]
    pub elapsed_s: f64,
    /// From each iteration's MapIterationStarted to its MapIterationSucceeded.
    #[serde(rename = "iterationMs")]
    pub iteration_ms: Percentiles,
    /// The same machine and input with a sink that keeps nothing.
    #[serde(rename = "inMemoryItemsPerS")]
    pub in_memory_items_per_s: f64,
    #[serde(rename = "historyEvents")]
    pub history_events: usize,
    pub commits: u64,
    #[serde(rename = "peakRssMiB", skip_serializing_if = "Option::is_none")]
    pub peak_rss_mib: Option<f64>,
}

/// Times iterations as the events pass through on their way to the real sink.
struct Timed<'a> {
    inner: Option<&'a dyn HistorySink>,
    started: Mutex<HashMap<u64, Instant>>,
    micros: Mutex<Vec<u64>>,
    events: Mutex<usize>,
}

impl<'a> Timed<'a> {
    fn new(inner: Option<&'a dyn HistorySink>, items: usize) -> Self {
        Timed {
            inner,
            started: Mutex::new(HashMap::with_capacity(items)),
            micros: Mutex::new(Vec::with_capacity(items)),
            events: Mutex::new(0),
        }
    }
}

#[async_trait::async_trait]
impl HistorySink for Timed<'_> {
    async fn record(&self, event: &HistoryEvent) -> Result<(), String> {
        *self.events.lock().unwrap_or_else(|p| p.into_inner()) += 1;
        match event.unscoped() {
            HistoryEvent::MapIterationStarted { index, .. } => {
                self.started
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(*index, Instant::now());
            }
            HistoryEvent::MapIterationSucceeded { index, .. } => {
                let began = self.started.lock().unwrap_or_else(|p| p.into_inner()).remove(index);
                if let Some(began) = began {
                    let us = u64::try_from(began.elapsed().as_micros()).unwrap_or(u64::MAX);
                    self.micros.lock().unwrap_or_else(|p| p.into_inner()).push(us);
                }
            }
            _ => {}
        }
        match self.inner {
            Some(sink) => sink.record(event).await,
            None => Ok(()),
        }
    }
}

fn failed(e: impl std::fmt::Display) -> BenchError {
    BenchError::Failed(e.to_string())
}

async fn run_once(machine: &StateMachine, input: &Value, name: &str, sink: &Timed<'_>) -> Result<f64, BenchError> {
    let ctx = ExecutionContext {
        execution_id: execution_arn("MapBench", name),
        name: name.to_string(),
        start_time: jiff::Timestamp::now(),
        state_machine_id: state_machine_arn("MapBench"),
        state_machine_name: "MapBench".into(),
        input: input.clone(),
    };
    let began = Instant::now();
    let outcome = machine
        .run(
            &ctx,
            Resume::Start { input: input.clone() },
            &AnyResource,
            &SystemClock,
            sink,
        )
        .await
        .map_err(failed)?;
    let elapsed = began.elapsed().as_secs_f64();
    // Item i is i, so iteration i must return 2i, in order.
    let items = input["items"].as_array().map_or(0, Vec::len);
    match outcome {
        Outcome::Succeeded { output }
            if output.as_array().is_some_and(|out| {
                out.len() == items && out.iter().enumerate().all(|(i, v)| v.as_u64() == Some(2 * i as u64))
            }) =>
        {
            Ok(elapsed)
        }
        Outcome::Succeeded { .. } => Err(BenchError::Failed(
            "the Map did not return 2i for each item i, in order".into(),
        )),
        other => Err(BenchError::Failed(format!("the Map did not succeed: {other:?}"))),
    }
}

/// One language: the durable run, then the in-memory one on the same input.
pub async fn run(root: &Path, language: Language, items: usize) -> Result<MapResult, BenchError> {
    let dir = root.join(format!("map-{}", language.label().to_lowercase()));
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    std::fs::create_dir_all(&dir)?;
    let machine = StateMachine::load(&language.definition().to_string(), &BTreeMap::new(), &AnyResource)
        .map_err(|e| BenchError::Setup(format!("the {} Map does not load: {e}", language.label())))?;
    if items == 0 || items > MAX_ITEMS {
        return Err(BenchError::Setup(format!(
            "the Map takes 1 to {MAX_ITEMS} items, not {items}"
        )));
    }
    let input = json!({"items": (0..items).collect::<Vec<_>>()});

    reset_peak_rss();
    let db = Db::open(&dir.join("runtime.db")).map_err(|e| BenchError::Setup(e.to_string()))?;
    let executions = Arc::new(Executions::new(db.clone(), "MapBench"));
    executions
        .start("map", &input)
        .await
        .map_err(|e| BenchError::Setup(e.to_string()))?;
    let checkpoints: Arc<HashSet<String>> = Arc::new(machine.checkpoint_states().map(str::to_string).collect());
    let durable = ExecutionSink::new(executions.clone(), "map", checkpoints, ("M".into(), input.clone()));
    let before = db.stats.snapshot();
    let timed = Timed::new(Some(&durable), items);
    let elapsed = run_once(&machine, &input, "map", &timed).await?;
    let commits = db.stats.snapshot().commits - before.commits;
    let stored = executions.history("map").await.map_err(failed)?.len();
    let history_events = *timed.events.lock().unwrap_or_else(|p| p.into_inner());
    // ExecutionStarted is written by `start`, not by the sink.
    if stored != history_events + 1 {
        return Err(BenchError::Failed(format!(
            "{history_events} events recorded but {stored} stored"
        )));
    }
    let mut micros = std::mem::take(&mut *timed.micros.lock().unwrap_or_else(|p| p.into_inner()));
    if micros.len() != items {
        return Err(BenchError::Failed(format!(
            "{} of {items} iterations timed",
            micros.len()
        )));
    }
    let peak = peak_rss_mib();

    let in_memory = run_once(&machine, &input, "map-in-memory", &Timed::new(None, items)).await?;
    drop(db);
    std::fs::remove_dir_all(&dir)?;
    Ok(MapResult {
        language,
        items,
        items_per_s: items as f64 / elapsed.max(1e-9),
        elapsed_s: elapsed,
        iteration_ms: Percentiles::of_micros(&mut micros),
        in_memory_items_per_s: items as f64 / in_memory.max(1e-9),
        history_events,
        commits,
        peak_rss_mib: peak,
    })
}

/// The column heads of [`row`].
pub const HEADER: &str =
    "Map over items  language  items/s durable  ×in-memory  iteration ms p50/p90/p99/max  events  commits  RSS MiB";

pub fn row(r: &MapResult) -> String {
    let p = &r.iteration_ms;
    format!(
        "{:>14}  {:<8}  {:>15.0}  {:>9.2}x  {:<28}  {:>6}  {:>7}  {:>7}",
        r.items,
        r.language.label(),
        r.items_per_s,
        r.items_per_s / r.in_memory_items_per_s.max(1e-9),
        format!("{:.2}/{:.2}/{:.2}/{:.2}", p.p50, p.p90, p.p99, p.max),
        r.history_events,
        r.commits,
        r.peak_rss_mib.map(|m| format!("{m:.0}")).unwrap_or_else(|| "-".into()),
    )
}
