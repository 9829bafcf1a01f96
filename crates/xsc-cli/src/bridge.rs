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
        svc.run_until_signal().await;
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
}

/// `xsc status`: pending and failed messages, light client heads.
pub fn status(args: &StatusArgs) -> Result<u8> {
    let cfg = load(&args.config)?;
    let report = runtime()?.block_on(xsc_bridge::status::report(&cfg, args.limit));
    print!("{}", report.map_err(|e| anyhow!(e))?);
    Ok(0)
}

#[derive(ClapArgs, Debug)]
pub struct DeployArgs {
    /// Network id of chain A (also its name in the relayer configuration).
    #[arg(long)]
    pub a_name: String,
    #[arg(long)]
    pub a_rpc: String,
    /// near-cli key file of chain A's deployer (parent of every account, admin, relayer).
    #[arg(long)]
    pub a_key: PathBuf,
    /// Expected `status.chain_id` of chain A (default: asked from the RPC).
    #[arg(long)]
    pub a_chain_id: Option<String>,
    /// RPC header of chain A, `Name: value` (e.g. a Calimero shard's auth header).
    #[arg(long)]
    pub a_header: Option<String>,
    #[arg(long)]
    pub b_name: String,
    #[arg(long)]
    pub b_rpc: String,
    #[arg(long)]
    pub b_key: PathBuf,
    #[arg(long)]
    pub b_chain_id: Option<String>,
    #[arg(long)]
    pub b_header: Option<String>,
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
    /// Where to write the relayer configuration.
    #[arg(long, default_value = "xsc-relayer.toml")]
    pub out: PathBuf,
    /// Queue database named in the written configuration.
    #[arg(long, default_value = "xsc-relayer.db")]
    pub database: PathBuf,
}

fn parse_header(h: &Option<String>) -> Result<Option<(String, String)>> {
    match h {
        None => Ok(None),
        Some(h) => {
            let (n, v) = h
                .split_once(':')
                .with_context(|| format!("header `{h}`: expected `Name: value`"))?;
            Ok(Some((n.trim().to_string(), v.trim().to_string())))
        }
    }
}

/// `xsc deploy`: deploy and initialise both chains (builds nothing) and write the relayer
/// configuration.
pub fn deploy(args: &DeployArgs) -> Result<u8> {
    let headers = [parse_header(&args.a_header)?, parse_header(&args.b_header)?];
    runtime()?.block_on(async {
        let mut targets = Vec::new();
        let sides = [
            (
                &args.a_name,
                &args.a_rpc,
                &args.a_key,
                &args.a_chain_id,
                &args.a_parent,
            ),
            (
                &args.b_name,
                &args.b_rpc,
                &args.b_key,
                &args.b_chain_id,
                &args.b_parent,
            ),
        ];
        for (i, (name, url, key, chain_id, parent)) in sides.into_iter().enumerate() {
            let mut rc = RpcClientConfig::new(url.clone());
            rc.header = headers[i]
                .clone()
                .map(|(name, value)| RpcHeader { name, value });
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
            max_stored_blocks: None,
        };
        let deployed =
            deploy::deploy_pair(&targets[0], &targets[1], &opts, &|l| println!("{l}")).await?;
        let h = |i: usize| headers[i].as_ref().map(|(n, v)| (n.as_str(), v.as_str()));
        let toml = deploy::relayer_config_toml(
            &deployed,
            [
                ChainAccess {
                    rpc_url: &args.a_rpc,
                    rpc_header: h(0),
                    key_file: &args.a_key,
                },
                ChainAccess {
                    rpc_url: &args.b_rpc,
                    rpc_header: h(1),
                    key_file: &args.b_key,
                },
            ],
            &args.database,
            "127.0.0.1:9464",
        );
        std::fs::write(&args.out, toml)?;
        println!(
            "relayer configuration written to {}; run: xsc relay --config {}",
            args.out.display(),
            args.out.display()
        );
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
