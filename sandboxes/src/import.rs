//! Connecting to the engine, importing checked archives, sweeping leftovers.

use std::path::Path;

use bollard::Docker;
use bollard::query_parameters::{ImportImageOptionsBuilder, RemoveImageOptionsBuilder};
use futures_util::StreamExt;

use crate::SandboxError;
use crate::archive;
use crate::config::SandboxConfig;
use crate::repack::{self, ChannelWriter};
use crate::run::Sandbox;

/// A loaded image: its id (checked to be the digest of the checked configuration) and the
/// reference the worker loaded it under, the only name the worker ever removes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedImage {
    pub id: String,
    pub reference: String,
    pub size_bytes: u64,
}

impl Sandbox {
    /// Connects to the local engine and checks that it answers.
    pub async fn connect(config: SandboxConfig) -> Result<Self, SandboxError> {
        let docker = Docker::connect_with_local_defaults()
            .map_err(|e| SandboxError::Unreachable(e.to_string()))?;
        docker
            .ping()
            .await
            .map_err(|e| SandboxError::Unreachable(e.to_string()))?;
        let engine = crate::engine::inspect(&docker).await;
        Ok(Self {
            docker,
            config,
            engine,
        })
    }

    pub fn config(&self) -> &SandboxConfig {
        &self.config
    }

    /// Removes what earlier jobs left behind (call at start-up): this worker's, when the
    /// configuration names it, otherwise every job's. Returns how many objects went.
    pub async fn sweep(&self) -> usize {
        crate::cleanup::sweep(&self.docker, self.config.worker_label.as_deref()).await
    }

    /// Checks the archive (streamed from disk, never read whole into memory), then loads it
    /// under the worker's own reference for `load_id` (see [`reference_for`]): the archive's
    /// tags are never applied. The loaded image must be exactly the checked one (its id the
    /// digest of the checked configuration). A refusal names its reason; a load that fails
    /// half-way leaves nothing of the worker's behind.
    pub async fn import_archive(
        &self,
        path: &Path,
        load_id: &str,
    ) -> Result<ImportedImage, SandboxError> {
        let limits = self.config.import.clone();
        let file = std::fs::File::open(path)?;
        let summary = tokio::task::spawn_blocking(move || {
            archive::check(std::io::BufReader::new(file), &limits)
        })
        .await
        .map_err(|e| SandboxError::Io(std::io::Error::other(e)))??;
        let reference = reference_for(self.config.worker_label.as_deref(), load_id);
        let manifest = repack::manifest(&summary, &reference);
        let file = std::fs::File::open(path)?;
        let (sender, mut receiver) = tokio::sync::mpsc::channel(4);
        let writer = tokio::task::spawn_blocking(move || {
            let writer = std::io::BufWriter::with_capacity(1 << 20, ChannelWriter(sender));
            repack::repack(std::io::BufReader::new(file), writer, &manifest)
        });
        let body = futures_util::stream::poll_fn(move |cx| receiver.poll_recv(cx));
        let options = ImportImageOptionsBuilder::default().quiet(true).build();
        let mut progress = self.docker.import_image_stream(options, body, None);
        let mut engine_error = None;
        while let Some(message) = progress.next().await {
            if let Err(error) = message {
                engine_error = Some(error);
                break;
            }
        }
        drop(progress);
        let repacked = writer
            .await
            .map_err(|e| SandboxError::Io(std::io::Error::other(e)))
            .and_then(|done| done);
        let failure = match (engine_error, repacked) {
            (Some(error), _) => load_failure(error),
            // Reading the worker's own copy failed after the check passed: not the team's doing.
            (None, Err(error)) => error,
            (None, Ok(())) => match self.docker.inspect_image(&reference).await {
                Ok(image) if image.id.as_deref() == Some(summary.image_id.as_str()) => {
                    return Ok(ImportedImage {
                        id: summary.image_id,
                        reference,
                        size_bytes: image
                            .size
                            .and_then(|s| u64::try_from(s).ok())
                            .unwrap_or(summary.unpacked_bytes),
                    });
                }
                Ok(image) => SandboxError::Archive(format!(
                    "the engine loaded {} where the checked image is {}",
                    image.id.unwrap_or_default(),
                    summary.image_id
                )),
                Err(bollard::errors::Error::DockerResponseServerError {
                    status_code: 404, ..
                }) => {
                    SandboxError::Archive("the engine did not keep the image it was given".into())
                }
                Err(error) => SandboxError::Docker(error),
            },
        };
        self.untag(&reference).await;
        Err(failure)
    }

