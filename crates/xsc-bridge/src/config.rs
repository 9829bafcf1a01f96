//! Service configuration: a TOML file, then environment overrides, then validation that reports
//! every problem at once.
//!
//! Environment overrides (`XSC_` + section + key, upper case), e.g. `XSC_CHAIN_A_RPC_URL`,
//! `XSC_CHAIN_B_RPC_HEADER_VALUE`, `XSC_RELAYER_DATABASE`; see [`ENV_OVERRIDES`]. A file is
//! optional: everything can come from the environment. Relative paths (key files, database)
//! are resolved against the configuration file's directory.

use crate::logging::{parse_filter, LogFormat};
use crate::rpc::{RetryPolicy, RpcClientConfig, RpcHeader};
use near_primitives::types::AccountId;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{origin}: {detail}")]
    Syntax { origin: String, detail: String },
    #[error("invalid configuration:\n  - {}", .0.join("\n  - "))]
    Invalid(Vec<String>),
}

/// One chain of the pair.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChainConfig {
    /// Short label used in logs, metrics and the queue (`[a-z0-9_-]`).
    pub name: String,
    /// The network id the chain's RPC reports (`status.chain_id`).
    pub chain_id: String,
    pub rpc_url: String,
    /// Extra HTTP header for every RPC request (e.g. a Calimero shard's auth header).
    #[serde(default)]
    pub rpc_header: Option<RpcHeader>,
    #[serde(default = "default_rpc_timeout_ms")]
    pub rpc_timeout_ms: u64,
    /// Light client contract on this chain (it tracks the other chain).
    pub light_client: String,
    /// Connector contract on this chain.
    pub connector: String,
    /// near-cli key file of the account that signs this chain's transactions.
    pub signer_key_file: PathBuf,
}

