//! Where the deployed resources are: from environment variables (the Lambdas) or from the
//! CDK outputs file (`cdk deploy --outputs-file cdk-outputs.json`, for the CLI), and how SDK
//! clients are built (the standard credential chain; `AWS_ENDPOINT_URL` is honoured by
//! aws-config itself, e.g. for moto).

use aws_config::{BehaviorVersion, SdkConfig};
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// The stack name the infra engineer deploys; its outputs are what we read.
pub const STACK_NAME: &str = "SkipTheLine";

/// One configuration value, with its environment variable and its stack output key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Setting {
    ApiUrl,
    StateMachineArn,
    CartTable,
    VendorTable,
    DeliveryTable,
    InvoiceIndexTable,
    InvoiceBucket,
    TopicArn,
    NotifyVendorQueueUrl,
    NotifyVendorDlqUrl,
    ClearCartQueueUrl,
    ClearCartDlqUrl,
    DeliveryQueueUrl,
    DeliveryDlqUrl,
    Region,
}

impl Setting {
    pub const ALL: [Setting; 15] = [
        Setting::ApiUrl,
        Setting::StateMachineArn,
        Setting::CartTable,
        Setting::VendorTable,
        Setting::DeliveryTable,
        Setting::InvoiceIndexTable,
        Setting::InvoiceBucket,
        Setting::TopicArn,
        Setting::NotifyVendorQueueUrl,
        Setting::NotifyVendorDlqUrl,
        Setting::ClearCartQueueUrl,
        Setting::ClearCartDlqUrl,
        Setting::DeliveryQueueUrl,
        Setting::DeliveryDlqUrl,
        Setting::Region,
    ];

    /// The environment variable the Lambdas are configured with (see infra/lib/functions.ts).
    pub fn env_var(self) -> &'static str {
        match self {
            Setting::ApiUrl => "API_URL",
            Setting::StateMachineArn => "STATE_MACHINE_ARN",
            Setting::CartTable => "CART_TABLE",
            Setting::VendorTable => "VENDOR_TABLE",
            Setting::DeliveryTable => "DELIVERY_TABLE",
            Setting::InvoiceIndexTable => "INVOICE_INDEX_TABLE",
            Setting::InvoiceBucket => "INVOICE_BUCKET",
            Setting::TopicArn => "TOPIC_ARN",
            Setting::NotifyVendorQueueUrl => "NOTIFY_VENDOR_QUEUE_URL",
            Setting::NotifyVendorDlqUrl => "NOTIFY_VENDOR_DLQ_URL",
            Setting::ClearCartQueueUrl => "CLEAR_CART_QUEUE_URL",
            Setting::ClearCartDlqUrl => "CLEAR_CART_DLQ_URL",
            Setting::DeliveryQueueUrl => "DELIVERY_QUEUE_URL",
            Setting::DeliveryDlqUrl => "DELIVERY_DLQ_URL",
            Setting::Region => "AWS_REGION",
        }
    }

    /// The `CfnOutput` key (infra/lib/skipline-stack.ts `OUTPUT_KEYS`).
    pub fn output_key(self) -> &'static str {
        match self {
            Setting::ApiUrl => "ApiUrl",
            Setting::StateMachineArn => "StateMachineArn",
            Setting::CartTable => "CartTableName",
            Setting::VendorTable => "VendorTableName",
            Setting::DeliveryTable => "DeliveryTableName",
            Setting::InvoiceIndexTable => "InvoiceIndexTableName",
            Setting::InvoiceBucket => "InvoiceBucketName",
            Setting::TopicArn => "TopicArn",
            Setting::NotifyVendorQueueUrl => "NotifyVendorQueueUrl",
            Setting::NotifyVendorDlqUrl => "NotifyVendorDlqUrl",
            Setting::ClearCartQueueUrl => "ClearCartQueueUrl",
            Setting::ClearCartDlqUrl => "ClearCartDlqUrl",
            Setting::DeliveryQueueUrl => "DeliveryQueueUrl",
            Setting::DeliveryDlqUrl => "DeliveryDlqUrl",
            Setting::Region => "Region",
        }
    }
}

impl fmt::Display for Setting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (stack output {})", self.env_var(), self.output_key())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "missing setting {0}: set the environment variable, or pass the CDK outputs file (cdk deploy --outputs-file cdk-outputs.json)"
    )]
    Missing(Setting),
    #[error("cannot read stack outputs {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("stack outputs {path} are not usable: {reason}")]
    Outputs { path: PathBuf, reason: String },
}

/// The resolved settings; any may be absent, and [`Settings::require`] names what is missing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings {
    values: BTreeMap<Setting, String>,
}

impl Settings {
    /// From the process environment.
    pub fn from_env() -> Settings {
        Settings::from_lookup(|name| std::env::var(name).ok())
    }

