//! The `shm` command; everything is in the library (which the Python package also ships).

fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(shm_cli::run(std::env::args_os()))
}
