//! Which database holds the queue: an embedded SQLite file (one relayer process; the default)
//! or a PostgreSQL server (several relayer instances sharing one queue).

use super::{MessageStore, PostgresStore, QueueError, Result, SqliteStore};
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

/// A `postgres://` (or `postgresql://`) connection URL. It may carry a password: it is never
/// shown — `Display` and `Debug` print it without the password and the query string.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    /// Check the scheme and the syntax (nothing is contacted).
    pub fn parse(url: &str) -> std::result::Result<Self, String> {
        let u = reqwest::Url::parse(url).map_err(|e| format!("not a URL ({e})"))?;
        if !matches!(u.scheme(), "postgres" | "postgresql") {
            return Err(format!(
                "scheme `{}`: a PostgreSQL URL starts with postgres://",
                u.scheme()
            ));
        }
        if u.host_str().is_none_or(str::is_empty) && !url.contains("host=") {
            return Err("a PostgreSQL URL needs a host".into());
        }
        Ok(DatabaseUrl(url.to_string()))
    }

    /// The URL with its secret, for the driver only.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }

    /// `postgres://user@host:port/database`: no password, no query string.
    pub fn redacted(&self) -> String {
        match reqwest::Url::parse(&self.0) {
            Ok(mut u) => {
                let _ = u.set_password(None);
                u.set_query(None);
                u.set_fragment(None);
                u.to_string()
            }
            Err(_) => "postgres://<unparsable>".into(),
        }
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({})", self.redacted())
    }
}

/// The queue's database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Database {
    /// An SQLite file: one relayer process (an instance lock refuses a second).
    Sqlite(PathBuf),
    /// A PostgreSQL server: any number of relayer instances.
    Postgres(DatabaseUrl),
}

impl Database {
    pub fn backend(&self) -> &'static str {
        match self {
            Database::Sqlite(_) => "sqlite",
            Database::Postgres(_) => "postgres",
        }
    }

    /// Whether several relayer instances may share it.
    pub fn shared(&self) -> bool {
        matches!(self, Database::Postgres(_))
    }
}

impl fmt::Display for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Database::Sqlite(p) => write!(f, "sqlite:{}", p.display()),
            Database::Postgres(u) => write!(f, "{u}"),
        }
    }
}

