//! Retention: which full backups a target keeps (its `[retention]`: full
//! backups by days or count, the newest of each week for `weekly_days`,
//! and always the newest backup whose verification passed), applied after
//! each backup. On a pgBackRest target by pgBackRest itself, on each of
//! its repositories (a second one off-site keeps its own backups, planned
//! apart): `expire --repo=N --set` for full backups between kept ones,
//! then `expire --repo=N` with `repoN-retention-full` counting back to the
//! oldest kept one (diff and incr backups go with their full); its backups
//! run with pgBackRest's own expiry off (`--no-expire-auto`), so that
//! nothing but this plan removes a backup. On a file target (`files`), by
//! removing what the plan does not keep.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Datelike as _, TimeZone as _, Utc};
use opsdeck_api::backups::{BackupType, RetentionKeep};

use crate::config::{RetentionConfig, RetentionType, TargetConfig};
use crate::db::{self, Db};
use crate::jobs::{self, Claim};

use super::listing::Verified;
use super::pgbackrest::{self, tolerated, BackupInfo, RunError};

/// What retention does to a target's repository.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Plan {
    /// Full backups kept, by label, and why.
    pub keep: BTreeMap<String, RetentionKeep>,
    /// Full backups newer than the oldest kept one that go anyway (with
    /// `expire --set`), oldest first.
    pub expire_sets: Vec<String>,
    /// `repoN-retention-full` (a count): the full backups from the oldest
    /// kept one to the newest. `None` without any full backup.
    pub full_count: Option<usize>,
}

impl Plan {
    /// Why `backup` is kept: its full backup's reason.
    pub fn kept_by(&self, backup: &Entry) -> Option<RetentionKeep> {
        self.keep.get(full_of(backup)).copied()
    }
}

/// What retention reads of a backup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry<'a> {
    pub label: &'a str,
    /// The repository that holds it (`1` for a file target).
    pub repo: u32,
    pub backup_type: BackupType,
    /// Unix seconds.
    pub stopped_at: i64,
}

impl<'a> From<&'a BackupInfo> for Entry<'a> {
    fn from(b: &'a BackupInfo) -> Entry<'a> {
        Entry {
            label: &b.label,
            repo: b.repo(),
            backup_type: b.backup_type,
            stopped_at: b.timestamp.stop,
        }
    }
}

impl<'a> From<&'a super::files::Manifest> for Entry<'a> {
    fn from(m: &'a super::files::Manifest) -> Entry<'a> {
        Entry {
            label: &m.label,
            repo: 1,
            backup_type: BackupType::Full,
            stopped_at: m.stopped_at,
        }
    }
}

/// The full backup `backup` depends on (itself when full): pgBackRest
/// labels a diff or incr `<full>_<its own>`.
fn full_of<'a>(backup: &Entry<'a>) -> &'a str {
    match backup.backup_type {
        BackupType::Full => backup.label,
        _ => backup.label.split('_').next().unwrap_or(backup.label),
    }
}

