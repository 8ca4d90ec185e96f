//! `LockFreePool` (the lock-free queue, an event count for the idle workers, searcher
//! hand-off): the suite, and the nested-submission model at shuttle scale.

use synclab::pool::LockFreePool;
use synclab_verification::thread_pool_suite;

thread_pool_suite!(suite, LockFreePool);

/// The work-stealing pool's nested-submission scenario on this pool (nested tasks go through
/// its one queue): under loom it took 97 989 executions and 35 s at bound 1, over the
/// per-model budget, so it runs under shuttle and as stress.
#[test]
fn nested_submission() {
    if synclab_verification::suites::under_loom() {
        eprintln!("nested_submission: 35 s under loom at bound 1; shuttle and stress run it");
        return;
    }
    super::work_stealing::nested_submission::<LockFreePool>("pool/lock_free", 1);
}
