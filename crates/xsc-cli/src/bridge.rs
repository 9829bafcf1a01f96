//! `xsc relay`, `xsc status`, `xsc deploy`, `xsc demo`: thin wrappers over `xsc_bridge`.

use anyhow::{anyhow, bail, Context, Result};
use clap::Args as ClapArgs;
use std::path::PathBuf;
use std::sync::Arc;
use xsc_bridge::config::Config;
use xsc_bridge::deploy::{self, Accounts, ChainAccess, ChainTarget, DeployOptions, NEAR};
use xsc_bridge::rpc::{RpcClient, RpcClientConfig, RpcHeader};
use xsc_bridge::signer::TxSigner;
use xsc_bridge::tx::{TxOptions, TxSender};

fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

#[derive(ClapArgs, Debug)]
pub struct ConfigArgs {
    /// Relayer configuration (TOML; `XSC_*` environment variables override it).
    #[arg(long)]
    pub config: Option<PathBuf>,
}

fn load(args: &ConfigArgs) -> Result<Config> {
    Ok(Config::load(args.config.as_deref())?)
}

/// `xsc relay`: run the bridge service (both directions) until SIGINT/SIGTERM.
pub fn relay(args: &ConfigArgs) -> Result<u8> {
    let cfg = load(args)?;
    xsc_bridge::logging::init(cfg.relayer.log_format, &cfg.relayer.log_level)
        .map_err(|e| anyhow!(e))?;
    runtime()?.block_on(async {
        let svc = xsc_bridge::service::Service::start(
            &cfg,
            xsc_bridge::service::ServiceOptions::default(),
        )
        .await?;
        if !svc.run_until_signal().await {
            anyhow::bail!("stopped: this instance's registration in the queue was taken by another process with the same relayer.instance_id");
        }
        Ok::<_, anyhow::Error>(())
    })?;
    Ok(0)
}

#[derive(ClapArgs, Debug)]
pub struct StatusArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Most messages listed per state.
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
    /// JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// One message end to end: its source receipt, its delivery transaction, its response.
    #[arg(long, value_name = "ID")]
    pub message: Option<i64>,
}

/// `xsc status`: the queue, dead letters, chains and light client heads; or one message.
pub fn status(args: &StatusArgs) -> Result<u8> {
    let cfg = load(&args.config)?;
    let rt = runtime()?;
    if let Some(id) = args.message {
        let trace = rt
            .block_on(xsc_bridge::status::message(&cfg, id))
            .map_err(|e| anyhow!(e))?;
        if args.json {
            println!("{}", serde_json::to_string_pretty(&trace)?);
        } else {
            print!("{}", trace.text());
        }
        return Ok(0);
    }
    let report = rt
        .block_on(xsc_bridge::status::report(&cfg, args.limit))
        .map_err(|e| anyhow!(e))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.text());
    }
    Ok(0)
}

#[derive(ClapArgs, Debug)]
pub struct RequeueArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Only messages to this chain (its configured name).
    #[arg(long)]
    pub dest: Option<String>,
}

/// `xsc requeue`: every dead letter back into the queue, with a fresh attempt budget.
pub fn requeue(args: &RequeueArgs) -> Result<u8> {
    let cfg = load(&args.config)?;
    if let Some(d) = &args.dest {
        if cfg.chains().iter().all(|c| &c.name != d) {
            bail!("--dest {d}: not a chain of this configuration");
        }
    }
    let n = runtime()?
        .block_on(xsc_bridge::status::requeue(&cfg, args.dest.as_deref()))
        .map_err(|e| anyhow!(e))?;
    println!("{n} failed message(s) queued again");
    Ok(0)
}

#[derive(ClapArgs, Debug)]
pub struct RetryArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// The message's id (as `xsc status` lists it).
    pub id: i64,
}

