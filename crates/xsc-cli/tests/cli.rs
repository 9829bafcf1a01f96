//! The `xsc` binary on the real network vectors of `shared/vectors` (and cases derived from them):
//! verdict lines, printed hashes and ids, exit statuses.

use serde_json::{json, Value};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use tempfile::TempDir;
use xsc_vectors::{manifest, ChainCase, Verdict};

/// Exit statuses of the CLI.
const OK: i32 = 0;
const REJECTED: i32 = 1;
const USAGE: i32 = 2;

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn lines(&self) -> Vec<&str> {
        self.stdout.lines().collect()
    }
}

fn xsc<I, S>(args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: Into<OsString>,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let out = Command::new(env!("CARGO_BIN_EXE_xsc"))
        .args(&args)
        .output()
        .expect("run xsc");
    let run = Run {
        code: out.status.code().expect("xsc exited by a signal"),
        stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(out.stderr).expect("stderr is UTF-8"),
    };
    assert!(
        !run.stderr.contains("panicked"),
        "xsc panicked on {args:?}: {}",
        run.stderr
    );
    run
}

fn vec_path(rel: &str) -> OsString {
    xsc_vectors::path(rel).into_os_string()
}

/// `verify-blocks` arguments for `head`, optional `bps` and `blocks`.
fn verify_blocks_args(head: &Path, bps: Option<&Path>, blocks: &[PathBuf]) -> Vec<OsString> {
    let mut args: Vec<OsString> = vec!["verify-blocks".into(), "--head".into(), head.into()];
    if let Some(bps) = bps {
        args.push("--bps".into());
        args.push(bps.into());
    }
    args.extend(blocks.iter().map(|b| b.clone().into_os_string()));
    args
}

fn chain_args(case: &ChainCase) -> Vec<OsString> {
    let blocks: Vec<PathBuf> = case
        .steps
        .iter()
        .map(|s| xsc_vectors::path(&s.block))
        .collect();
    let bps = case.bps.as_deref().map(xsc_vectors::path);
    verify_blocks_args(
        &xsc_vectors::path(&case.trusted_head),
        bps.as_deref(),
        &blocks,
    )
}

/// A verdict line of `verify-blocks`: (height, verdict, rest).
fn block_line(line: &str) -> (&str, &str, &str) {
    let mut parts = line.splitn(3, ' ');
    let height = parts.next().unwrap_or_default();
    let verdict = parts.next().unwrap_or_default();
    let rest = parts.next().unwrap_or_default();
    (height, verdict, rest)
}

fn assert_reject_with(line: &str, height: &str, code: &str) {
    let (h, verdict, reason) = block_line(line);
    assert_eq!((h, verdict), (height, "reject"), "line {line:?}");
    assert!(
        reason.starts_with(&format!("{code}: ")),
        "expected {code} in {line:?}"
    );
}

fn assert_accept(line: &str, height: u64, hash: &str) {
    assert_eq!(line, format!("{height} accept {hash}"));
}

fn write_json(dir: &TempDir, name: &str, v: &Value) -> PathBuf {
    let p = dir.path().join(name);
    std::fs::write(&p, serde_json::to_vec_pretty(v).unwrap()).unwrap();
    p
}

fn envelope(result: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": "dontcare", "result": result})
}

/// A real head reduced to a `LightClientBlockLiteView` (what a proof's `block_header_lite` is).
fn lite(head: &Value) -> Value {
    let mut v = head.clone();
    let m = v.as_object_mut().unwrap();
    for k in ["next_bps", "approvals_after_next", "next_block_inner_hash"] {
        assert!(m.remove(k).is_some(), "real head has {k}");
    }
    v
}

/// Change one byte of the base58 hash at `v[path]`.
fn flip_hash_byte(v: &mut Value, path: &[&str]) {
    let field = path.iter().fold(v, |v, k| &mut v[*k]);
    let mut bytes = bs58::decode(field.as_str().unwrap()).into_vec().unwrap();
    assert_eq!(bytes.len(), 32);
    bytes[7] ^= 0x01;
    *field = Value::String(bs58::encode(bytes).into_string());
}

fn step_hash(case: &ChainCase, i: usize) -> String {
    case.steps[i].block_hash.to_string()
}

