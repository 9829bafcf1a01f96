//! Service configuration: a TOML file, then environment overrides, then validation that reports
//! every problem at once.
//!
//! Environment overrides (`XSC_` + section + key, upper case), e.g. `XSC_CHAIN_A_RPC_URL`,
//! `XSC_CHAIN_B_RPC_HEADER_VALUE`, `XSC_RELAYER_DATABASE`; see [`ENV_OVERRIDES`]. A file is
//! optional: everything can come from the environment. Relative paths (key files, database)
//! are resolved against the configuration file's directory.

use crate::logging::{parse_filter, LogFormat};
use crate::rpc::{redact_url, RetryPolicy, RpcClientConfig, RpcHeader};
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

/// An extra HTTP header for every RPC request: its value given here, or (better) named by the
/// environment variable that holds it (`value_env`), so the secret stays out of the file.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RpcHeaderConfig {
    pub name: String,
    #[serde(default)]
    pub value: Option<String>,
    #[serde(default)]
    pub value_env: Option<String>,
}

impl std::fmt::Debug for RpcHeaderConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RpcHeaderConfig")
            .field("name", &self.name)
            .field("value", &self.value.as_ref().map(|_| "<redacted>"))
            .field("value_env", &self.value_env)
            .finish()
    }
}

/// `relayer.database_url` as written (it may hold a password): `Debug` never shows the password.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct DatabaseUrlText(pub String);

impl std::fmt::Debug for DatabaseUrlText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match crate::queue::DatabaseUrl::parse(&self.0) {
            Ok(u) => write!(f, "{u:?}"),
            Err(_) => f.write_str("DatabaseUrl(<redacted>)"),
        }
    }
}

/// One chain of the pair.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChainConfig {
    /// Short label used in logs, metrics and the queue (`[a-z0-9_-]`).
    pub name: String,
    /// The network id the chain's RPC reports (`status.chain_id`).
    pub chain_id: String,
    /// One RPC endpoint (kept for older configurations; `rpc_urls` adds more).
    #[serde(default)]
    pub rpc_url: Option<String>,
    /// RPC endpoints in order of preference, with failover. `${VAR}` in a URL is replaced by
    /// the environment variable `VAR` (keep API keys out of the file).
    #[serde(default)]
    pub rpc_urls: Vec<String>,
    /// An archival RPC endpoint for catching up and old proofs (optional; `${VAR}` allowed).
    #[serde(default)]
    pub archival_rpc_url: Option<String>,
    /// Extra HTTP header for every RPC request (e.g. a Calimero shard's auth header).
    #[serde(default)]
    pub rpc_header: Option<RpcHeaderConfig>,
    #[serde(default = "default_rpc_timeout_ms")]
    pub rpc_timeout_ms: u64,
    /// Light client contract on this chain (it tracks the other chain).
    pub light_client: String,
    /// Connector contract on this chain.
    pub connector: String,
    /// near-cli key file of the account that signs this chain's transactions (one key; kept
    /// for older configurations).
    #[serde(default)]
    pub signer_key_file: Option<PathBuf>,
    /// Key files of the relayer's access keys on this chain: the first signs light client
    /// updates, the others deliveries (one nonce lane each). Mode 600: others may not read
    /// them.
    #[serde(default)]
    pub signer_key_files: Vec<PathBuf>,
    /// The relayer account whose secret keys `signer_keys_env` holds.
    #[serde(default)]
    pub signer_account: Option<String>,
    /// An environment variable holding secret keys (`ed25519:...`, comma-separated) of
    /// `signer_account`, instead of (or besides) key files.
    #[serde(default)]
    pub signer_keys_env: Option<String>,
    /// The first height to index when the queue has no cursor for this chain (`xsc deploy`
    /// writes the deployment height). Default: the current final height.
    #[serde(default)]
    pub start_height: Option<u64>,
    /// The header with its value read (`rpc_header` resolved); never printed.
    #[serde(skip)]
    resolved_header: Option<RpcHeader>,
}

