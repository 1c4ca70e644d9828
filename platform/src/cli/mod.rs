//! The `jiebang` command line: its subcommands and how each one runs.

mod admin;
mod client;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::config::{Config, LogFormat};
use crate::db::{DatabaseUrl, run_migrations};
use crate::error::AppError;

/// Jiebang — an open platform for challenge-bounty (揭榜挂帅) competitions.
#[derive(Debug, Parser)]
#[command(name = "jiebang", version, about)]
pub struct Cli {
    /// A TOML configuration file (see docs/operator.md).
    #[arg(long, global = true, env = "JIEBANG_CONFIG")]
    pub config: Option<PathBuf>,
    /// The data directory (SQLite database, uploads, reports); overrides JIEBANG_DATA.
    #[arg(long, global = true)]
    pub data: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the platform: HTTP API on --bind, database migrated on start.
    Serve {
        /// Address to listen on (default 127.0.0.1:8080, or JIEBANG_BIND).
        #[arg(long)]
        bind: Option<String>,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Administer users, organisations and tokens directly in the database.
    #[command(subcommand)]
    Admin(admin::AdminCommand),
    /// Submit a Docker image to a scenario (runs `docker save` and uploads it).
    Submit {
        /// The scenario's id.
        #[arg(long)]
        scenario: String,
        /// The team to submit for; needed only when you are in several.
        #[arg(long)]
        team: Option<String>,
        /// The image, for example `my-model:v3`.
        image: String,
        #[command(flatten)]
        connection: client::Connection,
    },
    /// Show a scenario's leaderboard.
    Leaderboard {
        /// The scenario's id.
        #[arg(long)]
        scenario: String,
        /// The private board (after the phase closes, or for judges).
        #[arg(long)]
        private: bool,
        #[command(flatten)]
        connection: client::Connection,
    },
    /// Run an evaluation worker against a platform (on a GPU node, for example).
    Worker {
        /// The platform's URL.
        #[arg(long, env = "JIEBANG_PLATFORM")]
        platform: String,
        /// The worker token (`jiebang admin create-token --worker`).
        #[arg(long, env = "JIEBANG_WORKER_TOKEN", hide_env_values = true)]
        token: String,
        /// The name the operator page shows.
        #[arg(long, default_value = "worker")]
        name: String,
        /// Where downloaded images and scenario bundles are cached.
        #[arg(long, default_value = "worker-cache")]
        cache: PathBuf,
        /// CPUs for submissions' containers, disjoint from the harness's (for example `1`).
        #[arg(long)]
        cpuset: Option<String>,
        /// CPUs the harness is pinned to (for example `0`).
        #[arg(long)]
        harness_cpus: Option<String>,
    },
    /// Work with scenario packages.
    #[command(subcommand)]
    Scenario(ScenarioCommand),
    /// Show a submission's stages, or your team's recent submissions.
    Status {
        /// A submission id; without it, the team's submissions are listed.
        submission: Option<String>,
        #[arg(long)]
        team: Option<String>,
        #[command(flatten)]
        connection: client::Connection,
    },
}

#[derive(Debug, Subcommand)]
pub enum ScenarioCommand {
    /// Check a scenario package and print every problem found.
    Validate {
        /// The package folder (holding scenario.toml).
        dir: PathBuf,
    },
}

impl Cli {
    /// The configuration: defaults, the file, the environment, then these flags.
    pub fn resolve_config(&self) -> Result<Config, AppError> {
        let mut config = Config::load(self.config.as_deref(), |name| std::env::var(name).ok())?;
        if let Some(data) = &self.data {
            config.data_dir.clone_from(data);
        }
        if let Command::Serve { bind: Some(bind) } = &self.command {
            config.bind.clone_from(bind);
        }
        Ok(config)
    }
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("JIEBANG_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // A second initialisation (tests) is harmless; keep the first.
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> Result<(), AppError> {
    let config = cli.resolve_config()?;
    init_logging(config.log_format);
    match cli.command {
        Command::Serve { .. } => {
            actix_web::rt::System::new().block_on(crate::server::serve(config))
        }
        Command::Migrate => {
            let url = DatabaseUrl::parse(&config.database_url())?;
            let applied = run_migrations(&url)?;
            println!("{} migration(s) applied to {}", applied, url.redacted());
            Ok(())
        }
        Command::Admin(command) => admin::run(&config, command),
        Command::Leaderboard {
            scenario,
            private,
            connection,
        } => client_runtime()?.block_on(async {
            client::leaderboard(&connection.resolve()?, &scenario, private).await
        }),
        Command::Worker {
            platform,
            token,
            name,
            cache,
            cpuset,
            harness_cpus,
        } => {
            let harness_cpus = harness_cpus
                .as_deref()
                .map(jiebang_evaluator::worker::pinning::parse_cpus)
                .transpose()
                .map_err(|e| AppError::Config(format!("--harness-cpus: {e}")))?;
            jiebang_evaluator::worker::pinning::worker_runtime(harness_cpus)
                .map_err(|e| AppError::Internal(e.to_string()))?
                .block_on(async {
                    let config = crate::worker::config(platform, token, name, cache, cpuset);
                    jiebang_evaluator::worker::run_worker(config, async {
                        let _ = tokio::signal::ctrl_c().await;
                    })
                    .await
                    .map_err(|e| AppError::Unavailable(e.to_string()))
                })
        }
        Command::Scenario(ScenarioCommand::Validate { dir }) => {
            match jiebang_scenarios::package::validate(&dir) {
                Ok(package) => {
                    println!(
                        "{}: valid — {} ({}), {} hidden items ({} on the public board, {} private), {} samples",
                        dir.display(),
                        package.manifest.id,
                        package.manifest.title.en,
                        package.hidden_items,
                        package.public_board_items,
                        package.private_board_items,
                        package.sample_items
                    );
                    Ok(())
                }
                Err(report) => {
                    print!("{report}");
                    Err(AppError::Invalid {
                        code: "invalid_package",
                        message: format!("{} problem(s) in the package", report.problems.len()),
                    })
                }
            }
        }
        Command::Submit {
            scenario,
            team,
            image,
            connection,
        } => client_runtime()?.block_on(async {
            client::submit(&connection.resolve()?, &scenario, team, &image).await
        }),
        Command::Status {
            submission,
            team,
            connection,
        } => client_runtime()?
            .block_on(async { client::status(&connection.resolve()?, submission, team).await }),
    }
}

fn client_runtime() -> Result<tokio::runtime::Runtime, AppError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| AppError::Internal(format!("cannot start the async runtime: {e}")))
}
