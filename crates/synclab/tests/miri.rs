//! Tests of the unsafe code, sized for Miri: `cargo xtask miri` runs this file under Miri with
//! many seeds (`-Zmiri-many-seeds`), which checks the real code path — real futex syscalls,
//! weak-memory emulation and the data-race detector. In a plain build they run as ordinary
//! tests.

use std::sync::atomic::Ordering::{Acquire, Release};
use std::sync::Arc;

use synclab::lock::{LockFamily, StdFamily};
use synclab::sync::atomic::AtomicU32;
use synclab::sync::{futex, UnsafeCell};

/// A value published through a futex word with Release/Acquire, read after `wait`.
#[test]
fn futex_publication() {
    struct Slot(UnsafeCell<u64>);
    // SAFETY: the test orders every access through `ready` (Release store, Acquire load).
    unsafe impl Sync for Slot {}
    let ready = Arc::new(AtomicU32::new(0));
    let slot = Arc::new(Slot(UnsafeCell::new(0)));
    let reader = {
        let (ready, slot) = (Arc::clone(&ready), Arc::clone(&slot));
        std::thread::spawn(move || {
            // Acquire: pairs with the Release store below, so the write of the slot is visible.
            while ready.load(Acquire) == 0 {
                futex::wait(&ready, 0);
            }
            // SAFETY: ordered after the writer's only write by the Acquire load above.
            slot.0.with(|p| unsafe { *p })
        })
    };
    // SAFETY: the reader reads only after it has seen `ready == 1`.
    slot.0.with_mut(|p| unsafe { *p = 42 });
    ready.store(1, Release);
    futex::wake_one(&ready);
    assert_eq!(reader.join().unwrap(), 42);
}

/// The raw futex(2) path (timed and shared waits go through libc, not atomic-wait): a timed
/// wait that nobody wakes times out; a shared-scope wait is woken by a shared-scope wake, and
/// a timed private wait by atomic-wait's private wake.
#[test]
fn futex_timed_and_shared_waits() {
    use std::time::Duration;
    use synclab::sync::futex::{Scope, Shared, WaitOutcome};

    let word = AtomicU32::new(0);
    while futex::wait_timeout(&word, 0, Duration::from_millis(1)) == WaitOutcome::Woken {}

    for shared in [true, false] {
        let word = Arc::new(AtomicU32::new(0));
        let waiter = {
            let word = Arc::clone(&word);
            std::thread::spawn(move || {
                // Acquire: pairs with the Release store below.
                while word.load(Acquire) == 0 {
                    if shared {
                        Shared::wait(&word, 0);
                    } else {
                        let _ = futex::wait_timeout(&word, 0, Duration::from_secs(3600));
                    }
                }
            })
        };
        word.store(1, Release);
        if shared {
            Shared::wake_one(&word);
        } else {
            futex::wake_one(&word);
        }
        waiter.join().unwrap();
    }
}

/// Two threads hand a counter back and forth through a family's mutex and condvar.
fn family_handoff<F: LockFamily>() {
    let state = Arc::new((F::mutex(0u32), F::condvar()));
    let peer = {
        let state = Arc::clone(&state);
        std::thread::spawn(move || {
            let (m, cv) = &*state;
            for i in 0..3 {
                let mut g = F::wait_while(cv, F::lock(m), |t| *t != 2 * i + 1);
                *g += 1;
                F::notify_all(cv);
            }
        })
    };
    let (m, cv) = &*state;
    for i in 0..3 {
        let mut g = F::wait_while(cv, F::lock(m), |t| *t != 2 * i);
        *g += 1;
        F::notify_all(cv);
    }
    peer.join().unwrap();
    assert_eq!(*F::lock(m), 6);
}

#[test]
fn std_family_handoff() {
    family_handoff::<StdFamily>();
}

/// Two producers and two consumers move a few items through the lock-free ArrayQueue: the
/// stamps' Release/Acquire pairs and the slots' `MaybeUninit` reads under Miri's race
/// detector and weak-memory emulation.
#[test]
fn array_queue_mpmc() {
    use synclab::queue::{ArrayQueue, MpmcQueue};
    let q = Arc::new(ArrayQueue::<Box<u32>>::with_capacity(2).unwrap());
    let producers: Vec<_> = (0..2u32)
        .map(|p| {
            let q = Arc::clone(&q);
            std::thread::spawn(move || {
                for i in 0..3 {
                    let mut item = Box::new(p * 10 + i);
                    while let Err(back) = q.try_push(item) {
                        item = back;
                        std::thread::yield_now();
                    }
                }
            })
        })
        .collect();
    let mut popped = Vec::new();
    while popped.len() < 6 {
        match q.try_pop() {
            Some(v) => popped.push(*v),
            None => std::thread::yield_now(),
        }
    }
    for p in producers {
        p.join().unwrap();
    }
    popped.sort_unstable();
    assert_eq!(popped, vec![0, 1, 2, 10, 11, 12]);
}

/// Items left in the queue are dropped exactly once (Miri reports leaks and double frees).
#[test]
fn array_queue_drops_leftovers() {
    use synclab::queue::{ArrayQueue, MpmcQueue};
    let q = ArrayQueue::<Box<u32>>::with_capacity(3).unwrap();
    q.try_push(Box::new(1)).unwrap();
    q.try_push(Box::new(2)).unwrap();
    assert_eq!(q.try_pop().map(|b| *b), Some(1));
    drop(q);
}

