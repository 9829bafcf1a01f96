use super::*;
use std::collections::HashMap;

fn example_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/example.toml")
}

fn example_text() -> String {
    std::fs::read_to_string(example_path()).unwrap()
}

fn with_env(text: &str, vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Config::from_toml_with_env(text, "test.toml", None, &|k| map.get(k).cloned())
}

fn invalid(e: ConfigError) -> Vec<String> {
    match e {
        ConfigError::Invalid(v) => v,
        other => panic!("expected validation errors, got {other}"),
    }
}

#[test]
fn the_example_file_is_valid() {
    let path = example_path();
    let cfg = Config::from_toml_with_env(&example_text(), "example.toml", path.parent(), &|_| None)
        .unwrap();
    assert_eq!(cfg.chain_a.name, "near");
    assert_eq!(cfg.chain_b.chain_id, "calimero-shard");
    assert!(cfg.relayer.lean_mode);
    assert_eq!(cfg.lc_gas(), 300_000_000_000_000);
    assert_eq!(cfg.poll_interval(), Duration::from_secs(1));
    assert_eq!(cfg.metrics_addr(), Some("127.0.0.1:9464".parse().unwrap()));
    assert!(cfg.metrics_addr().unwrap().ip().is_loopback());
    assert_eq!(
        cfg.relayer.rpc_retry.initial_backoff,
        Duration::from_millis(250)
    );
    // Relative paths resolve against the file's directory.
    let keys = cfg.chain_a.key_files();
    assert_eq!(keys.len(), 3);
    assert!(keys.iter().all(|k| k.starts_with(path.parent().unwrap())));
    assert_eq!(cfg.chain_a.start_height, Some(1));
    assert_eq!(cfg.chain_b.start_height, None);
    assert_eq!(cfg.relayer.retention_days, 30);
    assert_eq!(cfg.relayer.lease_s, 60);
    assert_eq!(cfg.relayer.messages_per_transaction, 4);
    assert_eq!(RelayerConfig::default().messages_per_transaction, 4);
    assert_eq!(
        cfg.relayer.temporary_retry.max_backoff,
        Duration::from_secs(30)
    );
    assert!(cfg.relayer.database.ends_with("xsc-relayer.db") && cfg.relayer.database.is_absolute());
    assert_eq!(cfg.other(&cfg.chain_a).name, "calimero");
    let rpc = cfg.rpc_client_config(&cfg.chain_b);
    assert_eq!(rpc.urls, vec!["http://127.0.0.1:3031".to_string()]);
    assert_eq!(rpc.timeout, Duration::from_secs(20));
    assert_eq!(rpc.expect_chain_id.as_deref(), Some("calimero-shard"));
    assert_eq!(rpc.max_reply_bytes, 64 << 20);
    let rpc = cfg.rpc_client_config(&cfg.chain_a);
    assert_eq!(rpc.urls.len(), 2, "failover endpoints");
}

#[test]
fn environment_overrides_the_file() {
    let cfg = with_env(
        &example_text(),
        &[
            ("XSC_CHAIN_A_RPC_URL", "https://rpc.testnet.near.org"),
            ("XSC_CHAIN_B_RPC_HEADER_NAME", "x-api-key"),
            ("XSC_CHAIN_B_RPC_HEADER_VALUE", "s3cret"),
            ("XSC_RELAYER_LEAN_MODE", "false"),
            ("XSC_RELAYER_POLL_INTERVAL_MS", "250"),
            ("XSC_RELAYER_LOG_FORMAT", "json"),
            ("XSC_RELAYER_RPC_MAX_RETRIES", "9"),
            ("XSC_RELAYER_MESSAGES_PER_TRANSACTION", "1"),
        ],
    )
    .unwrap();
    assert_eq!(cfg.relayer.messages_per_transaction, 1);
    // A single URL from the environment goes first, before the file's list.
    assert_eq!(
        cfg.chain_a.rpc_urls_all()[0],
        "https://rpc.testnet.near.org"
    );
    assert_eq!(cfg.chain_a.rpc_urls_all().len(), 3);
    let h = cfg.chain_b.header().unwrap();
    assert_eq!((h.name.as_str(), h.value.as_str()), ("x-api-key", "s3cret"));
    assert!(!cfg.relayer.lean_mode);
    assert_eq!(cfg.relayer.poll_interval_ms, 250);
    assert_eq!(cfg.relayer.log_format, LogFormat::Json);
    assert_eq!(cfg.relayer.rpc_retry.max_retries, 9);
    // The header's value never shows in Debug output.
    assert!(!format!("{cfg:?}").contains("s3cret"));
}

