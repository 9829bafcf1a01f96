//! Every contract artifact in `res/` must run on the oldest NEAR VM we target: Calimero shards,
//! protocol 63 (WebAssembly MVP plus sign-extension, the host functions of that protocol).
//! See `xsc_tests::wasm_compat` for what exactly is checked and where it comes from.
//!
//! Not a sandbox test: it runs in every `cargo test`, and fails when the light client artifact is
//! missing (run `scripts/build.sh`).

use wasmparser::WasmFeatures;
use xsc_tests::artifacts;
use xsc_tests::wasm_compat::{
    check_contract, check_imports, imports, validate_features, validate_with, ImportType,
    HOST_FUNCTIONS_PROTOCOL_63,
};

#[test]
fn every_contract_artifact_is_mvp_with_protocol_63_imports() {
    let light_client = artifacts::artifact_path(artifacts::LIGHT_CLIENT);
    assert!(
        light_client.is_file(),
        "{} is missing: run scripts/build.sh (it builds every contract into res/)",
        light_client.display()
    );
    let all = artifacts::all().expect("list res/");
    assert!(all.contains(&light_client), "{all:?}");
    let mut failures = Vec::new();
    for path in &all {
        let wasm = std::fs::read(path).unwrap();
        match check_contract(&wasm) {
            Ok(report) => println!(
                "{}: {} bytes, {} functions, {} locals, imports {:?}",
                path.display(),
                report.size,
                report.functions,
                report.locals,
                report.imports
            ),
            Err(problems) => {
                failures.push(format!("{}:\n  {}", path.display(), problems.join("\n  ")))
            }
        }
    }
    assert!(
        failures.is_empty(),
        "artifacts that older NEAR VMs (protocol 63) refuse:\n{}",
        failures.join("\n")
    );
}

#[test]
fn the_light_client_imports_what_it_needs_and_nothing_newer() {
    let wasm = artifacts::load(artifacts::LIGHT_CLIENT).unwrap_or_else(|e| panic!("{e:#}"));
    let names: Vec<String> = imports(&wasm)
        .unwrap()
        .into_iter()
        .map(|i| i.name)
        .collect();
    // The verification hot path uses the host functions, not wasm crypto.
    for needed in [
        "sha256",
        "ed25519_verify",
        "input",
        "storage_write",
        "panic_utf8",
    ] {
        assert!(
            names.iter().any(|n| n == needed),
            "{needed} not imported: {names:?}"
        );
    }
    for newer in [
        "promise_yield_create",
        "promise_yield_resume",
        "bls12381_p1_sum",
    ] {
        assert!(!names.iter().any(|n| n == newer), "{newer} imported");
    }
}

// ---- self-checks of the validator on hand-written modules ----