/// Open the queue and bring its schema up to date. `service`: the relayer itself (for SQLite,
/// with the instance lock: a second process on the same file is refused); tools (status,
/// requeue) open without it.
pub async fn open_store(db: &Database, service: bool) -> Result<Arc<dyn MessageStore>> {
    match db {
        Database::Sqlite(path) => {
            let path = path.clone();
            let store = tokio::task::spawn_blocking(move || {
                if service {
                    SqliteStore::open_exclusive(&path)
                } else {
                    SqliteStore::open(&path)
                }
            })
            .await
            .map_err(|e| QueueError::Backend(format!("opening the queue: {e}")))??;
            Ok(Arc::new(store))
        }
        Database::Postgres(url) => Ok(Arc::new(PostgresStore::connect(url).await?)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, ConfigError};
    use std::collections::HashMap;

    const MINIMAL: &str = r#"
[chain_a]
name = "a"
chain_id = "chain-a"
rpc_url = "http://127.0.0.1:3030"
light_client = "lc.a.test.near"
connector = "connector.a.test.near"
signer_key_files = ["a.json"]
[chain_b]
name = "b"
chain_id = "chain-b"
rpc_url = "http://127.0.0.1:3031"
light_client = "lc.b.test.near"
connector = "connector.b.test.near"
signer_key_files = ["b.json"]
"#;

    fn load(extra: &str, vars: &[(&str, &str)]) -> std::result::Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_toml_with_env(
            &format!("{MINIMAL}{extra}"),
            "t.toml",
            Some(std::path::Path::new("/etc/xsc")),
            &|k| map.get(k).cloned(),
        )
    }

    #[test]
    fn sqlite_is_the_default_and_a_postgres_url_selects_postgresql() {
        let cfg = load("", &[]).unwrap();
        assert_eq!(
            cfg.database(),
            Database::Sqlite(PathBuf::from("/etc/xsc/xsc-relayer.db"))
        );
        assert!(!cfg.database().shared());
        assert_eq!(cfg.role_lease(), std::time::Duration::from_secs(10));
        // In the file, the password from the environment (`${VAR}`).
        let cfg = load(
            "[relayer]\ndatabase_url = \"postgres://xsc:${XSC_PG_PW}@db.internal:5432/xsc\"\nrole_lease_s = 4\n",
            &[("XSC_PG_PW", "pw-from-env")],
        )
        .unwrap();
        match cfg.database() {
            Database::Postgres(u) => {
                assert_eq!(
                    u.expose(),
                    "postgres://xsc:pw-from-env@db.internal:5432/xsc"
                );
                assert_eq!(u.to_string(), "postgres://xsc@db.internal:5432/xsc");
            }
            other => panic!("{other:?}"),
        }
        assert!(cfg.database().shared());
        assert_eq!(cfg.role_lease(), std::time::Duration::from_secs(4));
        // The whole configuration printed for debugging shows no password.
        let shown = format!("{cfg:?}");
        assert!(!shown.contains("pw-from-env"), "{shown}");
        assert!(shown.contains("db.internal"), "{shown}");
        // Or entirely from the environment.
        let cfg = load(
            "",
            &[
                (
                    "XSC_RELAYER_DATABASE_URL",
                    "postgresql://u:secret@10.0.0.5/q",
                ),
                ("XSC_RELAYER_ROLE_LEASE_S", "6"),
            ],
        )
        .unwrap();
        assert_eq!(cfg.database().to_string(), "postgresql://u@10.0.0.5/q");
        assert_eq!(cfg.role_lease(), std::time::Duration::from_secs(6));
    }

    #[test]
    fn a_bad_database_url_is_refused_without_showing_it() {
        let problems = |e: ConfigError| match e {
            ConfigError::Invalid(v) => v.join("\n"),
            other => panic!("{other}"),
        };
        let p = problems(
            load(
                "[relayer]\ndatabase_url = \"mysql://u:topsecret@h/db\"\n",
                &[],
            )
            .unwrap_err(),
        );
        assert!(
            p.contains("relayer.database_url") && p.contains("mysql"),
            "{p}"
        );
        assert!(!p.contains("topsecret"), "{p}");
        let p = problems(
            load(
                "[relayer]\ndatabase_url = \"postgres://u:${NOPE}@h/db\"\n",
                &[],
            )
            .unwrap_err(),
        );
        assert!(p.contains("NOPE is not set"), "{p}");
        let p = problems(load("[relayer]\nrole_lease_s = 1\n", &[]).unwrap_err());
        assert!(p.contains("relayer.role_lease_s"), "{p}");
    }

    #[test]
    fn a_database_url_never_shows_its_password() {
        let u = DatabaseUrl::parse("postgres://xsc:s3cr3t-pw@db.internal:5433/xsc?sslmode=require")
            .unwrap();
        for shown in [
            u.to_string(),
            format!("{u:?}"),
            Database::Postgres(u.clone()).to_string(),
        ] {
            assert!(!shown.contains("s3cr3t-pw"), "{shown}");
            assert!(shown.contains("db.internal:5433/xsc"), "{shown}");
        }
        assert_eq!(u.redacted(), "postgres://xsc@db.internal:5433/xsc");
        assert!(u.expose().contains("s3cr3t-pw"));
        assert!(DatabaseUrl::parse("postgresql://h/db").is_ok());
        assert!(DatabaseUrl::parse("mysql://h/db").is_err());
        assert!(DatabaseUrl::parse("xsc-relayer.db").is_err());
    }
}