// ---- 1. every chain of the manifest --------------------------------------------------------------

#[test]
fn verify_blocks_gives_every_manifest_verdict_and_hash_with_matching_exit_status() {
    let m = manifest();
    assert!(m.light_client_chains.len() >= 5);
    let mut steps = 0;
    for case in &m.light_client_chains {
        let run = xsc(chain_args(case));
        let lines = run.lines();
        assert_eq!(
            lines.len(),
            case.steps.len(),
            "{}: one line per block\n{}{}",
            case.name,
            run.stdout,
            run.stderr
        );
        for (line, step) in lines.iter().zip(&case.steps) {
            let (height, verdict, rest) = block_line(line);
            assert_eq!(height, step.height.to_string(), "{}: {line}", case.name);
            match step.expect {
                Verdict::Accept => {
                    assert_eq!(verdict, "accept", "{}: {line}", case.name);
                    assert_eq!(rest, step.block_hash.to_string(), "{}: {line}", case.name);
                }
                Verdict::Reject => {
                    assert_eq!(verdict, "reject", "{}: {line}", case.name);
                    assert!(rest.starts_with("ERR_"), "{}: {line}", case.name);
                }
                v => panic!("unexpected verdict {v:?} for a block"),
            }
            steps += 1;
        }
        let all_accept = case.steps.iter().all(|s| s.expect == Verdict::Accept);
        let expected = if all_accept { OK } else { REJECTED };
        assert_eq!(run.code, expected, "{}: exit status", case.name);
    }
    assert!(steps >= 30, "only {steps} steps ran");
}

// ---- 2. every proof of the manifest --------------------------------------------------------------

#[test]
fn verify_proof_gives_every_manifest_verdict_and_prints_outcome_id_and_executor() {
    let m = manifest();
    assert!(m.outcome_proofs.len() >= 10);
    for case in &m.outcome_proofs {
        let run = xsc([
            OsString::from("verify-proof"),
            "--root".into(),
            case.root.to_string().into(),
            vec_path(&case.proof),
        ]);
        match case.expect {
            Verdict::Valid => {
                let proof = xsc_vectors::proof(&case.proof);
                let expected = format!(
                    "valid {} {}\n",
                    proof.outcome_proof.id, proof.outcome_proof.outcome.executor_id
                );
                assert_eq!(run.stdout, expected, "{}: {}", case.proof, run.stderr);
                assert_eq!(run.code, OK, "{}", case.proof);
            }
            Verdict::Invalid => {
                assert!(
                    run.stdout.starts_with("invalid ERR_") && run.lines().len() == 1,
                    "{}: {}",
                    case.proof,
                    run.stdout
                );
                assert_eq!(run.code, REJECTED, "{}", case.proof);
            }
            v => panic!("unexpected verdict {v:?} for a proof"),
        }
    }
}

// ---- 3. JSON-RPC envelopes -----------------------------------------------------------------------

#[test]
fn verify_blocks_accepts_json_rpc_envelopes_for_head_bps_and_blocks() {
    let case = xsc_vectors::chain("testnet-93M-shared-keys");
    let dir = tempfile::tempdir().unwrap();
    let head = write_json(
        &dir,
        "head.json",
        &envelope(xsc_vectors::read_json(&case.trusted_head)),
    );
    let bps = write_json(
        &dir,
        "bps.json",
        &envelope(xsc_vectors::read_json(case.bps.as_deref().unwrap())),
    );
    let block = write_json(
        &dir,
        "block.json",
        &envelope(xsc_vectors::read_json(&case.steps[0].block)),
    );
    let run = xsc(verify_blocks_args(&head, Some(&bps), &[block]));
    assert_eq!(run.code, OK, "{}{}", run.stdout, run.stderr);
    assert_eq!(run.lines().len(), 1);
    assert_accept(run.lines()[0], case.steps[0].height, &step_hash(&case, 0));
}

