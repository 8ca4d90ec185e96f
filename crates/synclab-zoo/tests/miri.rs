//! The zoo under Miri: for every entry whose bug is a *logic* bug, a program with no `unsafe`
//! that uses it across threads — Miri's data-race detector and weak-memory emulation find
//! nothing, because there is nothing to find (see the rule in the crate docs). Each program
//! avoids the schedule in which the entry's bug would hang (a hang is the bug, not undefined
//! behaviour, and Miri reports a deadlock as an error): where a lost wakeup is possible, the
//! notifier repeats its notification until the waiter says it is through. The data-race
//! entries cannot be built without `unsafe`: their `compile_fail` doc tests show it, and
//! `zoo_coverage` checks that every public zoo item is in one list or the other.
//!
//! `cargo xtask miri` runs this file under Miri with many seeds, beside the library's own
//! `crates/synclab/tests/miri.rs`; in a plain build these are ordinary tests.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering::*};
use std::sync::Arc;
use std::thread;

use synclab::array::SharedArray;
use synclab::lock::{Condvar, FutexMutex};
use synclab::queue::{ArrayQueue, EventCount, MpmcQueue};
use synclab_zoo as zoo;

/// Runs `notify` until `done` is set (by the waiter, once it is through).
fn notify_until(done: &AtomicBool, notify: impl Fn()) {
    // Acquire: pairs with the waiter's Release store once it has finished.
    while !done.load(Acquire) {
        notify();
        thread::yield_now();
    }
}

#[test]
fn unannounced_sleep_array() {
    let a = Arc::new(zoo::array::UnannouncedSleepArray::<String>::with_len(2).unwrap());
    let reader = {
        let a = Arc::clone(&a);
        // Polls with try_get (never sleeps, so the lost wakeup cannot happen).
        thread::spawn(move || loop {
            if let Some(v) = a.try_get(0).unwrap() {
                return v;
            }
            thread::yield_now();
        })
    };
    a.publish(0, "zero".to_string()).unwrap();
    assert_eq!(reader.join().unwrap(), "zero");
    assert_eq!(a.wait(0).unwrap(), "zero"); // already published: no sleep
    assert!(a.publish(0, "again".to_string()).is_err());
    assert!(a.try_get(2).is_err());
}

