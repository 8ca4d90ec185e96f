//! The bug zoo: deliberately broken designs, kept so that the checkers can be seen catching
//! them. A crate of its own, beside the library (`synclab`) and never a dependency of it: the
//! CLI's demos, the verification crate's models, the benchmarks and this crate's own tests use
//! it. It is not published.
//!
//! Each entry names the bug, where it comes from (a line of the seed document or a classic
//! pattern), and the design in the library that fixes it. The verification crate runs each
//! entry as an expected failure; `docs/zoo.md` shows the counterexamples.
//!
//! # The rule: safe code cannot reach undefined behaviour
//!
//! The zoo's items are public, so they keep the promise every public type keeps: a program with no
//! `unsafe` of its own cannot reach undefined behaviour through it, whatever the schedule.
//! An entry's bug is one of two kinds, and the kind decides its API:
//!
//! 1. **A logic bug** — a lost wakeup, a livelock, a reordering, a premature return, a missing
//!    Release on a lock that owns no data. Every shared location the entry touches is an atomic
//!    or sits behind a lock, so a safe caller can get a hang or a wrong answer, never a data
//!    race. Such an entry has ordinary safe constructors and may implement the library's safe
//!    traits (`SharedArray`, `MpmcQueue`), so it runs in the same generic models as the real
//!    designs. The Miri suite (`crates/synclab-zoo/tests/miri.rs`) runs a program
//!    with no `unsafe` across threads for each, and it is clean.
//! 2. **A data race on non-atomic memory** (or anything else that is undefined behaviour in
//!    some schedule). Its constructors are `unsafe fn`, and it implements no safe trait that
//!    could construct it (no `SharedArray::with_len`, no `MpmcQueue::with_capacity`, no
//!    `Default`). The `# Safety` section says the same thing for each: *the entry may be shared
//!    between threads only where a model checker runs them, and only through the checker's
//!    threads (`synclab::sync::thread`)* — under the exhaustive checker, which checks every access to the racing
//!    cell and stops the execution at the first access not ordered by happens-before
//!    ("Causality violation") before it is made; or under the randomized checker, which runs one thread at a
//!    time on one OS thread, so two accesses never overlap. From a single thread it is sound
//!    in every build. A `compile_fail` doc test on each such constructor shows that safe code
//!    cannot build one. A checker model calls it in an `unsafe` block whose `// SAFETY:` line
//!    says which checker runs it (`zoo_test!` runs its body only under a model checker).
//!
//! | entry | bug | kind | safe code |
//! |---|---|---|---|
//! | [`array::RelaxedPublishArray`] | Relaxed publish | data race | cannot build it (`compile_fail` doc tests: `new` is unsafe, not a `SharedArray`) |
//! | [`array::ClaimlessPublishArray`] | publish without a claim (two writers of one value) | data race | cannot build it (`compile_fail` doc test: `new` is unsafe) |
//! | [`array::UnannouncedSleepArray`] | lost wakeup | logic | Miri program `zoo::unannounced_sleep_array` |
//! | [`locks::RelaxedUnlockMutex`] | Relaxed unlock (the lock owns no data: a race needs the caller's own `unsafe` cell) | logic | Miri program `zoo::relaxed_unlock_mutex` |
//! | [`locks::TwoStateFutexMutex`] | lost wakeup | logic | Miri program `zoo::two_state_futex_mutex` |
//! | [`locks::wait_without_recheck`] | spurious return taken as a notification | logic | Miri program `zoo::wait_without_recheck` |
//! | [`locks::CountFirstCondvar`] | lost wakeup | logic | Miri program `zoo::count_first_condvar` |
//! | [`locks::CountWipingMutex`], [`locks::LateHandoffMutex`], [`locks::DesertingHandoffMutex`] | a wiped waiter count, a hand-off released early (two holders of a lock that owns no data), a deserted hand-off | logic | Miri program `zoo::counting_zoo_locks` |
//! | [`queue::BrokenArrayQueue`] | Relaxed stamp / stamp before value | data race | cannot build it (`compile_fail` doc test: `new` is unsafe) |
//! | [`queue::FencelessEventCount`] | lost wakeup under weak memory | logic | Miri program `zoo::fenceless_event_count` |
//! | [`queue::pop_without_recheck`] | lost wakeup | logic | Miri program `zoo::pop_without_recheck` |
//! | [`queue::TwoLaneQueue`] | reordering | logic | Miri program `zoo::two_lane_queue` |
//! | [`queue::BrokenRing`] | a ring sender without the space check, or a Relaxed receiver record | data race | cannot build it (`compile_fail` doc test: `new` is unsafe) |
//! | [`pool::SeedCppPool::new`] | the seed's `Wait()`: unguarded read + 3 logic bugs | data race | cannot build it (`compile_fail` doc test: `new` is unsafe) |
//! | [`pool::SeedCppPool::with_guarded_read`] | the same port with the read under `m_queueMtx`: lost wakeup, premature return, `notify_one` | logic | Miri program `zoo::seed_cpp_pool_guarded_read` |
//! | [`pool::SeedPythonPool`] | busy-wait, a panic hangs `join()` | logic | Miri program `zoo::seed_python_pool` |
//! | [`pool::install_waiting_once`] | `if` around the install hand-off's futex wait: a spurious return taken as "the closure ran" | logic | Miri program `zoo::install_waiting_once` |
//! | [`pool::join_latch_set_when_taken`] | a fork-join latch set when the half is taken, read as "finished" | logic | Miri program `zoo::join_latch_set_when_taken` |
//!
//! The Miri suite's `zoo_coverage` test fails when a public item of the zoo appears in neither
//! column, so a new entry cannot be added without its program or its `compile_fail` test.
//!
//! **Why `unsafe` constructors, and not the other ways out.** A *cargo feature* is additive and
//! unified across the dependency graph: one crate that enables it makes the entry reachable from
//! every crate's safe code — a feature cannot carry a safety contract. *Gating on the checker
//! cfgs* would drop the entries from the plain build (from the docs, and from single-threaded
//! use), and would still not be a soundness argument: a checker build can run std threads beside
//! the checker's. *Moving the entries beside the models* (the verification crate) moves the hole
//! without closing it — that crate is public too, and its harness is meant for users' own
//! designs — and the CLI's demos would have to depend on it. `unsafe` is the language's own way
//! to say "the compiler cannot check this, the caller promises it": it costs each model one
//! `unsafe` block, and every other use is visibly the caller's responsibility. The one demo that
//! ran a racy entry on real threads (`synclab demo pool --impl seed-cpp`) now runs
//! [`pool::SeedCppPool::with_guarded_read`] and says so.

pub mod array;
mod cleanup;
pub mod deque;
pub mod locks;
pub mod pool;
pub mod queue;
