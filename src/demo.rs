pub async fn run(_args: &crate::cli::DemoArgs, _json: bool) -> Result<(), crate::cli::commands::CliError> {
    Ok(())
}