#[test]
fn verify_proof_accepts_a_json_rpc_envelope() {
    let case = &manifest().outcome_proofs[0];
    assert_eq!(case.expect, Verdict::Valid);
    let dir = tempfile::tempdir().unwrap();
    let proof = write_json(
        &dir,
        "proof.json",
        &envelope(xsc_vectors::read_json(&case.proof)),
    );
    let run = xsc([
        OsString::from("verify-proof"),
        "--root".into(),
        case.root.to_string().into(),
        proof.into(),
    ]);
    assert_eq!(run.code, OK, "{}{}", run.stdout, run.stderr);
    let p = xsc_vectors::proof(&case.proof);
    assert_eq!(
        run.stdout,
        format!(
            "valid {} {}\n",
            p.outcome_proof.id, p.outcome_proof.outcome.executor_id
        )
    );
}

#[test]
fn json_rpc_error_envelope_is_reported_for_block_proof_and_head() {
    let case = xsc_vectors::chain("testnet-105M");
    let dir = tempfile::tempdir().unwrap();
    let error = json!({
        "jsonrpc": "2.0",
        "id": "dontcare",
        "error": {"code": -32000, "message": "Server error", "data": "DB Not Found Error: BLOCK HEIGHT"}
    });
    let err_file = write_json(&dir, "error.json", &error);

    // A block: rejected as invalid input quoting the RPC error; the next block is still applied.
    let run = xsc(verify_blocks_args(
        &xsc_vectors::path(&case.trusted_head),
        None,
        &[err_file.clone(), xsc_vectors::path(&case.steps[0].block)],
    ));
    assert_eq!(run.code, REJECTED, "{}{}", run.stdout, run.stderr);
    let lines = run.lines();
    assert_eq!(lines.len(), 2, "{}", run.stdout);
    assert_reject_with(lines[0], "?", "ERR_INVALID_INPUT");
    assert!(lines[0].contains("JSON-RPC error") && lines[0].contains("DB Not Found"));
    assert_accept(lines[1], case.steps[0].height, &step_hash(&case, 0));

    // A proof: invalid input.
    let run = xsc([
        OsString::from("verify-proof"),
        "--root".into(),
        manifest().outcome_proofs[0].root.to_string().into(),
        err_file.clone().into(),
    ]);
    assert_eq!(run.code, REJECTED);
    assert!(
        run.stdout
            .starts_with("invalid ERR_INVALID_INPUT: JSON-RPC error"),
        "{}",
        run.stdout
    );

    // The head: nothing can be verified.
    let run = xsc(verify_blocks_args(
        &err_file,
        None,
        &[xsc_vectors::path(&case.steps[0].block)],
    ));
    assert_eq!(run.code, USAGE);
    assert!(run.stdout.is_empty());
    assert!(run.stderr.contains("JSON-RPC error"), "{}", run.stderr);
}

// ---- 4. Lite heads with --bps --------------------------------------------------------------------

#[test]
fn lite_head_with_bps_of_the_heads_own_epoch_accepts_the_block() {
    // testnet-93M-shared-keys: the block is in the head's epoch and the bps file lists its producers.
    let case = xsc_vectors::chain("testnet-93M-shared-keys");
    let head = xsc_vectors::read_json(&case.trusted_head);
    let block = xsc_vectors::block(&case.steps[0].block);
    assert_eq!(
        head["inner_lite"]["epoch_id"].as_str().unwrap(),
        block.inner_lite.epoch_id.to_string(),
        "the vector's block is in the head's epoch"
    );
    let dir = tempfile::tempdir().unwrap();
    let lite_head = write_json(&dir, "lite-head.json", &lite(&head));
    let bps = xsc_vectors::path(case.bps.as_deref().unwrap());
    let run = xsc(verify_blocks_args(
        &lite_head,
        Some(&bps),
        &[xsc_vectors::path(&case.steps[0].block)],
    ));
    assert_eq!(run.code, OK, "{}{}", run.stdout, run.stderr);
    assert_eq!(run.lines().len(), 1);
    assert_accept(run.lines()[0], case.steps[0].height, &step_hash(&case, 0));
}

