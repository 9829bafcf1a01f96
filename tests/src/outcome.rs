//! Reading transaction results: failure messages, logs, total gas.

use near_workspaces::result::ExecutionFinalResult;

/// Total gas burnt by the transaction and every receipt it produced.
pub fn gas_burnt(result: &ExecutionFinalResult) -> u64 {
    result.total_gas_burnt.as_gas()
}

/// The failure of a transaction as nearcore renders it (e.g. `Action #0: ExecutionError("Smart
/// contract panicked: ERR_…")`), or `None` if it succeeded.
pub fn failure(result: &ExecutionFinalResult) -> Option<String> {
    if result.is_success() {
        return None;
    }
    Some(match result.clone().into_result() {
        Err(failure) => failure.to_string(),
        Ok(_) => "failed without a failure status".to_string(),
    })
}

/// What a contract panicked with (`env::panic_str`), from a failure message.
pub fn panic_message(failure: &str) -> Option<&str> {
    const MARK: &str = "Smart contract panicked: ";
    let start = failure.find(MARK)? + MARK.len();
    let rest = &failure[start..];
    // The message ends where nearcore's Debug quoting of it does.
    let end = rest.find("\")").unwrap_or(rest.len());
    Some(&rest[..end])
}

/// A host function aborted the call (as opposed to the contract panicking on purpose).
pub fn is_host_error(failure: &str) -> bool {
    failure.contains("HostError")
}

/// The panic message of a failed transaction; an error if it succeeded or did not fail with a
/// contract panic starting with `code`.
pub fn expect_panic(result: &ExecutionFinalResult, code: &str) -> Result<String, String> {
    let Some(f) = failure(result) else {
        return Err(format!(
            "expected a failure with {code}, the call succeeded"
        ));
    };
    match panic_message(&f) {
        Some(m) if m.starts_with(code) => Ok(m.to_string()),
        _ => Err(format!("expected a contract panic with {code}, got: {f}")),
    }
}

/// All logs of the transaction and its receipts.
pub fn logs(result: &ExecutionFinalResult) -> Vec<String> {
    result.logs().into_iter().map(str::to_string).collect()
}

/// NEP-297 events (`EVENT_JSON:` logs) of the transaction, parsed.
pub fn events(result: &ExecutionFinalResult) -> Vec<serde_json::Value> {
    logs(result)
        .iter()
        .filter_map(|l| l.strip_prefix("EVENT_JSON:"))
        .filter_map(|j| serde_json::from_str(j).ok())
        .collect()
}

/// Gas in Tgas for printing.
pub fn tgas(gas: u64) -> f64 {
    gas as f64 / 1e12
}

/// Tokens burnt by the transaction and every receipt: what its signer paid for gas (unused gas
/// comes back through refund receipts, which burn nothing).
pub fn tokens_burnt(result: &ExecutionFinalResult) -> u128 {
    result
        .outcomes()
        .iter()
        .map(|o| o.tokens_burnt.as_yoctonear())
        .sum()
}

/// Did any receipt executed by `account` fail?
pub fn receipt_failed_on(result: &ExecutionFinalResult, account: &str) -> bool {
    result
        .receipt_outcomes()
        .iter()
        .any(|o| o.executor_id.as_str() == account && o.is_failure())
}

/// `Ok` if the transaction succeeded, else an error naming `what` and the failure.
pub fn ensure_ok(result: &ExecutionFinalResult, what: &str) -> anyhow::Result<()> {
    match failure(result) {
        None => Ok(()),
        Some(f) => anyhow::bail!("{what} failed: {f}"),
    }
}
