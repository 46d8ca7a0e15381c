//! Whether a pgBackRest repository's disk is full: pgBackRest says only
//! "unable to write" after a short write, or that WAL "was not archived
//! before the timeout" when the archive could not be written, so a failed
//! backup looks at the repository's filesystem and says so itself. Only a
//! local (`posix`) repository can be looked at; its path is read from the
//! target's pgBackRest configuration (the stanza's section over `[global]`).

use std::path::{Path, PathBuf};

use crate::config::TargetConfig;

/// pgBackRest's repository path when its configuration names none.
const DEFAULT_REPO: &str = "/var/lib/pgbackrest";

/// Less than this left for the backup's user is a full disk: a failed write
/// leaves nearly nothing, and no backup fits in it.
const FULL_BELOW: u64 = 1024 * 1024;

/// The local repository path of `stanza` in the configuration `text`;
/// `None` for a repository of another type (object stores).
pub fn repo_path(text: &str, stanza: &str) -> Option<PathBuf> {
    let mut section = String::new();
    let mut global: (Option<String>, Option<String>) = (None, None);
    let mut own: (Option<String>, Option<String>) = (None, None);
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.trim().to_string();
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let slot = if section == "global" {
            &mut global
        } else if section == stanza {
            &mut own
        } else {
            continue;
        };
        match key.trim() {
            "repo1-path" => slot.0 = Some(value.trim().to_string()),
            "repo1-type" => slot.1 = Some(value.trim().to_string()),
            _ => {}
        }
    }
    let kind = own.1.or(global.1).unwrap_or_else(|| "posix".to_string());
    if kind != "posix" {
        return None;
    }
    Some(PathBuf::from(
        own.0
            .or(global.0)
            .unwrap_or_else(|| DEFAULT_REPO.to_string()),
    ))
}

/// "the repository's disk is full: …" when the target's repository is on a
/// local filesystem with (nearly) no room left; `None` when it has room or
/// cannot be looked at.
pub async fn full(target: &TargetConfig) -> Option<String> {
    let text = tokio::fs::read_to_string(target.pgbackrest_config())
        .await
        .ok()?;
    let path = repo_path(&text, target.stanza())?;
    let looked = path.clone();
    let stat = tokio::task::spawn_blocking(move || rustix::fs::statvfs(&looked))
        .await
        .ok()?
        .ok()?;
    let free = stat.f_bavail.saturating_mul(stat.f_frsize);
    let size = stat.f_blocks.saturating_mul(stat.f_frsize);
    (free < FULL_BELOW).then(|| said(&path, free, size))
}

fn said(path: &Path, free: u64, size: u64) -> String {
    format!(
        "the repository's disk is full: {} free of {} at {}; free space there and start the backup again",
        bytes(free),
        bytes(size),
        path.display()
    )
}

fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stanzas_repository_path_wins_over_the_global_one() {
        let text = "[global]\nrepo1-path=/srv/repo\n\n[main]\npg1-path=/data\n\n[other]\nrepo1-path=/elsewhere\n";
        assert_eq!(repo_path(text, "main"), Some(PathBuf::from("/srv/repo")));
        assert_eq!(repo_path(text, "other"), Some(PathBuf::from("/elsewhere")));
        assert_eq!(
            repo_path("[main]\npg1-path=/d\n", "main"),
            Some(PathBuf::from(DEFAULT_REPO))
        );
        assert_eq!(repo_path("[global]\nrepo1-type=s3\n", "main"), None);
    }

    #[test]
    fn a_full_disk_is_said_with_its_sizes() {
        assert_eq!(
            said(Path::new("/srv/repo"), 0, 48 * 1024 * 1024),
            "the repository's disk is full: 0 B free of 48.0 MiB at /srv/repo; free space there and start the backup again"
        );
    }
}