fn leb(mut n: usize, out: &mut Vec<u8>) {
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn name(s: &str, out: &mut Vec<u8>) {
    leb(s.len(), out);
    out.extend_from_slice(s.as_bytes());
}

fn section(id: u8, items: &[Vec<u8>], out: &mut Vec<u8>) {
    if items.is_empty() {
        return;
    }
    let mut body = Vec::new();
    leb(items.len(), &mut body);
    for item in items {
        body.extend_from_slice(item);
    }
    out.push(id);
    leb(body.len(), out);
    out.extend_from_slice(&body);
}

const I32: u8 = 0x7f;
const I64: u8 = 0x7e;

/// A module description: function types, imported functions `(module, name, type)`, defined
/// functions `(type, body instructions without the final `end`)`, a memory, a mutable global.
#[derive(Default)]
struct Module {
    types: Vec<(Vec<u8>, Vec<u8>)>,
    imports: Vec<(&'static str, &'static str, u8)>,
    memory_import: bool,
    funcs: Vec<(u8, Vec<u8>)>,
    memory: bool,
    table: bool,
    mutable_global_export: bool,
}

impl Module {
    fn encode(&self) -> Vec<u8> {
        let mut out = b"\0asm\x01\0\0\0".to_vec();
        let types: Vec<Vec<u8>> = self
            .types
            .iter()
            .map(|(p, r)| {
                let mut t = vec![0x60];
                leb(p.len(), &mut t);
                t.extend_from_slice(p);
                leb(r.len(), &mut t);
                t.extend_from_slice(r);
                t
            })
            .collect();
        section(1, &types, &mut out);
        let mut imports: Vec<Vec<u8>> = self
            .imports
            .iter()
            .map(|(m, n, t)| {
                let mut i = Vec::new();
                name(m, &mut i);
                name(n, &mut i);
                i.extend_from_slice(&[0x00, *t]);
                i
            })
            .collect();
        if self.memory_import {
            let mut i = Vec::new();
            name("env", &mut i);
            name("memory", &mut i);
            i.extend_from_slice(&[0x02, 0x00, 0x01]);
            imports.push(i);
        }
        section(2, &imports, &mut out);
        let funcs: Vec<Vec<u8>> = self.funcs.iter().map(|(t, _)| vec![*t]).collect();
        section(3, &funcs, &mut out);
        if self.table {
            section(4, &[vec![0x70, 0x00, 0x01]], &mut out);
        }
        if self.memory {
            section(5, &[vec![0x00, 0x01]], &mut out);
        }
        if self.mutable_global_export {
            // (global (mut i32) (i32.const 0)), exported as "g".
            section(6, &[vec![I32, 0x01, 0x41, 0x00, 0x0b]], &mut out);
            let mut e = Vec::new();
            name("g", &mut e);
            e.extend_from_slice(&[0x03, 0x00]);
            section(7, &[e], &mut out);
        }
        let bodies: Vec<Vec<u8>> = self
            .funcs
            .iter()
            .map(|(_, code)| {
                let mut body = vec![0x00]; // no locals
                body.extend_from_slice(code);
                body.push(0x0b);
                let mut sized = Vec::new();
                leb(body.len(), &mut sized);
                sized.extend_from_slice(&body);
                sized
            })
            .collect();
        section(10, &bodies, &mut out);
        out
    }
}

/// `() -> ()` with the given body.
fn one_function(body: Vec<u8>, memory: bool, table: bool) -> Vec<u8> {
    Module {
        types: vec![(vec![], vec![]), (vec![I32], vec![])],
        funcs: vec![(0, body)],
        memory,
        table,
        ..Default::default()
    }
    .encode()
}

/// Everything a current engine accepts (the validator's default features).
fn everything() -> WasmFeatures {
    WasmFeatures::default()
}

fn assert_rejected_only_for_its_feature(what: &str, wasm: &[u8]) {
    validate_with(wasm, everything())
        .unwrap_or_else(|e| panic!("{what}: the hand-written module itself is broken: {e}"));
    let err = validate_features(wasm).expect_err(what);
    println!("{what}: rejected: {err}");
    let problems = check_contract(wasm).expect_err(what);
    assert!(problems[0].contains("MVP"), "{problems:?}");
}

#[test]
fn bulk_memory_is_rejected() {
    // i32.const 0 ×3; memory.copy 0 0
    let body = vec![0x41, 0x00, 0x41, 0x00, 0x41, 0x00, 0xfc, 0x0a, 0x00, 0x00];
    assert_rejected_only_for_its_feature("memory.copy", &one_function(body, true, false));
    // i32.const 0 ×3; memory.fill 0
    let body = vec![0x41, 0x00, 0x41, 0x00, 0x41, 0x00, 0xfc, 0x0b, 0x00];
    assert_rejected_only_for_its_feature("memory.fill", &one_function(body, true, false));
}

#[test]
fn reference_types_are_rejected() {
    // ref.null func; drop
    let body = vec![0xd0, 0x70, 0x1a];
    assert_rejected_only_for_its_feature("ref.null", &one_function(body, false, false));
    // i32.const 0; call_indirect (type 0) with the table index as an overlong LEB128 zero:
    // what Rust ≥ 1.82's prebuilt wasm32 standard library emits.
    let body = vec![0x41, 0x00, 0x11, 0x00, 0x80, 0x00];
    assert_rejected_only_for_its_feature(
        "overlong call_indirect",
        &one_function(body, false, true),
    );
}

#[test]
fn saturating_float_to_int_is_rejected() {
    // f32.const 0; i32.trunc_sat_f32_s; drop
    let body = vec![0x43, 0, 0, 0, 0, 0xfc, 0x00, 0x1a];
    assert_rejected_only_for_its_feature("i32.trunc_sat_f32_s", &one_function(body, false, false));
}

#[test]
fn multi_value_is_rejected() {
    let wasm = Module {
        types: vec![(vec![], vec![I32, I32])],
        funcs: vec![(0, vec![0x41, 0x00, 0x41, 0x00])],
        ..Default::default()
    }
    .encode();
    assert_rejected_only_for_its_feature("two results", &wasm);
}

#[test]
fn mvp_sign_extension_and_mutable_globals_are_accepted() {
    // i32.const 0; i32.extend8_s; drop; plain call_indirect with a 0x00 table byte
    let body = vec![0x41, 0x00, 0xc0, 0x1a, 0x41, 0x00, 0x11, 0x00, 0x00];
    let module = Module {
        types: vec![(vec![], vec![]), (vec![I64, I64, I64], vec![])],
        imports: vec![("env", "sha256", 1)],
        funcs: vec![(0, body)],
        memory: true,
        table: true,
        mutable_global_export: true,
        ..Default::default()
    };
    let wasm = module.encode();
    validate_features(&wasm).unwrap();
    check_contract(&wasm).unwrap();
    // Each of the two features beyond MVP is needed: the checks are not vacuous.
    assert!(
        validate_with(&wasm, WasmFeatures::WASM1).is_err(),
        "i32.extend8_s needs sign-extension"
    );
    assert!(
        validate_with(&wasm, WasmFeatures::MVP | WasmFeatures::SIGN_EXTENSION).is_err(),
        "exporting a mutable global needs mutable-global"
    );
}

#[test]
fn imports_newer_than_protocol_63_or_not_from_env_are_rejected() {
    let ty = |p: &[u8], r: &[u8]| (p.to_vec(), r.to_vec());
    let wasm = Module {
        types: vec![
            ty(&[I64; 7], &[I64]),
            ty(&[I64; 4], &[I32]),
            ty(&[I64; 3], &[I64]),
            ty(&[I64; 3], &[]),
            ty(&[I32], &[]),
        ],
        imports: vec![
            ("env", "promise_yield_create", 0),
            ("env", "promise_yield_resume", 1),
            ("env", "bls12381_p1_sum", 2),
            ("wasi_snapshot_preview1", "fd_write", 3),
            ("env", "sha256", 4), // wrong signature
            ("env", "gas", 4),    // instrumentation, not for contracts
            ("env", "sandbox_debug_log", 3),
            ("env", "ed25519_verify", 0), // wrong signature
        ],
        memory_import: true,
        ..Default::default()
    }
    .encode();
    validate_features(&wasm).unwrap();
    let problems = check_imports(&imports(&wasm).unwrap());
    println!("{problems:#?}");
    for needle in [
        "env.promise_yield_create: not a host function of protocol 63",
        "env.promise_yield_resume: not a host function of protocol 63",
        "env.bls12381_p1_sum: not a host function of protocol 63",
        "wasi_snapshot_preview1.fd_write: imports must come from module `env`",
        "env.sha256: signature",
        "env.gas: not a host function",
        "env.sandbox_debug_log: not a host function",
        "env.ed25519_verify: signature",
        "env.memory: only functions may be imported",
    ] {
        assert!(
            problems.iter().any(|p| p.starts_with(needle)),
            "{needle} not reported: {problems:#?}"
        );
    }
    assert_eq!(problems.len(), 9, "{problems:#?}");
    assert!(check_contract(&wasm).is_err());
}

#[test]
fn host_function_list_has_no_duplicates_and_the_right_gated_functions() {
    let mut names: Vec<&str> = HOST_FUNCTIONS_PROTOCOL_63
        .iter()
        .map(|(n, _, _)| *n)
        .collect();
    let total = names.len();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), total, "duplicate entries");
    // Gated before 63, so present: ed25519_verify (59), alt_bn128 (55), function_call_weight
    // (53), math extension (46).
    for present in [
        "ed25519_verify",
        "alt_bn128_pairing_check",
        "promise_batch_action_function_call_weight",
        "ecrecover",
        "ripemd160",
    ] {
        assert!(names.contains(&present), "{present}");
    }
    let memory_import = imports(
        &Module {
            memory_import: true,
            ..Default::default()
        }
        .encode(),
    )
    .unwrap();
    assert_eq!(memory_import[0].ty, ImportType::Memory);
}
