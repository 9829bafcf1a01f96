//! `verify_and_forward`'s deposit in a real sandbox: when the receiver's `on_proven_outcome`
//! fails (no such account, a panic, out of gas) the relayer gets its deposit back, exactly; when
//! it succeeds the receiver keeps it, and a receiver that keeps it and returns a failing
//! promise gets no second refund out of the light client's own balance. Balances are checked to
//! the yoctoNEAR. A zero deposit attaches no callback.
//!
//! `#[ignore]`d like every sandbox test: `scripts/test.sh` runs them when a sandbox binary is
//! found; run without one they fail.

use anyhow::{ensure, Context, Result};
use near_workspaces::AccountId;
use serde_json::json;
use xsc_tests::fixtures::proof_init;
use xsc_tests::light_client::LightClientContract;
use xsc_tests::outcome::{ensure_ok as ok, events, failure, receipt_failed_on, tokens_burnt};
use xsc_tests::receivers;
use xsc_tests::sandbox::{balance, settled, test_env, TestEnv};
use xsc_vectors::{manifest, Verdict};

const DEPOSIT: u128 = 3_000_000_000_000_000_000_000_000; // 3 NEAR

/// A light client trusting the root of a real proof, and that proof.
async fn setup(
    env: &TestEnv,
) -> Result<(
    LightClientContract,
    xsc_core::LightClientExecutionProof,
    u64,
)> {
    let case = manifest()
        .outcome_proofs
        .into_iter()
        .find(|c| {
            c.expect == Verdict::Valid && !xsc_vectors::proof(&c.proof).block_proof.is_empty()
        })
        .context("a valid proof")?;
    let proof = xsc_vectors::proof(&case.proof);
    let (init, height) = proof_init(&proof, case.root, None)?;
    let lc = LightClientContract::deploy_by(&env.worker, &init, Some(&env.admin)).await?;
    Ok((lc, proof, height))
}

struct Case {
    what: &'static str,
    receiver: AccountId,
    refunded: bool,
}

#[tokio::test]
#[ignore = "needs a neard sandbox binary (scripts/test.sh runs these when one is found)"]
async fn a_forwarded_deposit_returns_to_the_relayer_exactly_when_the_receivers_call_fails(
) -> Result<()> {
    let env = test_env().await?;
    let (lc, proof, height) = setup(&env).await?;
    let w = &env.worker;
    let missing: AccountId = format!("nobody-{}.test.near", std::process::id()).parse()?;
    let cases = vec![
        Case {
            what: "receiver missing",
            receiver: missing,
            refunded: true,
        },
        Case {
            what: "receiver panics",
            receiver: receivers::deploy(w, receivers::PANICS).await?.id().clone(),
            refunded: true,
        },
        Case {
            what: "receiver runs out of gas",
            receiver: receivers::deploy(w, receivers::BURNS_ALL_GAS)
                .await?
                .id()
                .clone(),
            refunded: true,
        },
        Case {
            what: "receiver keeps it",
            receiver: receivers::deploy(w, receivers::KEEPS).await?.id().clone(),
            refunded: false,
        },
        Case {
            what: "receiver keeps it and returns a failing promise",
            receiver: receivers::deploy(w, receivers::KEEPS_AND_RETURNS_A_FAILING_PROMISE)
                .await?
                .id()
                .clone(),
            refunded: false,
        },
    ];
    for c in cases {
        let relayer_before = balance(w, env.relayer.id()).await?;
        let lc_before = balance(w, lc.id()).await?;
        let receiver_before = if c.refunded {
            0
        } else {
            balance(w, &c.receiver).await?
        };
        let r = lc
            .verify_and_forward_tx(&env.relayer, &proof, height, &c.receiver, b"m", DEPOSIT)
            .await?;
        settled(&env.worker, &r).await?;
        // The transaction itself succeeds (the light client's part did); the receiver's
        // receipt fails or not.
        ensure!(
            receipt_failed_on(&r, c.receiver.as_str()) == c.refunded,
            "{}: receiver receipt failed = {}",
            c.what,
            !c.refunded
        );
        let relayer_after = balance(w, env.relayer.id()).await?;
        let expected = relayer_before - tokens_burnt(&r) - if c.refunded { 0 } else { DEPOSIT };
        ensure!(
            relayer_after == expected,
            "{}: relayer {relayer_before} -> {relayer_after}, expected {expected} (gas {})",
            c.what,
            tokens_burnt(&r)
        );
        let refunded_event = events(&r).iter().any(|e| e["event"] == "forward_refunded");
        ensure!(
            refunded_event == c.refunded,
            "{}: forward_refunded event {refunded_event}",
            c.what
        );
        // The light client never pays out of its own balance (it only earns gas rewards).
        let lc_after = balance(w, lc.id()).await?;
        ensure!(
            lc_after >= lc_before,
            "{}: light client {lc_before} -> {lc_after}",
            c.what
        );
        ensure!(
            lc_after - lc_before < DEPOSIT / 1000,
            "{}: light client kept {}",
            c.what,
            lc_after - lc_before
        );
        if !c.refunded {
            let receiver_after = balance(w, &c.receiver).await?;
            ensure!(
                receiver_after >= receiver_before + DEPOSIT,
                "{}: receiver {receiver_before} -> {receiver_after}",
                c.what
            );
        }
        println!("{}: ok (gas {} yocto)", c.what, tokens_burnt(&r));
    }
    Ok(())
}

