//! `assay`: the command-line front of the acceptance gate.

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    cli::run()
}