#[test]
fn a_configuration_can_come_from_the_environment_alone() {
    let mut vars = Vec::new();
    for (c, port) in [("A", 3030), ("B", 3031)] {
        let low = c.to_lowercase();
        vars.push((format!("XSC_CHAIN_{c}_NAME"), format!("chain-{low}")));
        vars.push((format!("XSC_CHAIN_{c}_CHAIN_ID"), format!("net-{low}")));
        vars.push((
            format!("XSC_CHAIN_{c}_RPC_URLS"),
            format!("http://127.0.0.1:{port}, http://127.0.0.1:{}", port + 100),
        ));
        vars.push((
            format!("XSC_CHAIN_{c}_LIGHT_CLIENT"),
            format!("lc.{low}.test.near"),
        ));
        vars.push((
            format!("XSC_CHAIN_{c}_CONNECTOR"),
            format!("connector.{low}.test.near"),
        ));
        vars.push((
            format!("XSC_CHAIN_{c}_SIGNER_KEY_FILE"),
            format!("/keys/{low}.json"),
        ));
    }
    let refs: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let cfg = with_env("", &refs).unwrap();
    assert_eq!(cfg.chain_b.name, "chain-b");
    assert_eq!(
        cfg.chain_b.rpc_urls_all(),
        vec![
            "http://127.0.0.1:3031".to_string(),
            "http://127.0.0.1:3131".to_string()
        ]
    );
    // Defaults.
    assert_eq!(cfg.relayer.poll_interval_ms, 1000);
    assert_eq!(cfg.relayer.metrics_listen, "127.0.0.1:9464");
    assert_eq!(cfg.relayer.max_delivery_attempts, 10);
    assert_eq!(cfg.relayer.log_format, LogFormat::Pretty);
}

#[test]
fn bad_override_values_are_named() {
    let errs = invalid(
        with_env(
            &example_text(),
            &[
                ("XSC_RELAYER_POLL_INTERVAL_MS", "soon"),
                ("XSC_RELAYER_LEAN_MODE", "maybe"),
            ],
        )
        .unwrap_err(),
    );
    assert!(
        errs.iter()
            .any(|e| e.contains("XSC_RELAYER_POLL_INTERVAL_MS") && e.contains("integer")),
        "{errs:?}"
    );
    assert!(
        errs.iter().any(|e| e.contains("XSC_RELAYER_LEAN_MODE")),
        "{errs:?}"
    );
}

#[test]
fn validation_reports_every_problem() {
    let errs = invalid(
        with_env(
            &example_text(),
            &[
                ("XSC_CHAIN_B_CHAIN_ID", "localnet-a"),
                ("XSC_CHAIN_A_RPC_URLS", "localhost:3030"),
                ("XSC_CHAIN_B_LIGHT_CLIENT", "Not An Account"),
                ("XSC_CHAIN_A_NAME", "Chain A"),
                ("XSC_RELAYER_METRICS_LISTEN", "everywhere"),
                ("XSC_RELAYER_LC_GAS_TGAS", "5000"),
                ("XSC_RELAYER_LOG_LEVEL", "info,[[["),
                ("XSC_CHAIN_B_RPC_HEADER_NAME", "bad header"),
                ("XSC_CHAIN_B_RPC_HEADER_VALUE", "v"),
                ("XSC_RELAYER_MESSAGES_PER_TRANSACTION", "33"),
            ],
        )
        .unwrap_err(),
    );
    let expect = [
        "chain_ids are both",
        "chain_a.rpc_urls",
        "chain_b.light_client",
        "chain_a.name",
        "relayer.metrics_listen",
        "relayer.lc_gas_tgas",
        "relayer.log_level",
        "chain_b.rpc_header.name",
        "relayer.messages_per_transaction: 1..=32",
    ];
    for want in expect {
        let want = want.replace("chain_ids are both", "chain_b.chain_id are both");
        assert!(
            errs.iter().any(|e| e.contains(&want)),
            "missing `{want}` in {errs:?}"
        );
    }
    assert_eq!(errs.len(), expect.len(), "{errs:?}");
}

#[test]
fn unknown_and_missing_keys_are_syntax_errors() {
    let e = with_env(&format!("{}\n[extra]\nx = 1\n", example_text()), &[]).unwrap_err();
    assert!(
        matches!(&e, ConfigError::Syntax { detail, .. } if detail.contains("extra")),
        "{e}"
    );
    let e = with_env(
        &example_text().replace("connector = \"connector.a.test.near\"", ""),
        &[],
    )
    .unwrap_err();
    assert!(e.to_string().contains("connector"), "{e}");
    let e = with_env("chain_a = [", &[]).unwrap_err();
    assert!(matches!(e, ConfigError::Syntax { .. }));
    let e = Config::load(Some(Path::new("/nonexistent/xsc.toml"))).unwrap_err();
    assert!(matches!(e, ConfigError::Io { .. }));
}

