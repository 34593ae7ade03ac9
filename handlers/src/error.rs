//! Step errors, named as the state machine's Retry and Catch match them.

use crate::ports::StoreError;
use skipline_events::InvalidOrder;

/// A step failed. [`StepError::name`] is the ASL error name (Lambda's `errorType`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StepError {
    #[error("{0}")]
    InvalidOrder(#[from] InvalidOrder),
    #[error("account {accountid} already has active order {existing} with vendor {vendorid}")]
    ActiveOrderExists {
        accountid: String,
        vendorid: String,
        existing: String,
    },
    #[error("an invoice with different content already exists at {key}")]
    InvoiceConflict { key: String },
    #[error("{0}")]
    StoreUnavailable(String),
    #[error("{0}")]
    Corrupt(String),
}

impl StepError {
    /// The error name the state machine's Catch and Retry match.
    pub fn name(&self) -> &'static str {
        match self {
            StepError::InvalidOrder(_) => "InvalidOrder",
            StepError::ActiveOrderExists { .. } => "ActiveOrderExists",
            StepError::InvoiceConflict { .. } => "InvoiceConflict",
            StepError::StoreUnavailable(_) => "StoreUnavailable",
            StepError::Corrupt(_) => "CorruptRecord",
        }
    }

    /// The cause as Lambda reports it (`{"errorType","errorMessage"}`), so both backends show the same text.
    pub fn lambda_cause(&self) -> String {
        serde_json::json!({"errorType": self.name(), "errorMessage": self.to_string()}).to_string()
    }
}

impl From<StoreError> for StepError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(m) => StepError::StoreUnavailable(m),
            StoreError::Corrupt(m) => StepError::Corrupt(m),
        }
    }
}

/// A read route failed; each maps to one HTTP status in exactly one place per front door.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}
