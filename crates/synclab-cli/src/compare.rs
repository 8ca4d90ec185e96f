//! `synclab compare`.

/// Arguments of `synclab compare`.
#[derive(Debug, clap::Args)]
pub struct CompareArgs {}

/// Runs the comparison.
pub fn run(_args: CompareArgs) -> Result<(), String> {
    Err("compare is not built yet".into())
}
