//! Static group membership by default.
//!
//! A consumer without `group.instance.id` that dies (kill -9, OOM) stays in
//! the group until its session times out, and its successor waits that long
//! for the partitions. With an id that survives restarts, the restarted
//! instance takes them back at once. The id belongs with the store (one store,
//! one instance), so when none is configured one is generated on first start
//! and kept in the store's meta.

use std::hash::{BuildHasher, Hasher};

use touchline_store::Store;

use crate::{KafkaConfig, KafkaError};

/// Meta key of the generated instance id.
pub(crate) const META_INSTANCE_ID: &str = "kafka_instance_id";

/// The instance id to use and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Membership {
    pub id: String,
    /// `configured`, `stored` (generated on an earlier start) or `generated`.
    pub origin: &'static str,
}

/// The configured id if any, else the one kept in the store, else a new one,
/// written to the store before it is used.
pub(crate) fn instance_id(config: &KafkaConfig, store: &Store) -> Result<Membership, KafkaError> {
    if let Some(id) = &config.instance_id {
        return Ok(Membership {
            id: id.clone(),
            origin: "configured",
        });
    }
    if let Some(bytes) = store.meta_bytes(META_INSTANCE_ID)? {
        let id = String::from_utf8(bytes).map_err(|_| {
            KafkaError::Config(format!(
                "the store's {META_INSTANCE_ID} is not UTF-8; set kafka.instance_id"
            ))
        })?;
        return Ok(Membership {
            id,
            origin: "stored",
        });
    }
    let id = generate(&hostname(), random_suffix());
    let mut commit = store.commit();
    commit.set_meta_bytes(META_INSTANCE_ID, id.as_bytes());
    store.write(commit)?;
    Ok(Membership {
        id,
        origin: "generated",
    })
}

/// The instance id of a sharded instance: the configured one, else the one
/// kept in `file` (its store root's `instance_id`), else a new one, written
/// there (through a temporary file and a rename, synced) before it is used.
/// Its three consumer loops all use it.
pub(crate) fn instance_id_in_file(
    config: &KafkaConfig,
    file: &std::path::Path,
) -> Result<Membership, KafkaError> {
    if let Some(id) = &config.instance_id {
        return Ok(Membership {
            id: id.clone(),
            origin: "configured",
        });
    }
    let unreadable = |e: std::io::Error| {
        KafkaError::Config(format!(
            "{}: cannot keep the instance id there ({e}); set kafka.instance_id",
            file.display()
        ))
    };
    match std::fs::read_to_string(file) {
        Ok(id) if !id.trim().is_empty() => {
            return Ok(Membership {
                id: id.trim().to_owned(),
                origin: "stored",
            });
        }
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(unreadable(e)),
    }
    let id = generate(&hostname(), random_suffix());
    let temporary = file.with_extension("tmp");
    {
        use std::io::Write;
        let mut out = std::fs::File::create(&temporary).map_err(unreadable)?;
        out.write_all(id.as_bytes()).map_err(unreadable)?;
        out.sync_all().map_err(unreadable)?;
    }
    std::fs::rename(&temporary, file).map_err(unreadable)?;
    Ok(Membership {
        id,
        origin: "generated",
    })
}

/// `touchline-<host>-<8 hex digits>`, in the characters Kafka allows in an id.
fn generate(host: &str, suffix: u32) -> String {
    let host: String = host
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .take(64)
        .collect();
    let host = if host.is_empty() { "host".into() } else { host };
    format!("touchline-{host}-{suffix:08x}")
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_owned())
        .unwrap_or_default()
}

/// Tells apart instances on one host (several stores); std's hasher keys are
/// random per process, which is all the randomness this needs.
fn random_suffix() -> u32 {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    hasher.write_u32(std::process::id());
    hasher.finish() as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_id_is_kept_and_a_configured_one_wins() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("open");
        let config = KafkaConfig::default();
        let first = instance_id(&config, &store).expect("generated");
        assert_eq!(first.origin, "generated");
        assert!(first.id.starts_with("touchline-"), "{}", first.id);
        drop(store);
        let store = Store::open(dir.path()).expect("reopen");
        let again = instance_id(&config, &store).expect("stored");
        assert_eq!(
            again,
            Membership {
                id: first.id.clone(),
                origin: "stored"
            }
        );
        let configured = KafkaConfig {
            instance_id: Some("touchline-1".into()),
            ..KafkaConfig::default()
        };
        assert_eq!(
            instance_id(&configured, &store).expect("configured").id,
            "touchline-1"
        );
        // The stored id stays for when the configured one is removed.
        assert_eq!(instance_id(&config, &store).expect("stored").id, first.id);
    }

    #[test]
    fn a_sharded_instance_keeps_its_generated_id_in_its_root() {
        let dir = tempfile::tempdir().expect("an instance id");
        let file = dir.path().join("instance_id");
        let config = KafkaConfig::default();
        let first = instance_id_in_file(&config, &file).expect("an instance id");
        assert_eq!(first.origin, "generated");
        let again = instance_id_in_file(&config, &file).expect("an instance id");
        assert_eq!(
            (again.id.as_str(), again.origin),
            (first.id.as_str(), "stored")
        );
        let configured = KafkaConfig {
            instance_id: Some("mine".into()),
            ..KafkaConfig::default()
        };
        assert_eq!(
            instance_id_in_file(&configured, &file)
                .expect("an instance id")
                .id,
            "mine"
        );
    }

    #[test]
    fn ids_use_only_characters_kafka_allows() {
        assert_eq!(generate("db 1/eu", 0xab), "touchline-db-1-eu-000000ab");
        assert_eq!(generate("", 1), "touchline-host-00000001");
        let long = generate(&"h".repeat(300), 0);
        assert!(long.len() < 100, "{long}");
        assert_ne!(random_suffix(), random_suffix());
    }
}
