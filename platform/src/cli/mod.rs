//! The `jiebang` command line: its subcommands and how each one runs.

mod admin;
mod billing;
mod client;
mod trial;
mod worker;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::config::{Config, Flag, LogFormat};
use crate::db::{DatabaseUrl, run_migrations};
use crate::error::AppError;

/// Jiebang — an open platform for challenge-bounty (揭榜挂帅) competitions.
#[derive(Debug, Parser)]
#[command(name = "jiebang", version, about)]
pub struct Cli {
    /// A TOML configuration file (see docs/guide-operator.md).
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
        /// The embedded worker's settings.
        #[command(flatten)]
        node: worker::NodeArgs,
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
    /// Work with technical reports (the PDF judges read beside a final submission).
    #[command(subcommand)]
    Report(ReportCommand),
    /// Show a scenario's leaderboard (the public board needs no token).
    #[command(visible_alias = "board")]
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
    /// Run an evaluation worker against a platform (on a GPU node, for example). Its
    /// settings come from the `[worker]` and `[sandbox]` sections of the configuration
    /// file, the environment and these flags, in that order (docs/guide-operator.md).
    Worker(worker::WorkerArgs),
    /// Work with scenario packages.
    #[command(subcommand)]
    Scenario(ScenarioCommand),
    /// Print what a submission's container wrote during its sample run (or, for judges and
    /// operators, its hidden run).
    Logs {
        /// The submission's id (`jiebang status` lists them).
        submission: String,
        #[arg(long, value_enum, default_value = "sample")]
        run: client::LogRun,
        /// The hidden run's output (the same as `--run hidden`; judges and operators).
        #[arg(long, conflicts_with = "run")]
        hidden: bool,
        #[command(flatten)]
        connection: client::Connection,
    },
    /// Evaluate a local image on this machine as a submission is evaluated — the platform's
    /// own sandbox and harness — on the scenario's public samples, and print the report.
    /// Nothing is submitted and no quota is used; Docker must be running here.
    Try {
        /// The scenario's id.
        #[arg(long)]
        scenario: String,
        /// The image, for example `my-model:v3`.
        image: String,
        #[command(flatten)]
        connection: client::Connection,
    },
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
pub enum ReportCommand {
    /// Attach a PDF to a submission of the final phase (replacing one attached before).
    Attach {
        /// The submission's id (`jiebang status` lists them).
        #[arg(long)]
        submission: String,
        /// The PDF file.
        file: PathBuf,
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
    /// Check a package, then evaluate a local image on its hidden set on this machine, as
    /// the platform will evaluate submissions, and print the report: a baseline or a
    /// reference solution tried before the package is published.
    Try {
        /// The package folder (holding scenario.toml).
        package: PathBuf,
        /// The image, for example `jiebang-baseline/my-scenario:latest`.
        image: String,
    },
}

impl Cli {
    /// The configuration: defaults, the file, the environment, then these flags.
    pub fn resolve_config(&self) -> Result<Config, AppError> {
        self.resolve_config_with(|name| std::env::var(name).ok())
    }

    /// [`Cli::resolve_config`] with the environment read through `lookup`.
    pub fn resolve_config_with(
        &self,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Config, AppError> {
        let mut flags = match &self.command {
            Command::Serve { bind, node } => {
                let mut flags = node.flags();
                if let Some(bind) = bind {
                    flags.push(Flag {
                        key: "bind",
                        flag: "--bind",
                        value: bind.clone(),
                    });
                }
                flags
            }
            Command::Worker(args) => args.flags(),
            _ => Vec::new(),
        };
        if let Some(data) = &self.data {
            flags.push(Flag {
                key: "data_dir",
                flag: "--data",
                value: data.to_string_lossy().into_owned(),
            });
        }
        Config::load_with_flags(self.config.as_deref(), lookup, &flags)
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
            // Before the runtime starts a thread, so every one of them inherits it.
            crate::worker::keep_platform_off_containers(&config)?;
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
            client::leaderboard(&connection.resolve_public()?, &scenario, private).await
        }),
        Command::Worker(args) if args.list_devices => {
            print!("{}", crate::worker::list_devices(&config));
            Ok(())
        }
        Command::Worker(args) if args.once => crate::worker::standalone(&config)?.run_once(
            std::time::Duration::from_secs(args.wait),
            crate::shutdown::stop_signal(),
        ),
        Command::Worker(_) => {
            crate::worker::standalone(&config)?.run(crate::shutdown::stop_signal())
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
                    Err(AppError::unacceptable(
                        "invalid_package",
                        format!("{} problem(s) in the package", report.problems.len()),
                    ))
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
        Command::Report(ReportCommand::Attach {
            submission,
            file,
            connection,
        }) => client_runtime()?.block_on(async {
            client::attach_report(&connection.resolve()?, &submission, &file).await
        }),
        Command::Status {
            submission,
            team,
            connection,
        } => client_runtime()?
            .block_on(async { client::status(&connection.resolve()?, submission, team).await }),
        Command::Logs {
            submission,
            run,
            hidden,
            connection,
        } => {
            let run = if hidden { client::LogRun::Hidden } else { run };
            client_runtime()?
                .block_on(async { client::logs(&connection.resolve()?, &submission, run).await })
        }
        Command::Try {
            scenario,
            image,
            connection,
        } => trial::on_samples(&config, &connection, &scenario, &image),
        Command::Scenario(ScenarioCommand::Try { package, image }) => {
            trial::on_package(&config, &package, &image)
        }
    }
}

pub(crate) fn client_runtime() -> Result<tokio::runtime::Runtime, AppError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| AppError::Internal(format!("cannot start the async runtime: {e}")))
}