impl ChainConfig {
    /// Load the signing key of this chain's relayer account.
    pub fn load_signer(&self) -> Result<crate::signer::TxSigner, crate::signer::SignerError> {
        crate::signer::TxSigner::from_key_file(&self.signer_key_file)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelayerConfig {
    #[serde(default = "default_poll_interval_ms")]
    pub poll_interval_ms: u64,
    /// Strip `next_bps` from light client blocks that stay in the head's epoch.
    #[serde(default = "yes")]
    pub lean_mode: bool,
    /// Deliver through the destination light client's `verify_and_forward` (one receipt fewer
    /// per message); `false`: call the connector's delivery methods (Calimero's wire format).
    #[serde(default = "yes")]
    pub fast_path: bool,
    /// Gas attached to light client updates, in Tgas (older networks allow at most 300).
    #[serde(default = "default_lc_gas_tgas")]
    pub lc_gas_tgas: u64,
    /// Delivery attempts before an event is marked failed.
    #[serde(default = "default_max_delivery_attempts")]
    pub max_delivery_attempts: u32,
    /// SQLite database of the durable queue.
    #[serde(default = "default_database")]
    pub database: PathBuf,
    /// Prometheus endpoint (`GET /metrics`); loopback by default. Empty string: disabled.
    #[serde(default = "default_metrics_listen")]
    pub metrics_listen: String,
    #[serde(default)]
    pub log_format: LogFormat,
    /// `tracing` filter, e.g. `info` or `info,xsc_bridge=debug` (`RUST_LOG` wins when set).
    #[serde(default = "default_log_level")]
    pub log_level: String,
    /// Retries of failed RPC requests.
    #[serde(default)]
    pub rpc_retry: RetryPolicy,
    /// Backoff between delivery attempts of one event (its `max_retries` is unused: attempts
    /// are bounded by `max_delivery_attempts`).
    #[serde(default = "default_delivery_retry")]
    pub delivery_retry: RetryPolicy,
}

impl Default for RelayerConfig {
    fn default() -> Self {
        toml::from_str("").expect("defaults")
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub chain_a: ChainConfig,
    pub chain_b: ChainConfig,
    #[serde(default)]
    pub relayer: RelayerConfig,
}

fn default_rpc_timeout_ms() -> u64 {
    20_000
}
fn default_poll_interval_ms() -> u64 {
    1_000
}
fn yes() -> bool {
    true
}
fn default_lc_gas_tgas() -> u64 {
    300
}
fn default_max_delivery_attempts() -> u32 {
    10
}
fn default_database() -> PathBuf {
    PathBuf::from("xsc-relayer.db")
}
fn default_metrics_listen() -> String {
    "127.0.0.1:9464".into()
}
fn default_log_level() -> String {
    "info".into()
}
fn default_delivery_retry() -> RetryPolicy {
    RetryPolicy {
        max_retries: u32::MAX,
        initial_backoff: Duration::from_secs(2),
        max_backoff: Duration::from_secs(300),
        multiplier: 2.0,
        jitter: 0.3,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Str,
    Int,
    Bool,
}

/// Environment variable suffix (after `XSC_`), TOML path, value type. `{C}` stands for
/// `CHAIN_A` / `CHAIN_B` and `{c}` for `chain_a` / `chain_b`.
pub const ENV_OVERRIDES: &[(&str, &str, &str)] = &[
    ("{C}_NAME", "{c}.name", "str"),
    ("{C}_CHAIN_ID", "{c}.chain_id", "str"),
    ("{C}_RPC_URL", "{c}.rpc_url", "str"),
    ("{C}_RPC_HEADER_NAME", "{c}.rpc_header.name", "str"),
    ("{C}_RPC_HEADER_VALUE", "{c}.rpc_header.value", "str"),
    ("{C}_RPC_TIMEOUT_MS", "{c}.rpc_timeout_ms", "int"),
    ("{C}_LIGHT_CLIENT", "{c}.light_client", "str"),
    ("{C}_CONNECTOR", "{c}.connector", "str"),
    ("{C}_SIGNER_KEY_FILE", "{c}.signer_key_file", "str"),
    (
        "RELAYER_POLL_INTERVAL_MS",
        "relayer.poll_interval_ms",
        "int",
    ),
    ("RELAYER_LEAN_MODE", "relayer.lean_mode", "bool"),
    ("RELAYER_FAST_PATH", "relayer.fast_path", "bool"),
    ("RELAYER_LC_GAS_TGAS", "relayer.lc_gas_tgas", "int"),
    (
        "RELAYER_MAX_DELIVERY_ATTEMPTS",
        "relayer.max_delivery_attempts",
        "int",
    ),
    ("RELAYER_DATABASE", "relayer.database", "str"),
    ("RELAYER_METRICS_LISTEN", "relayer.metrics_listen", "str"),
    ("RELAYER_LOG_FORMAT", "relayer.log_format", "str"),
    ("RELAYER_LOG_LEVEL", "relayer.log_level", "str"),
    (
        "RELAYER_RPC_MAX_RETRIES",
        "relayer.rpc_retry.max_retries",
        "int",
    ),
];

fn expand() -> Vec<(String, Vec<String>, Kind)> {
    let mut out = Vec::new();
    for (var, path, kind) in ENV_OVERRIDES {
        let kind = match *kind {
            "int" => Kind::Int,
            "bool" => Kind::Bool,
            _ => Kind::Str,
        };
        let chains: &[(&str, &str)] = if var.contains("{C}") {
            &[("CHAIN_A", "chain_a"), ("CHAIN_B", "chain_b")]
        } else {
            &[("", "")]
        };
        for (up, low) in chains {
            let name = format!("XSC_{}", var.replace("{C}", up));
            let path = path
                .replace("{c}", low)
                .split('.')
                .map(str::to_string)
                .collect();
            out.push((name, path, kind));
        }
    }
    out
}

fn set_path(table: &mut toml::Table, path: &[String], value: toml::Value) -> Result<(), String> {
    let (last, parents) = path.split_last().expect("non-empty path");
    let mut t = table;
    for p in parents {
        let entry = t
            .entry(p.clone())
            .or_insert_with(|| toml::Value::Table(Default::default()));
        t = entry
            .as_table_mut()
            .ok_or_else(|| format!("`{p}` is not a table"))?;
    }
    t.insert(last.clone(), value);
    Ok(())
}

/// Apply `XSC_*` overrides from `env` (a lookup, so tests need not touch the process
/// environment).
fn apply_env(
    table: &mut toml::Table,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(), ConfigError> {
    let mut problems = Vec::new();
    for (var, path, kind) in expand() {
        let Some(raw) = env(&var) else { continue };
        let value = match kind {
            Kind::Str => Ok(toml::Value::String(raw.clone())),
            Kind::Int => raw
                .trim()
                .parse::<i64>()
                .map(toml::Value::Integer)
                .map_err(|_| format!("{var}: expected an integer, got `{raw}`")),
            Kind::Bool => match raw.trim().to_ascii_lowercase().as_str() {
                "1" | "true" | "yes" | "on" => Ok(toml::Value::Boolean(true)),
                "0" | "false" | "no" | "off" => Ok(toml::Value::Boolean(false)),
                _ => Err(format!("{var}: expected true or false, got `{raw}`")),
            },
        };
        match value.and_then(|v| set_path(table, &path, v).map_err(|e| format!("{var}: {e}"))) {
            Ok(()) => {}
            Err(e) => problems.push(e),
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ConfigError::Invalid(problems))
    }
}

fn check_account(problems: &mut Vec<String>, field: &str, id: &str) {
    if let Err(e) = id.parse::<AccountId>() {
        problems.push(format!(
            "{field}: `{id}` is not a valid NEAR account id ({e})"
        ));
    }
}

impl Config {
    /// Read `path` (when given), apply the process environment, resolve relative paths, validate.
    pub fn load(path: Option<&Path>) -> Result<Self, ConfigError> {
        let text = match path {
            Some(p) => std::fs::read_to_string(p).map_err(|source| ConfigError::Io {
                path: p.to_path_buf(),
                source,
            })?,
            None => String::new(),
        };
        let origin = path
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "environment".into());
        let base = path.and_then(Path::parent).map(Path::to_path_buf);
        Self::from_toml_with_env(&text, &origin, base.as_deref(), &|k| std::env::var(k).ok())
    }

    /// Parse `text`, apply overrides from `env`, resolve relative paths against `base`, validate.
    pub fn from_toml_with_env(
        text: &str,
        origin: &str,
        base: Option<&Path>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let syntax = |detail: String| ConfigError::Syntax {
            origin: origin.to_string(),
            detail,
        };
        let mut table: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| syntax(e.to_string()))?;
        apply_env(&mut table, env)?;
        let mut cfg: Config = toml::Value::Table(table)
            .try_into()
            .map_err(|e: toml::de::Error| syntax(e.to_string()))?;
        if let Some(base) = base.filter(|b| !b.as_os_str().is_empty()) {
            for c in [&mut cfg.chain_a, &mut cfg.chain_b] {
                if c.signer_key_file.is_relative() {
                    c.signer_key_file = base.join(&c.signer_key_file);
                }
            }
            if cfg.relayer.database.is_relative() {
                cfg.relayer.database = base.join(&cfg.relayer.database);
            }
        }
        cfg.validate()?;
        Ok(cfg)
    }

    /// Check every field; all problems are reported together.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut p = Vec::new();
        for (key, c) in [("chain_a", &self.chain_a), ("chain_b", &self.chain_b)] {
            if c.name.is_empty()
                || !c.name.chars().all(|ch| {
                    ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '-' || ch == '_'
                })
            {
                p.push(format!(
                    "{key}.name: `{}` must be non-empty [a-z0-9_-]",
                    c.name
                ));
            }
            if c.chain_id.trim().is_empty() {
                p.push(format!("{key}.chain_id: must not be empty"));
            }
            match reqwest::Url::parse(&c.rpc_url) {
                Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
                Ok(_) => p.push(format!(
                    "{key}.rpc_url: `{}` must be an http(s) URL",
                    c.rpc_url
                )),
                Err(e) => p.push(format!("{key}.rpc_url: `{}` is not a URL ({e})", c.rpc_url)),
            }
            if let Some(h) = &c.rpc_header {
                if reqwest::header::HeaderName::from_bytes(h.name.as_bytes()).is_err() {
                    p.push(format!(
                        "{key}.rpc_header.name: `{}` is not a valid header name",
                        h.name
                    ));
                }
                if h.value.is_empty() || reqwest::header::HeaderValue::from_str(&h.value).is_err() {
                    p.push(format!(
                        "{key}.rpc_header.value: must be a non-empty, valid header value"
                    ));
                }
            }
            if c.rpc_timeout_ms < 100 {
                p.push(format!("{key}.rpc_timeout_ms: at least 100"));
            }
            check_account(&mut p, &format!("{key}.light_client"), &c.light_client);
            check_account(&mut p, &format!("{key}.connector"), &c.connector);
            if c.signer_key_file.as_os_str().is_empty() {
                p.push(format!("{key}.signer_key_file: must not be empty"));
            }
        }
        if self.chain_a.name == self.chain_b.name {
            p.push(format!(
                "chain_a.name and chain_b.name are both `{}`",
                self.chain_a.name
            ));
        }
        if self.chain_a.chain_id == self.chain_b.chain_id {
            p.push(format!(
                "chain_a.chain_id and chain_b.chain_id are both `{}`: the two chains must be distinct",
                self.chain_a.chain_id
            ));
        }
        let r = &self.relayer;
        if r.poll_interval_ms < 10 {
            p.push("relayer.poll_interval_ms: at least 10".into());
        }
        if !(1..=1000).contains(&r.lc_gas_tgas) {
            p.push(format!(
                "relayer.lc_gas_tgas: {} is outside 1..=1000 (older networks: at most 300)",
                r.lc_gas_tgas
            ));
        }
        if r.max_delivery_attempts == 0 {
            p.push("relayer.max_delivery_attempts: at least 1".into());
        }
        if r.database.as_os_str().is_empty() {
            p.push("relayer.database: must not be empty".into());
        }
        if !r.metrics_listen.is_empty() && r.metrics_listen.parse::<SocketAddr>().is_err() {
            p.push(format!(
                "relayer.metrics_listen: `{}` is not ip:port (or empty to disable)",
                r.metrics_listen
            ));
        }
        if let Err(e) = parse_filter(&r.log_level) {
            p.push(format!("relayer.log_level: {e}"));
        }
        if let Err(e) = r.rpc_retry.validate() {
            p.push(format!("relayer.rpc_retry: {e}"));
        }
        if let Err(e) = r.delivery_retry.validate() {
            p.push(format!("relayer.delivery_retry: {e}"));
        }
        if p.is_empty() {
            Ok(())
        } else {
            Err(ConfigError::Invalid(p))
        }
    }

    pub fn chains(&self) -> [&ChainConfig; 2] {
        [&self.chain_a, &self.chain_b]
    }

    /// The other chain of the pair.
    pub fn other(&self, chain: &ChainConfig) -> &ChainConfig {
        if chain.name == self.chain_a.name {
            &self.chain_b
        } else {
            &self.chain_a
        }
    }

    pub fn rpc_client_config(&self, chain: &ChainConfig) -> RpcClientConfig {
        RpcClientConfig {
            url: chain.rpc_url.clone(),
            header: chain.rpc_header.clone(),
            timeout: Duration::from_millis(chain.rpc_timeout_ms),
            retry: self.relayer.rpc_retry.clone(),
        }
    }

    pub fn poll_interval(&self) -> Duration {
        Duration::from_millis(self.relayer.poll_interval_ms)
    }

    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.relayer.metrics_listen.parse().ok()
    }

    pub fn lc_gas(&self) -> u64 {
        self.relayer.lc_gas_tgas * 1_000_000_000_000
    }
}

#[cfg(test)]
mod tests;
