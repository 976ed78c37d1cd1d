fn main() -> std::process::ExitCode {
    twice::cli::main()
}
