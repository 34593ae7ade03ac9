//! The retry schedule of a webhook delivery, and how the deliveries queue is set from it.
//!
//! A delivery is retried by hiding its message for the next delay (`ChangeMessageVisibility`),
//! so the schedule is bound by SQS: no delay may exceed the 12-hour visibility cap, the queue
//! keeps messages for the whole schedule plus a day (at most SQS's 14 days), and
//! `maxReceiveCount` is the number of attempts, so that a delivery reaches the DLQ only once
//! the schedule is exhausted.

use std::time::Duration;

/// SQS's cap on a message's visibility timeout.
pub const MAX_DELAY: Duration = Duration::from_secs(12 * 3600);
/// SQS's cap on retention.
pub const MAX_RETENTION: Duration = Duration::from_secs(14 * 24 * 3600);
/// Kept on the queue after the last attempt is due, so a late attempt still finds its message.
const RETENTION_MARGIN: Duration = Duration::from_secs(24 * 3600);
/// Retention is never below SQS's default.
const MIN_RETENTION: Duration = Duration::from_secs(4 * 24 * 3600);
/// Each delay is stretched or shrunk by up to this share, so that retries after an outage
/// do not arrive as one burst.
pub const JITTER: f64 = 0.1;
const MAX_ATTEMPTS: usize = 100;

/// The default, Svix's: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h after the first attempt:
/// eight attempts over about 27.5 hours.
pub const DEFAULT_SCHEDULE: &str = "5s,5m,30m,2h,5h,10h,10h";

/// The delays between attempts; the first attempt is immediate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    delays: Vec<Duration>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("retry schedule {text:?}: {reason}")]
pub struct ScheduleError {
    pub text: String,
    pub reason: String,
}

impl Default for Schedule {
    fn default() -> Self {
        Schedule::parse(DEFAULT_SCHEDULE).unwrap_or(Schedule {
            delays: vec![Duration::from_secs(5)],
        })
    }
}

impl Schedule {
    /// Parses comma-separated delays (`500ms`, `5s`, `5m`, `2h`); each is after the previous
    /// attempt, from 1 ms to 12 h, at most 99 of them, together short enough to keep on a queue.
    pub fn parse(text: &str) -> Result<Schedule, ScheduleError> {
        let fail = |reason: String| ScheduleError {
            text: text.to_string(),
            reason,
        };
        let delays = text
            .split(',')
            .map(|part| parse_delay(part.trim()).map_err(&fail))
            .collect::<Result<Vec<_>, _>>()?;
        Schedule::new(delays).map_err(|e| fail(e.reason))
    }

    pub fn new(delays: Vec<Duration>) -> Result<Schedule, ScheduleError> {
        let text = format_delays(&delays);
        let fail = |reason: String| ScheduleError {
            text: text.clone(),
            reason,
        };
        if delays.is_empty() || delays.len() >= MAX_ATTEMPTS {
            return Err(fail(format!("give 1 to {} delays", MAX_ATTEMPTS - 1)));
        }
        if let Some(d) = delays.iter().find(|d| d.is_zero() || **d > MAX_DELAY) {
            return Err(fail(format!(
                "each delay must be above 0 and at most 12h (SQS's visibility cap), not {}",
                format_delay(*d)
            )));
        }
        let schedule = Schedule { delays };
        if schedule.total() * 11 / 10 + RETENTION_MARGIN > MAX_RETENTION {
            return Err(fail(format!(
                "it spans {}; with jitter and a day's margin it must fit SQS's 14-day retention",
                format_delay(schedule.total())
            )));
        }
        Ok(schedule)
    }

    pub fn delays(&self) -> &[Duration] {
        &self.delays
    }

    /// Attempts in all: the first, and one after each delay.
    pub fn attempts(&self) -> u32 {
        self.delays.len() as u32 + 1
    }

    /// From the first attempt to the last, without jitter.
    pub fn total(&self) -> Duration {
        self.delays.iter().sum()
    }

    /// The deliveries queue's `maxReceiveCount`: one receive per attempt.
    pub fn max_receive_count(&self) -> u32 {
        self.attempts()
    }

    /// The deliveries queue's retention: the schedule with its jitter, plus a day.
    pub fn retention(&self) -> Duration {
        (self.total() * 11 / 10 + RETENTION_MARGIN).clamp(MIN_RETENTION, MAX_RETENTION)
    }

    /// How long to wait after failed attempt `attempt` (1-based), or `None` once it was the
    /// last. `retry_after` (from a 429 or 503) can only lengthen the wait, up to 12 h.
    /// `unit` is a uniform random number in [0, 1) that sets the jitter.
    pub fn next_delay(&self, attempt: u32, retry_after: Option<Duration>, unit: f64) -> Option<Duration> {
        let base = *self.delays.get(attempt.checked_sub(1)? as usize)?;
        let factor = 1.0 - JITTER + 2.0 * JITTER * unit.clamp(0.0, 1.0);
        let jittered = base.mul_f64(factor).min(MAX_DELAY);
        Some(match retry_after {
            Some(asked) => jittered.max(asked.min(MAX_DELAY)),
            None => jittered,
        })
    }
}

impl std::fmt::Display for Schedule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&format_delays(&self.delays))
    }
}