#[test]
fn metrics_can_be_disabled() {
    let cfg = with_env(&example_text(), &[("XSC_RELAYER_METRICS_LISTEN", "")]).unwrap();
    assert_eq!(cfg.metrics_addr(), None);
}

#[test]
fn secrets_come_from_the_environment_and_are_never_printed() {
    let text = example_text()
        .replace(
            r#"rpc_urls = ["http://127.0.0.1:3031"]"#,
            r#"rpc_urls = ["https://rpc.provider.example/v1/${PROVIDER_KEY}?apiKey=${PROVIDER_KEY}"]
archival_rpc_url = "https://archive.example/${PROVIDER_KEY}""#,
        )
        .replace(
            "# [chain_b.rpc_header]\n# name = \"x-api-key\"\n# value_env = \"CALIMERO_API_KEY\"",
            "[chain_b.rpc_header]\nname = \"x-api-key\"\nvalue_env = \"CALIMERO_API_KEY\"",
        );
    assert!(
        text.contains("value_env = \"CALIMERO_API_KEY\"\n"),
        "{text}"
    );
    let cfg = with_env(
        &text,
        &[
            ("PROVIDER_KEY", "k3y-s3cret"),
            ("CALIMERO_API_KEY", "h3ader-s3cret"),
        ],
    )
    .unwrap();
    let rc = cfg.rpc_client_config(&cfg.chain_b);
    assert_eq!(
        rc.urls[0],
        "https://rpc.provider.example/v1/k3y-s3cret?apiKey=k3y-s3cret"
    );
    assert_eq!(
        rc.archival_url.as_deref(),
        Some("https://archive.example/k3y-s3cret")
    );
    assert_eq!(rc.header.as_ref().unwrap().value, "h3ader-s3cret");
    for shown in [
        format!("{cfg:?}"),
        format!("{rc:?}"),
        cfg.chain_b.rpc_urls_shown().join(" "),
    ] {
        assert!(!shown.contains("s3cret"), "{shown}");
    }
    assert_eq!(
        cfg.chain_b.rpc_urls_shown(),
        vec!["https://rpc.provider.example/…".to_string()]
    );
    // A variable that is not set is named (never a value).
    let errs = invalid(with_env(&text, &[("PROVIDER_KEY", "x")]).unwrap_err());
    assert!(
        errs.iter()
            .any(|e| e.contains("CALIMERO_API_KEY") && e.contains("not set")),
        "{errs:?}"
    );
    let errs = invalid(with_env(&text, &[("CALIMERO_API_KEY", "x")]).unwrap_err());
    assert!(errs.iter().any(|e| e.contains("PROVIDER_KEY")), "{errs:?}");
}

#[test]
fn keys_are_required_and_env_keys_need_their_account() {
    let no_keys = example_text().replace(
        r#"signer_key_files = ["keys/calimero/relay0.json", "keys/calimero/delivery1.json"]"#,
        "",
    );
    let errs = invalid(with_env(&no_keys, &[]).unwrap_err());
    assert!(
        errs.iter().any(|e| e.contains("chain_b.signer_key_files")),
        "{errs:?}"
    );
    let env_keys = no_keys.replace(
        r#"connector = "connector.b.test.near""#,
        "connector = \"connector.b.test.near\"\nsigner_keys_env = \"B_KEYS\"",
    );
    let errs = invalid(with_env(&env_keys, &[]).unwrap_err());
    assert!(
        errs.iter().any(|e| e.contains("signer_account")),
        "{errs:?}"
    );
    let cfg = with_env(
        &env_keys,
        &[("XSC_CHAIN_B_SIGNER_ACCOUNT", "relayer.b.test.near")],
    )
    .unwrap();
    assert_eq!(
        cfg.chain_b.signer_account.as_deref(),
        Some("relayer.b.test.near")
    );
}

#[test]
fn the_instance_id_defaults_to_the_host() {
    let cfg = with_env(&example_text(), &[]).unwrap();
    assert!(!cfg.instance_id().is_empty());
    let cfg = with_env(&example_text(), &[("XSC_RELAYER_INSTANCE_ID", "relayer-7")]).unwrap();
    assert_eq!(cfg.instance_id(), "relayer-7");
}
