//! `synclab` — run the seed document's scenarios with any synclab design, and compare every
//! design with the libraries people use today.
//!
//! ```text
//! synclab compare [--quick] [--filter TEXT] [--threads 1,2,4] [--out DIR]
//! synclab demo array --impl polling|std|futex|lockfree [--len 5] [--write-delay-ms 500] [--penalty-ms 1000]
//! synclab demo array --processes [--die-at N]   (Linux: producer and consumer as processes)
//! synclab demo pool  --impl std|futex|lockfree|seed-cpp|seed-python [--jobs 20] [--threads 5] [--task-ms 300]
//! ```

use clap::{Parser, Subcommand};
use std::process::ExitCode;

mod charts;
mod compare;
mod demo_array;
mod demo_pool;
#[cfg(target_os = "linux")]
mod demo_processes;

/// Shared-memory synchronization, side by side.
#[derive(Debug, Parser)]
#[command(name = "synclab", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run every workload with every design and every anchor; print tables, write JSON,
    /// Markdown and SVG charts.
    Compare(compare::CompareArgs),
    /// Re-run one of the seed document's scenarios with a chosen design.
    #[command(subcommand)]
    Demo(Demo),
    /// A process of a `--processes` demo (started by the demo itself).
    #[cfg(target_os = "linux")]
    #[command(name = "__child", hide = true)]
    Child(demo_processes::ChildArgs),
}

#[derive(Debug, Subcommand)]
enum Demo {
    /// The seed's shared array: a producer fills slots, a consumer waits for each.
    Array(demo_array::ArrayArgs),
    /// The seed's thread pool: submit jobs, then wait for them.
    Pool(demo_pool::PoolArgs),
}

fn main() -> ExitCode {
    // A `compare` run re-executes this binary as the other process of the processes group.
    #[cfg(target_os = "linux")]
    synclab_benches::processes::serve_if_helper();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Compare(args) => compare::run(args),
        Command::Demo(Demo::Array(args)) => demo_array::run(args),
        Command::Demo(Demo::Pool(args)) => demo_pool::run(args),
        #[cfg(target_os = "linux")]
        Command::Child(args) => demo_processes::run_child(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("synclab: {message}");
            ExitCode::FAILURE
        }
    }
}
