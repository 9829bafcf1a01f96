//! Signing keys: near-cli key files (`{"account_id", "public_key", "private_key"}`) and ed25519
//! transaction signatures with `near-crypto`.

use near_crypto::{InMemorySigner, PublicKey, SecretKey, Signer};
use near_primitives::hash::CryptoHash as NearHash;
use near_primitives::transaction::{SignedTransaction, Transaction};
use near_primitives::types::AccountId;
use serde::Deserialize;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum SignerError {
    #[error("key file {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("key file {path}: {detail}")]
    Invalid { path: PathBuf, detail: String },
    #[error("invalid account id `{0}`: {1}")]
    AccountId(String, String),
    #[error("invalid secret key: {0}")]
    SecretKey(String),
    /// A key file others than its owner may read or write.
    #[error(
        "key file {path} is accessible to other users (mode {mode:o}): run `chmod 600 {path}`"
    )]
    LoosePermissions { path: PathBuf, mode: u32 },
    #[error("environment variable {0} is not set")]
    MissingEnv(String),
}

/// Refuse a key file that group or others may read or write (unix): a secret key must be
/// readable by its owner only.
pub fn check_key_file_permissions(path: &Path) -> Result<(), SignerError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(path).map_err(|source| SignerError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(SignerError::LoosePermissions {
                path: path.to_path_buf(),
                mode,
            });
        }
    }
    Ok(())
}

/// Write a near-cli key file readable by its owner only (mode 600, created so: never readable
/// by others, not even for a moment).
pub fn write_key_file(path: &Path, signer_json: &serde_json::Value) -> std::io::Result<()> {
    use std::io::Write;
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    let mut f = o.open(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    f.write_all(signer_json.to_string().as_bytes())?;
    f.sync_all()
}

/// A near-cli / neard key file. `secret_key` is accepted as another name of `private_key`.
#[derive(Deserialize)]
struct KeyFileJson {
    account_id: String,
    #[serde(default)]
    public_key: Option<String>,
    #[serde(alias = "secret_key")]
    private_key: String,
}

/// Signs transactions for one account with one key.
#[derive(Clone)]
pub struct TxSigner {
    account_id: AccountId,
    signer: Signer,
}

impl std::fmt::Debug for TxSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TxSigner")
            .field("account_id", &self.account_id)
            .field("public_key", &self.public_key().to_string())
            .finish()
    }
}

impl TxSigner {
    /// Load a key file. It must be readable by its owner only
    /// ([`check_key_file_permissions`]); its `public_key`, when present, must match its private
    /// key.
    pub fn from_key_file(path: &Path) -> Result<Self, SignerError> {
        check_key_file_permissions(path)?;
        let text = std::fs::read_to_string(path).map_err(|source| SignerError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let invalid = |detail: String| SignerError::Invalid {
            path: path.to_path_buf(),
            detail,
        };
        let kf: KeyFileJson = serde_json::from_str(&text).map_err(|e| {
            invalid(format!(
                "expected {{account_id, public_key, private_key}}: {e}"
            ))
        })?;
        let signer = Self::from_secret_key(&kf.account_id, &kf.private_key)
            .map_err(|e| invalid(e.to_string()))?;
        if let Some(pk) = kf.public_key {
            let pk: PublicKey = pk
                .parse()
                .map_err(|e| invalid(format!("invalid public_key: {e}")))?;
            if pk != signer.public_key() {
                return Err(invalid(format!(
                    "public_key {pk} does not match the private key (which gives {})",
                    signer.public_key()
                )));
            }
        }
        Ok(signer)
    }

    pub fn from_secret_key(account_id: &str, secret_key: &str) -> Result<Self, SignerError> {
        let account_id: AccountId = account_id
            .parse()
            .map_err(|e| SignerError::AccountId(account_id.to_string(), format!("{e}")))?;
        // The parser's message may quote its input: never repeat a secret.
        let secret: SecretKey = secret_key.parse().map_err(|_| {
            SignerError::SecretKey("expected `ed25519:<base58 of 64 bytes>`".into())
        })?;
        Ok(TxSigner {
            signer: InMemorySigner::from_secret_key(account_id.clone(), secret),
            account_id,
        })
    }

    /// Secret keys (`ed25519:...`, comma- or whitespace-separated) from the environment
    /// variable `var`, all for `account_id`: a way to give the service its keys without a file.
    pub fn from_env(account_id: &str, var: &str) -> Result<Vec<Self>, SignerError> {
        let text = std::env::var(var).map_err(|_| SignerError::MissingEnv(var.to_string()))?;
        let keys: Vec<&str> = text
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|k| !k.is_empty())
            .collect();
        if keys.is_empty() {
            return Err(SignerError::MissingEnv(var.to_string()));
        }
        keys.into_iter()
            .map(|k| Self::from_secret_key(account_id, k))
            .collect()
    }

    /// A deterministic key for tests and local sandboxes.
    pub fn from_seed(account_id: &str, seed: &str) -> Result<Self, SignerError> {
        let id: AccountId = account_id
            .parse()
            .map_err(|e| SignerError::AccountId(account_id.to_string(), format!("{e}")))?;
        Ok(TxSigner {
            signer: InMemorySigner::from_seed(id.clone(), near_crypto::KeyType::ED25519, seed),
            account_id: id,
        })
    }

    pub fn account_id(&self) -> &AccountId {
        &self.account_id
    }

    pub fn public_key(&self) -> PublicKey {
        self.signer.public_key()
    }