/// `xsc retry <id>`: one dead letter back into the queue.
pub fn retry(args: &RetryArgs) -> Result<u8> {
    let cfg = load(&args.config)?;
    runtime()?
        .block_on(xsc_bridge::status::retry(&cfg, args.id))
        .map_err(|e| anyhow!(e))?;
    println!("message #{} queued again", args.id);
    Ok(0)
}

#[derive(ClapArgs, Debug)]
pub struct DeployArgs {
    /// Network id of chain A (also its name in the relayer configuration).
    #[arg(long)]
    pub a_name: String,
    /// RPC URL of chain A (repeat for failover endpoints). A URL holding an API key (user
    /// info or a query string) is refused here: pass it with --a-rpc-env.
    #[arg(long)]
    pub a_rpc: Vec<String>,
    /// Environment variable holding an RPC URL of chain A (repeatable); the configuration
    /// refers to it as `${VAR}`.
    #[arg(long, value_name = "VAR")]
    pub a_rpc_env: Vec<String>,
    /// near-cli key file of chain A's deployer (parent of every account, admin of the
    /// contracts; not the relayer).
    #[arg(long)]
    pub a_key: PathBuf,
    /// Expected `status.chain_id` of chain A (default: asked from the RPC).
    #[arg(long)]
    pub a_chain_id: Option<String>,
    /// Name of an RPC header of chain A (e.g. a Calimero shard's `x-api-key`) ...
    #[arg(long)]
    pub a_header_name: Option<String>,
    /// ... and the environment variable holding its value (never written anywhere).
    #[arg(long, value_name = "VAR")]
    pub a_header_env: Option<String>,
    #[arg(long)]
    pub b_name: String,
    #[arg(long)]
    pub b_rpc: Vec<String>,
    #[arg(long, value_name = "VAR")]
    pub b_rpc_env: Vec<String>,
    #[arg(long)]
    pub b_key: PathBuf,
    #[arg(long)]
    pub b_chain_id: Option<String>,
    #[arg(long)]
    pub b_header_name: Option<String>,
    #[arg(long, value_name = "VAR")]
    pub b_header_env: Option<String>,
    /// Parent account of the deployed accounts on A (default: the key file's account).
    #[arg(long)]
    pub a_parent: Option<String>,
    #[arg(long)]
    pub b_parent: Option<String>,
    /// Directory of the wasm artifacts.
    #[arg(long, default_value = "res")]
    pub res: PathBuf,
    /// Also deploy the demo dapps.
    #[arg(long)]
    pub demo: bool,
    /// NEAR given to the light client and the connector accounts.
    #[arg(long, default_value_t = 10)]
    pub contract_near: u128,
    /// NEAR given to each demo dapp account.
    #[arg(long, default_value_t = 5)]
    pub dapp_near: u128,
    /// The relayer account on each chain (`{parent}` is the deployer's account).
    #[arg(long, default_value = "relayer.{parent}")]
    pub relayer_account: String,
    /// NEAR given to each relayer account (gas for updates and deliveries).
    #[arg(long, default_value_t = 10)]
    pub relayer_near: u128,
    /// Delivery keys (nonce lanes) per relayer account, besides its light client update key.
    #[arg(long, default_value_t = 4)]
    pub relayer_keys: usize,
    /// Deliver through the connector's own methods instead of the light client's
    /// `verify_and_forward` (the relayer's delivery keys are made for the connector then).
    #[arg(long)]
    pub connector_delivery: bool,
    /// Also give each relayer account ONE full-access key, used only for deliveries that must
    /// attach a deposit (xCall messages, while the connector requires one). Off by default.
    #[arg(long)]
    pub relayer_deposit_key: bool,
    /// Where the relayer's key files go (`<dir>/<chain name>/*.json`, mode 600).
    #[arg(long, default_value = "xsc-keys")]
    pub keys_dir: PathBuf,
    /// Where to write the relayer configuration.
    #[arg(long, default_value = "xsc-relayer.toml")]
    pub out: PathBuf,
    /// Queue database named in the written configuration.
    #[arg(long, default_value = "xsc-relayer.db")]
    pub database: PathBuf,
    /// A PostgreSQL queue instead (`postgres://user:${VAR}@host/db`: a password only as
    /// `${VAR}`, read from the environment when the relayer starts). Needed for --instances > 1.
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,
    /// Relayer instances sharing the queue: each gets its own keys on both chains and its own
    /// configuration (`--out` for instance 1, `<out>-<k>.toml` for instance k).
    #[arg(long, default_value_t = 1)]
    pub instances: usize,
}

