//! The seed document's two pools, ported faithfully (the zoo): each bug observed failing.

use synclab::sync::atomic::{AtomicBool, Ordering::*};
use synclab::sync::{thread, Arc};
use synclab_verification::suites::{quiet_on_purpose_panics, ON_PURPOSE};
use synclab_verification::{zoo_test, Expect, Failure, Model};
use synclab_zoo::pool::{SeedCppPool, SeedPythonPool};

/// The faithful seed C++ port (one worker), for the zoo models below.
fn faithful_seed_cpp_pool() -> SeedCppPool {
    // SAFETY: called only from zoo_test! bodies, which run only under loom or shuttle, whose
    // threads run the pool (it spawns its workers through `synclab::sync::thread`).
    unsafe { SeedCppPool::new(1) }
}

/// One task, then `Wait()`: must return (the lost-wakeup scenario).
fn seed_cpp_one_task_then_wait(pool: SeedCppPool) {
    pool.submit(|| ());
    pool.wait();
}

/// One task, then `Wait()`: the task must have finished when it returns.
fn seed_cpp_wait_means_finished(pool: SeedCppPool) {
    let done = Arc::new(AtomicBool::new(false));
    {
        let done = Arc::clone(&done);
        pool.submit(move || done.store(true, SeqCst));
    }
    pool.wait();
    assert!(
        done.load(SeqCst),
        "a task was still running when wait returned"
    );
}

zoo_test! {
    /// Seed C++ `Wait()` reads `m_Tasks` under `m_WaitMtx` while the worker pops under
    /// `m_queueMtx`. Witness without any sleeping: main learns that the task ran through a
    /// Relaxed flag (no happens-before) and then calls `Wait()`, whose read of the queue is
    /// unordered with the worker's pop. loom reports the race; shuttle, which checks no memory
    /// model, sees a model that passes (a documented blind spot). The counterexample must name
    /// the two racing accesses to the queue and the Relaxed flag that did not order them.
    fn seed_cpp_wait_data_race() expect Expect::per_checker(Failure::DataRace, Failure::Blind),
        shows ["write tasks **⚠ races with #", "read tasks **⚠ DATA RACE with #",
            "ran.store(true, Relaxed) **⚠ no happens-before", "lock wait_mtx"] => {
        Model::new("zoo: seed C++ Wait() reads the queue under the wrong mutex")
            .threads(2)
            .exhaustive()
            .check(|| {
                // SAFETY: a zoo_test! body runs only under loom or shuttle, whose threads run
                // the pool (it spawns its workers through `synclab::sync::thread`).
                let pool = unsafe { SeedCppPool::new(1) };
                let ran = Arc::new(AtomicBool::new(false));
                {
                    let ran = Arc::clone(&ran);
                    pool.submit(move || ran.store(true, Relaxed));
                }
                while !ran.load(Relaxed) {
                    thread::yield_now();
                }
                pool.wait(); // the queue is empty by now: returns at once, after a racy read
            });
    }
}

zoo_test! {
    /// Seed C++ `Wait()`: the worker's `m_CVWait.notify_one()` is sent under `m_queueMtx`, so
    /// it can fall between `Wait()`'s check ("not empty") and its sleep; nobody notifies
    /// again and `Wait()` sleeps forever. shuttle shows the deadlock; loom stops earlier, at the
    /// data race on the same read (the first bug every such execution hits).
    fn seed_cpp_wait_lost_wakeup() expect Expect::per_checker(Failure::DataRace, Failure::Deadlock) => {
        Model::new("zoo: seed C++ Wait() lost wakeup")
            .threads(2)
            .exhaustive()
            .check(|| seed_cpp_one_task_then_wait(faithful_seed_cpp_pool()));
    }
}

zoo_test! {
    /// Seed C++ `Wait()` returns when the queue is empty, not when the tasks have finished:
    /// the worker pops the last task (queue empty, notify) and is still running it when
    /// `Wait()` returns. shuttle shows the assertion; loom stops at the data race first.
    fn seed_cpp_wait_premature_return() expect Expect::per_checker(
        Failure::DataRace,
        Failure::Assertion("a task was still running when wait returned"),
    ) => {
        Model::new("zoo: seed C++ Wait() returns while a task runs")
            .threads(2)
            .exhaustive()
            .check(|| seed_cpp_wait_means_finished(faithful_seed_cpp_pool()));
    }
}

zoo_test! {
    /// The guarded port (`Wait()` reads `m_Tasks` under `m_queueMtx`: no data race) keeps the
    /// seed's lost wakeup: the worker's `notify_one` is sent under `m_queueMtx`, not
    /// `m_WaitMtx`, so it can fall between `Wait()`'s check and its sleep. With the race gone,
    /// loom reaches the deadlock too. The counterexample must name the notify that went
    /// nowhere and the `Wait()` that sleeps forever.
    fn seed_cpp_guarded_wait_lost_wakeup() expect Expect::both(Failure::Deadlock),
        shows ["cv_wait.notify_one() **⚠ LOST WAKE-UP",
            "cv_wait.wait: unlocks wait_mtx, sleeps **‖ asleep on condvar `cv_wait`, never woken"] => {
        Model::new("zoo: seed C++ Wait() lost wakeup (read under m_queueMtx)")
            .threads(2)
            .exhaustive()
            .check(|| seed_cpp_one_task_then_wait(SeedCppPool::with_guarded_read(1)));
    }
}

zoo_test! {
    /// The guarded port keeps the premature return: "queue empty" is true while the popped
    /// task still runs. With the race gone, loom reaches the assertion too.
    fn seed_cpp_guarded_wait_premature_return() expect Expect::both(
        Failure::Assertion("a task was still running when wait returned"),
    ) => {
        Model::new("zoo: seed C++ Wait() returns while a task runs (read under m_queueMtx)")
            .threads(2)
            .exhaustive()
            .check(|| seed_cpp_wait_means_finished(SeedCppPool::with_guarded_read(1)));
    }
}

zoo_test! {
    /// Seed Python workers poll `tasks.empty()` in a loop without ever sleeping. With one
    /// worker, one task and `join()`, the checker finds a schedule where the worker polls
    /// forever: loom exceeds its branch limit, shuttle (PCT) its step limit.
    fn seed_python_busy_wait() expect Expect::both(Failure::StepLimit) => {
        Model::new("zoo: seed Python busy-waiting workers")
            .threads(2)
            .shuttle_iterations(100)
            .shuttle_max_steps(20_000)
            .check(|| {
                let pool = SeedPythonPool::new(1);
                pool.submit(|| ());
                pool.wait();
            });
    }
}

zoo_test! {
    /// Seed Python: a task that raises ends its worker before `task_done()`, so
    /// `unfinished_tasks` never reaches 0 and `join()` never returns.
    fn seed_python_panic_hangs_wait() expect Expect::both(Failure::Deadlock) => {
        quiet_on_purpose_panics();
        Model::new("zoo: seed Python join() after a panicking task")
            .threads(2)
            .shuttle_iterations(100)
            .shuttle_max_steps(20_000)
            .check(|| {
                let pool = SeedPythonPool::new(1);
                pool.submit(|| panic!("{}", ON_PURPOSE));
                pool.wait();
            });
    }
}

// ---------------------------------------------------------------------------------------------
