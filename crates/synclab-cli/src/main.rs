//! `synclab` — run the two scenarios (a shared array filled by a producer and read by a
//! consumer; a thread pool) with any synclab design, and compare every design with the
//! libraries people use today.
//!
//! ```text
//! synclab compare [--quick] [--runs N] [--budget SECS] [--filter TEXT] [--threads 1,2,4]
//!                 [--instructions] [--out DIR] [--write-docs [--from FILE]] [--check-docs]
//! synclab demo array --impl polling|std|futex|lockfree [--len 5] [--write-delay-ms 500] [--penalty-ms 1000]
//! synclab demo array --processes [--die-at N]   (Linux: producer and consumer as processes)
//! synclab demo pool  --impl std|futex|lockfree|work-stealing|seed-cpp|seed-python [--jobs 20] [--threads 5] [--task-ms 300]
//! synclab explain ENTRY [--checker loom|shuttle] [--full] [--out DIR] | --list | --write-docs
//! ```

use clap::{Parser, Subcommand};
use std::process::ExitCode;

mod charts;
mod compare;
mod demo_array;
mod demo_pool;
#[cfg(target_os = "linux")]
mod demo_processes;
mod explain;
mod panics;

/// Shared-memory synchronization, side by side: a shared array that a producer fills while a
/// consumer waits, and a thread pool that runs submitted tasks, each built several ways, run
/// as demos and benchmarked against the libraries people use today.
#[derive(Debug, Parser)]
#[command(name = "synclab", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run every workload with every design and every anchor in paired, alternating rounds;
    /// judge every performance target with a 95 % interval; print tables, write JSON,
    /// Markdown and SVG charts.
    Compare(compare::CompareArgs),
    /// Run one of the two scenarios with a chosen design.
    #[command(subcommand)]
    Demo(Demo),
    /// Run a zoo entry under the checker that catches it and show the failing interleaving: a
    /// table with a column per thread, and a sequence diagram (Mermaid, and an SVG file).
    Explain(explain::ExplainArgs),
    /// A process of a `--processes` demo (started by the demo itself).
    #[cfg(target_os = "linux")]
    #[command(name = "__child", hide = true)]
    Child(demo_processes::ChildArgs),
    /// Internal: run one counted operation N times (what `compare --instructions` runs
    /// under valgrind).
    #[command(hide = true)]
    CountOp {
        /// `group/contender`, e.g. `locks/FutexMutex`.
        op: String,
        /// How many operations.
        n: u64,
    },
}

#[derive(Debug, Subcommand)]
enum Demo {
    /// A shared array: a producer publishes its slots one by one after a delay, a consumer
    /// waits for each in order; prints every event and each slot's publish→read latency.
    Array(demo_array::ArrayArgs),
    /// A thread pool: submit jobs that sleep, then wait for them; shows when `wait` returned,
    /// what the idle pool costs, and what a panicking task does.
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
        Command::Explain(args) => explain::run(args),
        #[cfg(target_os = "linux")]
        Command::Child(args) => demo_processes::run_child(args),
        Command::CountOp { op, n } => compare::icount::count_op(&op, n),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("synclab: {message}");
            ExitCode::FAILURE
        }
    }
}