/// The plan for `backups` (as `pgbackrest info` lists them, oldest first)
/// under `policy` at `now`, `verified` being the latest verification of
/// each backup.
pub fn plan(
    backups: &[Entry],
    policy: &RetentionConfig,
    verified: &Verified,
    now: DateTime<Utc>,
) -> Plan {
    let fulls: Vec<&Entry> = backups
        .iter()
        .filter(|b| b.backup_type == BackupType::Full)
        .collect();
    let Some(newest) = fulls.last() else {
        return Plan::default();
    };
    let stopped = |b: &Entry| {
        Utc.timestamp_opt(b.stopped_at, 0)
            .single()
            .unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
    };
    let age_days = |b: &Entry| (now - stopped(b)).num_seconds() as f64 / 86_400.0;
    let mut keep = BTreeMap::new();
    let full = usize::try_from(policy.full).unwrap_or(usize::MAX).max(1);
    match policy.full_type {
        RetentionType::Count => {
            for b in fulls.iter().rev().take(full) {
                keep.insert(b.label.to_string(), RetentionKeep::Retention);
            }
        }
        RetentionType::Time => {
            for b in &fulls {
                if age_days(b) < f64::from(policy.full) {
                    keep.insert(b.label.to_string(), RetentionKeep::Retention);
                }
            }
        }
    }
    keep.insert(newest.label.to_string(), RetentionKeep::Retention);
    if policy.weekly_days > 0 {
        let mut weeks = BTreeSet::new();
        for b in fulls.iter().rev() {
            if age_days(b) >= f64::from(policy.weekly_days) {
                continue;
            }
            let week = stopped(b).iso_week();
            if weeks.insert((week.year(), week.week())) {
                keep.entry(b.label.to_string())
                    .or_insert(RetentionKeep::Weekly);
            }
        }
    }
    let last_verified = backups
        .iter()
        .rev()
        .find(|b| verified.get(b.label).is_some_and(|(ok, _)| *ok));
    if let Some(b) = last_verified {
        let full = full_of(b);
        if fulls.iter().any(|f| f.label == full) {
            keep.entry(full.to_string())
                .or_insert(RetentionKeep::LastVerified);
        }
    }
    let oldest_kept = fulls
        .iter()
        .position(|b| keep.contains_key(b.label))
        .unwrap_or(fulls.len() - 1);
    Plan {
        expire_sets: fulls[oldest_kept..]
            .iter()
            .filter(|b| !keep.contains_key(b.label))
            .map(|b| b.label.to_string())
            .collect(),
        full_count: Some(fulls.len() - oldest_kept),
        keep,
    }
}

/// The plan of each repository, by key: each keeps its own full backups
/// and its own last verified one.
pub fn plans(
    backups: &[Entry],
    policy: &RetentionConfig,
    verified: &Verified,
    now: DateTime<Utc>,
) -> BTreeMap<u32, Plan> {
    let repos: BTreeSet<u32> = backups.iter().map(|b| b.repo).collect();
    repos
        .into_iter()
        .map(|repo| {
            let own: Vec<Entry> = backups.iter().filter(|b| b.repo == repo).copied().collect();
            (repo, plan(&own, policy, verified, now))
        })
        .collect()
}

/// Why `backup` is kept, by its repository's plan.
pub fn kept_by(plans: &BTreeMap<u32, Plan>, backup: &Entry) -> Option<RetentionKeep> {
    plans
        .get(&backup.repo)
        .and_then(|plan| plan.kept_by(backup))
}

/// The policy in words, for the job's log.
fn words(policy: &RetentionConfig) -> String {
    let full = match policy.full_type {
        RetentionType::Time => format!("full backups of the last {} days", policy.full),
        RetentionType::Count => format!("the newest {} full backups", policy.full),
    };
    let weekly = if policy.weekly_days > 0 {
        format!(", the newest of each week for {} days", policy.weekly_days)
    } else {
        String::new()
    };
    format!("{full}{weekly}, and the last verified backup")
}

/// Applies the target's retention after a backup, for the job `claim`
/// holds, `before` being `pgbackrest info` once the backup ended: the
/// labels removed, oldest first. What it did is said in the job's log; a
/// failure of pgBackRest is said there too and returned.
pub async fn apply(
    db: &Db,
    claim: &Claim,
    target: &TargetConfig,
    before: &[pgbackrest::StanzaInfo],
    stop_asked: &mut tokio::sync::watch::Receiver<bool>,
) -> Result<Vec<String>, RunError> {
    let backups: Vec<Entry> = before
        .iter()
        .flat_map(|s| s.backup.iter())
        .map(Entry::from)
        .collect();
    let verified = super::verify::latest(db, &target.id).await?;
    let plans = plans(&backups, &target.retention, &verified, db::now());
    for (repo, plan) in &plans {
        let Some(count) = plan.full_count else {
            continue;
        };
        let retention = [
            format!("--repo={repo}"),
            format!("--repo{repo}-retention-full-type=count"),
            format!("--repo{repo}-retention-full={count}"),
            "--log-level-console=info".to_string(),
            "--log-level-stderr=error".to_string(),
        ];
        for set in &plan.expire_sets {
            let mut args = vec!["expire".to_string(), format!("--set={set}")];
            args.extend(retention.iter().cloned());
            pgbackrest::run_logged(db, claim, target, &args, stop_asked).await?;
        }
        let mut args = vec!["expire".to_string()];
        args.extend(retention.iter().cloned());
        pgbackrest::run_logged(db, claim, target, &args, stop_asked).await?;
    }

    let after = pgbackrest::info(target).await?;
    let left: BTreeSet<&str> = after
        .iter()
        .flat_map(|s| s.backup.iter())
        .map(|b| b.label.as_str())
        .collect();
    let expired: Vec<String> = backups
        .iter()
        .filter(|b| !left.contains(b.label))
        .map(|b| b.label.to_string())
        .collect();
    log(db, claim, &target.retention, &plans, &expired).await?;
    Ok(expired)
}

