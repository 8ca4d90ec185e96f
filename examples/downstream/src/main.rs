//! A small program written from synclab's documentation alone: task results, scoped tasks
//! that borrow a local `Vec`, a channel that ends when its last sender is dropped, a receive
//! with a timeout, and every error going through `?` into one boxed error type.

use std::error::Error;
use std::time::Duration;

use synclab::pool::{panic_message, LockFreePool, ThreadPool};
use synclab::queue::{bounded, RecvTimeoutError};

type Result<T, E = Box<dyn Error + Send + Sync>> = std::result::Result<T, E>;

fn main() -> Result<()> {
    let pool = LockFreePool::with_workers(2)?;

    // Task results: `spawn` returns a handle; `join` gives the value or the panic payload.
    // (`SubmitError` holds the refused task, which is not `Sync` on this revision: it is
    // turned into its message here. Once it is `Sync`, the `map_err` goes.)
    let handles = (1..=4u64)
        .map(|i| pool.spawn(move || i * i).map_err(|e| e.to_string()))
        .collect::<Result<Vec<_>, _>>()?;
    let mut sum_of_squares = 0;
    for handle in handles {
        sum_of_squares += handle
            .join()
            .map_err(|payload| panic_message(&payload).unwrap_or("a task panicked").to_string())?;
    }
    assert_eq!(sum_of_squares, 1 + 4 + 9 + 16);

    // Scoped tasks borrow from this stack frame; all have finished when `scope` returns.
    let mut readings = vec![3u32, 1, 4, 1, 5, 9, 2, 6];
    pool.scope(|s| {
        for chunk in readings.chunks_mut(3) {
            s.spawn(move || chunk.sort_unstable());
        }
    });
    assert_eq!(readings, [1, 3, 4, 1, 5, 9, 2, 6]);

    // A bounded channel: two producers on the pool, the receiver here; `iter()` ends once the
    // last sender is dropped and the queue is drained.
    let (tx, rx) = bounded::<u32>(4)?;
    let total: u32 = pool.scope(|s| {
        for producer in 0..2u32 {
            let tx = tx.clone();
            s.spawn(move || {
                for i in 1..=10 {
                    tx.send(producer * 100 + i).expect("the receiver is alive");
                }
            });
        }
        drop(tx); // ours; the producers' clones go when they finish
        rx.iter().sum()
    });
    assert_eq!(total, 2 * 55 + 100 * 10);

    // A receive with a timeout: nothing arrives, then something does.
    let (tx, rx) = bounded::<&str>(1)?;
    match rx.recv_timeout(Duration::from_millis(10)) {
        Err(RecvTimeoutError::Timeout) => {}
        other => return Err(format!("expected a timeout, got {other:?}").into()),
    }
    tx.send("late, but here")?;
    let message = rx.recv_timeout(Duration::from_secs(5))?;

    let report = pool.shutdown();
    println!(
        "downstream: sum of squares {sum_of_squares}, sorted chunks {readings:?}, \
         {total} through the channel, {message:?}; {} workers joined, {} panics",
        report.workers_joined, report.panicked
    );
    Ok(())
}
