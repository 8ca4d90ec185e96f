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
