//! Every model of synclab in one test binary (one link per checker build): a module per layer,
//! a file per design. A design's file holds its suite line — the trait's conformance suite of
//! `synclab_verification::suites`, instantiated with one line — then the models only that
//! design needs, then the zoo entries that show those models catching the bugs they are for.
//!
//! | build | runs |
//! |---|---|
//! | `cargo test -p synclab-verification --test models` | every scenario as a stress loop on real threads, plus the real-thread tests |
//! | `RUSTFLAGS="--cfg synclab_loom"` … `--release` | the loom models (≤ 3 threads) and the zoo's expected failures |
//! | `RUSTFLAGS="--cfg synclab_shuttle"` … `--release` | the shuttle models (the bigger scenarios too) and the zoo |
//!
//! Filter by module: `-- lock::`, `-- array::lock_free::`, `-- pool::work_stealing::suite::`,
//! `-- processes::` (owner death in a modelled segment).
//! `coverage` checks that every public design has its suite line, a model, a benchmark
//! contender and a docs entry.

mod array;
mod coverage;
mod deque;
mod futex_model;
mod linearizability;
mod lock;
mod pool;
mod processes;
mod queue;
