//! The job board between two processes: this program creates the board, queues jobs, and runs
//! itself again as the worker, which opens the board by name and works through them; then it
//! prints the total. Under a model checker it builds too, and says at run time that segments
//! do not exist there.
//!
//! `cargo run -p segment-app [jobs]` (default 10 jobs, costs 1..=jobs).

use std::process::{Command, ExitCode};

use segment_app::{create_board, open_board, work, Job};
use synclab::queue::MpmcQueue;

/// Set in the worker's environment: the board's name.
const BOARD_ENV: &str = "SEGMENT_APP_BOARD";

fn main() -> ExitCode {
    if let Ok(name) = std::env::var(BOARD_ENV) {
        return worker(&name);
    }
    let jobs: u32 = match std::env::args().nth(1).map(|a| a.parse()) {
        None => 10,
        Some(Ok(n)) if n > 0 => n,
        Some(_) => {
            eprintln!("usage: segment-app [jobs (1 or more)]");
            return ExitCode::from(2);
        }
    };
    let name = format!("/segment-app-{}", std::process::id());
    let board = match create_board(&name, u64::from(jobs)) {
        Ok(board) => board,
        Err(e) => {
            eprintln!("segment-app: cannot create {name}: {e}");
            return ExitCode::FAILURE;
        }
    };
    #[cfg(not(any(synclab_loom, synclab_shuttle)))]
    {
        *segment_app::OPENED.lock() += 1;
    }
    for id in 1..=jobs {
        if board.0.try_push(Job { id, cost: id }).is_err() {
            eprintln!("segment-app: the board is full at job {id}");
            return ExitCode::FAILURE;
        }
    }
    let worker = Command::new(std::env::current_exe().expect("this program's path"))
        .env(BOARD_ENV, &name)
        .status();
    match worker {
        Ok(status) if status.success() => {}
        other => {
            eprintln!("segment-app: the worker failed: {other:?}");
            return ExitCode::FAILURE;
        }
    }
    // A worker that died holding the lock would show here as `OwnerDied`: its last job is
    // lost with it, and the total is what it left.
    let total = *board
        .1
        .lock_checked()
        .unwrap_or_else(|died| died.make_consistent());
    println!("{jobs} jobs done by another process; total {total}");
    ExitCode::SUCCESS
}

/// The worker process: opens the board and takes every job.
fn worker(name: &str) -> ExitCode {
    match open_board(name) {
        Ok(board) => {
            let taken = work(&board.0, &board.1);
            eprintln!("worker: took {taken} jobs");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("worker: cannot open {name}: {e}");
            ExitCode::FAILURE
        }
    }
}
