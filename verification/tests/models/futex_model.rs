//! Self-tests of the futex seam: the real futex in the plain build, the models under loom and
//! shuttle. The passing models pin down the contract; the zoo tests show that the models
//! explore what they must (spurious returns, lost wakes, missing orderings).

use std::time::Duration;

use synclab::sync::atomic::{AtomicU32, Ordering::*};
use synclab::sync::futex::{CrossProcess, Private, WaitOutcome, WakeScope};
use synclab::sync::time::Instant;
use synclab::sync::{futex, thread, Arc, World, WORLD};
use synclab_verification::{zoo_test, Expect, Failure, Model, SharedCell};

/// Waits until `word` is non-zero, re-checking after every return of `wait`.
fn wait_until_set(word: &AtomicU32) {
    while word.load(Acquire) == 0 {
        futex::wait(word, 0);
    }
}

#[test]
fn wait_returns_at_once_when_value_differs() {
    Model::new("futex: wait on a changed word returns")
        .threads(1)
        .ops("wait(word=1, expected=0) once")
        .exhaustive()
        .check(|| {
            let word = AtomicU32::new(1);
            // Must return (spuriously or because 1 != 0) instead of sleeping forever.
            futex::wait(&word, 0);
        });
}

#[test]
fn wake_after_change_is_never_lost() {
    Model::new("futex: store then wake_one reaches a waiter")
        .threads(2)
        .ops("waiter: loop wait; waker: store(1) + wake_one")
        .exhaustive()
        .check(|| {
            let word = Arc::new(AtomicU32::new(0));
            let waiter = {
                let word = Arc::clone(&word);
                thread::spawn(move || wait_until_set(&word))
            };
            word.store(1, Release);
            futex::wake_one(&word);
            waiter.join().unwrap();
        });
}

/// Two threads sleep until the word is set; main sets it and then calls `wake`.
fn two_waiters_then(wake: fn(&AtomicU32)) {
    let word = Arc::new(AtomicU32::new(0));
    let waiters: Vec<_> = (0..2)
        .map(|_| {
            let word = Arc::clone(&word);
            thread::spawn(move || wait_until_set(&word))
        })
        .collect();
    word.store(1, Release);
    wake(&word);
    for w in waiters {
        w.join().unwrap();
    }
}

#[test]
fn wake_all_wakes_both_waiters() {
    Model::new("futex: wake_all wakes two waiters")
        .threads(3)
        .ops("2 waiters: loop wait; waker: store(1) + one wake_all")
        .exhaustive()
        .check(|| two_waiters_then(futex::wake_all));
}

#[test]
fn two_wake_ones_wake_two_waiters() {
    Model::new("futex: two wake_one calls wake two waiters")
        .threads(3)
        .ops("2 waiters: loop wait; waker: store(1) + wake_one x2")
        .exhaustive()
        .check(|| {
            two_waiters_then(|word| {
                futex::wake_one(word);
                futex::wake_one(word);
            })
        });
}

#[test]
fn release_acquire_publication_through_futex_is_race_free() {
    Model::new("futex: data published with Release, read after wait with Acquire")
        .threads(2)
        .ops("writer: data=42, store(1,Release), wake_one; reader: loop wait, read data")
        .exhaustive()
        .check(|| {
            let word = Arc::new(AtomicU32::new(0));
            let data = Arc::new(SharedCell::new(0u64));
            let reader = {
                let (word, data) = (Arc::clone(&word), Arc::clone(&data));
                thread::spawn(move || {
                    wait_until_set(&word);
                    // Ordered: the Acquire load in `wait_until_set` saw the Release store.
                    assert_eq!(data.get(), 42);
                })
            };
            data.set(42);
            word.store(1, Release);
            futex::wake_one(&word);
            reader.join().unwrap();
        });
}

/// The timeout the timed-wait models pass: long on real threads (so a wake usually wins), and
/// irrelevant under the models, which explore the timeout instead of measuring it.
const TIMEOUT: Duration = Duration::from_millis(50);

#[test]
fn timed_wait_with_no_waker_times_out() {
    Model::new("futex: timed wait that nobody wakes times out")
        .threads(1)
        .ops("wait_timeout(word=0, expected=0) once, no waker")
        .exhaustive()
        .stress_iterations(5)
        .check(|| {
            let word = AtomicU32::new(0);
            let started = Instant::now();
            // Spurious returns are allowed; a timeout must come eventually, never a hang.
            while futex::wait_timeout(&word, 0, TIMEOUT) == WaitOutcome::Woken {}
            if WORLD == World::Plain {
                assert!(started.elapsed() >= TIMEOUT, "timed out early");
            }
        });
}

/// Executions (across a whole model run) in which the timed waiter was woken / timed out.
/// Plain std statics: invisible to the checkers, so they count across executions.
static WOKEN: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
static TIMED_OUT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

