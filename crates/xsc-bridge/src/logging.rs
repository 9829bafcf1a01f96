//! Structured logs with `tracing`: human-readable or JSON lines.

use serde::{Deserialize, Serialize};
use tracing_subscriber::EnvFilter;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Multi-line, coloured when on a terminal.
    #[default]
    Pretty,
    /// One line per event, plain text.
    Compact,
    /// One JSON object per line (for log collectors).
    Json,
}

impl std::str::FromStr for LogFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "pretty" => Ok(LogFormat::Pretty),
            "compact" => Ok(LogFormat::Compact),
            "json" => Ok(LogFormat::Json),
            other => Err(format!(
                "unknown log format `{other}` (pretty, compact or json)"
            )),
        }
    }
}

/// Check a filter directive such as `info` or `info,xsc_bridge=debug`.
pub fn parse_filter(filter: &str) -> Result<EnvFilter, String> {
    EnvFilter::try_new(filter).map_err(|e| format!("invalid log filter `{filter}`: {e}"))
}

/// Install the global subscriber, writing to stderr. `RUST_LOG`, when set, overrides `filter`.
/// Fails if a subscriber is already installed.
pub fn init(format: LogFormat, filter: &str) -> Result<(), String> {
    let filter = match std::env::var("RUST_LOG") {
        Ok(env) if !env.trim().is_empty() => parse_filter(&env)?,
        _ => parse_filter(filter)?,
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let r = match format {
        LogFormat::Pretty => builder.pretty().try_init(),
        LogFormat::Compact => builder.compact().try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .try_init(),
    };
    r.map_err(|e| format!("logging already initialised: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_filters_parse() {
        assert_eq!("JSON".parse::<LogFormat>().unwrap(), LogFormat::Json);
        assert!("xml".parse::<LogFormat>().is_err());
        assert!(parse_filter("info,xsc_bridge=debug").is_ok());
        assert!(parse_filter("info,[[[").is_err());
    }
}