impl std::fmt::Debug for ChainConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // URLs may carry API keys: only scheme, host and port are shown.
        f.debug_struct("ChainConfig")
            .field("name", &self.name)
            .field("chain_id", &self.chain_id)
            .field(
                "rpc_urls",
                &self
                    .rpc_urls_all()
                    .iter()
                    .map(|u| redact_url(u))
                    .collect::<Vec<_>>(),
            )
            .field(
                "archival_rpc_url",
                &self.archival_rpc_url.as_deref().map(redact_url),
            )
            .field("rpc_header", &self.rpc_header)
            .field("light_client", &self.light_client)
            .field("connector", &self.connector)
            .field("signer_key_files", &self.key_files())
            .field("signer_keys_env", &self.signer_keys_env)
            .field("start_height", &self.start_height)
            .finish()
    }
}

impl ChainConfig {
    /// Every regular RPC endpoint: `rpc_url` first, then `rpc_urls`.
    pub fn rpc_urls_all(&self) -> Vec<String> {
        let mut v: Vec<String> = self.rpc_url.iter().cloned().collect();
        for u in &self.rpc_urls {
            if !v.contains(u) {
                v.push(u.clone());
            }
        }
        v
    }

    /// The endpoints as they may be shown (`scheme://host:port`).
    pub fn rpc_urls_shown(&self) -> Vec<String> {
        self.rpc_urls_all().iter().map(|u| redact_url(u)).collect()
    }

    pub fn key_files(&self) -> Vec<PathBuf> {
        self.signer_key_file
            .iter()
            .chain(self.signer_key_files.iter())
            .cloned()
            .collect()
    }

    /// The header to send, with its value read.
    pub fn header(&self) -> Option<&RpcHeader> {
        self.resolved_header.as_ref()
    }

    /// Load the relayer's signing keys on this chain: the key files (refused when others may
    /// read them), then the keys of `signer_keys_env`.
    pub fn load_signers(&self) -> Result<Vec<crate::signer::TxSigner>, crate::signer::SignerError> {
        let mut out = Vec::new();
        for f in self.key_files() {
            out.push(crate::signer::TxSigner::from_key_file(&f)?);
        }
        if let (Some(var), Some(account)) = (&self.signer_keys_env, &self.signer_account) {
            out.extend(crate::signer::TxSigner::from_env(account, var)?);
        }
        Ok(out)
    }

