//! One place that turns SDK errors into our errors, using the error metadata (code, HTTP
//! status) rather than the `Display` text, which the SDK does not promise to keep stable.

use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use skipline_handlers::ports::StoreError;

/// Error codes that mean "slow down", across DynamoDB, S3, SNS, SQS and Step Functions.
const THROTTLING_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottled",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "SlowDown",
    "RequestTimeout",
    "RequestTimeoutException",
    "TransactionInProgressException",
    "InternalServerError",
    "InternalError",
    "ServiceUnavailable",
    "KMSThrottlingException",
];

/// What went wrong with one SDK call, independent of the service.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SdkFailure {
    /// The service's error code (e.g. `ConditionalCheckFailedException`), when it answered.
    pub code: Option<String>,
    /// The HTTP status, when there was a response.
    pub status: Option<u16>,
    /// Worth retrying: throttling, a 5xx, a timeout or a connection failure.
    pub transient: bool,
    /// `"{operation}: {error with its sources}"`.
    pub message: String,
}

impl SdkFailure {
    /// Classifies `err` from the SDK's own variants and metadata.
    pub fn new<E>(operation: &str, err: &SdkError<E>) -> SdkFailure
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let message = format!("{operation}: {}", DisplayErrorContext(err));
        let (code, status, transient) = match err {
            SdkError::ServiceError(ctx) => {
                let status = ctx.raw().status().as_u16();
                let code = ctx.err().code().map(str::to_string);
                let throttled = code.as_deref().is_some_and(|c| THROTTLING_CODES.contains(&c));
                (code, Some(status), throttled || status >= 500 || status == 429)
            }
            SdkError::ResponseError(ctx) => (None, Some(ctx.raw().status().as_u16()), true),
            SdkError::ConstructionFailure(_) => (None, None, false),
            // Timeouts, dispatch (connect) failures and anything new the SDK adds.
            _ => (None, None, true),
        };
        SdkFailure {
            code,
            status,
            transient,
            message,
        }
    }

    pub fn code_is(&self, code: &str) -> bool {
        self.code.as_deref() == Some(code)
    }
}

/// `StoreError` has no "misconfigured" kind, so a missing table or a denied call is reported as
/// unavailable too; the message carries the service's code so the operator sees which it is.
impl From<SdkFailure> for StoreError {
    fn from(f: SdkFailure) -> Self {
        StoreError::Unavailable(f.message)
    }
}

/// Failures of the non-port helpers (topic, queues, state machine), for the CLI backend.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AwsError {
    /// The named resource (queue, execution, subscription…) does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The service refused the request as invalid or conflicting; retrying will not help.
    #[error("{0}")]
    Rejected(SdkFailure),
    /// Throttled, timed out or a server error; worth retrying.
    #[error("{0}")]
    Unavailable(SdkFailure),
    /// The service answered with something we cannot use.
    #[error("{0}")]
    Unexpected(String),
}

impl AwsError {
    /// Classifies an SDK error; codes in `not_found` become [`AwsError::NotFound`].
    pub fn from_sdk<E>(operation: &str, err: &SdkError<E>, not_found: &[&str]) -> AwsError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let failure = SdkFailure::new(operation, err);
        if failure.code.as_deref().is_some_and(|c| not_found.contains(&c)) {
            AwsError::NotFound(failure.message)
        } else if failure.transient {
            AwsError::Unavailable(failure)
        } else {
            AwsError::Rejected(failure)
        }
    }

    /// The service's error code, if it answered with one.
    pub fn code(&self) -> Option<&str> {
        match self {
            AwsError::Rejected(f) | AwsError::Unavailable(f) => f.code.as_deref(),
            _ => None,
        }
    }
}
