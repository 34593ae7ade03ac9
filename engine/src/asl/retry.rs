//! Retry and Catch: which errors they match, and how long to wait before a retry.

use std::time::Duration;

use super::errors::error_names::{ALL, DATA_LIMIT_EXCEEDED, RUNTIME, TASK_FAILED, TIMEOUT};
use super::path::ReferencePath;

/// An `ErrorEquals` list.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ErrorEquals(pub(crate) Vec<String>);

impl ErrorEquals {
    /// `States.ALL` matches everything and `States.TaskFailed` everything but
    /// `States.Timeout`; neither matches `States.Runtime`, which nothing matches.
    pub(crate) fn matches(&self, error: &str) -> bool {
        if error == RUNTIME {
            return false;
        }
        // Terminal: only a retrier or catcher that names it matches.
        let terminal = error == DATA_LIMIT_EXCEEDED;
        self.0
            .iter()
            .any(|e| e == error || (!terminal && (e == ALL || (e == TASK_FAILED && error != TIMEOUT))))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Jitter {
    None,
    /// A uniformly random delay between 0 and the computed one.
    Full,
}

/// One entry of a `Retry` array.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Retrier {
    pub(crate) error_equals: ErrorEquals,
    pub(crate) interval_seconds: u64,
    pub(crate) max_attempts: u32,
    pub(crate) backoff_rate: f64,
    pub(crate) max_delay_seconds: Option<u64>,
    pub(crate) jitter: Jitter,
}

impl Retrier {
    pub(crate) const DEFAULT_INTERVAL_SECONDS: u64 = 1;
    pub(crate) const DEFAULT_MAX_ATTEMPTS: u32 = 3;
    pub(crate) const DEFAULT_BACKOFF_RATE: f64 = 2.0;

    /// The wait before this retrier's `attempt`-th retry (from 1):
    /// `IntervalSeconds × BackoffRate^(attempt−1)`, capped at `MaxDelaySeconds`, then
    /// jittered if `JitterStrategy` is `FULL`.
    pub(crate) fn delay(&self, attempt: u32) -> Duration {
        let exponent = i32::try_from(attempt.saturating_sub(1)).unwrap_or(i32::MAX);
        let mut seconds = self.interval_seconds as f64 * self.backoff_rate.powi(exponent);
        if let Some(max) = self.max_delay_seconds {
            seconds = seconds.min(max as f64);
        }
        if self.jitter == Jitter::Full {
            seconds *= random_fraction();
        }
        // `as` saturates (and maps NaN to 0): no panic for absurd rates.
        Duration::from_millis((seconds * 1000.0).round() as u64)
    }
}

/// A number in [0, 1), from the OS-seeded generator behind UUID v4 (no extra dependency).
/// The low 53 bits of a v4 UUID are random (its fixed version and variant bits are higher).
fn random_fraction() -> f64 {
    const BITS: u32 = 53;
    let random = uuid::Uuid::new_v4().as_u128() & ((1u128 << BITS) - 1);
    random as f64 / (1u64 << BITS) as f64
}

/// One entry of a `Catch` array.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Catcher {
    pub(crate) error_equals: ErrorEquals,
    /// `None` is `"ResultPath": null`: the error output is discarded.
    pub(crate) result_path: Option<ReferencePath>,
    pub(crate) next: String,
    /// `Assign`, evaluated on the error output (`{"Error", "Cause"}`).
    pub(crate) assign: Option<super::template::Template>,
    /// JSONata's `Output`, from `$states.errorOutput` and `$states.input`; `None` outputs the
    /// error output.
    pub(crate) output: Option<super::template::Template>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn retrier(interval: u64, backoff: f64, max_delay: Option<u64>, jitter: Jitter) -> Retrier {
        Retrier {
            error_equals: ErrorEquals(vec![ALL.into()]),
            interval_seconds: interval,
            max_attempts: 10,
            backoff_rate: backoff,
            max_delay_seconds: max_delay,
            jitter,
        }
    }

    #[test]
    fn delay_grows_by_the_backoff_rate_and_stops_at_the_cap() {
        let r = retrier(1, 2.0, Some(8), Jitter::None);
        let delays: Vec<_> = (1..=6).map(|n| r.delay(n).as_millis()).collect();
        assert_eq!(delays, [1000, 2000, 4000, 8000, 8000, 8000]);
        let r = retrier(3, 1.5, None, Jitter::None);
        let delays: Vec<_> = (1..=3).map(|n| r.delay(n).as_millis()).collect();
        assert_eq!(delays, [3000, 4500, 6750]);
        let huge = retrier(99_999_999, 1000.0, None, Jitter::None);
        assert!(huge.delay(u32::MAX) >= Duration::from_secs(99_999_999));
    }

    #[test]
    fn full_jitter_stays_within_the_computed_delay() {
        let r = retrier(4, 2.0, None, Jitter::Full);
        for _ in 0..50 {
            assert!(r.delay(2) <= Duration::from_secs(8));
        }
    }

    #[test]
    fn error_matching_follows_the_spec_wildcards() {
        let specific = ErrorEquals(vec!["StoreUnavailable".into()]);
        assert!(specific.matches("StoreUnavailable"));
        assert!(!specific.matches("storeunavailable"));
        assert!(!specific.matches("Other"));

        let all = ErrorEquals(vec![ALL.into()]);
        assert!(all.matches("Anything"));
        assert!(all.matches(TIMEOUT));
        assert!(!all.matches(RUNTIME));

        let task_failed = ErrorEquals(vec![TASK_FAILED.into()]);
        assert!(task_failed.matches("ActiveOrderExists"));
        assert!(!task_failed.matches(TIMEOUT));
        assert!(!task_failed.matches(RUNTIME));

        let explicit_runtime = ErrorEquals(vec![RUNTIME.into()]);
        assert!(!explicit_runtime.matches(RUNTIME));
        let timeout = ErrorEquals(vec![TIMEOUT.into()]);
        assert!(timeout.matches(TIMEOUT));
    }
}
