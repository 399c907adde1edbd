use std::process::ExitCode;

fn main() -> ExitCode {
    tally::cli::main()
}
