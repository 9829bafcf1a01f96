//! The service commands of the `xsc` binary without any chain: `xsc relay` starts while both
//! chains are unreachable, answers `/health` and `/ready` (not ready, with the reason), refuses
//! to share its queue with a second process and refuses key files others may read;
//! `xsc status` (text and JSON) shows dead letters and never an RPC URL's secret; `xsc retry`
//! and `xsc requeue` put dead letters back.

use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};
use xsc_bridge::queue::{EventKey, EventState, MessageStore, NewEvent, SqliteStore};

fn xsc(args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_xsc"));
    c.args(args);
    for (k, v) in envs {
        c.env(k, v);
    }
    c.output().expect("run xsc")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn key_file(dir: &Path, name: &str, account: &str, mode: u32) -> PathBuf {
    let secret = near_crypto::SecretKey::from_seed(near_crypto::KeyType::ED25519, name);
    let p = dir.join(format!("{name}.json"));
    std::fs::write(
        &p,
        json!({"account_id": account, "public_key": secret.public_key().to_string(),
               "private_key": secret.to_string()})
        .to_string(),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    p
}

/// A configuration whose RPC endpoints refuse connections (a closed port), with the API key
/// of one URL in the environment.
fn config(dir: &Path, metrics_port: u16, key_mode: u32) -> PathBuf {
    let closed = free_port();
    let ka = [
        key_file(dir, "a-relay", "relayer.a.near", key_mode),
        key_file(dir, "a-deliver", "relayer.a.near", 0o600),
    ];
    let kb = [
        key_file(dir, "b-relay", "relayer.b.near", 0o600),
        key_file(dir, "b-deliver", "relayer.b.near", 0o600),
    ];
    let toml = format!(
        r#"
[chain_a]
name = "a"
chain_id = "net-a"
rpc_urls = ["http://127.0.0.1:{closed}/v1/?apiKey=${{XSC_TEST_API_KEY}}"]
light_client = "lc.a.near"
connector = "connector.a.near"
signer_key_files = ["{}", "{}"]
start_height = 5

[chain_b]
name = "b"
chain_id = "net-b"
rpc_urls = ["http://127.0.0.1:{closed}"]
rpc_timeout_ms = 500
light_client = "lc.b.near"
connector = "connector.b.near"
signer_key_files = ["{}", "{}"]

[relayer]
database = "queue.db"
metrics_listen = "127.0.0.1:{metrics_port}"
log_format = "compact"

[relayer.rpc_retry]
max_retries = 0
"#,
        ka[0].display(),
        ka[1].display(),
        kb[0].display(),
        kb[1].display()
    );
    let p = dir.join("relayer.toml");
    std::fs::write(&p, toml).unwrap();
    p
}

const SECRET: &str = "s3cret-api-key";

fn relay(cfg: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_xsc"))
        .args(["relay", "--config", cfg.to_str().unwrap()])
        .env("XSC_TEST_API_KEY", SECRET)
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

async fn get(url: &str) -> Option<(u16, String)> {
    let r = reqwest::get(url).await.ok()?;
    let status = r.status().as_u16();
    Some((status, r.text().await.ok()?))
}

async fn wait_for(url: &str, pred: impl Fn(u16, &str) -> bool) -> (u16, String) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some((s, body)) = get(url).await {
            if pred(s, &body) {
                return (s, body);
            }
        }
        assert!(
            Instant::now() < deadline,
            "{url} never answered as expected"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn relay_runs_while_both_chains_are_down_and_owns_its_queue() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let cfg = config(dir.path(), port, 0o600);
    let mut first = relay(&cfg);
    let base = format!("http://127.0.0.1:{port}");
    // Alive and telling why it is not ready.
    let (s, _) = wait_for(&format!("{base}/health"), |s, _| s == 200).await;
    assert_eq!(s, 200);
    let (s, body) = wait_for(&format!("{base}/ready"), |s, b| {
        s == 503 && b.contains("\"reachable\": false")
    })
    .await;
    assert_eq!(s, 503);
    let ready: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(ready["ready"], json!(false));
    assert!(ready["chains"]["a"]["error"].is_string(), "{body}");
    let (_, metrics) = wait_for(&format!("{base}/metrics"), |s, _| s == 200).await;
    assert!(metrics.contains("xsc_rpc_errors_total"), "{metrics}");
    assert!(
        metrics.contains(r#"xsc_chain_reachable{chain="a"} 0"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"xsc_key_lanes{chain="a",role="relay"} 1"#),
        "{metrics}"
    );
    assert!(!metrics.contains(SECRET));

    // A second process on the same queue refuses to run.
    let second = xsc(
        &["relay", "--config", cfg.to_str().unwrap()],
        &[
            ("XSC_TEST_API_KEY", SECRET),
            ("XSC_RELAYER_METRICS_LISTEN", ""),
        ],
    );
    assert!(!second.status.success());
    let err = text(&second.stderr);
    assert!(err.contains("another relayer process uses"), "{err}");

    // Killed (SIGKILL: no cleanup), its lock dies with it: a new process starts.
    first.kill().unwrap();
    let out = first.wait_with_output().unwrap();
    let logs = text(&out.stderr);
    assert!(!logs.contains(SECRET), "a secret in the logs");
    assert!(
        logs.contains("127.0.0.1"),
        "endpoints are named by host: {logs}"
    );
    let mut again = relay(&cfg);
    wait_for(&format!("{base}/health"), |s, _| s == 200).await;
    again.kill().unwrap();
    let _ = again.wait();
}

#[test]
fn a_key_file_others_can_read_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), free_port(), 0o644);
    let out = xsc(
        &["relay", "--config", cfg.to_str().unwrap()],
        &[("XSC_TEST_API_KEY", SECRET)],
    );
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("chmod 600") && err.contains("a-relay.json"),
        "{err}"
    );
    assert!(!err.contains("ed25519:"), "{err}");
}