/// A database URL for the configuration: its password, if any, must be a `${VAR}` reference.
fn check_database_url(url: &str) -> Result<()> {
    let rest = url.split_once("://").map(|x| x.1).unwrap_or(url);
    if let Some((userinfo, _)) = rest.split_once('@') {
        if let Some((_, pw)) = userinfo.split_once(':') {
            if !(pw.starts_with("${") && pw.ends_with('}')) {
                bail!("--database-url: write the password as ${{VAR}} (an environment variable read when the relayer starts), never in the file");
            }
        }
    }
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        bail!("--database-url: a postgres:// URL");
    }
    Ok(())
}

/// Where instance `k`'s configuration goes: `out` for the first, `<out stem>-<k>.<ext>` after.
fn instance_out(out: &std::path::Path, k: usize) -> PathBuf {
    if k == 1 {
        return out.to_path_buf();
    }
    let stem = out
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("xsc-relayer");
    let ext = out.extension().and_then(|s| s.to_str()).unwrap_or("toml");
    out.with_file_name(format!("{stem}-{k}.{ext}"))
}

/// The RPC URLs to connect with now and to write into the configuration.
fn rpc_urls(side: &str, urls: &[String], envs: &[String]) -> Result<(Vec<String>, Vec<String>)> {
    let (mut connect, mut written) = (Vec::new(), Vec::new());
    for u in urls {
        if deploy::url_has_secret(u) {
            bail!(
                "--{side}-rpc {}: the URL carries user info or a query string (an API key?); export it and pass --{side}-rpc-env VAR instead, so it is never written to the configuration",
                xsc_bridge::rpc::redact_url(u)
            );
        }
        connect.push(u.clone());
        written.push(u.clone());
    }
    for var in envs {
        let u = std::env::var(var).with_context(|| format!("--{side}-rpc-env {var}: not set"))?;
        connect.push(u);
        written.push(format!("${{{var}}}"));
    }
    if connect.is_empty() {
        bail!("chain {side}: give --{side}-rpc URL or --{side}-rpc-env VAR");
    }
    Ok((connect, written))
}

fn header(
    side: &str,
    name: &Option<String>,
    env: &Option<String>,
) -> Result<Option<(String, String, String)>> {
    match (name, env) {
        (None, None) => Ok(None),
        (Some(n), Some(var)) => {
            let v = std::env::var(var)
                .with_context(|| format!("--{side}-header-env {var}: not set"))?;
            Ok(Some((n.clone(), var.clone(), v)))
        }
        _ => bail!("--{side}-header-name and --{side}-header-env go together"),
    }
}

/// `start_height` of each chain in an existing configuration at `path` (a re-run must not
/// move the indexer's start past messages already sent).
fn previous_start_heights(path: &std::path::Path) -> [Option<u64>; 2] {
    let Ok(text) = std::fs::read_to_string(path) else {
        return [None, None];
    };
    let Ok(v) = text.parse::<toml::Table>() else {
        return [None, None];
    };
    ["chain_a", "chain_b"].map(|c| {
        v.get(c)
            .and_then(|t| t.get("start_height"))
            .and_then(|h| h.as_integer())
            .map(|h| h as u64)
    })
}

