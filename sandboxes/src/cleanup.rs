//! Removing what a job created, on every path: explicit clean-up, a guard for errors,
//! cancellation and panics, and a sweep at start-up for what a crashed worker left
//! (containers, networks, volumes, firewall rules, the references images were loaded under).

use std::collections::HashMap;

use bollard::Docker;
use bollard::query_parameters::{
    ListContainersOptionsBuilder, ListImagesOptionsBuilder, ListNetworksOptionsBuilder,
    ListVolumesOptionsBuilder, RemoveContainerOptionsBuilder, RemoveImageOptionsBuilder,
    RemoveVolumeOptionsBuilder,
};

use crate::policy::{JOB_LABEL, WORKER_LABEL};

/// The Docker objects and firewall rule of one job.
#[derive(Debug, Default, Clone)]
pub struct JobObjects {
    pub containers: Vec<String>,
    pub network: Option<String>,
    pub bridge: Option<String>,
    /// A size-capped tmpfs on the host, mounted at /output of a batch container.
    pub output_mount: Option<std::path::PathBuf>,
}

/// Removes the objects when dropped unless [`Guard::disarm`] ran; works without an async
/// context, so it also runs when a task is cancelled or the caller panics.
pub struct Guard {
    docker: Docker,
    objects: JobObjects,
    armed: bool,
}

impl Guard {
    pub fn new(docker: Docker) -> Self {
        Self {
            docker,
            objects: JobObjects::default(),
            armed: true,
        }
    }

    pub fn objects(&self) -> &JobObjects {
        &self.objects
    }

    pub fn objects_mut(&mut self) -> &mut JobObjects {
        &mut self.objects
    }

    /// Removes everything now and waits for it.
    pub async fn clean(mut self) {
        self.armed = false;
        remove(&self.docker, &self.objects).await;
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let (docker, objects) = (self.docker.clone(), std::mem::take(&mut self.objects));
        // A thread of its own: Drop may run during a panic or outside any runtime.
        std::thread::spawn(move || {
            if let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                runtime.block_on(remove(&docker, &objects));
            }
        });
    }
}

async fn remove(docker: &Docker, objects: &JobObjects) {
    for container in &objects.containers {
        let options = RemoveContainerOptionsBuilder::default()
            .force(true)
            .v(true)
            .build();
        if let Err(error) = docker.remove_container(container, Some(options)).await {
            tracing::debug!(%container, %error, "container already gone or not removable");
        }
    }
    if let Some(bridge) = &objects.bridge {
        crate::firewall::fence(false, bridge).await;
    }
    if let Some(network) = &objects.network
        && let Err(error) = docker.remove_network(network).await
    {
        tracing::debug!(%network, %error, "network already gone or not removable");
    }
    if let Some(dir) = &objects.output_mount {
        unmount_output(dir).await;
    }
}

/// Mounts a tmpfs of `bytes` at `dir`, owned by the sandbox user: a writable folder whose
/// size the kernel caps, which survives the container's exit. Its inodes are capped one
/// past `entries` (the root takes one), so the kernel stops a flood of empty files and the
/// read-back still sees that the cap was passed.
pub async fn mount_output(
    dir: &std::path::Path,
    bytes: u64,
    entries: u64,
    uid_gid: &str,
) -> Result<(), crate::SandboxError> {
    std::fs::create_dir_all(dir)?;
    let (uid, gid) = uid_gid.split_once(':').unwrap_or((uid_gid, uid_gid));
    let inodes = entries.saturating_add(2);
    let options = format!(
        "size={bytes},nr_inodes={inodes},uid={uid},gid={gid},mode=0700,noexec,nosuid,nodev"
    );
    let output = tokio::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", &options, "tmpfs"])
        .arg(dir)
        .output()
        .await?;
    if output.status.success() {
        Ok(())
    } else {
        let _ = std::fs::remove_dir(dir);
        Err(crate::SandboxError::Spec(format!(
            "cannot mount the output folder: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        )))
    }
}

async fn unmount_output(dir: &std::path::Path) {
    match tokio::process::Command::new("umount")
        .arg(dir)
        .output()
        .await
    {
        Ok(output) if output.status.success() => {
            let _ = std::fs::remove_dir(dir);
        }
        _ => tracing::warn!(dir = %dir.display(), "could not unmount an output folder"),
    }
}

fn job_filter(worker: Option<&str>) -> HashMap<String, Vec<String>> {
    let label = match worker {
        Some(worker) => format!("{WORKER_LABEL}={worker}"),
        None => JOB_LABEL.to_owned(),
    };
    HashMap::from([("label".to_owned(), vec![label])])
}

/// Removes every container, network, volume and firewall rule jobs left (only those of
/// `worker` when given); returns how many objects went.
pub async fn sweep(docker: &Docker, worker: Option<&str>) -> usize {
    let mut objects = JobObjects::default();
    if let Ok(containers) = docker
        .list_containers(Some(
            ListContainersOptionsBuilder::default()
                .all(true)
                .filters(&job_filter(worker))
                .build(),
        ))
        .await
    {
        objects.containers = containers.into_iter().filter_map(|c| c.id).collect();
    }
    let mut removed = objects.containers.len();
    remove(docker, &objects).await;
    if let Ok(networks) = docker
        .list_networks(Some(
            ListNetworksOptionsBuilder::default()
                .filters(&job_filter(worker))
                .build(),
        ))
        .await
    {
        for network in networks.into_iter().filter_map(|n| n.id) {
            if docker.remove_network(&network).await.is_ok() {
                removed += 1;
            }
        }
    }
    if let Ok(volumes) = docker
        .list_volumes(Some(
            ListVolumesOptionsBuilder::default()
                .filters(&job_filter(worker))
                .build(),
        ))
        .await
    {
        for volume in volumes.volumes.unwrap_or_default() {
            let options = RemoveVolumeOptionsBuilder::default().force(true).build();
            if docker
                .remove_volume(&volume.name, Some(options))
                .await
                .is_ok()
            {
                removed += 1;
            }
        }
    }
    removed + sweep_references(docker, worker).await + crate::firewall::sweep().await
}

/// Removes the image references a crashed worker loaded under (only `worker`'s when given),
/// without force: an image goes only when no other tag names it.
async fn sweep_references(docker: &Docker, worker: Option<&str>) -> usize {
    let prefix = crate::import::references_of(worker);
    let filters = HashMap::from([(
        "reference".to_owned(),
        vec![crate::import::REFERENCE_REPOSITORY.to_owned()],
    )]);
    let Ok(images) = docker
        .list_images(Some(
            ListImagesOptionsBuilder::default()
                .filters(&filters)
                .build(),
        ))
        .await
    else {
        return 0;
    };
    let mut removed = 0;
    for reference in images
        .into_iter()
        .flat_map(|image| image.repo_tags)
        .filter(|tag| tag.starts_with(&prefix))
    {
        let options = RemoveImageOptionsBuilder::default().force(false).build();
        if docker
            .remove_image(&reference, Some(options), None)
            .await
            .is_ok()
        {
            removed += 1;
        }
    }
    removed
}