#[test]
fn lite_head_with_bps_of_the_next_epoch_accepts_the_whole_chain() {
    // testnet-105M: the first block starts the head's next epoch; --bps is the head's next_bps,
    // checked against the Lite head's next_bp_hash.
    let case = xsc_vectors::chain("testnet-105M");
    let head = xsc_vectors::read_json(&case.trusted_head);
    let first = xsc_vectors::block(&case.steps[0].block);
    assert_eq!(
        head["inner_lite"]["next_epoch_id"].as_str().unwrap(),
        first.inner_lite.epoch_id.to_string(),
        "the first block is in the head's next epoch"
    );
    let dir = tempfile::tempdir().unwrap();
    let lite_head = write_json(&dir, "lite-head.json", &lite(&head));
    let bps = write_json(&dir, "next-bps.json", &head["next_bps"]);
    let blocks: Vec<PathBuf> = case
        .steps
        .iter()
        .map(|s| xsc_vectors::path(&s.block))
        .collect();
    let run = xsc(verify_blocks_args(&lite_head, Some(&bps), &blocks));
    assert_eq!(run.code, OK, "{}{}", run.stdout, run.stderr);
    assert_eq!(run.lines().len(), case.steps.len());
    for (i, (line, step)) in run.lines().iter().zip(&case.steps).enumerate() {
        assert_accept(line, step.height, &step_hash(&case, i));
    }
}

#[test]
fn lite_head_without_bps_is_a_usage_error() {
    let case = xsc_vectors::chain("testnet-105M");
    let dir = tempfile::tempdir().unwrap();
    let lite_head = write_json(
        &dir,
        "lite-head.json",
        &lite(&xsc_vectors::read_json(&case.trusted_head)),
    );
    let run = xsc(verify_blocks_args(
        &lite_head,
        None,
        &[xsc_vectors::path(&case.steps[0].block)],
    ));
    assert_eq!(run.code, USAGE, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.is_empty());
    assert!(run.stderr.contains("ERR_INVALID_INPUT"), "{}", run.stderr);
}

#[test]
fn next_epoch_bps_not_matching_the_heads_next_bp_hash_is_a_usage_error() {
    // Producers of another network's epoch given for testnet-105M's next epoch.
    let case = xsc_vectors::chain("testnet-105M");
    let other = xsc_vectors::chain("testnet-93M-shared-keys");
    let run = xsc(verify_blocks_args(
        &xsc_vectors::path(&case.trusted_head),
        Some(&xsc_vectors::path(other.bps.as_deref().unwrap())),
        &[xsc_vectors::path(&case.steps[0].block)],
    ));
    assert_eq!(run.code, USAGE, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.is_empty());
    assert!(
        run.stderr.contains("ERR_NEXT_BPS_HASH_MISMATCH"),
        "{}",
        run.stderr
    );
}

// ---- 5. negative cases ---------------------------------------------------------------------------

#[test]
fn block_with_one_hash_byte_changed_is_rejected_and_the_next_block_still_applies() {
    let case = xsc_vectors::chain("testnet-105M");
    let original = xsc_vectors::read_json(&case.steps[0].block);
    let dir = tempfile::tempdir().unwrap();
    let fields: [&[&str]; 8] = [
        &["prev_block_hash"],
        &["next_block_inner_hash"],
        &["inner_rest_hash"],
        &["inner_lite", "epoch_id"],
        &["inner_lite", "prev_state_root"],
        &["inner_lite", "outcome_root"],
        &["inner_lite", "next_bp_hash"],
        &["inner_lite", "block_merkle_root"],
    ];
    for field in fields {
        let mut tampered = original.clone();
        flip_hash_byte(&mut tampered, field);
        let bad = write_json(&dir, &format!("{}.json", field.join("-")), &tampered);
        // The tampered block, then the real one and its successor: the head did not move.
        let run = xsc(verify_blocks_args(
            &xsc_vectors::path(&case.trusted_head),
            None,
            &[
                bad,
                xsc_vectors::path(&case.steps[0].block),
                xsc_vectors::path(&case.steps[1].block),
            ],
        ));
        assert_eq!(
            run.code, REJECTED,
            "{field:?}: {}{}",
            run.stdout, run.stderr
        );
        let lines = run.lines();
        assert_eq!(lines.len(), 3, "{field:?}: {}", run.stdout);
        let (height, verdict, reason) = block_line(lines[0]);
        assert_eq!(height, case.steps[0].height.to_string(), "{field:?}");
        assert_eq!(verdict, "reject", "{field:?}: {}", lines[0]);
        assert!(reason.starts_with("ERR_"), "{field:?}: {}", lines[0]);
        assert_accept(lines[1], case.steps[0].height, &step_hash(&case, 0));
        assert_accept(lines[2], case.steps[1].height, &step_hash(&case, 1));
    }
}

