//! Where a running container's control groups are, so the harness can read its CPU
//! pressure, waits and throttling straight from the kernel over a timed run.

use std::path::{Path, PathBuf};

/// A container's control-group folders on this host, as far as they could be found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContainerCgroup {
    /// Its folder in the unified (v2) hierarchy: `cpu.pressure`, `cpu.stat`,
    /// `cgroup.threads`. On a v1 host the Docker engine makes none.
    pub unified: Option<PathBuf>,
    /// Its folder in the v1 `cpu` hierarchy: `cpu.stat` (throttling) and `tasks`.
    pub cpu_v1: Option<PathBuf>,
}

impl ContainerCgroup {
    /// The folders of process `pid`, from `/proc/<pid>/cgroup` under `root` (the cgroup
    /// file systems' mount point, `/sys/fs/cgroup`); those that do not exist are left out.
    pub fn of_process(pid: i64, root: &Path) -> Self {
        std::fs::read_to_string(format!("/proc/{pid}/cgroup"))
            .map(|text| Self::from_proc(&text, root))
            .unwrap_or_default()
    }

    /// The folders that `/proc/<pid>/cgroup`'s `text` names under `root`: the unified
    /// hierarchy is `root` itself on a v2 host and `root/unified` on a hybrid one; the v1
    /// `cpu` controller is mounted alone or together with `cpuacct`.
    pub fn from_proc(text: &str, root: &Path) -> Self {
        let mut found = Self::default();
        for (_, controllers, path) in proc_entries(text) {
            let relative = path.trim_start_matches('/');
            if controllers.is_empty() {
                // The root is the host's own; its figures are /proc/pressure's.
                if relative.is_empty() {
                    continue;
                }
                found.unified = [root.to_path_buf(), root.join("unified")]
                    .into_iter()
                    .map(|base| base.join(relative))
                    .find(|dir| dir.join("cgroup.threads").is_file());
            } else if controllers.split(',').any(|c| c == "cpu") && !relative.is_empty() {
                found.cpu_v1 = [controllers, "cpu", "cpu,cpuacct"]
                    .into_iter()
                    .map(|mount| root.join(mount).join(relative))
                    .find(|dir| dir.join("cpu.stat").is_file());
            }
        }
        found
    }
}

/// The lines of a `/proc/<pid>/cgroup` file: the hierarchy's number, its controllers
/// (empty for the unified hierarchy) and the process's folder in it.
pub fn proc_entries(text: &str) -> impl Iterator<Item = (&str, &str, &str)> {
    text.lines().filter_map(|line| {
        let mut fields = line.splitn(3, ':');
        Some((fields.next()?, fields.next()?, fields.next()?))
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn tree(dirs: &[(&str, &str)]) -> tempfile::TempDir {
        let root = tempfile::tempdir().unwrap();
        for (dir, file) in dirs {
            let dir = root.path().join(dir);
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join(file), "").unwrap();
        }
        root
    }

    #[test]
    fn a_v1_host_with_the_cgroupfs_driver_has_only_the_cpu_folder() {
        // Recorded on Debian 12 with Docker 20.10 (cgroupfs driver, hybrid hierarchy).
        let text = "12:cpu,cpuacct:/docker/4f1c\n9:name=systemd:/docker/4f1c\n\
                    4:memory:/docker/4f1c\n0::/\n";
        let root = tree(&[("cpu,cpuacct/docker/4f1c", "cpu.stat")]);
        let found = ContainerCgroup::from_proc(text, root.path());
        assert_eq!(found.unified, None);
        assert_eq!(
            found.cpu_v1,
            Some(root.path().join("cpu,cpuacct/docker/4f1c"))
        );
        // Controllers mounted apart (`cpu` alone) are found too.
        let root = tree(&[("cpu/docker/4f1c", "cpu.stat")]);
        let found = ContainerCgroup::from_proc("1:cpu:/docker/4f1c\n", root.path());
        assert_eq!(found.cpu_v1, Some(root.path().join("cpu/docker/4f1c")));
    }

    #[test]
    fn a_v2_host_has_the_unified_folder_and_a_missing_one_is_left_out() {
        let text = "0::/system.slice/docker-4f1c.scope\n";
        let root = tree(&[("system.slice/docker-4f1c.scope", "cgroup.threads")]);
        let found = ContainerCgroup::from_proc(text, root.path());
        assert_eq!(
            found.unified,
            Some(root.path().join("system.slice/docker-4f1c.scope"))
        );
        let hybrid = tree(&[("unified/docker/4f1c", "cgroup.threads")]);
        let found = ContainerCgroup::from_proc("0::/docker/4f1c\n", hybrid.path());
        assert_eq!(
            found.unified,
            Some(hybrid.path().join("unified/docker/4f1c"))
        );
        let empty = tempfile::tempdir().unwrap();
        assert_eq!(
            ContainerCgroup::from_proc(text, empty.path()),
            ContainerCgroup::default()
        );
        assert_eq!(
            ContainerCgroup::from_proc("garbage\n0::/\n", empty.path()),
            ContainerCgroup::default()
        );
    }
}