fn event(n: u8, dest: &str) -> NewEvent {
    NewEvent {
        key: EventKey {
            source_chain: if dest == "b" { "a".into() } else { "b".into() },
            outcome_id: xsc_core::CryptoHash([n; 32]),
            event_index: 0,
        },
        dest_chain: dest.into(),
        kind: "cross_call".into(),
        block_height: 100 + n as u64,
        nsn: Some(n as u64),
        source_time: None,
        payload: json!({"nsn": n, "receipt_id": xsc_core::CryptoHash([n; 32]).to_string(),
                        "receiver_id": "connector.a.near", "executed_in": "h", "signer": "user.a.near"}),
    }
}

#[tokio::test]
async fn status_lists_dead_letters_without_secrets_and_retry_requeue_put_them_back() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), free_port(), 0o600);
    let db = dir.path().join("queue.db");
    let ids = {
        let s = SqliteStore::open(&db).unwrap();
        s.insert_events(&[event(1, "b"), event(2, "b"), event(3, "a")])
            .await
            .unwrap();
        let claimed = s
            .claim_due("b", "test", 10, Duration::from_secs(60))
            .await
            .unwrap();
        for e in &claimed {
            s.mark_failed(&e.claim().unwrap(), "ERR_WRONG_EXECUTOR: not a message")
                .await
                .unwrap();
        }
        claimed.iter().map(|e| e.id).collect::<Vec<_>>()
    };
    let env = [("XSC_TEST_API_KEY", SECRET)];
    let c = cfg.to_str().unwrap();
    let out = xsc(&["status", "--config", c, "--json"], &env);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(!stdout.contains(SECRET), "{stdout}");
    let v: Value = serde_json::from_str(&stdout).unwrap();
    let dead: Vec<i64> = v["dead_letters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_i64().unwrap())
        .collect();
    assert_eq!(dead, ids);
    assert_eq!(
        v["dead_letters"][0]["last_error"],
        "ERR_WRONG_EXECUTOR: not a message"
    );
    assert_eq!(
        v["chains"][0]["endpoints"][0]
            .as_str()
            .unwrap()
            .split(':')
            .count(),
        3
    );
    assert!(v["chains"][0]["rpc_error"].is_string(), "{stdout}");
    assert_eq!(v["chains"][1]["queue"]["failed"], 2);
    assert_eq!(v["chains"][0]["queue"]["pending"], 1);
    let out = xsc(&["status", "--config", c], &env);
    let t = text(&out.stdout);
    assert!(
        t.contains("dead letters (failed;") && t.contains("ERR_WRONG_EXECUTOR"),
        "{t}"
    );
    assert!(!t.contains(SECRET));

    let out = xsc(
        &["status", "--config", c, "--message", &ids[0].to_string()],
        &env,
    );
    let t = text(&out.stdout);
    assert!(
        t.contains("source: receipt") && t.contains("signer user.a.near"),
        "{t}"
    );

    let out = xsc(&["retry", "--config", c, &ids[0].to_string()], &env);
    assert!(out.status.success(), "{}", text(&out.stderr));
    // Only a dead letter can be retried.
    let out = xsc(&["retry", "--config", c, &ids[0].to_string()], &env);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("cannot go from pending"),
        "{}",
        text(&out.stderr)
    );
    let out = xsc(&["requeue", "--config", c, "--dest", "b"], &env);
    assert!(
        text(&out.stdout).starts_with("1 failed message(s)"),
        "{}",
        text(&out.stdout)
    );
    let s = SqliteStore::open(&db).unwrap();
    for id in ids {
        let e = s.get(id).await.unwrap().unwrap();
        assert_eq!((e.state, e.attempts), (EventState::Pending, 0));
    }
    let out = xsc(&["requeue", "--config", c, "--dest", "nowhere"], &env);
    assert!(!out.status.success());
}