    /// Lets go of an imported image: its reference is removed, and the image with it only
    /// when no other tag names it (a team's own tag of the same image on a shared engine
    /// stays, and so does the image).
    pub async fn remove_image(&self, image: &ImportedImage) -> Result<(), SandboxError> {
        let options = RemoveImageOptionsBuilder::default()
            .force(false)
            .noprune(false)
            .build();
        self.docker
            .remove_image(&image.reference, Some(options), None)
            .await?;
        Ok(())
    }

    async fn untag(&self, reference: &str) {
        let options = RemoveImageOptionsBuilder::default().force(false).build();
        if let Err(error) = self
            .docker
            .remove_image(reference, Some(options), None)
            .await
        {
            tracing::debug!(%reference, %error, "nothing loaded under the reference");
        }
    }
}

/// Whose fault a failed load is: the engine refusing the archive's content is the
/// submission's (named, not retried); an engine that cannot be reached, times out or runs
/// out of disk is the platform's.
fn load_failure(error: bollard::errors::Error) -> SandboxError {
    use bollard::errors::Error;
    let refusal = match &error {
        Error::DockerResponseServerError { message, .. } => Some(message.clone()),
        Error::DockerStreamError { error } => Some(error.clone()),
        _ => None,
    };
    match refusal {
        Some(message) if !message.contains("no space left on device") => {
            SandboxError::Archive(format!("the engine could not load the image: {message}"))
        }
        _ => SandboxError::Docker(error),
    }
}

/// The worker's own name for the image it loads for `load_id` (a job attempt): a repository
/// of its own, and a tag that names the worker (see [`reference_prefix`]) and is unique to
/// the load, so removing it touches nothing else.
pub fn reference_for(worker: Option<&str>, load_id: &str) -> String {
    let tag: String = load_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.') {
                c
            } else {
                '_'
            }
        })
        .take(100)
        .collect();
    format!("{REFERENCE_REPOSITORY}:{}{tag}", reference_prefix(worker))
}

/// How every tag a worker gives begins: `w` and a hash of its name, so a start-up sweep
/// finds its own leftovers among other workers' on a shared engine; `load-` when unnamed.
pub fn reference_prefix(worker: Option<&str>) -> String {
    match worker {
        Some(worker) => {
            use sha2::Digest;
            let digest = hex::encode(sha2::Sha256::digest(worker.as_bytes()));
            format!("w{}-", &digest[..12])
        }
        None => "load-".to_owned(),
    }
}

/// The repository of every image the worker loads.
pub const REFERENCE_REPOSITORY: &str = "jiebang/job";

/// How the reference of every image `worker` loads begins (any worker's when `None`): what
/// a start-up sweep looks for.
pub fn references_of(worker: Option<&str>) -> String {
    let prefix = worker
        .map(|w| reference_prefix(Some(w)))
        .unwrap_or_default();
    format!("{REFERENCE_REPOSITORY}:{prefix}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_load_is_the_submissions_fault_and_a_broken_engine_the_platforms() {
        let refused = load_failure(bollard::errors::Error::DockerStreamError {
            error: "invalid diffID for layer 0".into(),
        });
        assert!(matches!(refused, SandboxError::Archive(ref m) if m.contains("diffID")));
        let full = load_failure(bollard::errors::Error::DockerResponseServerError {
            status_code: 500,
            message: "write /var/lib/docker/tmp/x: no space left on device".into(),
        });
        assert!(matches!(full, SandboxError::Docker(_)));
        let gone = load_failure(bollard::errors::Error::RequestTimeoutError);
        assert!(matches!(gone, SandboxError::Docker(_)));
    }
}
