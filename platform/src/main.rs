//! The `jiebang` binary: parses the command line and reports failures plainly.

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = jiebang_platform::cli::Cli::parse();
    match jiebang_platform::cli::run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}
