//! The `brickdesk` binary: parse the command line, run the chosen command.

use clap::Parser as _;

/// jemalloc instead of glibc's malloc: a million-order store idles 10–15 % smaller (glibc kept
/// much of what reading the index freed resident; docs/benchmarks.md, "The allocator"). The
/// static musl builds (`make dist`) keep musl's allocator.
#[cfg(target_env = "gnu")]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = server::cli::Cli::parse();
    match server::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
