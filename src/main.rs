fn main() -> std::process::ExitCode {
    maillogsentinel::cli::main()
}