    /// The first signing key (deployment tools and tests).
    pub fn load_signer(&self) -> Result<crate::signer::TxSigner, crate::signer::SignerError> {
        self.load_signers()?
            .into_iter()
            .next()
            .ok_or_else(|| crate::signer::SignerError::MissingEnv("a signer key".into()))
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
    /// SQLite database of the durable queue (one relayer process; ignored when `database_url`
    /// is set).
    #[serde(default = "default_database")]
    pub database: PathBuf,
    /// A PostgreSQL server for the queue (`postgres://user@host:port/db`): several relayer
    /// instances share it. `${VAR}` is replaced by the environment variable `VAR` (keep the
    /// password out of the file), and a password missing from the URL is taken from
    /// `PGPASSWORD`. Never printed with its password.
    #[serde(default)]
    pub database_url: Option<DatabaseUrlText>,
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
    /// Backoff between delivery attempts of one event after a refusal on chain (its
    /// `max_retries` is unused: attempts are bounded by `max_delivery_attempts`).
    #[serde(default = "default_delivery_retry")]
    pub delivery_retry: RetryPolicy,
    /// Backoff after a temporary failure (RPC, light client update, unconfirmed transaction):
    /// retried without limit, never counted as an attempt.
    #[serde(default = "default_temporary_retry")]
    pub temporary_retry: RetryPolicy,
    /// This instance's name in the queue (its claims are leases held under this name). Unique
    /// among live instances; default: the host name.
    #[serde(default)]
    pub instance_id: Option<String>,
    /// How long a claimed delivery stays this instance's without renewal.
    #[serde(default = "default_lease_s")]
    pub lease_s: u64,
    /// Lease of the single-writer roles (each chain's indexer, each direction's light client
    /// relay) and of the instance's name and keys: renewed every third of it; when a holder dies,
    /// another instance takes the role over within this time.
    #[serde(default = "default_role_lease_s")]
    pub role_lease_s: u64,
    /// Delivered messages are deleted from the queue this many days after delivery (0: kept).
    #[serde(default = "default_retention_days")]
    pub retention_days: u64,
    /// Bound on one RPC reply, in MiB.
    #[serde(default = "default_rpc_max_reply_mb")]
    pub rpc_max_reply_mb: u64,
    /// How often the source connector's sequence numbers are compared with the destination's
    /// watermark and the queue (gaps are indexed again).
    #[serde(default = "default_gap_check_interval_s")]
    pub gap_check_interval_s: u64,
    /// `/ready` fails while a message waits longer than this.
    #[serde(default = "default_ready_max_pending_age_s")]
    pub ready_max_pending_age_s: u64,
    /// `/ready` fails while an indexer is more blocks than this behind the final head.
    #[serde(default = "default_ready_max_index_lag_blocks")]
    pub ready_max_index_lag_blocks: u64,
    /// Delivery transactions in flight at once, per direction.
    #[serde(default = "default_max_deliveries_in_flight")]
    pub max_deliveries_in_flight: usize,
    /// Messages claimed at once (they share one light client update).
    #[serde(default = "default_delivery_batch")]
    pub delivery_batch: usize,
    /// Most messages per delivery transaction, through the light client's
    /// `verify_and_forward_batch` (with `fast_path` only; 1: each message alone). Messages that
    /// wait together on their first try share one; its prepaid gas (300 Tgas) is shared, and a
    /// message it cannot fit is delivered alone next. Four `cross_call`s of up to 30 Tgas of
    /// destination gas fit on protocol 63 and 86.
    #[serde(default = "default_messages_per_transaction")]
    pub messages_per_transaction: usize,
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
fn default_temporary_retry() -> RetryPolicy {
    RetryPolicy {
        max_retries: u32::MAX,
        initial_backoff: Duration::from_secs(1),
        max_backoff: Duration::from_secs(30),
        multiplier: 2.0,
        jitter: 0.3,
    }
}
fn default_lease_s() -> u64 {
    60
}
fn default_role_lease_s() -> u64 {
    10
}
fn default_retention_days() -> u64 {
    30
}
fn default_rpc_max_reply_mb() -> u64 {
    64
}
fn default_gap_check_interval_s() -> u64 {
    60
}
fn default_ready_max_pending_age_s() -> u64 {
    600
}
fn default_ready_max_index_lag_blocks() -> u64 {
    200
}
/// As many as the destination connector accepts ahead of its watermark by default (its window):
/// one instance can then drain a burst as fast as the connector lets any number of them.
fn default_max_deliveries_in_flight() -> usize {
    128
}
fn default_messages_per_transaction() -> usize {
    4
}
fn default_delivery_batch() -> usize {
    64
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
    /// Comma-separated strings.
    List,
}

/// Environment variable suffix (after `XSC_`), TOML path, value type. `{C}` stands for
/// `CHAIN_A` / `CHAIN_B` and `{c}` for `chain_a` / `chain_b`.
pub const ENV_OVERRIDES: &[(&str, &str, &str)] = &[
    ("{C}_NAME", "{c}.name", "str"),
    ("{C}_CHAIN_ID", "{c}.chain_id", "str"),
    ("{C}_RPC_URL", "{c}.rpc_url", "str"),
    ("{C}_RPC_URLS", "{c}.rpc_urls", "list"),
    ("{C}_ARCHIVAL_RPC_URL", "{c}.archival_rpc_url", "str"),
    ("{C}_RPC_HEADER_NAME", "{c}.rpc_header.name", "str"),
    ("{C}_RPC_HEADER_VALUE", "{c}.rpc_header.value", "str"),
    ("{C}_START_HEIGHT", "{c}.start_height", "int"),
    ("{C}_RPC_TIMEOUT_MS", "{c}.rpc_timeout_ms", "int"),
    ("{C}_LIGHT_CLIENT", "{c}.light_client", "str"),
    ("{C}_CONNECTOR", "{c}.connector", "str"),
    ("{C}_SIGNER_KEY_FILE", "{c}.signer_key_file", "str"),
    ("{C}_SIGNER_KEY_FILES", "{c}.signer_key_files", "list"),
    ("{C}_SIGNER_ACCOUNT", "{c}.signer_account", "str"),
    ("{C}_SIGNER_KEYS_ENV", "{c}.signer_keys_env", "str"),
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
    ("RELAYER_DATABASE_URL", "relayer.database_url", "str"),
    ("RELAYER_METRICS_LISTEN", "relayer.metrics_listen", "str"),
    ("RELAYER_LOG_FORMAT", "relayer.log_format", "str"),
    ("RELAYER_LOG_LEVEL", "relayer.log_level", "str"),
    (
        "RELAYER_RPC_MAX_RETRIES",
        "relayer.rpc_retry.max_retries",
        "int",
    ),
    ("RELAYER_INSTANCE_ID", "relayer.instance_id", "str"),
    ("RELAYER_LEASE_S", "relayer.lease_s", "int"),
    ("RELAYER_ROLE_LEASE_S", "relayer.role_lease_s", "int"),
    (
        "RELAYER_MAX_DELIVERIES_IN_FLIGHT",
        "relayer.max_deliveries_in_flight",
        "int",
    ),
    ("RELAYER_DELIVERY_BATCH", "relayer.delivery_batch", "int"),
    (
        "RELAYER_MESSAGES_PER_TRANSACTION",
        "relayer.messages_per_transaction",
        "int",
    ),
    ("RELAYER_RETENTION_DAYS", "relayer.retention_days", "int"),
];

fn expand() -> Vec<(String, Vec<String>, Kind)> {
    let mut out = Vec::new();
    for (var, path, kind) in ENV_OVERRIDES {
        let kind = match *kind {
            "int" => Kind::Int,
            "bool" => Kind::Bool,
            "list" => Kind::List,
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
            Kind::List => Ok(toml::Value::Array(
                raw.split(',')
                    .map(str::trim)
                    .filter(|x| !x.is_empty())
                    .map(|x| toml::Value::String(x.to_string()))
                    .collect(),
            )),
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

/// Replace `${VAR}` in `text` with the environment's value; `Err(VAR)` when unset.
fn interpolate(text: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find("${") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        let Some(j) = after.find('}') else {
            out.push_str(&rest[i..]);
            return Ok(out);
        };
        let var = &after[..j];
        out.push_str(&env(var).ok_or_else(|| var.to_string())?);
        rest = &after[j + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Read `${VAR}` references in URLs and the header's value (from `value_env` or `value`).
fn resolve_secrets(
    key: &str,
    c: &mut ChainConfig,
    env: &dyn Fn(&str) -> Option<String>,
    problems: &mut Vec<String>,
) {
    let mut fix = |field: &str, s: &mut String| match interpolate(s, env) {
        Ok(v) => *s = v,
        Err(var) => problems.push(format!(
            "{key}.{field}: environment variable {var} is not set"
        )),
    };
    if let Some(u) = c.rpc_url.as_mut() {
        fix("rpc_url", u);
    }
    for u in c.rpc_urls.iter_mut() {
        fix("rpc_urls", u);
    }
    if let Some(u) = c.archival_rpc_url.as_mut() {
        fix("archival_rpc_url", u);
    }
    c.resolved_header = match &c.rpc_header {
        None => None,
        Some(h) => {
            let value = match (&h.value, &h.value_env) {
                (_, Some(var)) => match env(var) {
                    Some(v) => Some(v),
                    None => {
                        problems.push(format!(
                            "{key}.rpc_header.value_env: environment variable {var} is not set"
                        ));
                        None
                    }
                },
                (Some(v), None) => Some(v.clone()),
                (None, None) => {
                    problems.push(format!("{key}.rpc_header: needs value_env (or value)"));
                    None
                }
            };
            value.map(|value| RpcHeader {
                name: h.name.clone(),
                value,
            })
        }
    };
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
                for f in c
                    .signer_key_file
                    .iter_mut()
                    .chain(c.signer_key_files.iter_mut())
                {
                    if f.is_relative() {
                        *f = base.join(&*f);
                    }
                }
            }
            if cfg.relayer.database.is_relative() {
                cfg.relayer.database = base.join(&cfg.relayer.database);
            }
        }
        let mut problems = Vec::new();
        for (key, c) in [("chain_a", &mut cfg.chain_a), ("chain_b", &mut cfg.chain_b)] {
            resolve_secrets(key, c, env, &mut problems);
        }
        if let Some(u) = cfg.relayer.database_url.as_mut() {
            match interpolate(&u.0, env) {
                Ok(v) => u.0 = v,
                Err(var) => problems.push(format!(
                    "relayer.database_url: environment variable {var} is not set"
                )),
            }
        }
        if !problems.is_empty() {
            return Err(ConfigError::Invalid(problems));
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
            let urls = c.rpc_urls_all();
            if urls.is_empty() {
                p.push(format!(
                    "{key}.rpc_urls: at least one RPC URL (rpc_url or rpc_urls)"
                ));
            }
            let mut check_url = |field: &str, url: &str| match reqwest::Url::parse(url) {
                Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
                Ok(_) => p.push(format!(
                    "{key}.{field}: `{}` must be an http(s) URL",
                    redact_url(url)
                )),
                Err(e) => p.push(format!(
                    "{key}.{field}: `{}` is not a URL ({e})",
                    redact_url(url)
                )),
            };
            for u in &urls {
                check_url(
                    if c.rpc_urls.contains(u) {
                        "rpc_urls"
                    } else {
                        "rpc_url"
                    },
                    u,
                );
            }
            if let Some(u) = &c.archival_rpc_url {
                check_url("archival_rpc_url", u);
            }
            if let Some(h) = &c.resolved_header {
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
            if c.key_files().iter().any(|f| f.as_os_str().is_empty()) {
                p.push(format!("{key}.signer_key_files: a path must not be empty"));
            }
            match (&c.signer_keys_env, &c.signer_account) {
                (Some(_), None) => p.push(format!(
                    "{key}.signer_keys_env: needs signer_account (whose keys the variable holds)"
                )),
                (_, Some(a)) => check_account(&mut p, &format!("{key}.signer_account"), a),
                _ => {}
            }
            if c.key_files().is_empty() && c.signer_keys_env.is_none() {
                p.push(format!(
                    "{key}.signer_key_files: the relayer needs at least one key (key files or signer_keys_env)"
                ));
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
        if let Some(u) = &r.database_url {
            if let Err(e) = crate::queue::DatabaseUrl::parse(&u.0) {
                // The reason only: the URL may hold a password.
                p.push(format!("relayer.database_url: {e}"));
            }
        }
        if !(3..=600).contains(&r.role_lease_s) {
            p.push("relayer.role_lease_s: 3 to 600".into());
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
        if let Err(e) = r.temporary_retry.validate() {
            p.push(format!("relayer.temporary_retry: {e}"));
        }
        if let Some(id) = &r.instance_id {
            if id.trim().is_empty() || id.len() > 128 {
                p.push("relayer.instance_id: 1-128 characters".into());
            }
        }
        if r.lease_s < 5 {
            p.push("relayer.lease_s: at least 5".into());
        }
        if r.rpc_max_reply_mb == 0 {
            p.push("relayer.rpc_max_reply_mb: at least 1".into());
        }
        if !(1..=1024).contains(&r.max_deliveries_in_flight) {
            p.push("relayer.max_deliveries_in_flight: 1..=1024".into());
        }
        if !(1..=1024).contains(&r.delivery_batch) {
            p.push("relayer.delivery_batch: 1..=1024".into());
        }
        if !(1..=xsc_interfaces::MAX_FORWARD_BATCH).contains(&r.messages_per_transaction) {
            p.push(format!(
                "relayer.messages_per_transaction: 1..={}",
                xsc_interfaces::MAX_FORWARD_BATCH
            ));
        }
        if r.gap_check_interval_s == 0 {
            p.push("relayer.gap_check_interval_s: at least 1".into());
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
            urls: chain.rpc_urls_all(),
            archival_url: chain.archival_rpc_url.clone(),
            header: chain.resolved_header.clone(),
            timeout: Duration::from_millis(chain.rpc_timeout_ms),
            retry: self.relayer.rpc_retry.clone(),
            max_reply_bytes: (self.relayer.rpc_max_reply_mb as usize).saturating_mul(1 << 20),
            expect_chain_id: Some(chain.chain_id.clone()),
        }
    }

    /// This instance's name in the queue: `relayer.instance_id`, else the host name.
    pub fn instance_id(&self) -> String {
        if let Some(id) = &self.relayer.instance_id {
            return id.clone();
        }
        let host = std::env::var("HOSTNAME")
            .ok()
            .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
            .map(|h| h.trim().to_string())
            .filter(|h| !h.is_empty());
        host.unwrap_or_else(|| "xsc-relayer".into())
    }

    /// The queue's database: PostgreSQL when `database_url` is set, else the SQLite file.
    pub fn database(&self) -> crate::queue::Database {
        match self
            .relayer
            .database_url
            .as_ref()
            .and_then(|u| crate::queue::DatabaseUrl::parse(&u.0).ok())
        {
            Some(u) => crate::queue::Database::Postgres(u),
            None => crate::queue::Database::Sqlite(self.relayer.database.clone()),
        }
    }

    pub fn role_lease(&self) -> Duration {
        Duration::from_secs(self.relayer.role_lease_s)
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