#[test]
fn timed_wait_is_woken_or_times_out_and_a_change_is_never_lost() {
    WOKEN.store(0, Relaxed);
    TIMED_OUT.store(0, Relaxed);
    Model::new("futex: timed wait races store + wake_one")
        .threads(2)
        .ops("waiter: one wait_timeout, then re-check; waker: store(1) + wake_one")
        .exhaustive()
        .check(|| {
            let word = Arc::new(AtomicU32::new(0));
            let waiter = {
                let word = Arc::clone(&word);
                thread::spawn(move || {
                    if word.load(Acquire) == 0 {
                        let counter = match futex::wait_timeout(&word, 0, TIMEOUT) {
                            WaitOutcome::Woken => &WOKEN,
                            WaitOutcome::TimedOut => &TIMED_OUT,
                        };
                        counter.fetch_add(1, Relaxed);
                    }
                })
            };
            word.store(1, Release);
            futex::wake_one(&word);
            waiter.join().unwrap();
            // After the join every outcome leaves the change visible: nothing was lost.
            assert_eq!(word.load(Acquire), 1);
        });
    if WORLD != World::Plain {
        // The checker must have explored both endings of the timed wait.
        assert!(
            WOKEN.load(Relaxed) > 0,
            "no execution woke the timed waiter"
        );
        assert!(TIMED_OUT.load(Relaxed) > 0, "no execution timed out");
    }
}

/// A waiter sleeps in scope `W` until the word is set; main sets it and wakes in scope `K`.
fn wait_in_wake_in<W: WakeScope, K: WakeScope>() {
    let word = Arc::new(AtomicU32::new(0));
    let waiter = {
        let word = Arc::clone(&word);
        thread::spawn(move || {
            while word.load(Acquire) == 0 {
                W::wait(&word, 0);
            }
        })
    };
    word.store(1, Release);
    K::wake_one(&word);
    waiter.join().unwrap();
}

#[test]
fn shared_wait_meets_shared_wake() {
    Model::new("futex: shared-scope wait woken by a shared-scope wake")
        .threads(2)
        .ops("waiter: loop CrossProcess::wait; waker: store(1) + CrossProcess::wake_one")
        .exhaustive()
        .check(wait_in_wake_in::<CrossProcess, CrossProcess>);
}

zoo_test! {
    /// A scope mismatch: the waiter sleeps in the private scope and the waker wakes the shared
    /// one (a design that put its word in a shared segment but forgot the scope on one side).
    /// The wake reaches nobody and the waiter sleeps forever — a lost wakeup. (On real
    /// threads of one process the kernel keys the two differently too: see the rustdoc of
    /// `synclab::sync::futex`.)
    fn scope_mismatch_loses_the_wakeup() expect Expect::both(Failure::Deadlock) => {
        Model::new("zoo: private wait, shared wake")
            .threads(2)
            .exhaustive()
            .check(wait_in_wake_in::<Private, CrossProcess>);
    }
}

zoo_test! {
    /// A timed-out return orders nothing: a waiter that reads the waker's data after timing
    /// out, without an Acquire of its own, races with the write. (A woken return joins the
    /// waker, as a real wake-up implies a barrier; the timeout is what this entry shows.)
    /// shuttle checks no memory model: blind.
    fn timed_out_return_orders_nothing() expect Expect::per_checker(Failure::DataRace, Failure::Blind) => {
        Model::new("zoo: data read after a timed-out wait")
            .threads(2)
            .exhaustive()
            .check(|| {
                let word = Arc::new(AtomicU32::new(0));
                let data = Arc::new(SharedCell::new(0u64));
                let reader = {
                    let (word, data) = (Arc::clone(&word), Arc::clone(&data));
                    thread::spawn(move || {
                        if futex::wait_timeout(&word, 0, TIMEOUT).timed_out() {
                            // The bug: nothing orders the writer's `set` before this read.
                            let _ = data.get();
                        }
                    })
                };
                data.set(42);
                futex::wake_one(&word);
                reader.join().unwrap();
            });
    }
}

zoo_test! {
    /// wake_one wakes at most one waiter: with two sleepers and a single wake_one, some
    /// execution leaves one asleep forever.
    fn wake_one_does_not_wake_two() expect Expect::both(Failure::Deadlock) => {
        Model::new("zoo: one wake_one for two waiters")
            .threads(3)
            .exhaustive()
            .check(|| two_waiters_then(futex::wake_one));
    }
}

zoo_test! {
    /// (a) A waiter that does not re-check its condition after `wait` returns: caught through
    /// a spurious return.
    fn waiter_without_recheck() expect Expect::both(Failure::Assertion("returned from wait before the flag was set")) => {
        Model::new("zoo: waiter without re-check")
            .threads(2)
            .exhaustive()
            .check(|| {
                let word = Arc::new(AtomicU32::new(0));
                let waiter = {
                    let word = Arc::clone(&word);
                    thread::spawn(move || {
                        if word.load(Acquire) == 0 {
                            futex::wait(&word, 0);
                        }
                        assert_eq!(word.load(Acquire), 1, "returned from wait before the flag was set");
                    })
                };
                word.store(1, Release);
                futex::wake_one(&word);
                waiter.join().unwrap();
            });
    }
}

