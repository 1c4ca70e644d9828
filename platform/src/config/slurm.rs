//! The `[slurm]` section: the platform stays the queue of record and Slurm places one-shot
//! workers on the nodes it manages.

use std::path::PathBuf;

use serde::Deserialize;

use super::declare::{FromText, settings};

settings! {
    /// How `serve` submits one-shot workers (`jiebang worker --once`) to Slurm for jobs
    /// that need accelerators (`[slurm]`).
    pub struct SlurmSettings {
        /// Submit a one-shot worker to Slurm for each queued job that needs accelerators
        /// and that no live worker can take.
        pub enabled: bool = false,
        /// The `sbatch` program (a name on `PATH` or a path).
        pub sbatch: PathBuf = PathBuf::from("sbatch"),
        /// The `squeue` program, which tells which submitted workers are still pending or
        /// running.
        pub squeue: PathBuf = PathBuf::from("squeue"),
        /// The `scancel` program, which withdraws workers whose job no longer waits.
        pub scancel: PathBuf = PathBuf::from("scancel"),
        /// The partition workers are submitted to; Slurm's default when unset.
        pub partition: Option<String> = None,
        /// The gres a job's accelerators are asked for by, when its model has no entry in
        /// `gres_by_model` (`--gres=gpu:N`).
        pub gres: String = "gpu".to_owned(),
        /// The gres (and its type) for an accelerator model, `MODEL=NAME[:TYPE]` each
        /// (`MLU370=gpu:mlu370` asks for `--gres=gpu:mlu370:N`); in the file a list of
        /// `{ model, name, type }`.
        pub gres_by_model: Vec<GresRule> = Vec::new(),
        /// The `jiebang` binary on the Slurm nodes; defaults to this one's path.
        pub jiebang: Option<PathBuf> = None,
        /// The platform's URL as workers on the Slurm nodes reach it; defaults to
        /// `public_url`.
        pub platform: Option<String> = None,
        /// More arguments for each `jiebang worker --once` (for example
        /// `--config /etc/jiebang/worker.toml`, which names the node's accelerators).
        pub worker_args: Vec<String> = Vec::new(),
        /// A file (on storage the Slurm nodes share) the platform writes the workers' token
        /// to, mode 0600, and workers read it from; when unset the token travels in the
        /// job's environment. Never on a command line either way.
        pub token_file: Option<PathBuf> = None,
        /// Where each worker's output goes (`jiebang-<slurm job id>.out`); it must exist on
        /// the Slurm nodes too. Defaults to `<data_dir>/slurm`.
        pub output_dir: Option<PathBuf> = None,
        /// The most workers submitted and not yet ended at any time.
        pub max_outstanding: u32 = 4,
        /// Seconds between two looks at the queue and at Slurm.
        pub poll_seconds: u64 = 10,
        /// Seconds a one-shot worker waits for a job before it gives up (`--wait`).
        pub worker_wait_seconds: u64 = 120,
    }
}

/// The gres an accelerator model is asked for by.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GresRule {
    /// The accelerator model as scenarios name it (`accelerator_model`).
    pub model: String,
    /// The gres name in Slurm's `gres.conf` (`gpu`).
    pub name: String,
    /// The gres type (`Type=` in `gres.conf`), if the nodes declare one.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
}

impl SlurmSettings {
    /// The `--gres` value for `count` accelerators of `model` (any model when `None`).
    pub fn gres_for(&self, model: Option<&str>, count: u32) -> String {
        let rule = model.and_then(|m| self.gres_by_model.iter().find(|r| r.model == m));
        match rule {
            Some(GresRule {
                name,
                kind: Some(kind),
                ..
            }) => format!("{name}:{kind}:{count}"),
            Some(GresRule {
                name, kind: None, ..
            }) => format!("{name}:{count}"),
            None => format!("{}:{count}", self.gres),
        }
    }
}

/// Gres rules as text: `MODEL=NAME[:TYPE]`, several separated by commas.
impl FromText for Vec<GresRule> {
    fn from_text(text: &str) -> Result<toml::Value, String> {
        text.split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(|item| {
                let problem =
                    || format!("`{item}` is not MODEL=NAME[:TYPE] (for example MLU370=gpu:mlu370)");
                let (model, gres) = item.split_once('=').ok_or_else(problem)?;
                let (name, kind) = match gres.split_once(':') {
                    Some((name, kind)) => (name.trim(), Some(kind.trim())),
                    None => (gres.trim(), None),
                };
                if model.trim().is_empty() || name.is_empty() || kind.is_some_and(str::is_empty) {
                    return Err(problem());
                }
                let mut rule = toml::Table::new();
                rule.insert("model".to_owned(), model.trim().into());
                rule.insert("name".to_owned(), name.into());
                if let Some(kind) = kind {
                    rule.insert("type".to_owned(), kind.into());
                }
                Ok(toml::Value::Table(rule))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(toml::Value::Array)
    }
}

/// Arguments as text: separated by spaces (none of them may hold one).
impl FromText for Vec<String> {
    fn from_text(text: &str) -> Result<toml::Value, String> {
        Ok(toml::Value::Array(
            text.split_whitespace().map(Into::into).collect(),
        ))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use crate::config::Config;

    #[test]
    fn slurm_is_off_by_default_and_read_from_file_and_environment() {
        let config = Config::load(None, |_| None).unwrap();
        assert!(!config.slurm.enabled);
        assert_eq!(config.slurm.gres_for(Some("H100"), 2), "gpu:2");
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("jiebang.toml");
        std::fs::write(
            &file,
            "[slurm]\nenabled = true\npartition = \"accel\"\nworker_args = [\"--config\", \"/etc/w.toml\"]\n\
             gres_by_model = [{ model = \"MLU370\", name = \"gpu\", type = \"mlu370\" }]\n",
        )
        .unwrap();
        let config = Config::load(Some(&file), |name| match name {
            "JIEBANG_SLURM_MAX_OUTSTANDING" => Some("9".to_owned()),
            "JIEBANG_SLURM_GRES_BY_MODEL" => Some("910B=npu, A100=gpu:a100".to_owned()),
            _ => None,
        })
        .unwrap();
        let slurm = &config.slurm;
        assert!(slurm.enabled);
        assert_eq!(slurm.partition.as_deref(), Some("accel"));
        assert_eq!(slurm.worker_args, ["--config", "/etc/w.toml"]);
        assert_eq!(slurm.max_outstanding, 9);
        assert_eq!(slurm.gres_for(Some("910B"), 1), "npu:1");
        assert_eq!(slurm.gres_for(Some("A100"), 4), "gpu:a100:4");
        assert_eq!(slurm.gres_for(None, 1), "gpu:1");
        let error = Config::load(None, |name| {
            (name == "JIEBANG_SLURM_GRES_BY_MODEL").then(|| "MLU370:gpu".to_owned())
        })
        .unwrap_err()
        .to_string();
        assert!(error.contains("MODEL=NAME[:TYPE]"), "{error}");
    }
}
