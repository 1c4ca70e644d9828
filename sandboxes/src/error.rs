//! The sandbox crate's error type.

/// What can go wrong at the sandbox boundary.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// The image archive was refused before loading; the message names the reason.
    #[error("image archive refused: {0}")]
    Archive(String),
    /// The run specification asks for something the policy does not allow.
    #[error("run specification refused: {0}")]
    Spec(String),
    /// Accelerators were asked for that the node does not have free.
    #[error("accelerators: {0}")]
    Accelerators(String),
    /// The submission's own fault, found by the sandbox rather than by a limit: an image the
    /// engine cannot start (no entry point, a missing interpreter), an /output past its caps.
    /// Charged to the submission, never retried; the message names the fault.
    #[error("{0}")]
    Submission(String),
    /// The Docker engine refused or failed a request.
    #[error("docker: {0}")]
    Docker(#[from] bollard::errors::Error),
    /// The Docker engine cannot be reached at all.
    #[error("the Docker engine is unreachable: {0}")]
    Unreachable(String),
    /// Local I/O (reading the archive, measuring the output directory).
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
}

/// The engine's words for an image whose working directory it cannot enter, lower-cased
/// (an image with no command at all is recognised before).
const IMAGE_FAULTS: [&str; 1] = ["chdir to cwd"];

/// What follows `exec:` when the entry point itself cannot run.
const EXEC_FAULTS: [&str; 5] = [
    "no such file or directory",
    "executable file not found",
    "permission denied",
    "exec format error",
    "not a directory",
];

impl SandboxError {
    /// Charges an error of creating or starting a container: the image's fault (no entry
    /// point, an entry point or interpreter it lacks) goes to the submission, anything else
    /// stays the engine's.
    pub fn charge_start(error: bollard::errors::Error) -> Self {
        if let bollard::errors::Error::DockerResponseServerError { message, .. } = &error {
            let lower = message.to_lowercase();
            if lower.contains("no command specified") {
                return Self::Submission(
                    "the image has no entry point and no command to run".to_owned(),
                );
            }
            let exec_fault = lower
                .split_once("exec:")
                .is_some_and(|(_, rest)| EXEC_FAULTS.iter().any(|fault| rest.contains(fault)));
            if exec_fault || IMAGE_FAULTS.iter().any(|fault| lower.contains(fault)) {
                return Self::Submission(format!(
                    "the image's entry point cannot be started: {message}"
                ));
            }
        }
        Self::Docker(error)
    }
}

#[cfg(test)]
mod tests {
    use super::SandboxError;

    fn charged(message: &str) -> SandboxError {
        SandboxError::charge_start(bollard::errors::Error::DockerResponseServerError {
            status_code: 400,
            message: message.to_owned(),
        })
    }

    #[test]
    fn image_faults_are_the_submissions() {
        // Recorded from Docker 20.10 and 26.
        for message in [
            "No command specified",
            "OCI runtime create failed: container_linux.go:380: starting container process caused: exec: \"/bin/sh\": stat /bin/sh: no such file or directory: unknown",
            "failed to create task for container: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: exec: \"python\": executable file not found in $PATH: unknown",
            "OCI runtime create failed: runc create failed: unable to start container process: exec: \"/app\": permission denied: unknown",
            "OCI runtime create failed: runc create failed: unable to start container process: chdir to cwd (\"/nowhere\") set in config.json failed: no such file or directory: unknown",
        ] {
            assert!(
                matches!(charged(message), SandboxError::Submission(_)),
                "{message}"
            );
        }
    }

    #[test]
    fn engine_faults_stay_the_engines() {
        for message in [
            "Conflict. The container name \"/jiebang-1\" is already in use",
            "driver failed programming external connectivity",
            "error creating overlay mount to /var/lib/docker/overlay2/x/merged: no such file or directory",
        ] {
            assert!(
                matches!(charged(message), SandboxError::Docker(_)),
                "{message}"
            );
        }
    }
}