#[test]
fn relaxed_unlock_mutex() {
    // The lock owns no data; the count is an atomic, so the missing Release has nothing to
    // race on (a plain cell guarded by it would need the caller's own `unsafe`).
    let m = Arc::new(zoo::locks::RelaxedUnlockMutex::new());
    let count = Arc::new(AtomicU32::new(0));
    let threads: Vec<_> = (0..2)
        .map(|_| {
            let (m, count) = (Arc::clone(&m), Arc::clone(&count));
            thread::spawn(move || {
                for _ in 0..3 {
                    m.lock();
                    count.fetch_add(1, Relaxed);
                    m.unlock();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(count.load(Relaxed), 6);
}

#[test]
fn two_state_futex_mutex() {
    // Uncontended hand-over between threads (contention is where it loses the wakeup).
    let m = Arc::new(zoo::locks::TwoStateFutexMutex::new());
    let first = {
        let m = Arc::clone(&m);
        thread::spawn(move || {
            m.lock();
            m.unlock();
        })
    };
    first.join().unwrap();
    m.lock();
    m.unlock();
}

/// The counting zoo locks, uncontended across threads: their bugs need
/// contention (a wiped count, a hand-off released early, a deserted hand-off).
#[test]
fn counting_zoo_locks() {
    let wiping = Arc::new(zoo::locks::CountWipingMutex::new());
    let late = Arc::new(zoo::locks::LateHandoffMutex::new());
    let deserting = Arc::new(zoo::locks::DesertingHandoffMutex::new());
    let first = {
        let (wiping, late, deserting) = (
            Arc::clone(&wiping),
            Arc::clone(&late),
            Arc::clone(&deserting),
        );
        thread::spawn(move || {
            wiping.lock();
            wiping.unlock();
            late.lock();
            late.unlock();
            assert!(deserting.try_lock());
            deserting.unlock();
        })
    };
    first.join().unwrap();
    wiping.lock();
    wiping.unlock();
    late.lock();
    late.unlock();
    assert!(deserting.try_lock_for(std::time::Duration::from_millis(1)));
    deserting.unlock();
}

#[test]
fn swap_try_lock_mutex() {
    use synclab::lock::Mutex;
    // Two threads lock and unlock (no `try_lock` loses beside a sleeper, so no wake-up is
    // lost), then a `try_lock` loses against a holder with nobody asleep: harmless.
    let m = Arc::new(Mutex::<u32, zoo::locks::SwapTryLockMutex>::new(0));
    let threads: Vec<_> = (0..2)
        .map(|_| {
            let m = Arc::clone(&m);
            thread::spawn(move || {
                for _ in 0..20 {
                    *m.lock() += 1;
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let held = m.lock();
    let loser = {
        let m = Arc::clone(&m);
        thread::spawn(move || m.try_lock().is_none())
    };
    assert!(loser.join().unwrap(), "try_lock succeeded while held");
    assert_eq!(*held, 40);
    drop(held);
    assert_eq!(*m.try_lock().expect("free"), 40);
}

#[test]
fn wait_without_recheck() {
    let state = Arc::new((FutexMutex::new(false), Condvar::new()));
    let setter = {
        let state = Arc::clone(&state);
        thread::spawn(move || {
            *state.0.lock() = true;
            state.1.notify_all();
        })
    };
    // May return with the flag still false (the bug: a wrong answer, not UB).
    let seen = *zoo::locks::wait_without_recheck(&state.0, &state.1);
    setter.join().unwrap();
    let _ = seen;
    assert!(*state.0.lock());
}

#[test]
fn count_first_condvar() {
    let state = Arc::new((FutexMutex::new(false), zoo::locks::CountFirstCondvar::new()));
    let done = Arc::new(AtomicBool::new(false));
    let notifier = {
        let (state, done) = (Arc::clone(&state), Arc::clone(&done));
        thread::spawn(move || {
            *state.0.lock() = true;
            notify_until(&done, || state.1.notify_one());
        })
    };
    let mut guard = state.0.lock();
    while !*guard {
        guard = state.1.wait(guard);
    }
    drop(guard);
    // Release: pairs with the Acquire load in `notify_until`.
    done.store(true, Release);
    notifier.join().unwrap();
}

#[test]
fn fenceless_event_count() {
    let q = Arc::new(ArrayQueue::<u32>::with_capacity(1).unwrap());
    let ec = Arc::new(zoo::queue::FencelessEventCount::new());
    let done = Arc::new(AtomicBool::new(false));
    let producer = {
        let (q, ec, done) = (Arc::clone(&q), Arc::clone(&ec), Arc::clone(&done));
        thread::spawn(move || {
            q.try_push(1).unwrap();
            notify_until(&done, || ec.notify_one());
        })
    };
    let got = loop {
        if let Some(v) = q.try_pop() {
            break v;
        }
        let key = ec.prepare_wait();
        if let Some(v) = q.try_pop() {
            ec.cancel_wait(key);
            break v;
        }
        ec.wait(key);
    };
    // Release: pairs with the Acquire load in `notify_until`.
    done.store(true, Release);
    producer.join().unwrap();
    assert_eq!(got, 1);
}

#[test]
fn pop_without_recheck() {
    let q = Arc::new(ArrayQueue::<u32>::with_capacity(1).unwrap());
    let ec = Arc::new(EventCount::new());
    let done = Arc::new(AtomicBool::new(false));
    let producer = {
        let (q, ec, done) = (Arc::clone(&q), Arc::clone(&ec), Arc::clone(&done));
        thread::spawn(move || {
            q.try_push(5).unwrap();
            notify_until(&done, || ec.notify_one());
        })
    };
    let got = zoo::queue::pop_without_recheck(&*q, &ec);
    // Release: pairs with the Acquire load in `notify_until`.
    done.store(true, Release);
    producer.join().unwrap();
    assert_eq!(got, 5);
}

#[test]
fn two_lane_queue() {
    let q = Arc::new(zoo::queue::TwoLaneQueue::<Box<u32>>::with_capacity(2).unwrap());
    let producers: Vec<_> = (0..2u32)
        .map(|p| {
            let q = Arc::clone(&q);
            thread::spawn(move || {
                for i in 0..2 {
                    let mut item = Box::new(p * 10 + i);
                    while let Err(back) = q.try_push(item) {
                        item = back;
                        thread::yield_now();
                    }
                }
            })
        })
        .collect();
    let mut popped = Vec::new();
    while popped.len() < 4 {
        match q.try_pop() {
            Some(v) => popped.push(*v),
            None => thread::yield_now(),
        }
    }
    for p in producers {
        p.join().unwrap();
    }
    popped.sort_unstable(); // the order may be wrong (the bug); the set is not
    assert_eq!(popped, vec![0, 1, 10, 11]);
}

/// The broken deques are safe from safe code: items are `usize`s in atomic slots, so an
/// item taken twice (the bugs) is a wrong number, never a data race. Every item is taken
/// at least zero and at most twice; Miri checks there is no UB.
#[test]
fn broken_deque() {
    use zoo::deque::{BrokenDeque, DequeBug, ZooSteal};
    for bug in [
        DequeBug::TakeWithoutFence,
        DequeBug::StealReadsAfterCas,
        DequeBug::LostRaceKeepsBottom,
    ] {
        let d = Arc::new(BrokenDeque::new(2, bug));
        d.push(1).unwrap();
        d.push(2).unwrap();
        let thief = {
            let d = Arc::clone(&d);
            thread::spawn(move || {
                let mut got = Vec::new();
                for _ in 0..2 {
                    if let ZooSteal::Success(v) = d.steal() {
                        got.push(v);
                    }
                }
                got
            })
        };
        let mut taken: Vec<usize> = d.pop().into_iter().collect();
        if d.push(3).is_ok() {
            taken.extend(d.pop());
        }
        taken.extend(thief.join().unwrap());
        while let Some(v) = d.pop() {
            taken.push(v);
        }
        assert!(
            taken.iter().all(|v| (1..=3).contains(v)),
            "{bug:?}: {taken:?}"
        );
    }
}

#[test]
fn seed_cpp_pool_guarded_read() {
    let pool = zoo::pool::SeedCppPool::with_guarded_read(2);
    let ran = Arc::new(AtomicUsize::new(0));
    for _ in 0..3 {
        let ran = Arc::clone(&ran);
        pool.submit(move || {
            // Release: pairs with the Acquire load below.
            ran.fetch_add(1, Release);
        });
    }
    // Wait only once every task has finished: then `wait` finds the queue empty under
    // the queue's mutex and never sleeps (its lost wakeup needs a task still queued).
    while ran.load(Acquire) < 3 {
        thread::yield_now();
    }
    pool.wait();
    drop(pool); // the seed's destructor: stop, notify_all, join
}

/// The seed's workers are daemon threads, never joined, which Miri's leak check reports at
/// exit; `cargo xtask miri` runs this program in a pass of its own with
/// `-Zmiri-ignore-leaks` (the race detector and weak memory stay on).
#[test]
fn install_waiting_once() {
    use synclab::pool::{ThreadPool, WorkStealingPool};
    let pool = WorkStealingPool::with_workers(1).unwrap();
    // May come back `None` on a spurious return (the bug: a wrong answer, not UB).
    let value = zoo::pool::install_waiting_once(&pool, || 7u32);
    assert!(matches!(value, None | Some(7)));
    let _ = pool.wait();
    assert_eq!(pool.shutdown().workers_joined, 1);
}

#[test]
fn join_latch_set_when_taken() {
    use synclab::pool::{ThreadPool, WorkStealingPool};
    let pool = WorkStealingPool::with_workers(1).unwrap();
    // May come back `None` while the worker still runs the half (the bug: a wrong answer,
    // not UB).
    let (a, b) = zoo::pool::join_latch_set_when_taken(&pool, || 1u32, || 7u32);
    assert_eq!(a, 1);
    assert!(matches!(b, None | Some(7)));
    let _ = pool.wait();
    assert_eq!(pool.shutdown().workers_joined, 1);
}

#[test]
#[cfg_attr(
    miri,
    ignore = "daemon threads are never joined: `cargo xtask miri` runs it with -Zmiri-ignore-leaks"
)]
fn seed_python_pool() {
    let pool = zoo::pool::SeedPythonPool::new(2);
    let ran = Arc::new(AtomicUsize::new(0));
    for _ in 0..3 {
        let ran = Arc::clone(&ran);
        pool.submit(move || {
            ran.fetch_add(1, Relaxed);
        });
    }
    pool.wait(); // `join()`: correct while no task panics
    assert_eq!(ran.load(Relaxed), 3);
    drop(pool); // daemon workers: told to exit, never joined (the seed's design)
}

/// Every public item of `crates/synclab-zoo/src/*.rs` is either exercised above (a logic
/// bug) or built only by an `unsafe` constructor with a `compile_fail` doc test (a data
/// race). A new zoo entry fails this test until it is put in one list — with its program
/// or its doc test.
#[test]
#[cfg_attr(
    miri,
    ignore = "reads the zoo's source files (Miri isolates the file system)"
)]
fn zoo_coverage() {
    const MIRI_PROGRAMS: &[&str] = &[
        "UnannouncedSleepArray",
        "RelaxedUnlockMutex",
        "TwoStateFutexMutex",
        "CountWipingMutex",
        "LateHandoffMutex",
        "DesertingHandoffMutex",
        "SwapTryLockMutex",
        "wait_without_recheck",
        "CountFirstCondvar",
        "FencelessEventCount",
        "FencelessKey",
        "pop_without_recheck",
        "TwoLaneQueue",
        "SeedCppPool",
        "SeedPythonPool",
        "install_waiting_once",
        "join_latch_set_when_taken",
        "StampBug",
        "DequeBug",
        "ZooSteal",
        "BrokenDeque",
    ];
    const UNSAFE_TO_BUILD: &[&str] = &[
        "RelaxedPublishArray",
        "ClaimlessPublishArray",
        "BrokenArrayQueue",
        "BrokenRing",
        "RingBug",
        "SeedCppPool",
    ];
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut missing = Vec::new();
    let mut found = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let source = std::fs::read_to_string(&path).unwrap();
        for line in source.lines() {
            // Items, and the inherent `impl`s of types a macro declares (the
            // counting locks): `impl Name {` at the start of a line.
            let item = ["pub struct ", "pub enum ", "pub fn ", "pub trait ", "impl "]
                .iter()
                .find_map(|kw| line.strip_prefix(kw))
                .filter(|rest| !line.starts_with("impl ") || !rest.contains(" for "))
                .filter(|rest| !line.starts_with("impl ") || !rest.starts_with('<'));
            let Some(rest) = item else { continue };
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            // An `impl` of a private type declared in the file is not an entry.
            if line.starts_with("impl ") && source.contains(&format!("\nstruct {name}")) {
                continue;
            }
            found += 1;
            if !MIRI_PROGRAMS.contains(&name.as_str()) && !UNSAFE_TO_BUILD.contains(&name.as_str())
            {
                missing.push(format!("{}: {name}", path.display()));
            }
        }
        // A data-race entry's constructors are unsafe, each with a compile_fail test.
        for name in UNSAFE_TO_BUILD {
            if source.contains(&format!("pub struct {name}")) {
                assert!(
                    source.contains("pub unsafe fn new") && source.contains("compile_fail"),
                    "{name} in {}: a data-race entry needs an `unsafe fn new` and a compile_fail doc test",
                    path.display()
                );
            }
        }
    }
    assert!(
        found >= 13,
        "the scan found only {found} public zoo items: is it still reading the zoo?"
    );
    assert!(
        missing.is_empty(),
        "zoo items with neither a Miri program nor an unsafe constructor: {missing:?}"
    );
}