#[test]
fn tampered_next_bp_hash_and_approval_are_rejected_with_their_error_codes() {
    let case = xsc_vectors::chain("testnet-105M");
    let original = xsc_vectors::read_json(&case.steps[0].block);
    let dir = tempfile::tempdir().unwrap();

    let mut bad_bp_hash = original.clone();
    flip_hash_byte(&mut bad_bp_hash, &["inner_lite", "next_bp_hash"]);
    let bad_bp_hash = write_json(&dir, "bp-hash.json", &bad_bp_hash);

    let mut bad_root = original.clone();
    flip_hash_byte(&mut bad_root, &["inner_lite", "block_merkle_root"]);
    let bad_root = write_json(&dir, "root.json", &bad_root);

    let run = xsc(verify_blocks_args(
        &xsc_vectors::path(&case.trusted_head),
        None,
        &[bad_bp_hash, bad_root],
    ));
    assert_eq!(run.code, REJECTED);
    let lines = run.lines();
    let height = case.steps[0].height.to_string();
    assert_reject_with(lines[0], &height, "ERR_NEXT_BPS_HASH_MISMATCH");
    // The approvals sign the real block hash: the first checked signature fails.
    assert_reject_with(lines[1], &height, "ERR_INVALID_SIGNATURE");
}

#[test]
fn unparseable_blocks_are_rejected_as_invalid_input_and_the_next_block_still_applies() {
    let case = xsc_vectors::chain("testnet-105M");
    let original = xsc_vectors::read_json(&case.steps[0].block);
    let dir = tempfile::tempdir().unwrap();

    // A signature of 63 bytes.
    let mut short_sig = original.clone();
    let approval = short_sig["approvals_after_next"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|a| !a.is_null())
        .unwrap();
    *approval = Value::String(format!("ed25519:{}", bs58::encode([7u8; 63]).into_string()));
    let short_sig = write_json(&dir, "short-sig.json", &short_sig);

    // A non-ed25519 producer key in next_bps.
    let mut bad_key = original.clone();
    bad_key["next_bps"][0]["public_key"] = json!("bls:3Mbtg8A6Ws7ptiTCKhZKaf5QFRKyLrwP4mJ");
    let bad_key = write_json(&dir, "bad-key.json", &bad_key);

    // Not JSON at all: no height to print.
    let garbage = dir.path().join("garbage.json");
    std::fs::write(&garbage, "{ not json").unwrap();

    let run = xsc(verify_blocks_args(
        &xsc_vectors::path(&case.trusted_head),
        None,
        &[
            short_sig,
            bad_key,
            garbage,
            xsc_vectors::path(&case.steps[0].block),
        ],
    ));
    assert_eq!(run.code, REJECTED, "{}{}", run.stdout, run.stderr);
    let lines = run.lines();
    assert_eq!(lines.len(), 4, "{}", run.stdout);
    let height = case.steps[0].height.to_string();
    assert_reject_with(lines[0], &height, "ERR_INVALID_INPUT");
    assert!(
        lines[0].contains("expected 64 bytes, got 63"),
        "{}",
        lines[0]
    );
    assert_reject_with(lines[1], &height, "ERR_INVALID_INPUT");
    assert!(lines[1].contains("unknown key type"), "{}", lines[1]);
    assert_reject_with(lines[2], "?", "ERR_INVALID_INPUT");
    assert_accept(lines[3], case.steps[0].height, &step_hash(&case, 0));
}

#[test]
fn proof_against_a_wrong_root_is_invalid_block_root_mismatch() {
    let m = manifest();
    let valid: Vec<_> = m
        .outcome_proofs
        .iter()
        .filter(|p| p.expect == Verdict::Valid)
        .collect();
    // Each valid proof against the next one's root.
    for (case, other) in valid.iter().zip(valid.iter().cycle().skip(1)) {
        assert_ne!(case.root, other.root);
        let run = xsc([
            OsString::from("verify-proof"),
            "--root".into(),
            other.root.to_string().into(),
            vec_path(&case.proof),
        ]);
        assert_eq!(run.code, REJECTED, "{}", case.proof);
        assert!(
            run.stdout.starts_with("invalid ERR_BLOCK_ROOT_MISMATCH: "),
            "{}: {}",
            case.proof,
            run.stdout
        );
    }
}

