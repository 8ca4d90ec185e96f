//! `synclab demo array` (built by the shared-array issue).

/// Arguments of `synclab demo array`.
#[derive(Debug, clap::Args)]
pub struct ArrayArgs {}

/// Runs the demo.
pub fn run(_args: ArrayArgs) -> Result<(), String> {
    Err("the array demo is not built yet".into())
}