/// A blocking queue with a sleeping consumer: event counts on the real futex.
#[test]
fn blocking_queue_handoff_and_close() {
    use synclab::queue::{ArrayQueue, BlockingQueue};
    let q = Arc::new(BlockingQueue::<u32, ArrayQueue<u32>>::with_capacity(1).unwrap());
    let consumer = {
        let q = Arc::clone(&q);
        std::thread::spawn(move || {
            let mut got = Vec::new();
            while let Ok(v) = q.pop() {
                got.push(v);
            }
            got
        })
    };
    for i in 0..3 {
        q.push(i).unwrap();
    }
    q.close();
    assert_eq!(consumer.join().unwrap(), vec![0, 1, 2]);
}

/// Publish and read through the lock-free array, with readers that may sleep.
#[test]
fn lock_free_array_publish_wait() {
    use synclab::array::{LockFreeArray, SharedArray};
    let a = Arc::new(LockFreeArray::<String>::with_len(2));
    let readers: Vec<_> = (0..2)
        .map(|i| {
            let a = Arc::clone(&a);
            std::thread::spawn(move || a.wait(i).unwrap())
        })
        .collect();
    a.publish(1, "one".to_string()).unwrap();
    a.publish(0, "zero".to_string()).unwrap();
    assert!(a.publish(0, "again".to_string()).is_err());
    let got: Vec<String> = readers.into_iter().map(|r| r.join().unwrap()).collect();
    assert_eq!(got, vec!["zero".to_string(), "one".to_string()]);
}

/// The futex mutex protecting a plain counter, and the futex condvar family.
#[test]
fn futex_mutex_counter_and_family_handoff() {
    use synclab::lock::{FutexFamily, FutexMutex};
    let m = Arc::new(FutexMutex::new(0u32));
    let threads: Vec<_> = (0..2)
        .map(|_| {
            let m = Arc::clone(&m);
            std::thread::spawn(move || {
                for _ in 0..3 {
                    *m.lock() += 1;
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(*m.lock(), 6);
    family_handoff::<FutexFamily>();
}

/// Both pools run a few tasks, wait, and shut down.
#[test]
fn pools_run_wait_shutdown() {
    use std::sync::atomic::{AtomicU32, Ordering::Relaxed};
    use synclab::pool::{FutexCondvarPool, LockFreePool, ThreadPool};
    fn run<P: ThreadPool>() {
        let pool = P::with_workers(2).unwrap();
        let done = Arc::new(AtomicU32::new(0));
        for _ in 0..4 {
            let done = Arc::clone(&done);
            pool.execute(move || {
                done.fetch_add(1, Relaxed);
            })
            .unwrap();
        }
        assert_eq!(pool.wait().panicked, 0);
        assert_eq!(done.load(Relaxed), 4);
        assert_eq!(pool.shutdown().workers_joined, 2);
    }
    run::<LockFreePool>();
    run::<FutexCondvarPool>();
}

/// `spawn`/`join` (values with heap data, a panic's payload) and `scope` (tasks writing into a
/// borrowed `Vec`) on both pool kinds: the packet's cell and the scope's lifetime erasure.
#[test]
fn spawn_join_and_scope() {
    use synclab::pool::{panic_message, FutexCondvarPool, LockFreePool, ThreadPool};
    fn run<P: ThreadPool>() {
        let pool = P::with_workers(2).unwrap();
        let words: Vec<_> = ["a", "bc"]
            .into_iter()
            .map(|w| pool.spawn(move || w.repeat(2)).unwrap())
            .collect();
        let failed = pool.spawn(|| -> String { panic!("on purpose") }).unwrap();
        let words: Vec<String> = words.into_iter().map(|h| h.join().unwrap()).collect();
        assert_eq!(words, ["aa", "bcbc"]);
        assert_eq!(
            panic_message(&failed.join().unwrap_err()),
            Some("on purpose")
        );
        let mut cells = vec![String::new(), String::new()];
        pool.scope(|s| {
            for (i, cell) in cells.iter_mut().enumerate() {
                s.spawn(move || cell.push_str(&i.to_string()));
            }
        });
        assert_eq!(cells, ["0", "1"]);
        drop(pool.spawn(|| String::from("detached")).unwrap());
        assert_eq!(pool.wait().panicked, 0);
    }
    run::<LockFreePool>();
    run::<FutexCondvarPool>();
}

/// `ArrayQueue::force_push` evicting while a consumer pops (heap values, so a double read or
/// a lost drop shows), and a channel carrying heap values across threads to disconnection.
#[test]
fn force_push_and_channel() {
    use synclab::queue::{bounded, ArrayQueue};
    let q = Arc::new(ArrayQueue::<String>::new(1).unwrap());
    let consumer = {
        let q = Arc::clone(&q);
        std::thread::spawn(move || (0..2).filter_map(|_| q.pop()).collect::<Vec<_>>())
    };
    let evicted: Vec<String> = (0..3).filter_map(|i| q.force_push(i.to_string())).collect();
    let popped = consumer.join().unwrap();
    let left: Vec<String> = std::iter::from_fn(|| q.pop()).collect();
    assert_eq!(evicted.len() + popped.len() + left.len(), 3);

    let (tx, rx) = bounded::<String>(1).unwrap();
    let producer = std::thread::spawn(move || {
        for i in 0..3 {
            tx.send(i.to_string()).unwrap();
        }
    });
    assert_eq!(rx.iter().collect::<Vec<_>>(), ["0", "1", "2"]);
    producer.join().unwrap();
}
