//! The audit log's hash chain: the canonical encoding of a record, its
//! SHA-256, and the walk that checks a database's chain end to end.
//!
//! The encoding is a version tag, then each field in a fixed order, each as
//! a presence byte and, when present, its length (8 bytes, big-endian) and
//! its bytes: no field can bleed into the next, and an absent field differs
//! from an empty one. Text is hashed exactly as stored.

use sha2::{Digest as _, Sha256};
use sqlx::AnyPool;

use super::store::{Stored, COLUMNS};
use crate::error::Error;

/// `prev_hash` of the first record.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

const VERSION: &[u8] = b"opsdeck-audit-v1";

/// What a record's hash covers.
#[derive(Debug, Clone, Copy)]
pub struct Fields<'a> {
    pub seq: i64,
    pub id: &'a str,
    pub at: &'a str,
    pub actor: &'a str,
    pub action: &'a str,
    pub target: &'a str,
    pub tenant_id: Option<&'a str>,
    pub before: Option<&'a str>,
    pub after: Option<&'a str>,
    pub request_id: &'a str,
    pub idempotency_key: Option<&'a str>,
    pub prev_hash: &'a str,
}

/// SHA-256 of the canonical encoding, lowercase hex.
pub fn hash(fields: &Fields<'_>) -> String {
    let mut digest = Sha256::new();
    digest.update(VERSION);
    let seq = fields.seq.to_string();
    for field in [
        Some(seq.as_str()),
        Some(fields.id),
        Some(fields.at),
        Some(fields.actor),
        Some(fields.action),
        Some(fields.target),
        fields.tenant_id,
        fields.before,
        fields.after,
        Some(fields.request_id),
        fields.idempotency_key,
        Some(fields.prev_hash),
    ] {
        match field {
            None => digest.update([0u8]),
            Some(text) => {
                digest.update([1u8]);
                digest.update((text.len() as u64).to_be_bytes());
                digest.update(text.as_bytes());
            }
        }
    }
    digest
        .finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// The first thing wrong with a chain.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Broken {
    #[error(
        "audit record {seq} is missing (deleted?): the next one found is {found_seq} (id {id})"
    )]
    Missing {
        seq: i64,
        found_seq: i64,
        id: String,
    },
    #[error("audit record {seq} (id {id}) does not follow record {prev}: its prev_hash is not that record's hash (deleted or reordered?)")]
    Unlinked { seq: i64, id: String, prev: i64 },
    #[error("audit record {seq} (id {id}) was changed after it was written: its hash does not match its fields")]
    Altered { seq: i64, id: String },
    #[error("audit records after {last} are missing (deleted?): the chain's head is at {head}")]
    Truncated { last: i64, head: i64 },
    #[error("the last audit record {seq} is not the chain's head (replaced?)")]
    HeadMismatch { seq: i64 },
}

/// What a walk found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// Records checked.
    pub records: i64,
    pub broken: Option<Broken>,
}

/// Records read per query of the walk.
const BATCH: i64 = 1000;

/// Walks the whole chain in `seq` order and reports the first bad record.
pub async fn verify(pool: &AnyPool) -> Result<Verified, Error> {
    use sqlx::Row as _;
    let mut expected = 1_i64;
    let mut prev = GENESIS.to_string();
    let mut checked = 0_i64;
    let mut last = 0_i64;
    // `seq` is unique, so `seq > last` meets every record once, in order; a
    // record whose `seq` was cleared is never met, which leaves a gap.
    loop {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM audit_records WHERE seq > $1 ORDER BY seq LIMIT $2"
        ))
        .bind(last)
        .bind(BATCH)
        .fetch_all(pool)
        .await?;
        if rows.is_empty() {
            break;
        }
        for row in &rows {
            let stored = Stored::of(row)?;
            if stored.seq != expected {
                return Ok(broken(
                    checked,
                    Broken::Missing {
                        seq: expected,
                        found_seq: stored.seq,
                        id: stored.id,
                    },
                ));
            }
            if stored.prev_hash.as_deref() != Some(prev.as_str()) {
                return Ok(broken(
                    checked,
                    Broken::Unlinked {
                        seq: stored.seq,
                        id: stored.id,
                        prev: expected - 1,
                    },
                ));
            }
            let computed = hash(&stored.fields(&prev));
            if stored.hash.as_deref() != Some(computed.as_str()) {
                return Ok(broken(
                    checked,
                    Broken::Altered {
                        seq: stored.seq,
                        id: stored.id,
                    },
                ));
            }
            prev = computed;
            last = stored.seq;
            expected += 1;
            checked += 1;
        }
    }
    let head = sqlx::query("SELECT seq, hash FROM audit_chain WHERE id = 1")
        .fetch_one(pool)
        .await?;
    let head_seq: i64 = head.try_get("seq")?;
    let head_hash: Option<String> = head.try_get("hash")?;
    if head_seq != checked {
        return Ok(broken(
            checked,
            Broken::Truncated {
                last: checked,
                head: head_seq,
            },
        ));
    }
    if head_hash.as_deref() != Some(prev.as_str()) {
        return Ok(broken(checked, Broken::HeadMismatch { seq: checked }));
    }
    Ok(Verified {
        records: checked,
        broken: None,
    })
}

fn broken(records: i64, what: Broken) -> Verified {
    Verified {
        records,
        broken: Some(what),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields() -> Fields<'static> {
        Fields {
            seq: 1,
            id: "0190",
            at: "2025-01-01T00:00:00.000Z",
            actor: "admin",
            action: "tenant.create",
            target: "tenant:acme",
            tenant_id: Some("t1"),
            before: None,
            after: Some("{}"),
            request_id: "r1",
            idempotency_key: None,
            prev_hash: GENESIS,
        }
    }

    #[test]
    fn every_field_changes_the_hash() {
        let base = hash(&fields());
        assert_eq!(base.len(), 64);
        let variants = [
            Fields { seq: 2, ..fields() },
            Fields {
                actor: "admim",
                ..fields()
            },
            Fields {
                tenant_id: None,
                ..fields()
            },
            Fields {
                before: Some(""),
                ..fields()
            },
            Fields {
                idempotency_key: Some(""),
                ..fields()
            },
            Fields {
                prev_hash: "1",
                ..fields()
            },
        ];
        for variant in variants {
            assert_ne!(hash(&variant), base, "{variant:?}");
        }
    }

    #[test]
    fn text_cannot_move_between_fields() {
        let a = Fields {
            actor: "ab",
            action: "c",
            ..fields()
        };
        let b = Fields {
            actor: "a",
            action: "bc",
            ..fields()
        };
        assert_ne!(hash(&a), hash(&b));
    }
}
