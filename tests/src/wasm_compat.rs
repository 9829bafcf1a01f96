//! Can a contract artifact run on the oldest NEAR VM we target?
//!
//! Calimero shards run nearcore at protocol version 63 (December 2023). What its contract
//! preparation (`runtime/near-vm-runner/src/prepare/prepare_v2.rs` and `features.rs` of that
//! nearcore) accepts, and what this module checks:
//!
//! - **WebAssembly features**: `floats: true, mutable_global: true, sign_extension: true` (sign
//!   extension since `PreparationV2`, protocol 62) and nothing else: no bulk memory, no
//!   reference types (this includes the "overlong" `call_indirect` table index that Rust ≥ 1.82's
//!   prebuilt standard library emits), no saturating float-to-int (enabled only in 2025), no
//!   multi-value, SIMD, threads, tail calls, …. In wasmparser's terms that is
//!   [`WasmFeatures::WASM1`] (MVP + mutable globals; its `GC_TYPES` flag is wasmparser's internal
//!   gate for `funcref` tables, which MVP has) plus [`WasmFeatures::SIGN_EXTENSION`].
//! - **Imports**: every import must be a function from module `env` (an imported table or global
//!   fails with `Instantiate`, an imported memory with `Memory`), and a host function that the
//!   protocol-63 runtime provides, with the same signature ([`HOST_FUNCTIONS_PROTOCOL_63`]).
//! - **Limits** of that protocol's runtime config: code size, function count, locals.

use std::collections::BTreeMap;
use wasmparser::{
    CompositeInnerType, FuncType, Parser, Payload, TypeRef, ValType, Validator, WasmFeatures,
};

/// `max_contract_size` at protocol 63.
pub const MAX_CONTRACT_SIZE: usize = 4_194_304;
/// `max_functions_number_per_contract` at protocol 63 (imports included).
pub const MAX_FUNCTIONS: u64 = 10_000;
/// `max_locals_per_contract` at protocol 63.
pub const MAX_LOCALS: u64 = 1_000_000;

/// The WebAssembly features nearcore's contract preparation enabled at protocol 63.
pub fn protocol_63_features() -> WasmFeatures {
    WasmFeatures::WASM1 | WasmFeatures::SIGN_EXTENSION
}

/// Validate `wasm` with exactly [`protocol_63_features`].
pub fn validate_features(wasm: &[u8]) -> Result<(), String> {
    validate_with(wasm, protocol_63_features())
}

/// Validate `wasm` with the given features (used by the self-checks to show that a module the
/// protocol-63 set rejects is otherwise well formed).
pub fn validate_with(wasm: &[u8], features: WasmFeatures) -> Result<(), String> {
    Validator::new_with_features(features)
        .validate_all(wasm)
        .map(|_| ())
        .map_err(|e| format!("invalid for features {features:?}: {e}"))
}

use ValType::{I32 as W32, I64 as W64};

