//! The world switch: the only module that knows whether synclab runs on real threads, under
//! [loom] or under [shuttle].
//!
//! Every algorithm in synclab imports its atomics, cells, threads and futex from here, so one
//! source file is benchmarked on real threads and model-checked unchanged. The API mirrors
//! `std` (and loom's, where std has no equivalent), so switching is a `use` change:
//!
//! | item | plain build | `--cfg synclab_loom` | `--cfg synclab_shuttle` |
//! |---|---|---|---|
//! | [`atomic`] | `std::sync::atomic` | `loom::sync::atomic` | `shuttle::sync::atomic` |
//! | [`atomic::AtomicU32`] | std's | loom's + a futex wait queue | shuttle's + a futex wait queue |
//! | [`Arc`] | std's | loom's (leak-checked) | shuttle's |
//! | [`UnsafeCell`] | a shim with loom's `with`/`with_mut` | loom's (race-checked) | the shim |
//! | [`StdMutex`], [`StdCondvar`] | std's | loom's | shuttle's |
//! | [`thread`] (with `thread_local!`) | `std::thread` | `loom::thread` | `shuttle::thread` |
//! | [`hint::spin_loop`] | a CPU pause | a yield to the scheduler | a yield to the scheduler |
//! | `hint::Backoff` (crate-internal) | spins, then yields, as scheduled | a bounded schedule has no rounds | a bounded schedule has no rounds |
//! | [`futex`] | `atomic-wait` (futex(2) on Linux), and futex(2) directly for timed and shared waits | a futex model | a futex model |
//! | [`time::Instant`] | std's | a frozen clock | a frozen clock |
//!
//! # Choosing the world
//!
//! The checkers are selected with crate-prefixed cfgs, `--cfg synclab_loom` and
//! `--cfg synclab_shuttle`, passed through `RUSTFLAGS`. We do not use the bare `--cfg loom`
//! that loom's docs suggest: `RUSTFLAGS` reaches every crate in the build graph, and other
//! crates (tokio, bytes, concurrent-queue, …) switch on a bare `loom` cfg and then fail to
//! build without loom in *their* dependencies. crossbeam renamed its cfg to `crossbeam_loom`
//! for the same reason. Both cfgs are declared in the workspace's `check-cfg` list.
//!
//! # The futex models
//!
//! loom and shuttle have no futex (loom#306), so under a checker [`futex`] is a model built from
//! the checker's own primitives; see [`futex`] for the contract it keeps and how.
//!
//! [loom]: https://docs.rs/loom
//! [shuttle]: https://docs.rs/shuttle

#[cfg(all(synclab_loom, synclab_shuttle))]
compile_error!("choose one checker: `--cfg synclab_loom` or `--cfg synclab_shuttle`, not both");

/// Keeps its items in the plain world only: for the few that cannot exist under a checker —
/// the `lock_api` bridge, whose `RawMutex::INIT` is a `const` and the checkers' atomics cannot
/// be built in const context. Under a checker they are absent, so a package that enables
/// `lock_api` still builds (only code that uses the bridge does not); the cfg stays here.
macro_rules! plain_world {
    ($($item:item)*) => {
        $(
            #[cfg(not(any(synclab_loom, synclab_shuttle)))]
            $item
        )*
    };
}
pub(crate) use plain_world;

mod cell;
pub mod futex;
#[cfg(any(synclab_loom, synclab_shuttle))]
mod futex_model;
#[cfg(any(synclab_loom, synclab_shuttle))]
mod model_time;
pub mod trace;
#[cfg(any(synclab_loom, synclab_shuttle))]
mod traced;

#[cfg(not(any(synclab_loom, synclab_shuttle)))]
#[path = "real.rs"]
mod world;

#[cfg(synclab_loom)]
#[path = "loom_world.rs"]
mod world;

#[cfg(synclab_shuttle)]
#[path = "shuttle_world.rs"]
mod world;

pub use cell::UnsafeCell;
#[cfg(any(synclab_loom, synclab_shuttle))]
pub use traced::{atomic, thread, time, Arc, StdCondvar, StdMutex, StdMutexGuard};
#[cfg(not(any(synclab_loom, synclab_shuttle)))]
pub use world::{atomic, thread, time, Arc, StdCondvar, StdMutex, StdMutexGuard};

/// Which world this build of synclab runs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum World {
    /// Real OS threads, real atomics, the real futex.
    Plain,
    /// Under loom: every interleaving within the bounds is explored.
    Loom,
    /// Under shuttle: randomized (PCT / random) schedules.
    Shuttle,
}

/// The world this build runs in.
pub const WORLD: World = if cfg!(synclab_loom) {
    World::Loom
} else if cfg!(synclab_shuttle) {
    World::Shuttle
} else {
    World::Plain
};

/// Spin hints that behave under a checker.
pub mod hint {
    use super::{World, WORLD};

    /// Tells the processor (plain build) or the checker's scheduler (loom, shuttle) that this
    /// thread is spinning and needs another thread to make progress.
    ///
    /// Under a checker a spin loop that does not yield is an infinite path: loom reports
    /// "Model exceeded maximum number of branches", shuttle its step limit.
    #[inline]
    #[cfg_attr(any(synclab_loom, synclab_shuttle), track_caller)]
    pub fn spin_loop() {
        #[cfg(any(synclab_loom, synclab_shuttle))]
        super::trace::recorder::Step::new(super::trace::recorder::Op::Spin)
            .record(core::panic::Location::caller());
        match WORLD {
            World::Plain => core::hint::spin_loop(),
            World::Loom | World::Shuttle => super::thread::yield_now(),
        }
    }