/// Says in the job's log what retention kept and removed.
pub async fn log(
    db: &Db,
    claim: &Claim,
    policy: &RetentionConfig,
    plans: &BTreeMap<u32, Plan>,
    expired: &[String],
) -> Result<(), RunError> {
    let kept: Vec<String> = plans
        .iter()
        .flat_map(|(repo, plan)| plan.keep.iter().map(move |kept| (repo, kept)))
        .map(|(repo, (label, why))| {
            let why = match why {
                RetentionKeep::Retention => "retention",
                RetentionKeep::Weekly => "weekly",
                RetentionKeep::LastVerified => "last verified",
            };
            if plans.len() > 1 {
                format!("{label} ({why}, repo{repo})")
            } else {
                format!("{label} ({why})")
            }
        })
        .collect();
    let line = format!(
        "retention ({}): {}; full backups kept: {}",
        words(policy),
        if expired.is_empty() {
            "nothing expired".to_string()
        } else {
            format!("expired {}", expired.join(", "))
        },
        kept.join(", ")
    );
    tolerated(jobs::append_log(db, claim, &[line], db::now()).await)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backups::pgbackrest::StanzaInfo;

    const DAY: i64 = 86_400;

    /// Full backups stopped `days` ago (oldest first), each with an incr.
    fn info(now: i64, days: &[i64]) -> Vec<StanzaInfo> {
        let backups: Vec<String> = days
            .iter()
            .enumerate()
            .flat_map(|(n, d)| {
                let stop = now - d * DAY;
                [
                    format!(
                        r#"{{"label":"F{n}","type":"full","info":{{"size":1,"repository":{{"size":1}}}},
                           "timestamp":{{"start":{stop},"stop":{stop}}}}}"#
                    ),
                    format!(
                        r#"{{"label":"F{n}_I{n}","type":"incr","prior":"F{n}","info":{{"size":1,"repository":{{"size":1}}}},
                           "timestamp":{{"start":{},"stop":{}}}}}"#,
                        stop + 60,
                        stop + 60
                    ),
                ]
            })
            .collect();
        serde_json::from_str(&format!(r#"[{{"backup":[{}]}}]"#, backups.join(","))).expect("parses")
    }

    fn planned(info: &[StanzaInfo], policy: RetentionConfig, verified: &[&str], now: i64) -> Plan {
        let backups: Vec<Entry> = info
            .iter()
            .flat_map(|s| s.backup.iter())
            .map(Entry::from)
            .collect();
        let verified: Verified = verified
            .iter()
            .map(|l| (l.to_string(), (true, DateTime::<Utc>::UNIX_EPOCH)))
            .collect();
        plan(
            &backups,
            &policy,
            &verified,
            Utc.timestamp_opt(now, 0).single().expect("time"),
        )
    }

    #[test]
    fn the_plans_default_keeps_a_week_of_dailies_and_a_month_of_weeklies() {
        // 2026-11-25 is a Wednesday.
        let now = Utc
            .with_ymd_and_hms(2026, 11, 25, 12, 0, 0)
            .single()
            .expect("time")
            .timestamp();
        let days: Vec<i64> = (0..40).rev().collect();
        let plan = planned(&info(now, &days), RetentionConfig::default(), &[], now);
        let retention = plan
            .keep
            .values()
            .filter(|k| **k == RetentionKeep::Retention)
            .count();
        assert_eq!(retention, 7, "{plan:?}");
        let weekly: Vec<&String> = plan
            .keep
            .iter()
            .filter(|(_, k)| **k == RetentionKeep::Weekly)
            .map(|(l, _)| l)
            .collect();
        // The Sundays 10, 17 and 24 days ago end the weeks before the
        // dailies' within 30 days (the week before ends 31 days ago).
        assert_eq!(weekly.len(), 3, "{plan:?}");
        // Everything between the oldest weekly and the dailies goes by set.
        assert_eq!(plan.full_count, Some(25));
        assert_eq!(plan.expire_sets.len(), 25 - 7 - 3);
    }

    #[test]
    fn the_last_verified_backup_survives_a_retention_of_one() {
        let info = info(100 * DAY, &[3, 2, 1, 0]);
        let policy = RetentionConfig {
            full: 1,
            full_type: RetentionType::Count,
            weekly_days: 0,
        };
        // F1's incr passed its verification: F1 stays with it.
        let plan = planned(&info, policy, &["F0", "F1_I1"], 100 * DAY);
        assert_eq!(
            plan.keep,
            BTreeMap::from([
                ("F1".to_string(), RetentionKeep::LastVerified),
                ("F3".to_string(), RetentionKeep::Retention),
            ])
        );
        assert_eq!(plan.expire_sets, ["F2"]);
        assert_eq!(plan.full_count, Some(3));
        let incr = Entry::from(&info[0].backup[3]);
        assert_eq!(plan.kept_by(&incr), Some(RetentionKeep::LastVerified));
        assert_eq!(plan.kept_by(&Entry::from(&info[0].backup[0])), None);
        let none = planned(&info, policy, &[], 100 * DAY);
        assert_eq!((none.full_count, none.expire_sets.len()), (Some(1), 0));
    }

    #[test]
    fn each_repository_keeps_its_own_fulls_and_its_own_last_verified_backup() {
        let full = |label: &str, repo: u32, stop: i64| {
            format!(
                r#"{{"label":"{label}","type":"full","info":{{"size":1,"repository":{{"size":1}}}},
                   "timestamp":{{"start":{stop},"stop":{stop}}},"database":{{"id":1,"repo-key":{repo}}}}}"#
            )
        };
        let info: Vec<StanzaInfo> = serde_json::from_str(&format!(
            "[{{\"backup\":[{}]}}]",
            [
                full("A0", 1, 10),
                full("A1", 1, 20),
                full("A2", 1, 30),
                full("B0", 2, 15),
                full("B1", 2, 25),
            ]
            .join(",")
        ))
        .expect("parses");
        let backups: Vec<Entry> = info[0].backup.iter().map(Entry::from).collect();
        let policy = RetentionConfig {
            full: 1,
            full_type: RetentionType::Count,
            weekly_days: 0,
        };
        // A0 passed its verification in repo1; repo2 has none verified.
        let verified: Verified =
            BTreeMap::from([("A0".to_string(), (true, DateTime::<Utc>::UNIX_EPOCH))]);
        let plans = plans(&backups, &policy, &verified, DateTime::<Utc>::UNIX_EPOCH);
        assert_eq!(plans.keys().copied().collect::<Vec<_>>(), [1, 2]);
        assert_eq!(
            plans[&1].keep,
            BTreeMap::from([
                ("A0".to_string(), RetentionKeep::LastVerified),
                ("A2".to_string(), RetentionKeep::Retention),
            ])
        );
        assert_eq!(
            (plans[&1].expire_sets.clone(), plans[&1].full_count),
            (vec!["A1".to_string()], Some(3))
        );
        // repo2's count is its own: its newest full only, the other goes.
        assert_eq!(
            plans[&2].keep,
            BTreeMap::from([("B1".to_string(), RetentionKeep::Retention)])
        );
        assert_eq!(plans[&2].full_count, Some(1));
        assert_eq!(kept_by(&plans, &backups[3]), None);
        assert_eq!(
            kept_by(&plans, &backups[0]),
            Some(RetentionKeep::LastVerified)
        );
    }
}