/// Host functions of nearcore's `imports.rs` available at protocol 63, with their signatures
/// (`u64` → i64, `u32` → i32). Derived from nearcore's `runtime/near-vm-runner/src/imports.rs`
/// as of December 2023 (protocol 63/64), gates resolved for 63: `ed25519_verify` (59),
/// `ripemd160`/`ecrecover` (math extension, 46), `promise_batch_action_function_call_weight`
/// (53) and `alt_bn128_*` (55) are in. Left out: `gas` (instrumentation, not for contracts),
/// `sandbox_debug_log` (sandbox builds only) and everything introduced later — yield/resume
/// (67), `bls12381_*` (70), `promise_set_refund_to`, `promise_batch_action_state_init*`,
/// global contracts, gas keys, `p256_verify`, `chain_id`, `current_contract_code`,
/// `refund_to_account_id`, ….
pub const HOST_FUNCTIONS_PROTOCOL_63: &[(&str, &[ValType], &[ValType])] = &[
    ("read_register", &[W64, W64], &[]),
    ("register_len", &[W64], &[W64]),
    ("write_register", &[W64, W64, W64], &[]),
    ("current_account_id", &[W64], &[]),
    ("signer_account_id", &[W64], &[]),
    ("signer_account_pk", &[W64], &[]),
    ("predecessor_account_id", &[W64], &[]),
    ("input", &[W64], &[]),
    ("block_index", &[], &[W64]),
    ("block_timestamp", &[], &[W64]),
    ("epoch_height", &[], &[W64]),
    ("storage_usage", &[], &[W64]),
    ("account_balance", &[W64], &[]),
    ("account_locked_balance", &[W64], &[]),
    ("attached_deposit", &[W64], &[]),
    ("prepaid_gas", &[], &[W64]),
    ("used_gas", &[], &[W64]),
    ("random_seed", &[W64], &[]),
    ("sha256", &[W64, W64, W64], &[]),
    ("keccak256", &[W64, W64, W64], &[]),
    ("keccak512", &[W64, W64, W64], &[]),
    ("ed25519_verify", &[W64, W64, W64, W64, W64, W64], &[W64]),
    ("ripemd160", &[W64, W64, W64], &[]),
    ("ecrecover", &[W64, W64, W64, W64, W64, W64, W64], &[W64]),
    ("value_return", &[W64, W64], &[]),
    ("panic", &[], &[]),
    ("panic_utf8", &[W64, W64], &[]),
    ("log_utf8", &[W64, W64], &[]),
    ("log_utf16", &[W64, W64], &[]),
    ("abort", &[W32, W32, W32, W32], &[]),
    (
        "promise_create",
        &[W64, W64, W64, W64, W64, W64, W64, W64],
        &[W64],
    ),
    (
        "promise_then",
        &[W64, W64, W64, W64, W64, W64, W64, W64, W64],
        &[W64],
    ),
    ("promise_and", &[W64, W64], &[W64]),
    ("promise_batch_create", &[W64, W64], &[W64]),
    ("promise_batch_then", &[W64, W64, W64], &[W64]),
    ("promise_batch_action_create_account", &[W64], &[]),
    (
        "promise_batch_action_deploy_contract",
        &[W64, W64, W64],
        &[],
    ),
    (
        "promise_batch_action_function_call",
        &[W64, W64, W64, W64, W64, W64, W64],
        &[],
    ),
    (
        "promise_batch_action_function_call_weight",
        &[W64, W64, W64, W64, W64, W64, W64, W64],
        &[],
    ),
    ("promise_batch_action_transfer", &[W64, W64], &[]),
    ("promise_batch_action_stake", &[W64, W64, W64, W64], &[]),
    (
        "promise_batch_action_add_key_with_full_access",
        &[W64, W64, W64, W64],
        &[],
    ),
    (
        "promise_batch_action_add_key_with_function_call",
        &[W64, W64, W64, W64, W64, W64, W64, W64, W64],
        &[],
    ),
    ("promise_batch_action_delete_key", &[W64, W64, W64], &[]),
    ("promise_batch_action_delete_account", &[W64, W64, W64], &[]),
    ("promise_results_count", &[], &[W64]),
    ("promise_result", &[W64, W64], &[W64]),
    ("promise_return", &[W64], &[]),
    ("storage_write", &[W64, W64, W64, W64, W64], &[W64]),
    ("storage_read", &[W64, W64, W64], &[W64]),
    ("storage_remove", &[W64, W64, W64], &[W64]),
    ("storage_has_key", &[W64, W64], &[W64]),
    ("storage_iter_prefix", &[W64, W64], &[W64]),
    ("storage_iter_range", &[W64, W64, W64, W64], &[W64]),
    ("storage_iter_next", &[W64, W64, W64], &[W64]),
    ("validator_stake", &[W64, W64, W64], &[]),
    ("validator_total_stake", &[W64], &[]),
    ("alt_bn128_g1_multiexp", &[W64, W64, W64], &[]),
    ("alt_bn128_g1_sum", &[W64, W64, W64], &[]),
    ("alt_bn128_pairing_check", &[W64, W64], &[W64]),
];

/// One import of a module, as `module.name` with its kind and, for functions, its signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportInfo {
    pub module: String,
    pub name: String,
    pub ty: ImportType,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ImportType {
    Func {
        params: Vec<ValType>,
        results: Vec<ValType>,
    },
    /// A function import whose type index does not name a function type.
    BadFuncType(u32),
    Table,
    Memory,
    Global,
    Tag,
    /// Anything else this wasmparser knows about.
    Other(String),
}

/// What a compatible artifact looks like (for printing).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContractReport {
    pub size: usize,
    pub imports: Vec<String>,
    pub functions: u64,
    pub locals: u64,
}