    /// From any name → value lookup (tests use a map instead of the process environment).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Settings {
        let values = Setting::ALL
            .iter()
            .filter_map(|s| {
                lookup(s.env_var())
                    .filter(|v| !v.trim().is_empty())
                    .map(|v| (*s, v.trim().to_string()))
            })
            .collect();
        Settings { values }
    }

    /// From `cdk deploy --outputs-file` JSON: `{"SkipTheLine": {"CartTableName": ...}}`. A file with
    /// a single stack of another name is accepted too (a renamed stack in a test account).
    pub fn from_outputs_json(text: &str, path: &Path) -> Result<Settings, ConfigError> {
        let bad = |reason: String| ConfigError::Outputs {
            path: path.to_path_buf(),
            reason,
        };
        let root: serde_json::Value = serde_json::from_str(text).map_err(|e| bad(format!("not JSON: {e}")))?;
        let stacks = root
            .as_object()
            .ok_or_else(|| bad("expected an object of stacks".into()))?;
        let stack = match stacks.get(STACK_NAME) {
            Some(s) => s,
            None if stacks.len() == 1 => stacks.values().next().unwrap_or(&serde_json::Value::Null),
            None => {
                let names: Vec<&str> = stacks.keys().map(String::as_str).collect();
                return Err(bad(format!("no stack {STACK_NAME} (found: {})", names.join(", "))));
            }
        };
        let outputs = stack
            .as_object()
            .ok_or_else(|| bad("the stack's outputs are not an object".into()))?;
        let values = Setting::ALL
            .iter()
            .filter_map(|s| {
                outputs
                    .get(s.output_key())
                    .and_then(|v| v.as_str())
                    .map(|v| (*s, v.to_string()))
            })
            .collect();
        Ok(Settings { values })
    }

    pub fn from_outputs_file(path: &Path) -> Result<Settings, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Settings::from_outputs_json(&text, path)
    }

    /// The outputs file (if any), with environment variables taking precedence, as they usually
    /// do over a config file: one value can be pointed elsewhere without editing the file.
    pub fn load(outputs: Option<&Path>) -> Result<Settings, ConfigError> {
        let mut settings = match outputs {
            Some(path) => Settings::from_outputs_file(path)?,
            None => Settings::default(),
        };
        settings.values.extend(Settings::from_env().values);
        Ok(settings)
    }

    pub fn get(&self, setting: Setting) -> Option<&str> {
        self.values.get(&setting).map(String::as_str)
    }

    pub fn require(&self, setting: Setting) -> Result<&str, ConfigError> {
        self.get(setting).ok_or(ConfigError::Missing(setting))
    }

    pub fn set(&mut self, setting: Setting, value: impl Into<String>) -> &mut Self {
        self.values.insert(setting, value.into());
        self
    }
}

/// The shared SDK configuration: standard credential chain and region, `AWS_ENDPOINT_URL` if
/// set; `region` (e.g. the stack's `Region` output) wins over the environment's.
pub async fn load_sdk_config(region: Option<&str>) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(region) = region {
        loader = loader.region(aws_config::Region::new(region.to_string()));
    }
    loader.load().await
}

/// S3 needs path-style addressing behind an endpoint override (moto, LocalStack), because
/// `bucket.127.0.0.1` does not resolve.
pub fn s3_client(sdk: &SdkConfig) -> aws_sdk_s3::Client {
    let overridden = sdk.endpoint_url().is_some() || std::env::var_os("AWS_ENDPOINT_URL_S3").is_some();
    let config = aws_sdk_s3::config::Builder::from(sdk)
        .force_path_style(overridden)
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

pub fn dynamodb_client(sdk: &SdkConfig) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(sdk)
}

pub fn sns_client(sdk: &SdkConfig) -> aws_sdk_sns::Client {
    aws_sdk_sns::Client::new(sdk)
}

pub fn sqs_client(sdk: &SdkConfig) -> aws_sdk_sqs::Client {
    aws_sdk_sqs::Client::new(sdk)
}

pub fn sfn_client(sdk: &SdkConfig) -> aws_sdk_sfn::Client {
    aws_sdk_sfn::Client::new(sdk)
}

/// Every client the CLI backend and the test harness use; Lambdas build only the one they need.
#[derive(Debug, Clone)]
pub struct AwsClients {
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub s3: aws_sdk_s3::Client,
    pub sns: aws_sdk_sns::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub sfn: aws_sdk_sfn::Client,
}

impl AwsClients {
    pub fn new(sdk: &SdkConfig) -> AwsClients {
        AwsClients {
            dynamodb: dynamodb_client(sdk),
            s3: s3_client(sdk),
            sns: sns_client(sdk),
            sqs: sqs_client(sdk),
            sfn: sfn_client(sdk),
        }
    }

    /// Clients for a local AWS-compatible endpoint (moto) with dummy credentials, without
    /// reading the environment: tests must never reach a real account.
    pub fn for_local_endpoint(endpoint_url: &str, region: &str) -> AwsClients {
        let credentials = aws_sdk_dynamodb::config::Credentials::new("test", "test", None, None, "local-endpoint");
        let sdk = SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(aws_config::Region::new(region.to_string()))
            .endpoint_url(endpoint_url)
            .credentials_provider(aws_sdk_dynamodb::config::SharedCredentialsProvider::new(credentials))
            .build();
        AwsClients::new(&sdk)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_cdk_outputs_and_names_what_is_missing() {
        let text = r#"{"SkipTheLine": {"CartTableName": "cart-1", "TopicArn": "arn:aws:sns:us-east-1:1:t", "Region": "ap-southeast-2"}}"#;
        let s = Settings::from_outputs_json(text, Path::new("cdk-outputs.json")).unwrap();
        assert_eq!(s.get(Setting::CartTable), Some("cart-1"));
        assert_eq!(s.get(Setting::Region), Some("ap-southeast-2"));
        let err = s.require(Setting::InvoiceBucket).unwrap_err().to_string();
        assert!(
            err.contains("INVOICE_BUCKET") && err.contains("InvoiceBucketName"),
            "{err}"
        );

        let err = Settings::from_outputs_json(r#"{"A": {}, "B": {}}"#, Path::new("o.json"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("no stack SkipTheLine"), "{err}");
        assert!(Settings::from_outputs_json("[]", Path::new("o.json")).is_err());
    }

    #[test]
    fn reads_the_lambda_environment() {
        let s = Settings::from_lookup(|k| (k == "CART_TABLE").then(|| "cart".to_string()));
        assert_eq!(s.require(Setting::CartTable).unwrap(), "cart");
        assert!(s.get(Setting::VendorTable).is_none());
    }
}