    /// Sign: an ed25519 signature over sha256(borsh(transaction)).
    pub fn sign(&self, tx: Transaction) -> SignedTransaction {
        let (hash, _) = tx.get_hash_and_size();
        let signature = self.signer.sign(hash.as_ref());
        SignedTransaction::new(signature, tx)
    }
}

/// Our hash type from nearcore's.
pub fn to_core_hash(h: &NearHash) -> xsc_core::CryptoHash {
    xsc_core::CryptoHash(h.0)
}

/// nearcore's hash type from ours.
pub fn to_near_hash(h: &xsc_core::CryptoHash) -> NearHash {
    NearHash(h.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use near_primitives::transaction::TransactionV0;

    fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> PathBuf {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        p
    }

    #[cfg(unix)]
    #[test]
    fn key_files_others_can_read_are_refused_and_written_files_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let secret = SecretKey::from_seed(near_crypto::KeyType::ED25519, "seed");
        let json = serde_json::json!({"account_id": "relayer.test.near", "public_key": secret.public_key().to_string(), "private_key": secret.to_string()});
        let p = dir.path().join("k.json");
        write_key_file(&p, &json).unwrap();
        assert_eq!(
            std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert!(TxSigner::from_key_file(&p).is_ok());
        for mode in [0o644, 0o640, 0o604, 0o660] {
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
            let e = TxSigner::from_key_file(&p).unwrap_err();
            assert!(
                matches!(e, SignerError::LoosePermissions { .. }),
                "{mode:o}: {e}"
            );
            assert!(e.to_string().contains("chmod 600"), "{e}");
            // The message names the file, never its content.
            assert!(!e.to_string().contains(&secret.to_string()));
        }
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o400)).unwrap();
        assert!(TxSigner::from_key_file(&p).is_ok());
    }

    #[test]
    fn keys_from_the_environment() {
        let a = SecretKey::from_seed(near_crypto::KeyType::ED25519, "a");
        let b = SecretKey::from_seed(near_crypto::KeyType::ED25519, "b");
        let var = "XSC_TEST_SIGNER_KEYS_FROM_ENV";
        std::env::set_var(var, format!("{a}, {b}"));
        let keys = TxSigner::from_env("relayer.test.near", var).unwrap();
        assert_eq!(
            keys.iter().map(|k| k.public_key()).collect::<Vec<_>>(),
            vec![a.public_key(), b.public_key()]
        );
        std::env::set_var(var, "not-a-key");
        assert!(matches!(
            TxSigner::from_env("relayer.test.near", var),
            Err(SignerError::SecretKey(_))
        ));
        std::env::remove_var(var);
        assert!(matches!(
            TxSigner::from_env("relayer.test.near", var),
            Err(SignerError::MissingEnv(_))
        ));
    }

    #[test]
    fn loads_near_cli_key_files_and_checks_the_public_key() {
        let dir = tempfile::tempdir().unwrap();
        let s = TxSigner::from_seed("relayer.test.near", "seed").unwrap();
        let secret = SecretKey::from_seed(near_crypto::KeyType::ED25519, "seed");
        let good = format!(
            r#"{{"account_id":"relayer.test.near","public_key":"{}","private_key":"{}"}}"#,
            s.public_key(),
            secret
        );
        let loaded = TxSigner::from_key_file(&write(&dir, "k.json", &good)).unwrap();
        assert_eq!(loaded.public_key(), s.public_key());
        assert_eq!(loaded.account_id().as_str(), "relayer.test.near");

        // neard's own key files say `secret_key`.
        let neard = format!(
            r#"{{"account_id":"node0","public_key":"{}","secret_key":"{}"}}"#,
            s.public_key(),
            secret
        );
        assert!(TxSigner::from_key_file(&write(&dir, "n.json", &neard)).is_ok());

        let other = SecretKey::from_seed(near_crypto::KeyType::ED25519, "other").public_key();
        let mismatch = format!(
            r#"{{"account_id":"relayer.test.near","public_key":"{other}","private_key":"{secret}"}}"#
        );
        let e = TxSigner::from_key_file(&write(&dir, "m.json", &mismatch)).unwrap_err();
        assert!(e.to_string().contains("does not match"), "{e}");

        let e = TxSigner::from_key_file(&dir.path().join("missing.json")).unwrap_err();
        assert!(matches!(e, SignerError::Io { .. }));
        let e = TxSigner::from_key_file(&write(
            &dir,
            "bad.json",
            r#"{"account_id":"Bad Id!","private_key":"x"}"#,
        ))
        .unwrap_err();
        assert!(e.to_string().contains("invalid account id"), "{e}");
    }

    #[test]
    fn signatures_verify_and_borsh_round_trips() {
        let s = TxSigner::from_seed("relayer.test.near", "seed").unwrap();
        let tx = Transaction::V0(TransactionV0 {
            signer_id: s.account_id().clone(),
            public_key: s.public_key(),
            nonce: 5,
            receiver_id: "lc.test.near".parse().unwrap(),
            block_hash: NearHash([3; 32]),
            actions: vec![],
        });
        let (hash, _) = tx.get_hash_and_size();
        let signed = s.sign(tx);
        assert!(signed.signature.verify(hash.as_ref(), &s.public_key()));
        assert_eq!(signed.get_hash(), hash);
        let bytes = borsh::to_vec(&signed).unwrap();
        let back: SignedTransaction = borsh::from_slice(&bytes).unwrap();
        assert_eq!(back.get_hash(), hash);
        // V0 transactions carry no version byte: old (protocol 63) nodes read them.
        assert_eq!(bytes[0..4], (17u32).to_le_bytes());
    }
}
