//! `airbridge`: the AirBridge console and its command-line tools.
//! A thin entry point; everything lives in the `airbridge_console` library.

fn main() -> std::process::ExitCode {
    airbridge_console::cli::main()
}