zoo_test! {
    /// (b) A waker that changes the word but never wakes: the waiter sleeps forever.
    fn waker_that_never_wakes() expect Expect::both(Failure::Deadlock) => {
        Model::new("zoo: store without wake")
            .threads(2)
            .exhaustive()
            .check(|| {
                let word = Arc::new(AtomicU32::new(0));
                let waiter = {
                    let word = Arc::clone(&word);
                    thread::spawn(move || wait_until_set(&word))
                };
                word.store(1, Release);
                waiter.join().unwrap();
            });
    }
}

zoo_test! {
    /// (c) Data published with a Relaxed store and read after the futex returns: a data race
    /// under loom, which shows the model adds no ordering of its own. shuttle treats every
    /// atomic as SeqCst and is blind to it (documented, asserted to pass).
    fn relaxed_publication_through_futex() expect Expect::per_checker(Failure::DataRace, Failure::Blind) => {
        Model::new("zoo: Relaxed publication read after futex wait")
            .threads(2)
            .exhaustive()
            .check(|| {
                let word = Arc::new(AtomicU32::new(0));
                let data = Arc::new(SharedCell::new(0u64));
                let reader = {
                    let (word, data) = (Arc::clone(&word), Arc::clone(&data));
                    thread::spawn(move || {
                        while word.load(Relaxed) == 0 {
                            futex::wait(&word, 0);
                        }
                        // The bug: the Relaxed load orders nothing, so this read races.
                        let _ = data.get();
                    })
                };
                data.set(42);
                word.store(1, Relaxed);
                futex::wake_one(&word);
                reader.join().unwrap();
            });
    }
}

/// The trace behind a counterexample names each object after the field or binding its
/// constructor initialised (or the label it was given) and records each step with its values
/// and ordering (checkers only; the plain build records nothing).
#[cfg(any(synclab_loom, synclab_shuttle))]
#[test]
fn the_trace_names_objects_and_records_steps() {
    use synclab_verification::counterexample::{source::Sources, trace::Op, Trace};
    Model::new("trace: names, labels, values")
        .threads(1)
        .ops("store, swap, a cell write, a futex wake on one thread")
        .exhaustive()
        .shuttle_iterations(1)
        .check(|| {
            synclab::sync::trace::record(true);
            let flag = AtomicU32::new(0);
            let named = Arc::new(AtomicU32::new(5));
            synclab::sync::trace::label(&*named, "the answer");
            let cell = SharedCell::new(0u64);
            flag.store(1, Release);
            assert_eq!(named.swap(42, AcqRel), 5);
            cell.set(7);
            futex::wake_one(&flag);
            let dump = synclab::sync::trace::record(false);
            let mut trace = Trace::parse(&dump).expect("the trace parses");
            trace.name_objects(&mut Sources::new());
            let names: Vec<&str> = trace.objects.iter().map(|o| o.name.as_str()).collect();
            assert_eq!(names, ["flag", "the answer", "cell"]);
            let steps: Vec<(Op, u8, u64, u64)> = trace
                .events
                .iter()
                .map(|e| (e.op, e.order, e.a, e.b))
                .collect();
            assert_eq!(
                steps,
                [
                    (Op::Store, 2, 1, 0),
                    (Op::Swap, 4, 42, 5),
                    (Op::CellWrite, 0, 0, 0),
                    (
                        Op::FutexWake {
                            cross_process: false,
                            all: false
                        },
                        0,
                        0,
                        0
                    ),
                ]
            );
            // Each step points at the line that called it, here.
            assert!(
                trace
                    .events
                    .iter()
                    .all(|e| e.at.contains("futex_model.rs:")),
                "{:?}",
                trace.events
            );
        });
}

/// `Model::replay` runs the one schedule it is given: the replay string `docs/zoo.md` shows
/// for the scope-mismatch entry deadlocks again (and prints its counterexample); a string
/// that is not a schedule is refused with a message that says so.
#[cfg(synclab_shuttle)]
#[test]
fn replay_runs_the_schedule_it_is_given() {
    let docs = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/zoo.md"))
        .expect("docs/zoo.md is readable");
    let block = synclab_verification::zoo_docs::block_in(
        &docs,
        "models::futex_model::scope_mismatch_loses_the_wakeup",
    )
    .expect("docs/zoo.md shows the scope mismatch");
    let replay = block
        .split("replay: `")
        .nth(1)
        .and_then(|rest| rest.split('`').next())
        .expect("the entry has a replay string")
        .to_string();
    let message = |payload: Box<dyn std::any::Any + Send>| {
        payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default()
    };
    let replayed = std::panic::catch_unwind(|| {
        Model::new("replay: private wait, shared wake")
            .threads(2)
            .replay(replay)
            .check(wait_in_wake_in::<Private, CrossProcess>)
    });
    let failure = message(replayed.expect_err("the replayed schedule deadlocks again"));
    assert!(failure.contains("deadlock"), "{failure}");
    let refused = std::panic::catch_unwind(|| {
        Model::new("replay: not a schedule")
            .replay("not a schedule")
            .check(|| {})
    });
    let refusal = message(refused.expect_err("a bad schedule is refused"));
    assert!(refusal.contains("not a shuttle schedule"), "{refusal}");
}
