//! `jiebang-baseline`: train, serve, run a batch, or score the catalog's reference model.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use jiebang_baseline::error::BaselineError;
use jiebang_baseline::model::TrainOptions;
use jiebang_baseline::server::{ServeOptions, serve};
use jiebang_baseline::{accelerators, batch, load_model, score, train};

#[derive(Debug, Parser)]
#[command(
    version,
    about = "The reference solution of a Jiebang scenario package"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Fit the model on the package's public training set and save it as JSON.
    Train {
        /// The scenario package folder.
        #[arg(long)]
        package: PathBuf,
        /// Where to write the model.
        #[arg(long)]
        out: PathBuf,
        /// Use only the first N features (a deliberately weaker model).
        #[arg(long)]
        features: Option<usize>,
        /// L2 penalty on the standardised weights.
        #[arg(long, default_value_t = 1.0)]
        l2: f64,
    },
    /// Serve the model through the Open Inference Protocol.
    Serve {
        #[arg(long, default_value = "/model.json")]
        model: PathBuf,
        #[arg(long, default_value = "0.0.0.0:8080")]
        listen: String,
        /// Wait this many milliseconds before each answer (shows what an over-budget run looks like).
        #[arg(long, default_value_t = 0)]
        delay_ms: u64,
    },
    /// Answer every record of INPUT/inputs.jsonl in OUTPUT/predictions.jsonl.
    Batch {
        #[arg(long, default_value = "/model.json")]
        model: PathBuf,
        #[arg(long, default_value = "/input")]
        input: PathBuf,
        #[arg(long, default_value = "/output")]
        output: PathBuf,
    },
    /// Score the model with the scenario's metric on a labelled set of the package.
    Score {
        #[arg(long)]
        model: PathBuf,
        #[arg(long)]
        package: PathBuf,
        /// The set, relative to the package.
        #[arg(long, default_value = "public/samples")]
        set: PathBuf,
    },
}

fn main() -> ExitCode {
    match run(Cli::parse().command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("jiebang-baseline: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run(command: Command) -> Result<(), BaselineError> {
    match command {
        Command::Train {
            package,
            out,
            features,
            l2,
        } => {
            let model = train(&package, TrainOptions { features, l2 })?;
            let text = serde_json::to_string_pretty(&model)
                .map_err(|e| BaselineError::Model(e.to_string()))?;
            std::fs::write(&out, text).map_err(|e| BaselineError::io(&out, e))?;
            eprintln!(
                "trained {:?} for `{}` on {} rows, {} of {} features; saved to {}",
                model.kind,
                model.scenario,
                model.trained_on,
                model.used_features,
                model.width(),
                out.display()
            );
            Ok(())
        }
        Command::Serve {
            model,
            listen,
            delay_ms,
        } => {
            let model = load_model(&model)?;
            let listener = TcpListener::bind(&listen).map_err(|e| BaselineError::io(&listen, e))?;
            eprintln!("serving `{}` on {listen}", model.model_name);
            let seen = accelerators::seen(Path::new("/dev"), |name| std::env::var(name).ok());
            eprintln!("{}", accelerators::describe(&seen));
            let options = ServeOptions {
                delay: Duration::from_millis(delay_ms),
            };
            serve(listener, model, options).map_err(|e| BaselineError::io(&listen, e))
        }
        Command::Batch {
            model,
            input,
            output,
        } => {
            let model = load_model(&model)?;
            let written = batch::run(&model, &input, &output)?;
            eprintln!(
                "wrote {written} predictions to {}",
                output.join("predictions.jsonl").display()
            );
            Ok(())
        }
        Command::Score {
            model,
            package,
            set,
        } => {
            let model = load_model(&model)?;
            let (metric, value, items) = score(&model, &package, &package.join(&set))?;
            println!(
                "{metric} = {value:.4} over {items} items of {}",
                set.display()
            );
            Ok(())
        }
    }
}
