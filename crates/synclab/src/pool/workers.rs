//! The pools' worker threads: starting them, telling whether a call comes from one of them,
//! joining them (or detaching them when the pool is dropped on one), and the bounded idle
//! search every worker runs before it sleeps.

use super::panics::drop_payload;
use super::state::{IDLE_SPINS, IDLE_YIELDS};

/// What joining the workers found: how many were joined, and how many had ended by
/// unwinding instead of returning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Joined {
    pub(crate) joined: usize,
    pub(crate) lost: usize,
}

/// Joins the pool's workers, or — when called on one of them (the pool dropped or shut down
/// from inside its own task) — detaches them all and returns 0: joining itself would fail, and
/// joining the others would wait forever, since they exit only once nothing is pending and the
/// calling task still is.
///
/// A worker never unwinds on its own account (tasks and their payloads run under
/// `catch_unwind`, see [`run_task`](super::panics::run_task)); one that did anyway — a bug in
/// synclab — is counted in `lost`, so that
/// [`ShutdownReport::workers_lost`](super::ShutdownReport::workers_lost) shows it rather than
/// hiding it.
pub(crate) fn join_workers(handles: Vec<crate::sync::thread::JoinHandle<()>>) -> Joined {
    if on_own_worker(&handles) {
        // Detached: each worker drains the queue and exits when it finds the pool closed and
        // idle; the shared state lives on in their `Arc`s.
        drop(handles);
        return Joined::default();
    }
    let mut outcome = Joined::default();
    for handle in handles {
        match handle.join() {
            Ok(()) => outcome.joined += 1,
            Err(payload) => {
                outcome.lost += 1;
                drop_payload(payload);
            }
        }
    }
    outcome
}

/// The idle search every pool runs before a worker sleeps, on the one spin schedule,
/// [`Backoff`](crate::sync::hint::Backoff): `IDLE_SPINS` rounds of one spin hint, then
/// `IDLE_YIELDS` rounds of yielding the CPU, calling `look` after every round. Returns the
/// first `Some` it gives, or `None`.
///
/// Under a checker a bounded schedule has no rounds, and the one `snooze` made before the
/// first look is a yield: the search is one yield and one look. The yield is a free switch
/// point the pool models rely on — a submitter can run while a worker is counted as
/// searching without spending the preemption bound, which is how `dependent_tasks` reaches
/// the searcher hand-off race at bound 1 — and the single look keeps the state space small.
#[inline]
pub(crate) fn search_idle<R>(mut look: impl FnMut() -> Option<R>) -> Option<R> {
    let mut backoff = crate::sync::hint::Backoff::new(IDLE_SPINS, IDLE_YIELDS).with_max_shift(0);
    loop {
        backoff.snooze();
        if let Some(found) = look() {
            return Some(found);
        }
        if backoff.is_completed() {
            return None;
        }
    }
}

/// Whether the calling thread is one of `handles`' workers: a task of this very pool.
///
/// O(workers), so the pools ask only on slow paths (a full queue, a `wait`).
pub(crate) fn on_own_worker(handles: &[crate::sync::thread::JoinHandle<()>]) -> bool {
    let me = crate::sync::thread::current().id();
    handles.iter().any(|h| h.thread().id() == me)
}

/// Starts one thread per item of `locals`, each running `worker_loop` on the pool's shared
/// state and its own item (a worker's private state, such as its end of a deque).
pub(crate) fn spawn_workers<S: Send + Sync + 'static, L: Send + 'static>(
    shared: &crate::sync::Arc<S>,
    locals: Vec<L>,
    worker_loop: fn(&S, L),
) -> Vec<crate::sync::thread::JoinHandle<()>> {
    locals
        .into_iter()
        .map(|local| {
            let shared = crate::sync::Arc::clone(shared);
            crate::sync::thread::spawn(move || worker_loop(&shared, local))
        })
        .collect()
}

#[cfg(all(test, synclab_plain))]
mod tests {
    use super::*;

    /// `join_workers` counts a worker that ended by unwinding as lost, not joined — even one
    /// whose payload panics when dropped.
    #[test]
    fn join_workers_counts_a_worker_that_died() {
        struct Bomb;
        impl Drop for Bomb {
            fn drop(&mut self) {
                panic!("synclab-test: a payload that panics on drop");
            }
        }
        let handles = vec![
            std::thread::spawn(|| ()),
            std::thread::spawn(|| std::panic::panic_any(Bomb)),
            std::thread::spawn(|| panic!("synclab-test: a worker that dies")),
        ];
        assert_eq!(join_workers(handles), Joined { joined: 1, lost: 2 });
    }
}