/// Every import of `wasm` (which should already be valid).
pub fn imports(wasm: &[u8]) -> Result<Vec<ImportInfo>, String> {
    let mut types: Vec<Option<FuncType>> = Vec::new();
    let mut out = Vec::new();
    for payload in Parser::new(0).parse_all(wasm) {
        match payload.map_err(|e| e.to_string())? {
            Payload::TypeSection(reader) => {
                for group in reader {
                    for sub in group.map_err(|e| e.to_string())?.into_types() {
                        types.push(match sub.composite_type.inner {
                            CompositeInnerType::Func(f) => Some(f),
                            _ => None,
                        });
                    }
                }
            }
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    let import = import.map_err(|e| e.to_string())?;
                    let ty = match import.ty {
                        TypeRef::Func(idx) => match types.get(idx as usize) {
                            Some(Some(f)) => ImportType::Func {
                                params: f.params().to_vec(),
                                results: f.results().to_vec(),
                            },
                            _ => ImportType::BadFuncType(idx),
                        },
                        TypeRef::Table(_) => ImportType::Table,
                        TypeRef::Memory(_) => ImportType::Memory,
                        TypeRef::Global(_) => ImportType::Global,
                        TypeRef::Tag(_) => ImportType::Tag,
                        #[allow(unreachable_patterns)]
                        other => ImportType::Other(format!("{other:?}")),
                    };
                    out.push(ImportInfo {
                        module: import.module.to_string(),
                        name: import.name.to_string(),
                        ty,
                    });
                }
            }
            _ => {}
        }
    }
    Ok(out)
}

/// Check every import against [`HOST_FUNCTIONS_PROTOCOL_63`]; returns one line per problem.
pub fn check_imports(imports: &[ImportInfo]) -> Vec<String> {
    let known: BTreeMap<&str, (&[ValType], &[ValType])> = HOST_FUNCTIONS_PROTOCOL_63
        .iter()
        .map(|(name, p, r)| (*name, (*p, *r)))
        .collect();
    let mut problems = Vec::new();
    for i in imports {
        let what = format!("{}.{}", i.module, i.name);
        if i.module != "env" {
            problems.push(format!("{what}: imports must come from module `env`"));
            continue;
        }
        match &i.ty {
            ImportType::Func { params, results } => match known.get(i.name.as_str()) {
                None => problems.push(format!(
                    "{what}: not a host function of protocol 63 (introduced later, or not a host \
                     function at all)"
                )),
                Some((p, r)) if p != &params.as_slice() || r != &results.as_slice() => problems
                    .push(format!(
                        "{what}: signature {params:?} -> {results:?}, the host function is \
                         {p:?} -> {r:?}"
                    )),
                Some(_) => {}
            },
            other => problems.push(format!(
                "{what}: only functions may be imported, not {other:?}"
            )),
        }
    }
    problems
}

/// Function count (imports included) and total declared locals (parameters excluded).
fn limits(wasm: &[u8]) -> Result<(u64, u64), String> {
    let mut functions = 0u64;
    let mut locals = 0u64;
    for payload in Parser::new(0).parse_all(wasm) {
        match payload.map_err(|e| e.to_string())? {
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    if matches!(import.map_err(|e| e.to_string())?.ty, TypeRef::Func(_)) {
                        functions += 1;
                    }
                }
            }
            Payload::FunctionSection(reader) => functions += u64::from(reader.count()),
            Payload::CodeSectionEntry(body) => {
                for local in body.get_locals_reader().map_err(|e| e.to_string())? {
                    locals += u64::from(local.map_err(|e| e.to_string())?.0);
                }
            }
            _ => {}
        }
    }
    Ok((functions, locals))
}

/// Everything this module checks, for one artifact. `Err` lists every problem found.
pub fn check_contract(wasm: &[u8]) -> Result<ContractReport, Vec<String>> {
    let mut problems = Vec::new();
    if wasm.len() > MAX_CONTRACT_SIZE {
        problems.push(format!(
            "{} bytes: larger than max_contract_size {MAX_CONTRACT_SIZE}",
            wasm.len()
        ));
    }
    if let Err(e) = validate_features(wasm) {
        problems.push(format!(
            "not valid as MVP + sign-extension WebAssembly (build it with scripts/build.sh): {e}"
        ));
        return Err(problems);
    }
    let imports = imports(wasm).map_err(|e| vec![e])?;
    problems.extend(check_imports(&imports));
    let (functions, locals) = limits(wasm).map_err(|e| vec![e])?;
    if functions > MAX_FUNCTIONS {
        problems.push(format!("{functions} functions: more than {MAX_FUNCTIONS}"));
    }
    if locals > MAX_LOCALS {
        problems.push(format!("{locals} locals: more than {MAX_LOCALS}"));
    }
    if problems.is_empty() {
        Ok(ContractReport {
            size: wasm.len(),
            imports: imports
                .iter()
                .map(|i| format!("{}.{}", i.module, i.name))
                .collect(),
            functions,
            locals,
        })
    } else {
        Err(problems)
    }
}
