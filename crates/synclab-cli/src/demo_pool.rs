//! `synclab demo pool` (built by the pool issue).

/// Arguments of `synclab demo pool`.
#[derive(Debug, clap::Args)]
pub struct PoolArgs {}

/// Runs the demo.
pub fn run(_args: PoolArgs) -> Result<(), String> {
    Err("the pool demo is not built yet".into())
}
