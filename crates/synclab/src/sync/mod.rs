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
//! | [`thread`] | `std::thread` | `loom::thread` | `shuttle::thread` |
//! | [`hint::spin_loop`] | a CPU pause | a yield to the scheduler | a yield to the scheduler |
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

mod cell;
pub mod futex;
#[cfg(any(synclab_loom, synclab_shuttle))]
mod futex_model;
#[cfg(any(synclab_loom, synclab_shuttle))]
mod model_time;

#[cfg(not(any(synclab_loom, synclab_shuttle)))]
#[path = "real.rs"]
mod world;

#[cfg(synclab_loom)]
#[path = "loom_world.rs"]
mod world;

#[cfg(synclab_shuttle)]
#[path = "shuttle_world.rs"]
mod world;

pub use world::{atomic, thread, time, Arc, StdCondvar, StdMutex, StdMutexGuard};

#[cfg(not(synclab_loom))]
pub use cell::UnsafeCell;
#[cfg(synclab_loom)]
pub use world::UnsafeCell;

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
    pub fn spin_loop() {
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
}
