//! Placeholder until the AWS backend lands (being written): every call says so.

use super::BackendError;
use std::path::Path;

pub struct AwsBackend;

impl AwsBackend {
    pub async fn from_env(_stack_outputs: Option<&Path>) -> Result<super::local::LocalBackend, BackendError> {
        Err(BackendError::Unsupported("the AWS backend is not built yet".into()))
    }
}