#[test]
fn unparseable_proof_is_invalid_input_without_panicking() {
    let case = &manifest().outcome_proofs[0];
    let dir = tempfile::tempdir().unwrap();
    let mut proof = xsc_vectors::read_json(&case.proof);
    proof["outcome_proof"]["id"] = json!("not-base58-0OIl");
    let bad = write_json(&dir, "bad-id.json", &proof);
    let garbage = dir.path().join("garbage.json");
    std::fs::write(&garbage, "").unwrap();
    for file in [bad, garbage] {
        let run = xsc([
            OsString::from("verify-proof"),
            "--root".into(),
            case.root.to_string().into(),
            file.clone().into(),
        ]);
        assert_eq!(run.code, REJECTED, "{}", file.display());
        assert!(
            run.stdout.starts_with("invalid ERR_INVALID_INPUT: ") && run.lines().len() == 1,
            "{}",
            run.stdout
        );
    }
}

#[test]
fn bad_root_argument_is_a_usage_error() {
    let case = &manifest().outcome_proofs[0];
    for root in [
        "not-base58-0OIl",
        "3MPAfhcDdADXGzvHyPHcaeN6xBZonbDQn1VXsBJHUJs",
        "",
    ] {
        let run = xsc([
            OsString::from("verify-proof"),
            "--root".into(),
            root.into(),
            vec_path(&case.proof),
        ]);
        assert_eq!(run.code, USAGE, "root {root:?}");
        assert!(run.stdout.is_empty());
        assert!(run.stderr.contains("--root"), "{}", run.stderr);
    }
}

#[test]
fn unreadable_head_bps_or_files_are_usage_errors() {
    let case = xsc_vectors::chain("testnet-93M-shared-keys");
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.json");
    let not_json = dir.path().join("not-json.json");
    std::fs::write(&not_json, "[1, 2").unwrap();
    let head = xsc_vectors::path(&case.trusted_head);
    let bps = xsc_vectors::path(case.bps.as_deref().unwrap());
    let block = xsc_vectors::path(&case.steps[0].block);
    // A proof given as the head does not decode as one.
    let proof_as_head = xsc_vectors::path(&manifest().outcome_proofs[0].proof);

    let cases: Vec<(&str, Vec<OsString>)> = vec![
        (
            "missing head",
            verify_blocks_args(&missing, None, std::slice::from_ref(&block)),
        ),
        (
            "head not JSON",
            verify_blocks_args(&not_json, None, std::slice::from_ref(&block)),
        ),
        (
            "head not a block",
            verify_blocks_args(&proof_as_head, Some(&bps), std::slice::from_ref(&block)),
        ),
        (
            "missing bps",
            verify_blocks_args(&head, Some(&missing), std::slice::from_ref(&block)),
        ),
        (
            "bps not JSON",
            verify_blocks_args(&head, Some(&not_json), std::slice::from_ref(&block)),
        ),
        (
            "missing block file",
            verify_blocks_args(&head, Some(&bps), &[block.clone(), missing.clone()]),
        ),
        (
            "missing proof file",
            vec![
                "verify-proof".into(),
                "--root".into(),
                manifest().outcome_proofs[0].root.to_string().into(),
                missing.clone().into(),
            ],
        ),
    ];
    for (what, args) in cases {
        let run = xsc(args);
        assert_eq!(run.code, USAGE, "{what}: {}{}", run.stdout, run.stderr);
        assert!(run.stdout.is_empty(), "{what}: {}", run.stdout);
        assert!(
            run.stderr.starts_with("xsc: error: "),
            "{what}: {}",
            run.stderr
        );
    }
}

#[test]
fn missing_arguments_are_usage_errors() {
    let head = vec_path(&xsc_vectors::chain("testnet-105M").trusted_head);
    for args in [
        vec![],
        vec![OsString::from("verify-blocks")],
        vec!["verify-blocks".into(), "--head".into(), head],
        vec!["verify-proof".into(), "x.json".into()],
        vec!["no-such-command".into()],
    ] {
        let run = xsc(args.clone());
        assert_eq!(run.code, USAGE, "{args:?}");
        assert!(run.stdout.is_empty(), "{args:?}: {}", run.stdout);
    }
}