    /// How many iterations a bounded spin should make before it sleeps.
    ///
    /// Returns `plain` in a plain build and `1` under a checker: every spin iteration is a
    /// scheduling point that the checker explores, so one iteration keeps the spin path
    /// covered without multiplying the state space.
    #[inline]
    pub const fn spin_limit(plain: u32) -> u32 {
        match WORLD {
            World::Plain => plain,
            World::Loom | World::Shuttle => 1,
        }
    }

    /// A bounded wait schedule: `spins` rounds of busy-waiting, each a burst of spin hints
    /// that doubles from one up to `2^max_shift`, then `yields` rounds that give the CPU away,
    /// then [`Backoff::is_completed`] — time to sleep in the kernel instead.
    ///
    /// One type for every spinning site, so their schedules are stated (and tuned) as data:
    ///
    /// | site | spins | burst cap | yields | after |
    /// |---|---|---|---|---|
    /// | `FutexMutex` | 20 | 1 hint | 10 | sleeps on the futex |
    /// | `CountingMutex` | 4 | 8 hints | 10 | registers as a waiter and sleeps |
    /// | `SpinMutex` | 7 | 64 hints | forever ([`Backoff::UNBOUNDED`]) | never sleeps |
    /// | the pools' idle search (`pool::search_idle`) | 64 | 1 hint | 16 | sleeps on the pool's event count or condvar |
    ///
    /// The shape is crossbeam-utils' `Backoff` (`spin` after a failed CAS, `snooze` while
    /// waiting for another thread, `is_completed` to park) and parking_lot's `SpinWait`, built
    /// on this module so that it is **checker-aware**: under loom or shuttle a bounded schedule
    /// has no rounds — it is completed before the first `snooze` — so the caller reads the
    /// word it watches once and moves on to sleeping. That read is a scheduling point, so the
    /// checker still explores "it came free during the spin" and "it stayed held", without
    /// multiplying the state space; and there is no yield, which loom answers by running
    /// every other thread first (in a two-thread model the lock would then always come free
    /// during the spin, and the sleeping path would never be explored). An unbounded schedule
    /// (`SpinMutex`, which never sleeps) spins one round and then yields on every round, as it
    /// must: a loop without a yield is an infinite path there.
    ///
    /// Crate-internal: a tuning schedule of synclab's own designs, not part of the API.
    #[derive(Debug, Clone)]
    pub(crate) struct Backoff {
        round: u32,
        spins: u32,
        /// `spins + yields`, saturating: the round at which the schedule is completed.
        end: u32,
        max_shift: u32,
    }

    impl Backoff {
        /// A `yields` count meaning "never completed: yield on every round after the spins".
        pub(crate) const UNBOUNDED: u32 = u32::MAX;

        /// The default cap of a spin burst: `2^6` = 64 hints (crossbeam's `SPIN_LIMIT`).
        pub(crate) const MAX_SHIFT: u32 = 6;

        /// `spins` busy-wait rounds (bursts of 1, 2, 4, … hints up to `2^MAX_SHIFT`), then
        /// `yields` rounds that yield the CPU. Under a checker: see the type's docs.
        pub(crate) const fn new(spins: u32, yields: u32) -> Self {
            let (spins, yields) = match WORLD {
                World::Plain => (spins, yields),
                // Unbounded: one spin round, then yields (a loop without one is an infinite
                // path under a checker).
                World::Loom | World::Shuttle if yields == Self::UNBOUNDED => (min1(spins), yields),
                // Bounded: no rounds at all (see the type's docs).
                World::Loom | World::Shuttle => (0, 0),
            };
            Self {
                round: 0,
                spins,
                end: spins.saturating_add(yields),
                max_shift: Self::MAX_SHIFT,
            }
        }

        /// The same schedule with spin bursts capped at `2^shift` hints (0: one hint a round,
        /// a linear spin).
        pub(crate) const fn with_max_shift(mut self, shift: u32) -> Self {
            self.max_shift = if shift < Self::MAX_SHIFT {
                shift
            } else {
                Self::MAX_SHIFT
            };
            self
        }

        /// Hints in the burst of spin round `round`: `2^min(round, max_shift)`, one under a
        /// checker.
        fn burst(&self, round: u32) -> u32 {
            spin_limit(
                1 << if round < self.max_shift {
                    round
                } else {
                    self.max_shift
                },
            )
        }

        /// One round of waiting for another thread: a spin burst during the first `spins`
        /// rounds, a yield of the CPU after them (also once the schedule is completed, so a
        /// caller that never sleeps can snooze forever).
        #[inline]
        pub(crate) fn snooze(&mut self) {
            if self.round < self.spins {
                for _ in 0..self.burst(self.round) {
                    spin_loop();
                }
            } else {
                super::thread::yield_now();
            }
            if self.round < self.end {
                self.round += 1;
            }
        }

        /// Whether every round of the schedule has been used: the caller should sleep now.
        /// Never true for a schedule with [`Backoff::UNBOUNDED`] yields.
        #[inline]
        pub(crate) fn is_completed(&self) -> bool {
            self.round >= self.end && self.end != u32::MAX
        }
    }

    const fn min1(n: u32) -> u32 {
        if n < 1 {
            n
        } else {
            1
        }
    }
}