/// `xsc deploy`: deploy and initialise both chains (builds nothing), create the relayer
/// accounts with function-call keys, and write the relayer configuration.
pub fn deploy(args: &DeployArgs) -> Result<u8> {
    let urls = [
        rpc_urls("a", &args.a_rpc, &args.a_rpc_env)?,
        rpc_urls("b", &args.b_rpc, &args.b_rpc_env)?,
    ];
    let headers = [
        header("a", &args.a_header_name, &args.a_header_env)?,
        header("b", &args.b_header_name, &args.b_header_env)?,
    ];
    let previous = previous_start_heights(&args.out);
    if args.instances == 0 {
        bail!("--instances: at least 1");
    }
    if let Some(u) = &args.database_url {
        check_database_url(u)?;
    } else if args.instances > 1 {
        bail!(
            "--instances {}: several instances share a PostgreSQL queue; give --database-url",
            args.instances
        );
    }
    runtime()?.block_on(async {
        let mut targets = Vec::new();
        let sides = [
            (&args.a_name, &args.a_key, &args.a_chain_id, &args.a_parent),
            (&args.b_name, &args.b_key, &args.b_chain_id, &args.b_parent),
        ];
        for (i, (name, key, chain_id, parent)) in sides.into_iter().enumerate() {
            let mut rc = RpcClientConfig::new(urls[i].0[0].clone());
            rc.urls = urls[i].0.clone();
            rc.header = headers[i]
                .clone()
                .map(|(name, _, value)| RpcHeader { name, value });
            let rpc = RpcClient::new(rc)?;
            let status = rpc.status().await?;
            let chain_id = chain_id.clone().unwrap_or(status.chain_id.clone());
            let signer = TxSigner::from_key_file(key)?;
            let parent = parent
                .clone()
                .unwrap_or_else(|| signer.account_id().to_string());
            let tx = Arc::new(TxSender::new(
                rpc.clone(),
                Arc::new(signer),
                TxOptions::default(),
            ));
            targets.push(ChainTarget {
                name: name.clone(),
                chain_id,
                rpc,
                tx,
                accounts: Accounts::under(&parent),
            });
        }
        let opts = DeployOptions {
            res_dir: args.res.clone(),
            demo: args.demo,
            contract_balance: args.contract_near * NEAR,
            dapp_balance: args.dapp_near * NEAR,
            executor_balance: NEAR,
            max_stored_blocks: None,
            relayer: Some(deploy::RelayerSetup {
                account: args.relayer_account.clone(),
                balance: args.relayer_near * NEAR,
                delivery_keys: args.relayer_keys,
                fast_path: !args.connector_delivery,
                deposit_key: args.relayer_deposit_key,
                keys_dir: args.keys_dir.clone(),
                instances: args.instances,
            }),
        };
        let deployed =
            deploy::deploy_pair(&targets[0], &targets[1], &opts, &|l| println!("{l}")).await?;
        let queue = match &args.database_url {
            Some(u) => deploy::QueueConfig::Postgres(u),
            None => deploy::QueueConfig::Sqlite(&args.database),
        };
        for k in 1..=args.instances {
            let access = [0, 1].map(|i| ChainAccess {
                rpc_urls: urls[i].1.clone(),
                rpc_header: headers[i]
                    .as_ref()
                    .map(|(n, var, _)| (n.as_str(), var.as_str())),
                key_files: vec![],
                start_height: previous[i].map(|p| p.min(deployed[i].deploy_height)),
            });
            let metrics = format!("127.0.0.1:{}", 9464 + k - 1);
            let mut toml = deploy::instance_config_toml(
                &deployed,
                access,
                &queue,
                &metrics,
                (args.instances > 1).then_some(k),
            );
            if args.connector_delivery {
                toml += "fast_path = false\n";
            }
            let out = instance_out(&args.out, k);
            std::fs::write(&out, toml)?;
            println!(
                "relayer configuration{} written to {} (no secret in it); run: xsc relay --config {}",
                if args.instances > 1 { format!(" of instance {k}") } else { String::new() },
                out.display(),
                out.display()
            );
        }
        Ok::<_, anyhow::Error>(())
    })?;
    Ok(0)
}