fn parse_delay(text: &str) -> Result<Duration, String> {
    let secs = seconds_in(text, "delay", false)?;
    if secs > MAX_DELAY.as_secs_f64() {
        return Err(format!("{text:?} is more than 12h (SQS's visibility cap)"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// The seconds a duration such as `500ms`, `5s`, `5m`, `2h` (or `3d` where `days`) stands
/// for; a bare number is seconds. `noun` names it in errors ("delay", "duration"). The one
/// reader of durations for the schedule and the command line, so both take the same forms.
pub fn seconds_in(text: &str, noun: &str, days: bool) -> Result<f64, String> {
    let t = text.trim();
    let (number, unit) = match t.find(|c: char| !c.is_ascii_digit() && c != '.') {
        Some(i) => t.split_at(i),
        None => (t, "s"),
    };
    let value: f64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a {noun} like 500ms, 5s, 5m or 2h"))?;
    let secs = match unit {
        "ms" => value / 1000.0,
        "s" => value,
        "m" => value * 60.0,
        "h" => value * 3600.0,
        "d" if days => value * 86_400.0,
        _ => {
            let units = if days { "ms, s, m, h or d" } else { "ms, s, m or h" };
            return Err(format!("unknown unit {unit:?} in {text:?}; use {units}"));
        }
    };
    if !secs.is_finite() {
        return Err(format!("{text:?} is not a {noun} like 500ms, 5s, 5m or 2h"));
    }
    Ok(secs)
}

/// `90s` → `1m30s`; milliseconds only below a second.
pub fn format_delay(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 || !ms.is_multiple_of(1000) {
        return format!("{ms}ms");
    }
    let secs = d.as_secs();
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    let mut out = String::new();
    for (n, unit) in [(h, "h"), (m, "m"), (s, "s")] {
        if n > 0 {
            out.push_str(&format!("{n}{unit}"));
        }
    }
    out
}

fn format_delays(delays: &[Duration]) -> String {
    delays.iter().map(|d| format_delay(*d)).collect::<Vec<_>>().join(",")
}

/// A uniform number in [0, 1) for [`Schedule::next_delay`]'s jitter.
pub fn random_unit() -> f64 {
    rand::random::<f64>()
}

/// Reads a `Retry-After` value: delay-seconds, or an HTTP date (as a delay from `now`). An
/// unreadable one is ignored, as if absent.
pub fn parse_retry_after(value: &str, now: jiff::Timestamp) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = jiff::fmt::rfc2822::parse(value).ok()?.timestamp();
    Some(at.duration_since(now).try_into().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_covers_more_than_eight_hours_within_sqs_bounds() {
        let s = Schedule::default();
        assert_eq!(s.to_string(), DEFAULT_SCHEDULE);
        assert_eq!(s.attempts(), 8);
        assert_eq!(s.max_receive_count(), 8);
        assert!(s.total() >= Duration::from_secs(8 * 3600));
        assert_eq!(s.total(), Duration::from_secs(5 + 300 + 1800 + 7200 + 18_000 + 72_000));
        assert!(s.retention() >= s.total() + RETENTION_MARGIN && s.retention() <= MAX_RETENTION);
        assert!(s.delays().iter().all(|d| *d <= MAX_DELAY));
    }

    #[test]
    fn delays_are_jittered_and_end_with_the_schedule() {
        let s = Schedule::parse("10s,1m").unwrap();
        assert_eq!(s.next_delay(1, None, 0.0), Some(Duration::from_secs(9)));
        assert_eq!(s.next_delay(1, None, 0.5), Some(Duration::from_secs(10)));
        assert_eq!(s.next_delay(2, None, 0.999_999).map(|d| d.as_secs()), Some(65));
        assert_eq!(s.next_delay(3, None, 0.5), None, "the third attempt was the last");
        assert_eq!(s.next_delay(0, None, 0.5), None);
    }

    #[test]
    fn retry_after_lengthens_the_wait_up_to_the_visibility_cap() {
        let s = Schedule::parse("10s,1m").unwrap();
        let d = |secs| Some(Duration::from_secs(secs));
        assert_eq!(s.next_delay(1, d(120), 0.5), d(120));
        assert_eq!(s.next_delay(1, d(1), 0.5), d(10), "never shorter than the schedule");
        assert_eq!(s.next_delay(1, d(100_000), 0.5), Some(MAX_DELAY));
        assert_eq!(s.next_delay(3, d(120), 0.5), None, "not past the last attempt");
    }

    #[test]
    fn bad_schedules_say_what_is_wrong() {
        for (text, says) in [
            ("", "not a delay"),
            ("5s,,1m", "not a delay"),
            ("0s", "above 0"),
            ("13h", "12h"),
            ("5x", "unknown unit"),
            ("-1s", "not a delay"),
            (&["12h"; 30].join(","), "14-day retention"),
            (&["1s"; 100].join(","), "1 to 99"),
        ] {
            let e = Schedule::parse(text).unwrap_err().to_string();
            assert!(e.contains(says), "{text}: {e}");
        }
        assert_eq!(Schedule::parse(" 500ms, 2s ").unwrap().to_string(), "500ms,2s");
        assert_eq!(format_delay(Duration::from_secs(5430)), "1h30m30s");
    }

    #[test]
    fn retry_after_in_seconds_or_as_a_date() {
        let now: jiff::Timestamp = "2026-12-04T10:00:00Z".parse().unwrap();
        assert_eq!(parse_retry_after("120", now), Some(Duration::from_secs(120)));
        assert_eq!(
            parse_retry_after("Fri, 04 Dec 2026 10:05:00 GMT", now),
            Some(Duration::from_secs(300))
        );
        assert_eq!(
            parse_retry_after("Fri, 04 Dec 2026 09:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-5", now), None);
    }
}
