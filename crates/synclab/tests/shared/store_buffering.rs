//! The store-buffering shape over two `ArrayQueue`s, shared by the loom models
//! (`verification/tests/models/queue/array_queue.rs`) and the Miri witnesses (`crates/synclab/tests/sc_witness.rs`),
//! which include this file with `#[path]`.
//!
//! Thread A changes `q1` and then looks at `q2`; thread B changes `q2` and then looks at `q1`.
//! If every operation is linearizable, at least one look sees the other thread's change: both
//! missing it would be a cycle in the linearization order.

use synclab::queue::ArrayQueue;
use synclab::sync::{thread, Arc};

/// Runs `look(q1, q2)` on a new thread and `look(q2, q1)` on this one, over two queues made
/// by `make`, and returns both answers (this thread's first).
pub fn store_buffering<R: Send + 'static>(
    make: fn() -> ArrayQueue<u32>,
    look: fn(&ArrayQueue<u32>, &ArrayQueue<u32>) -> R,
) -> (R, R) {
    let q1 = Arc::new(make());
    let q2 = Arc::new(make());
    let other = {
        let (q1, q2) = (Arc::clone(&q1), Arc::clone(&q2));
        thread::spawn(move || look(&q2, &q1))
    };
    let mine = look(&q1, &q2);
    (mine, other.join().unwrap())
}
