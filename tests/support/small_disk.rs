//! A small file system of one test, for a disk that fills up: a tmpfs, or
//! an ext4 image on a loop device where monitoring must see a real disk
//! (node-exporter's usage rules leave tmpfs out); mounted on a temp dir
//! (needs root), filled on request, and unmounted when dropped, even when
//! the test fails.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context, Result};

use crate::process::output_blocking;

/// The longest `mount`, `umount` or `chown` may take.
const LIMIT: Duration = Duration::from_secs(30);

pub struct SmallDisk {
    pub path: PathBuf,
    mounted: bool,
    _dir: tempfile::TempDir,
}

fn run(cmd: Command) -> Result<()> {
    let what = format!("{cmd:?}");
    let out = output_blocking(cmd, b"", LIMIT)?;
    if !out.status.success() {
        bail!("{what} failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(())
}

impl SmallDisk {
    /// Mounts a tmpfs of `size_mb` megabytes owned by the OS user `owner`.
    pub fn tmpfs(size_mb: u32, owner: &str) -> Result<SmallDisk> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("fs");
        std::fs::create_dir(&path)?;
        let mut mount = Command::new("mount");
        mount
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size_mb}m,mode=0700"),
                "opsdeck-test",
            ])
            .arg(&path);
        run(mount).context("mount a tmpfs (the test needs root)")?;
        Self::owned(dir, path, owner)
    }

    /// Mounts an ext4 file system of `size_mb` megabytes, an image in the
    /// temp dir on a loop device, owned by the OS user `owner`.
    pub fn ext4(size_mb: u32, owner: &str) -> Result<SmallDisk> {
        let dir = tempfile::tempdir()?;
        let image = dir.path().join("disk.img");
        std::fs::File::create(&image)?.set_len(u64::from(size_mb) * 1024 * 1024)?;
        let mut mkfs = Command::new("mkfs.ext4");
        mkfs.args(["-q", "-F", "-m", "0"]).arg(&image);
        run(mkfs).context("make an ext4 image (e2fsprogs)")?;
        let path = dir.path().join("fs");
        std::fs::create_dir(&path)?;
        let mut mount = Command::new("mount");
        mount.args(["-o", "loop"]).arg(&image).arg(&path);
        run(mount).context("mount an ext4 image on a loop device (the test needs root)")?;
        Self::owned(dir, path, owner)
    }

    /// The mounted `path` in `dir`, given to `owner`.
    fn owned(dir: tempfile::TempDir, path: PathBuf, owner: &str) -> Result<SmallDisk> {
        let fs = SmallDisk {
            path,
            mounted: true,
            _dir: dir,
        };
        let mut chown = Command::new("chown");
        chown.arg(format!("{owner}:{owner}")).arg(&fs.path);
        run(chown)?;
        // The temp dir is root's and private: the owner must reach the mount.
        let mut chmod = Command::new("chmod");
        chmod.arg("711").arg(fs._dir.path());
        run(chmod)?;
        Ok(fs)
    }

    /// Fills the filesystem with the file `name` until `leave_kb` kilobytes
    /// are left; returns the file's path (remove it to free the space).
    pub fn fill(&self, name: &str, leave_kb: u64) -> Result<PathBuf> {
        let file = self.path.join(name);
        let mut out = std::fs::File::create(&file)?;
        let block = vec![0x5a_u8; 64 * 1024];
        let mut written: u64 = 0;
        loop {
            match out.write(&block) {
                Ok(0) => break,
                Ok(n) => written += n as u64,
                Err(err) if err.raw_os_error() == Some(28) => break,
                Err(err) => return Err(err).context("fill the file system"),
            }
        }
        out.set_len(written.saturating_sub(leave_kb * 1024))?;
        Ok(file)
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        if self.mounted {
            // Lazy: a process of the failed test still holding a file in it
            // does not keep the mount.
            let mut umount = Command::new("umount");
            umount.arg("-l").arg(&self.path);
            let _ = run(umount);
            self.mounted = false;
        }
    }
}
