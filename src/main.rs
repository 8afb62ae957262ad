use std::process::ExitCode;

fn main() -> ExitCode {
    contactsd::cli::main()
}
