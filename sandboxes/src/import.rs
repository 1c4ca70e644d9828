//! Connecting to the engine, importing checked archives, sweeping leftovers.

use std::path::Path;

use bollard::Docker;
use bollard::query_parameters::{ImportImageOptionsBuilder, RemoveImageOptionsBuilder};
use futures_util::StreamExt;

use crate::SandboxError;
use crate::archive;
use crate::config::SandboxConfig;
use crate::run::Sandbox;

/// A loaded image, known by the id the engine gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedImage {
    pub id: String,
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

    /// Checks the archive (streamed from disk, never read whole into memory), then loads it.
    /// A refusal names its reason; a load that fails half-way leaves no image behind.
    pub async fn import_archive(&self, path: &Path) -> Result<ImportedImage, SandboxError> {
        let limits = self.config.import.clone();
        let file = std::fs::File::open(path)?;
        let summary = tokio::task::spawn_blocking(move || {
            archive::check(std::io::BufReader::new(file), &limits)
        })
        .await
        .map_err(|e| SandboxError::Io(std::io::Error::other(e)))??;
        let file = tokio::fs::File::open(path).await?;
        let body = tokio_util::io::ReaderStream::with_capacity(file, 1 << 20);
        let options = ImportImageOptionsBuilder::default().quiet(true).build();
        let mut progress = self.docker.import_image_stream(options, body, None);
        let mut failure = None;
        while let Some(message) = progress.next().await {
            if let Err(error) = message {
                failure = Some(error);
                break;
            }
        }
        let loaded = self.docker.inspect_image(&summary.image_id).await;
        match (failure, loaded) {
            (None, Ok(image)) => Ok(ImportedImage {
                id: summary.image_id,
                size_bytes: image
                    .size
                    .and_then(|s| u64::try_from(s).ok())
                    .unwrap_or(summary.total_bytes),
            }),
            (failure, _) => {
                let options = RemoveImageOptionsBuilder::default()
                    .force(true)
                    .noprune(false)
                    .build();
                let _ = self
                    .docker
                    .remove_image(&summary.image_id, Some(options), None)
                    .await;
                Err(match failure {
                    Some(error) => SandboxError::Archive(format!(
                        "the engine could not load the image: {error}"
                    )),
                    None => SandboxError::Archive(
                        "the engine did not keep the image it was given".into(),
                    ),
                })
            }
        }
    }

    /// Removes an imported image when its jobs are done.
    pub async fn remove_image(&self, id: &str) -> Result<(), SandboxError> {
        let options = RemoveImageOptionsBuilder::default().force(true).build();
        self.docker.remove_image(id, Some(options), None).await?;
        Ok(())
    }
}
