//! Processes for the models: a tracked [`Memory`] whose peers are model threads, and a
//! modelled kernel that says which of them died.
//!
//! loom's and shuttle's atomics cannot live in a mapping, so the models run the designs'
//! tracked code (`M::TRACKED`: tags, liveness checks, bounded sleeps) with the state on the
//! heap, shared by threads. Each thread plays one process: [`as_process`] gives it a tag, and
//! "process death" is a thread that stops at an injected point (it returns, leaking a guard or
//! a claimed slot) followed by [`Kernel::exit`] — the modelled kernel step that makes the
//! death visible to liveness checks. Its Release store pairs with the Acquire load in
//! [`ModelShm::is_dead`]: a real survivor learns of a death through the kernel (`/proc`,
//! `waitpid`), after the dead process's stores have drained, and the model gives it the same
//! edge — and no other: it orders nothing else.
//!
//! Sleeps are bounded by [`Memory::POLL`]; under the checkers the clock is frozen and a
//! timed-out return is explored by the futex model, so a sleeper that would only notice a death
//! by timing out is explored doing so. [`UnpolledModelShm`] is the same memory with unbounded
//! sleeps — the zoo's broken variant: a sleeper misses a death.

use core::time::Duration;

use synclab::shm::{Heap, HeapMemory, HeapRegion, Memory};
use synclab::sync::atomic::{AtomicBool, AtomicU64, Ordering::*};
use synclab::sync::futex;
use synclab::sync::Arc;

/// The most model processes (tags `1..=PROCESSES`).
pub const PROCESSES: usize = 4;

/// The modelled kernel: which model processes have exited, and each one's last announcement.
#[derive(Debug)]
pub struct Kernel {
    dead: Vec<AtomicBool>,
    announced: Vec<AtomicU64>,
}

impl Kernel {
    /// A kernel with every process alive.
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            dead: (0..=PROCESSES).map(|_| AtomicBool::new(false)).collect(),
            announced: (0..=PROCESSES).map(|_| AtomicU64::new(0)).collect(),
        })
    }

    /// The modelled exit of process `tag`: from now on liveness checks report it dead. Call it
    /// from the dying thread, after the point where it "was killed".
    pub fn exit(&self, tag: u32) {
        // Release: pairs with the Acquire load in `is_dead` (see the module docs).
        self.dead[tag as usize].store(true, Release);
    }
}

impl Default for Kernel {
    fn default() -> Self {
        Self {
            dead: (0..=PROCESSES).map(|_| AtomicBool::new(false)).collect(),
            announced: (0..=PROCESSES).map(|_| AtomicU64::new(0)).collect(),
        }
    }
}

#[cfg(synclab_loom)]
loom::thread_local! {
    static CURRENT: std::cell::RefCell<Option<(Arc<Kernel>, u32)>> = std::cell::RefCell::new(None);
}
#[cfg(synclab_shuttle)]
shuttle::thread_local! {
    static CURRENT: std::cell::RefCell<Option<(Arc<Kernel>, u32)>> = std::cell::RefCell::new(None);
}
#[cfg(not(any(synclab_loom, synclab_shuttle)))]
std::thread_local! {
    static CURRENT: std::cell::RefCell<Option<(Arc<Kernel>, u32)>> = const { std::cell::RefCell::new(None) };
}

/// Runs `f` on the calling thread as process `tag` (1..=[`PROCESSES`]) of `kernel`.
pub fn as_process<R>(kernel: &Arc<Kernel>, tag: u32, f: impl FnOnce() -> R) -> R {
    assert!(
        (1..=PROCESSES as u32).contains(&tag),
        "model process tags are 1..={PROCESSES}"
    );
    CURRENT.with(|c| *c.borrow_mut() = Some((Arc::clone(kernel), tag)));
    let r = f();
    CURRENT.with(|c| *c.borrow_mut() = None);
    r
}

fn with_current<R>(f: impl FnOnce(&Kernel, u32) -> R) -> R {
    CURRENT.with(|c| {
        let c = c.borrow();
        let (kernel, tag) = c
            .as_ref()
            .expect("a tracked model memory used outside as_process");
        f(kernel, *tag)
    })
}

/// A tracked memory for the models: heap regions, shared futex scope, model-thread peers.
#[derive(Debug, Clone, Copy, Default)]
pub struct ModelShm;

/// [`ModelShm`] with unbounded sleeps: a zoo variant, in which a sleeper misses a death.
#[derive(Debug, Clone, Copy, Default)]
pub struct UnpolledModelShm;

macro_rules! model_memory {
    ($name:ident, $label:literal, $wait_timeout:expr) => {
        // SAFETY: the state is on the heap, shared by the model threads, and the shared scope
        // reaches them all; tags are the threads' `as_process` tags, distinct by the models'
        // construction; `is_dead` reports only processes whose `Kernel::exit` ran, for ever;
        // announcements are per tag and read back by `claimant_dead`.
        unsafe impl Memory for $name {
            const NAME: &'static str = $label;
            const TRACKED: bool = true;
            const POLL: Duration = Duration::from_millis(1);

            type Region<H, E> = <Heap as Memory>::Region<H, E>;
            type Scope = futex::CrossProcess;

            fn wait_timeout(
                word: &synclab::sync::atomic::AtomicU32,
                expected: u32,
                timeout: Duration,
            ) -> bool {
                let f: fn(&synclab::sync::atomic::AtomicU32, u32, Duration) -> bool = $wait_timeout;
                f(word, expected, timeout)
            }

            fn tag(_ctx: *const ()) -> u32 {
                with_current(|_, tag| tag)
            }

            fn is_dead(_ctx: *const (), tag: u32) -> bool {
                // Acquire: pairs with the Release store in `Kernel::exit`.
                with_current(|k, _| k.dead.get(tag as usize).is_none_or(|d| d.load(Acquire)))
            }

            fn announce(_ctx: *const (), op: u64) {
                // Relaxed: ordered before the claim that follows by the claim's own RMW.
                with_current(|k, tag| k.announced[tag as usize].store(op, Relaxed));
            }

            fn claimant_dead(_ctx: *const (), op: u64) -> bool {
                with_current(|k, _| {
                    (1..=PROCESSES)
                        .all(|t| k.announced[t].load(Relaxed) != op || k.dead[t].load(Acquire))
                })
            }
        }
    };
}

// SAFETY: the heap's regions own what they are given.
unsafe impl HeapMemory for ModelShm {
    fn region<H, E>(header: H, elems: Box<[E]>) -> HeapRegion<H, E> {
        <Heap as HeapMemory>::region(header, elems)
    }
}

// SAFETY: as above.
unsafe impl HeapMemory for UnpolledModelShm {
    fn region<H, E>(header: H, elems: Box<[E]>) -> HeapRegion<H, E> {
        <Heap as HeapMemory>::region(header, elems)
    }
}

model_memory!(ModelShm, "model-shm", |word, expected, timeout| {
    <futex::CrossProcess as futex::WakeScope>::wait_timeout(word, expected, timeout).timed_out()
});
model_memory!(
    UnpolledModelShm,
    "model-shm-unpolled",
    |word, expected, _timeout| {
        <futex::CrossProcess as futex::WakeScope>::wait(word, expected);
        false
    }
);

/// A heap region for model memories (the same as the heap's).
pub type ModelRegion<H, E> = HeapRegion<H, E>;