#[derive(ClapArgs, Debug)]
pub struct DemoArgs {
    /// Directory of the wasm artifacts (scripts/build.sh writes them).
    #[arg(long, default_value = "res")]
    pub res: PathBuf,
    /// Where the sandbox homes and the queue go (default: a fresh temporary directory).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Keep the directory afterwards.
    #[arg(long)]
    pub keep: bool,
    /// Show the service's logs (a `tracing` filter, e.g. `info`).
    #[arg(long)]
    pub log: Option<String>,
}

/// `xsc demo`: two local sandboxes, deployment, the service, both round trips.
pub fn demo(args: &DemoArgs) -> Result<u8> {
    let Some(bin) = xsc_devnet::localnet::find_neard() else {
        eprintln!("xsc demo: {}", xsc_devnet::localnet::MISSING_BIN);
        return Ok(1);
    };
    if !args.res.join("xsc_connector.wasm").is_file() {
        bail!(
            "{}/xsc_connector.wasm missing: build the contracts first (scripts/build.sh)",
            args.res.display()
        );
    }
    if let Some(filter) = &args.log {
        xsc_bridge::logging::init(xsc_bridge::logging::LogFormat::Compact, filter)
            .map_err(|e| anyhow!(e))?;
    }
    let dir = match &args.dir {
        Some(d) => d.clone(),
        None => std::env::temp_dir().join(format!("xsc-demo-{}", std::process::id())),
    };
    println!("xsc demo: neard {} in {}", bin.display(), dir.display());
    let out = |l: &str| println!("{l}");
    let result = runtime()?.block_on(async {
        let opts = xsc_devnet::demo::PairOptions {
            res_dir: args.res.clone(),
            ..Default::default()
        };
        let pair = xsc_devnet::demo::LocalPair::start(&bin, &dir, &opts, &out)
            .await
            .map_err(|e| anyhow!(e))?;
        let svc = pair
            .start_service(xsc_bridge::service::ServiceOptions {
                serve_metrics: false,
                ..Default::default()
            })
            .await
            .map_err(|e| anyhow!(e))?;
        println!(
            "bridge service running (both directions, queue {})",
            pair.config.relayer.database.display()
        );
        let r = xsc_devnet::demo::run_demo(&pair, &out).await;
        svc.shutdown(std::time::Duration::from_secs(30)).await;
        pair.stop().await;
        println!("service stopped, sandboxes stopped");
        r.map_err(|e| anyhow!(e))
    });
    if !args.keep {
        let _ = std::fs::remove_dir_all(&dir);
    }
    result?;
    println!("xsc demo: both round trips completed");
    Ok(0)
}

#[cfg(test)]
mod deploy_instances_tests {
    use super::*;

    #[test]
    fn a_database_url_is_written_only_with_its_password_as_a_reference() {
        assert!(check_database_url("postgres://xsc:${XSC_PG_PASSWORD}@db:5432/xsc").is_ok());
        assert!(check_database_url("postgres://xsc@db/xsc").is_ok());
        assert!(check_database_url("postgresql://db/xsc").is_ok());
        let e = check_database_url("postgres://xsc:hunter2@db/xsc").unwrap_err();
        assert!(!e.to_string().contains("hunter2"), "{e}");
        assert!(check_database_url("mysql://db/xsc").is_err());
    }

    #[test]
    fn instance_configurations_sit_beside_the_first() {
        let out = std::path::Path::new("/etc/xsc/xsc-relayer.toml");
        assert_eq!(instance_out(out, 1), out);
        assert_eq!(
            instance_out(out, 3),
            std::path::Path::new("/etc/xsc/xsc-relayer-3.toml")
        );
    }
}
