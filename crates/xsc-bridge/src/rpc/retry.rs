//! Exponential backoff with jitter.

use rand::Rng;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// How often and how patiently a failed request is retried.
///
/// Attempt `n` (0-based) waits `min(initial * multiplier^n, max)` scaled by a random factor in
/// `[1 - jitter, 1]` ("equal jitter" when `jitter` = 0.5), so that many clients that failed
/// together do not retry together.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetryPolicy {
    /// Retries after the first attempt (0 = no retry).
    pub max_retries: u32,
    #[serde(with = "millis", rename = "initial_backoff_ms")]
    pub initial_backoff: Duration,
    #[serde(with = "millis", rename = "max_backoff_ms")]
    pub max_backoff: Duration,
    pub multiplier: f64,
    /// Fraction of each delay that is random, within `0.0..=1.0`.
    pub jitter: f64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 5,
            initial_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(10),
            multiplier: 2.0,
            jitter: 0.5,
        }
    }
}

impl RetryPolicy {
    pub fn none() -> Self {
        RetryPolicy {
            max_retries: 0,
            ..Default::default()
        }
    }

    /// The largest delay before retry `attempt` (0-based), without jitter.
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let factor = self.multiplier.max(1.0).powi(attempt.min(64) as i32);
        let ms = (self.initial_backoff.as_millis() as f64 * factor)
            .min(self.max_backoff.as_millis() as f64);
        Duration::from_millis(ms.max(0.0) as u64)
    }

    /// The delay before retry `attempt` (0-based), with jitter.
    pub fn delay(&self, attempt: u32) -> Duration {
        let ceiling = self.ceiling(attempt);
        let jitter = self.jitter.clamp(0.0, 1.0);
        if jitter == 0.0 || ceiling.is_zero() {
            return ceiling;
        }
        let scale = 1.0 - jitter * rand::thread_rng().gen::<f64>();
        ceiling.mul_f64(scale)
    }

    pub fn validate(&self) -> Result<(), String> {
        if !(0.0..=1.0).contains(&self.jitter) {
            return Err(format!("jitter must be within 0..=1, got {}", self.jitter));
        }
        if !(self.multiplier >= 1.0 && self.multiplier.is_finite()) {
            return Err(format!("multiplier must be >= 1, got {}", self.multiplier));
        }
        if self.initial_backoff > self.max_backoff {
            return Err("initial_backoff_ms must not exceed max_backoff_ms".into());
        }
        Ok(())
    }
}

/// serde for `Duration` as integer milliseconds (`*_ms` keys in TOML).
pub mod millis {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_millis() as u64)
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_millis(u64::deserialize(d)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let p = RetryPolicy {
            max_retries: 10,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(1000),
            multiplier: 2.0,
            jitter: 0.0,
        };
        let d: Vec<u128> = (0..6).map(|a| p.delay(a).as_millis()).collect();
        assert_eq!(d, vec![100, 200, 400, 800, 1000, 1000]);
    }

    #[test]
    fn jitter_stays_within_bounds() {
        let p = RetryPolicy {
            jitter: 0.5,
            ..Default::default()
        };
        for attempt in 0..8 {
            let ceiling = p.ceiling(attempt);
            for _ in 0..50 {
                let d = p.delay(attempt);
                assert!(
                    d <= ceiling && d >= ceiling.mul_f64(0.5),
                    "{d:?} vs {ceiling:?}"
                );
            }
        }
    }

    #[test]
    fn invalid_policies_are_rejected() {
        let p = RetryPolicy {
            jitter: 1.5,
            ..Default::default()
        };
        assert!(p.validate().is_err());
        let p = RetryPolicy {
            multiplier: 0.5,
            ..Default::default()
        };
        assert!(p.validate().is_err());
        assert!(RetryPolicy::default().validate().is_ok());
    }
}
