//! The dispatcher: runs executions handed over by [`Runtime::submit`] at once, and finds the
//! others (unfinished at startup, created by another process, interrupted) by scanning.

use super::Runtime;
use crate::local::executions::{ExecutionRecord, ExecutionSink, state_machine_arn};
use skipline_engine::asl::{ExecutionContext, Outcome, Resume, SystemClock};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

/// Work for the dispatcher: an execution just created here (its record in hand, nothing to
/// read), or one found by name (resume, retry, or created by another process).
pub(super) enum Submitted {
    Fresh(Box<ExecutionRecord>),
    Named(String),
}

/// How often the dispatcher looks for executions it was not handed: new rows since its last
/// look (cheap), and every `FULL_SCAN_EVERY` all running ones (a safety net).
const SCAN_EVERY: Duration = Duration::from_millis(500);
const FULL_SCAN_EVERY: Duration = Duration::from_secs(60);

impl Runtime {
    /// Wakes the dispatcher to look for new executions in the database.
    pub fn kick(&self) {
        self.wake.notify_one();
    }

    /// Hands an execution just created by this process to the dispatcher: no scan, no reads.
    pub fn submit(&self, record: ExecutionRecord) {
        if self.submitted.send(Submitted::Fresh(Box::new(record))).is_err() {
            self.kick();
        }
    }

    /// Runs executions handed over by [`Runtime::submit`] at once, and finds the others
    /// (unfinished at startup, created by another process, interrupted) by scanning: all
    /// running ones at startup and every minute, new rows every half second. At most
    /// `max_concurrent_executions` run at once; the rest wait for a permit in arrival order.
    pub(super) async fn dispatch(self: Arc<Self>) {
        let mut shutdown = self.shutdown.subscribe();
        let Some(mut submissions) = self.submissions.lock().unwrap_or_else(|p| p.into_inner()).take() else {
            tracing::error!("the dispatcher is already running");
            return;
        };
        let permits = Arc::new(Semaphore::new(self.config.max_concurrent_executions.max(1)));
        let mut seen_rowid = 0_i64;
        let mut last_full = tokio::time::Instant::now();
        let mut scan_due = true;
        while !self.stopped() {
            if scan_due {
                if last_full.elapsed() >= FULL_SCAN_EVERY {
                    seen_rowid = 0;
                    last_full = tokio::time::Instant::now();
                }
                match self.executions.running_since(seen_rowid).await {
                    Ok((names, max_rowid)) => {
                        seen_rowid = seen_rowid.max(max_rowid);
                        for name in names {
                            self.launch(Submitted::Named(name), &permits);
                        }
                    }
                    Err(e) => tracing::error!(error = %e, "cannot list running executions"),
                }
                scan_due = false;
            }
            tokio::select! {
                work = submissions.recv() => match work {
                    Some(work) => self.launch(work, &permits),
                    None => break,
                },
                _ = self.wake.notified() => scan_due = true,
                _ = tokio::time::sleep(SCAN_EVERY) => scan_due = true,
                _ = shutdown.changed() => {}
            }
        }
    }

    fn launch(self: &Arc<Self>, work: Submitted, permits: &Arc<Semaphore>) {
        let name = match &work {
            Submitted::Fresh(r) => r.name.clone(),
            Submitted::Named(n) => n.clone(),
        };
        if !self
            .active
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(name.clone())
        {
            return;
        }
        let (rt, permits) = (self.clone(), permits.clone());
        tokio::spawn(async move {
            let Ok(_permit) = permits.acquire_owned().await else {
                return;
            };
            // Stopping: what has not begun here waits for the next start, where it resumes.
            if rt.stopped() {
                rt.active.lock().unwrap_or_else(|p| p.into_inner()).remove(&name);
                return;
            }
            let result = rt.execute(work).await;
            rt.active.lock().unwrap_or_else(|p| p.into_inner()).remove(&name);
            if let Err(e) = result {
                tracing::error!(execution = %name, error = %e, "execution interrupted; it will be resumed");
                tokio::time::sleep(Duration::from_secs(1)).await;
                if !rt.stopped() {
                    let _ = rt.submitted.send(Submitted::Named(name));
                }
            }
        });
    }

    async fn execute(&self, work: Submitted) -> Result<(), String> {
        let (record, resume) = match work {
            // Just created here: no history beyond ExecutionStarted, so it starts at StartAt.
            Submitted::Fresh(record) => {
                let input = record.input.clone();
                (*record, Resume::at_start(self.machine.start_at(), input))
            }
            Submitted::Named(name) => {
                let record = self
                    .executions
                    .get(&name)
                    .await
                    .map_err(|e| e.to_string())?
                    .ok_or("execution vanished")?;
                if record.status != "RUNNING" {
                    return Ok(());
                }
                let history = self.executions.history(&name).await.map_err(|e| e.to_string())?;
                // The durable history ends at its last checkpoint (see `ExecutionSink`), so
                // its assignments are exactly the variables that checkpoint saw; a Map or
                // Parallel resumed at keeps the iterations and branches that had finished.
                match Resume::from_history(history.into_iter().map(|(_, _, e)| e).collect()) {
                    Some(resume) => (record, resume),
                    None => {
                        let input = record.input.clone();
                        (record, Resume::at_start(self.machine.start_at(), input))
                    }
                }
            }
        };
        let ctx = ExecutionContext {
            execution_id: record.execution_id.clone(),
            name: record.name.clone(),
            start_time: record.started_at.parse().unwrap_or_else(|_| jiff::Timestamp::now()),
            state_machine_id: state_machine_arn(self.executions.machine()),
            state_machine_name: self.executions.machine().to_string(),
            input: record.input.clone(),
        };
        let Resume::At { state, input, .. } = &resume else {
            return Err("a durable run always resumes at a state".into());
        };
        let mut sink = ExecutionSink::new(
            self.executions.clone(),
            &record.name,
            self.checkpoints.clone(),
            (state.clone(), input.clone()),
        );
        sink.on_durable = self.checkpointed.get().cloned();
        let outcome = self
            .machine
            .run(&ctx, resume, self.invoker.as_ref(), &SystemClock, &sink)
            .await
            .map_err(|e| e.to_string())?;
        let label = match outcome {
            Outcome::Succeeded { .. } => "succeeded",
            Outcome::Failed { .. } => "failed",
            Outcome::TimedOut { .. } => "timed_out",
        };
        metrics::counter!(crate::metrics::ORDERS, "outcome" => label).increment(1);
        let took = jiff::Timestamp::now()
            .duration_since(ctx.start_time)
            .as_secs_f64()
            .max(0.0);
        metrics::histogram!(crate::metrics::ORDER_SECONDS, "outcome" => label).record(took);
        Ok(())
    }
}