#[tokio::test]
#[ignore = "needs a neard sandbox binary (scripts/test.sh runs these when one is found)"]
async fn a_zero_deposit_forward_attaches_no_callback() -> Result<()> {
    let env = test_env().await?;
    let (lc, proof, height) = setup(&env).await?;
    let receiver = receivers::deploy(&env.worker, receivers::PANICS).await?;
    let r = lc
        .verify_and_forward_tx(&env.relayer, &proof, height, receiver.id(), b"", 0)
        .await?;
    settled(&env.worker, &r).await?;
    ensure!(receipt_failed_on(&r, receiver.id().as_str()));
    let on_lc = r
        .receipt_outcomes()
        .iter()
        .filter(|o| o.executor_id == *lc.id() && o.gas_burnt.as_gas() > 0)
        .count();
    ensure!(
        on_lc == 1,
        "{on_lc} light client receipts: only verify_and_forward, no callback"
    );
    Ok(())
}

#[tokio::test]
#[ignore = "needs a neard sandbox binary (scripts/test.sh runs these when one is found)"]
async fn nobody_else_can_call_the_refund_callback() -> Result<()> {
    let env = test_env().await?;
    let (lc, _, _) = setup(&env).await?;
    let mallory = env.worker.dev_create_account().await?;
    let before = balance(&env.worker, lc.id()).await?;
    let r = lc
        .call_json(
            &mallory,
            "on_forward_settled",
            json!({"sender_id": mallory.id(), "amount": "1000000000000000000000000"}),
        )
        .await?;
    let f = failure(&r).context("an outsider called on_forward_settled")?;
    ensure!(f.contains("is private"), "{f}");
    ensure!(balance(&env.worker, lc.id()).await? >= before);
    Ok(())
}

#[tokio::test]
#[ignore = "needs a neard sandbox binary (scripts/test.sh runs these when one is found)"]
async fn a_successful_forward_still_delivers_the_proven_outcome() -> Result<()> {
    let env = test_env().await?;
    let (lc, proof, height) = setup(&env).await?;
    let receiver = receivers::deploy(&env.worker, receivers::KEEPS).await?;
    let r = lc
        .verify_and_forward_tx(&env.relayer, &proof, height, receiver.id(), b"x", 0)
        .await?;
    settled(&env.worker, &r).await?;
    ok(&r, "forward")?;
    ensure!(!receipt_failed_on(&r, receiver.id().as_str()));
    // A bad proof forwards nothing and keeps nothing.
    let mut bad = proof.clone();
    bad.outcome_proof.outcome.logs.push("x".into());
    let before = balance(&env.worker, env.relayer.id()).await?;
    let r = lc
        .verify_and_forward_tx(&env.relayer, &bad, height, receiver.id(), b"x", DEPOSIT)
        .await?;
    settled(&env.worker, &r).await?;
    ensure!(failure(&r).is_some_and(|f| f.contains("ERR_")));
    ensure!(balance(&env.worker, env.relayer.id()).await? == before - tokens_burnt(&r));
    Ok(())
}
