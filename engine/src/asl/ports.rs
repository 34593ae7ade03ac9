//! What the executor needs from its host: something to run tasks, a clock, and a place to
//! write history. Each backend provides adapters; tests provide fakes.

use std::time::Duration;

use serde_json::Value;

/// Runs Task states' resources (Lambda functions, service integrations...).
#[async_trait::async_trait]
pub trait TaskInvoker: Send + Sync {
    /// Checked at load time for every Task state's `Resource` (after substitution).
    fn supports(&self, resource: &str) -> bool;
    /// Checked at load time for every Task state the invoker supports, with its `Parameters`
    /// as written (after substitution): a host that can run only some parameter shapes says so
    /// here, and the state is refused at load with this reason.
    fn check(&self, _resource: &str, _parameters: Option<&Value>) -> Result<(), String> {
        Ok(())
    }
    /// Runs `resource` with the state's effective input (after `InputPath` and
    /// `Parameters`). `Err` is a task failure; its `error` is the error name that Retry and
    /// Catch match against.
    async fn invoke(&self, resource: &str, input: Value) -> Result<Value, TaskFailure>;
}

/// A task's failure: error name and cause, as Step Functions reports them.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TaskFailure {
    pub error: String,
    pub cause: String,
}

/// Time, so that retries, waits and timeouts can be tested without sleeping.
#[async_trait::async_trait]
pub trait Clock: Send + Sync {
    fn now(&self) -> jiff::Timestamp;
    async fn sleep(&self, d: Duration);
}

/// Real time: `jiff::Timestamp::now()` and `tokio::time::sleep`.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

#[async_trait::async_trait]
impl Clock for SystemClock {
    fn now(&self) -> jiff::Timestamp {
        jiff::Timestamp::now()
    }

    async fn sleep(&self, d: Duration) {
        tokio::time::sleep(d).await;
    }
}

/// Where the executor writes history. Called before and after each step; an `Err` stops
/// the run with `RunError::History`, leaving the execution resumable.
#[async_trait::async_trait]
pub trait HistorySink: Send + Sync {
    async fn record(&self, event: &crate::asl::HistoryEvent) -> Result<(), String>;
}

/// For checking a file bound for AWS: every `Resource` is accepted, as Step Functions decides
/// what it can call, and nothing is ever run.
#[derive(Debug, Clone, Copy, Default)]
pub struct AnyResource;

#[async_trait::async_trait]
impl TaskInvoker for AnyResource {
    fn supports(&self, _resource: &str) -> bool {
        true
    }

    async fn invoke(&self, resource: &str, _input: Value) -> Result<Value, TaskFailure> {
        Err(TaskFailure {
            error: "States.Runtime".into(),
            cause: format!("{resource} cannot run: this invoker only validates definitions"),
        })
    }
}
