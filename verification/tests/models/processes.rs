//! Models of owner death: a thread plays a process, stops for good at an injected point of
//! `lock` or `publish` (it returns, leaking its guard or its claimed slot), and the modelled
//! kernel then marks it exited (`Kernel::exit`). The survivor must be told — `OwnerDied` with
//! the dead holder's writes visible, or `PublisherDied` — and must never hang: a survivor
//! asleep when the death happens is woken by its bounded sleep, which the futex models explore
//! as a timed-out return. Then the zoo's variant whose sleeps are unbounded: the checkers see
//! the sleeper miss the death (a deadlock).

use std::time::Duration;
use synclab::array::{
    CondvarArray, LanedArray, LockFreeArray, PublishError, SharedArray, SlotWaitError,
};
use synclab::fault::{DuplexStep, Dying, Probe, PublishStep, QueueStep};
use synclab::lock::{RobustFamily, RobustMutex};
use synclab::queue::{ArrayQueue, Duplex, MpmcQueue, SpinRecvError};

use synclab::sync::atomic::{AtomicBool, AtomicU32, Ordering::Relaxed};
use synclab::sync::futex::{CrossProcess, WakeScope};
use synclab::sync::{thread, Arc};
use synclab_verification::processes::{as_process, Kernel, ModelShm, UnpolledModelShm};
use synclab_verification::{zoo_test, Expect, Failure, Model, SharedCell};

type ModelMutex<M> = RobustMutex<u32, M>;
type ModelCondvarArray = CondvarArray<u32, RobustFamily<ModelShm>, ModelShm>;

/// The victim runs on for a while after the injected point before it is killed: a timed wait
/// on a word nobody wakes, whose timeout the futex models explore at every point — so the
/// survivor may reach any state first, asleep included (a yield would not do under loom,
/// which runs a yielding thread only when no other can run).
fn runs_on_a_while() {
    let word = AtomicU32::new(0);
    let _ = <CrossProcess as WakeScope>::wait_timeout(&word, 0, Duration::from_millis(1));
}

/// The victim (process 1) locks, writes 1, and dies holding the lock; the survivor (process
/// 2, the main thread) locks once while the victim may or may not have run, then again after
/// the victim is gone. Exactly one of its locks reports `OwnerDied`, and that one sees the
/// victim's write.
fn mutex_owner_death<M: synclab::shm::Memory>() {
    let kernel = Kernel::new();
    let m = Arc::new(ModelMutex::<M>::new(0));
    let victim = {
        let (m, kernel) = (Arc::clone(&m), Arc::clone(&kernel));
        thread::spawn(move || {
            as_process(&kernel, 1, || {
                let mut guard = m.lock_checked().unwrap_or_else(|d| d.into_inconsistent());
                *guard = 1;
                core::mem::forget(guard); // killed while holding the lock
            });
            runs_on_a_while();
            kernel.exit(1);
        })
    };
    as_process(&kernel, 2, || {
        let first = match m.lock_checked() {
            Ok(guard) => {
                assert_eq!(*guard, 0, "a clean lock saw a dead holder's write");
                false
            }
            Err(mut died) => {
                assert_eq!(**died.guard(), 1, "the dead holder's write is not visible");
                drop(died.make_consistent());
                true
            }
        };
        victim.join().unwrap();
        match m.lock_checked() {
            Ok(guard) => assert!(
                first,
                "the holder died, but no lock reported it ({})",
                *guard
            ),
            Err(mut died) => {
                assert!(!first, "OwnerDied reported twice after make_consistent");
                assert_eq!(**died.guard(), 1);
            }
        }
    });
}

#[test]
fn mutex_holder_killed_the_next_locker_gets_owner_died() {
    Model::new("RobustMutex<ModelShm>: holder dies holding the lock; survivor told once")
        .threads(2)
        .ops("victim: lock; write; die (kernel exit); survivor: lock_checked; join; lock_checked")
        .exhaustive()
        .check(mutex_owner_death::<ModelShm>);
}

/// Two live processes take the robust lock (`rounds` times each) and increment a counter
/// that lives outside it, in a [`SharedCell`]: mutual exclusion and no lost wake-up on the
/// robust path when nobody dies (the `WAITERS` bit, the bounded sleeps that may time out at
/// any moment, the liveness checks of a holder that is alive), and never `OwnerDied`.
fn robust_mutual_exclusion(rounds: usize) {
    let kernel = Kernel::new();
    let m = Arc::new(ModelMutex::<ModelShm>::new(0));
    let counter = Arc::new(SharedCell::new(0usize));
    let bump = move |m: &ModelMutex<ModelShm>, counter: &SharedCell<usize>| {
        for _ in 0..rounds {
            let guard = m.lock_checked().expect("nobody died");
            counter.set(counter.get() + 1);
            drop(guard);
        }
    };
    let other = {
        let (m, counter, kernel) = (Arc::clone(&m), Arc::clone(&counter), Arc::clone(&kernel));
        thread::spawn(move || as_process(&kernel, 1, || bump(&m, &counter)))
    };
    as_process(&kernel, 2, || bump(&m, &counter));
    other.join().unwrap();
    assert_eq!(counter.get(), 2 * rounds, "an increment was lost");
}

#[test]
fn robust_mutex_excludes_two_live_processes() {
    Model::new("RobustMutex<ModelShm>: mutual exclusion, 2 live processes")
        .threads(2)
        .shuttle_iterations(10_000)
        .ops("each: lock_checked; counter += 1 via SharedCell; unlock")
        .exhaustive()
        .check(|| robust_mutual_exclusion(1));
}

/// The victim (process 1) locks and dies holding the lock before either survivor starts;
/// then two survivors (processes 2 and 3) lock at once, and both may find the dead holder:
/// the take-over is one CAS on the word, so exactly one of them is told `OwnerDied`, and
/// they exclude each other (a counter in a [`SharedCell`] outside the lock). 2 threads,
/// exhaustive under loom: 189 207 executions, 9.8 s (`--release`).
fn two_survivors_race_the_takeover() {
    let kernel = Kernel::new();
    let m = Arc::new(ModelMutex::<ModelShm>::new(0));
    as_process(&kernel, 1, || {
        core::mem::forget(m.lock_checked().expect("nobody died yet")); // killed holding it
    });
    kernel.exit(1);
    let counter = Arc::new(SharedCell::new(0usize));
    let survive = |m: &ModelMutex<ModelShm>, counter: &SharedCell<usize>| -> bool {
        let (guard, died) = match m.lock_checked() {
            Ok(guard) => (guard, false),
            Err(died) => (died.make_consistent(), true),
        };
        counter.set(counter.get() + 1);
        drop(guard);
        died
    };
    let other = {
        let (m, counter, kernel) = (Arc::clone(&m), Arc::clone(&counter), Arc::clone(&kernel));
        thread::spawn(move || as_process(&kernel, 3, || survive(&m, &counter)))
    };
    let mine = as_process(&kernel, 2, || survive(&m, &counter));
    let theirs = other.join().unwrap();
    assert_eq!(counter.get(), 2, "an increment was lost");
    assert!(
        mine != theirs,
        "OwnerDied reported {}",
        if mine { "twice" } else { "never" }
    );
}

#[test]
fn mutex_holder_killed_two_survivors_race_the_takeover() {
    Model::new("RobustMutex<ModelShm>: holder died; 2 survivors race the take-over")
        .threads(2)
        .ops("main: lock; die (kernel exit); then survivors 2 and 3: lock_checked; counter += 1; unlock")
        .exhaustive()
        .check(two_survivors_race_the_takeover);
}

/// The victim (process 1) publishes slot 0 and stops at `step`; the reader (process 2) waits
/// on slot 0 and must get `PublisherDied` (the victim never publishes), then publishes the
/// slot itself and reads it back.
fn publisher_death(step: PublishStep) {
    let kernel = Kernel::new();
    let a = Arc::new(LockFreeArray::<u32, ModelShm>::with_len(1).unwrap());
    let victim = {
        let (a, kernel) = (Arc::clone(&a), Arc::clone(&kernel));
        thread::spawn(move || {
            as_process(&kernel, 1, || a.run_dying((0, 5, step)).unwrap());
            runs_on_a_while();
            kernel.exit(1);
        })
    };
    as_process(&kernel, 2, || {
        assert_eq!(
            a.wait_checked(0),
            Err(SlotWaitError::PublisherDied { index: 0 })
        );
        a.publish(0, 7).unwrap();
        assert_eq!(a.wait_checked(0), Ok(7));
    });
    victim.join().unwrap();
}

#[test]
fn publisher_killed_after_claim_reader_gets_publisher_died() {
    Model::new("LockFreeArray<ModelShm>: publisher dies after its claim")
        .threads(2)
        .ops("victim: claim slot 0; die; reader: wait_checked(0) → PublisherDied; publish; wait")
        .exhaustive()
        .check(|| publisher_death(PublishStep::AfterClaim));
}

#[test]
fn publisher_killed_after_write_reader_gets_publisher_died() {
    Model::new("LockFreeArray<ModelShm>: publisher dies after writing, before its release")
        .threads(2)
        .ops("victim: claim; write; die; reader: wait_checked(0) → PublisherDied; publish; wait")
        .exhaustive()
        .check(|| publisher_death(PublishStep::AfterWrite));
}

/// The victim (process 1) writes slot 0's value and dies holding the condvar array's lock,
/// before it marks the slot ready. The reader (process 2) asks for slot 0 while the victim may
/// be anywhere in that (waiting on the lock while the victim lives, taking it over once it is
/// dead), and again after the death: the slot reads empty — the publish never happened, and
/// no value that was not marked ready is ever read — and the reader publishes it itself and
/// reads its own value back. 2 threads, exhaustive under loom: 415 executions, 0.05 s.
fn condvar_publisher_death() {
    let kernel = Kernel::new();
    let a = Arc::new(ModelCondvarArray::with_len(1).unwrap());
    let victim = {
        let (a, kernel) = (Arc::clone(&a), Arc::clone(&kernel));
        thread::spawn(move || {
            as_process(&kernel, 1, || a.run_dying((0, 5)).unwrap());
            runs_on_a_while();
            kernel.exit(1);
        })
    };
    as_process(&kernel, 2, || {
        let unpublished = "a publish that never happened is read";
        assert_eq!(a.try_get(0), Ok(None), "{unpublished}");
        victim.join().unwrap();
        assert_eq!(a.try_get(0), Ok(None), "{unpublished}");
        a.publish(0, 7).unwrap();
        assert_eq!(a.try_get(0), Ok(Some(7)));
    });
}

#[test]
fn condvar_publisher_killed_after_write_slot_reads_empty() {
    Model::new(
        "CondvarArray<RobustFamily<ModelShm>>: publisher dies after writing, holding the lock",
    )
    .threads(2)
    .ops("victim: lock; write slot 0; die; reader: try_get(0) → None; join; try_get(0) → None; publish 7; try_get → 7")
    .exhaustive()
    .check(condvar_publisher_death);
}

/// The victim (process 1) takes lane 0, publishes slot 0, writes slot 1's value and dies
/// before publishing it, holding the lane. The reader (process 2) gets slot 0's value, then
/// `PublisherDied` for slot 1 (its bounded sleep runs out and the lane's holder is dead), takes
/// the lane over, finds slot 0 still published, and publishes slot 1 itself.
fn lane_holder_death() {
    let kernel = Kernel::new();
    let a = Arc::new(LanedArray::<u32, ModelShm>::with_lanes(2, 1).unwrap());
    let victim = {
        let (a, kernel) = (Arc::clone(&a), Arc::clone(&kernel));
        thread::spawn(move || {
            as_process(&kernel, 1, || {
                let lane = a.lane(0).unwrap();
                lane.publish(0, 4).unwrap();
                lane.run_dying((1, 5)).unwrap();
                core::mem::forget(lane); // held until the process dies
            });
            runs_on_a_while();
            kernel.exit(1);
        })
    };
    as_process(&kernel, 2, || {
        assert_eq!(a.wait_checked(0), Ok(4));
        assert_eq!(
            a.wait_checked(1),
            Err(SlotWaitError::PublisherDied { index: 1 })
        );
        let lane = a.lane(0).expect("a dead holder's lane is taken over");
        assert!(matches!(
            lane.publish(0, 9),
            Err(PublishError::AlreadyPublished { index: 0, .. })
        ));
        lane.publish(1, 7).unwrap();
        assert_eq!(a.wait_checked(1), Ok(7));
    });
    victim.join().unwrap();
}

#[test]
fn lane_holder_killed_after_write_reader_gets_publisher_died() {
    Model::new("LanedArray<ModelShm>: lane holder dies after writing, before its swap")
        .threads(2)
        .ops("victim: lane(0); publish(0); write 1; die; reader: wait 0; wait 1 → PublisherDied; take over; publish 1")
        .exhaustive()
        .check(lane_holder_death);
}

/// The victim (process 1) takes end 0 of a duplex ring, sends 4 whole and dies in the
/// middle of sending 5, holding the end. The survivor (process 2) holds end 1: it receives 4;
/// then, for a death before the stamp, its spinning receive reports `PeerDied` (it asks at
/// every poll under a checker), and for a death after it, it receives 5 — once. It then takes
/// end 0 over and sends 7 to itself, which arrives next: the successor continued from the
/// dead holder's records (and counted a stamped but unrecorded send).
fn duplex_holder_death(step: DuplexStep<u32>) {
    let kernel = Kernel::new();
    let d = Arc::new(Duplex::<u32, ModelShm>::with_capacity(2).unwrap());
    let victim = {
        let (d, kernel) = (Arc::clone(&d), Arc::clone(&kernel));
        thread::spawn(move || {
            as_process(&kernel, 1, || {
                let mut end = d.end(0).unwrap();
                end.try_send(4).unwrap();
                end.run_dying(step).unwrap(); // leaks the end: held until the death
            });
            runs_on_a_while();
            kernel.exit(1);
        })
    };
    as_process(&kernel, 2, || {
        let mut end = d.end(1).unwrap();
        assert_eq!(end.recv_spinning(None), Ok(4));
        let second = end.recv_spinning(None);
        match step {
            DuplexStep::SendAfterStamp(_) => {
                assert_eq!(second, Ok(5), "a stamped value is delivered")
            }
            _ => assert_eq!(second, Err(SpinRecvError::PeerDied)),
        }
        // Wait for the death if the value arrived before it, then take the end over.
        let mut successor = loop {
            match d.end(0) {
                Ok(e) => break e,
                Err(_) => thread::yield_now(),
            }
        };
        successor.try_send(7).unwrap();
        assert_eq!(
            end.try_recv(),
            Some(7),
            "the successor's value comes next, once"
        );
        assert_eq!(end.try_recv(), None);
    });
    victim.join().unwrap();
}

#[test]
fn duplex_holder_killed_before_its_stamp_peer_gets_peer_died() {
    Model::new("Duplex<ModelShm>: end 0's holder dies after writing a value, before its stamp")
        .threads(2)
        .ops("victim: end(0); send 4; write 5; die; survivor: end(1); recv 4; recv → PeerDied; take end 0; send 7; recv 7")
        .exhaustive()
        .check(|| duplex_holder_death(DuplexStep::SendAfterWrite(5)));
}

#[test]
fn duplex_holder_killed_after_its_stamp_value_arrives_once() {
    Model::new("Duplex<ModelShm>: end 0's holder dies after a stamp, before its record")
        .threads(2)
        .ops("victim: end(0); send 4; send 5 up to the stamp; die; survivor: end(1); recv 4; recv 5; take end 0; send 7; recv 7")
        .exhaustive()
        .check(|| duplex_holder_death(DuplexStep::SendAfterStamp(5)));
}

/// The victim (process 1) takes end 1 of a one-slot duplex ring, receives 4 and dies after
/// recording it, before writing the slot's receipt. The survivor (process 2) holds end 0 and
/// sent 4; once the victim is dead it takes end 1 over: the successor rewrites the missing
/// receipt, so the survivor's send of 5 finds the slot free, and the successor receives 5 —
/// not 4 again.
fn duplex_receiver_death() {
    let kernel = Kernel::new();
    let d = Arc::new(Duplex::<u32, ModelShm>::with_capacity(1).unwrap());
    // Set once the victim holds end 1, so the survivor takes it only from the victim.
    let taken = Arc::new(AtomicBool::new(false));
    let victim = {
        let (d, kernel, taken) = (Arc::clone(&d), Arc::clone(&kernel), Arc::clone(&taken));
        thread::spawn(move || {
            as_process(&kernel, 1, || {
                let end = d.end(1).unwrap();
                // Relaxed: only a go-ahead; the take's own Acquire/Release orders the end.
                taken.store(true, Relaxed);
                // Leaks the end: held until the death. Stops after the record, if 4 is there.
                let got = end.run_dying(DuplexStep::RecvAfterRecord);
                assert!(matches!(got, Ok(Some(4)) | Ok(None)), "{got:?}");
            });
            runs_on_a_while();
            kernel.exit(1);
        })
    };
    as_process(&kernel, 2, || {
        let mut end = d.end(0).unwrap();
        end.try_send(4).unwrap();
        while !taken.load(Relaxed) {
            thread::yield_now();
        }
        let mut successor = loop {
            match d.end(1) {
                Ok(e) => break e,
                Err(_) => thread::yield_now(),
            }
        };
        // The victim took 4 (and recorded it) or found nothing: either way the slot is free
        // for 5 once the successor holds end 1, or 4 is still to be received.
        match end.try_send(5) {
            Ok(()) => assert_eq!(successor.try_recv(), Some(5), "5 next, 4 never again"),
            Err(_) => {
                assert_eq!(successor.try_recv(), Some(4), "4 was never taken");
                end.try_send(5).expect("room after the successor's receipt");
                assert_eq!(successor.try_recv(), Some(5));
            }
        }
    });
    victim.join().unwrap();
}

#[test]
fn duplex_receiver_killed_before_its_receipt_successor_frees_the_slot() {
    Model::new("Duplex<ModelShm> (capacity 1): end 1's holder dies after recording a receive, before its receipt")
        .threads(2)
        .ops("victim: end(1); recv (4) up to the record; die; survivor: end(0); send 4; take end 1; send 5; recv 5 (or recv 4 first)")
        .exhaustive()
        .check(duplex_receiver_death);
}

/// The victim (process 1) pushes 1 whole, then claims a slot for 2 and dies before writing
/// it; concurrently the survivor (process 2) pushes 3 and pops until it has two items: 1 and
/// 3, never 2. After the victim is gone one more pop must get past the abandoned slot (if the
/// two pops did not already) and find the queue empty, with the abandoned push counted.
fn producer_death() {
    let kernel = Kernel::new();
    let q = Arc::new(ArrayQueue::<u32, ModelShm>::with_capacity(3).unwrap());
    let victim = {
        let (q, kernel) = (Arc::clone(&q), Arc::clone(&kernel));
        thread::spawn(move || {
            as_process(&kernel, 1, || {
                q.try_push(1).unwrap();
                assert!(q.run_dying(QueueStep::PushAfterClaim(2)));
            });
            runs_on_a_while();
            kernel.exit(1);
        })
    };
    as_process(&kernel, 2, || {
        q.try_push(3).unwrap();
        let mut got = Vec::new();
        while got.len() < 2 {
            match q.try_pop() {
                Some(v) => got.push(v),
                None => thread::yield_now(),
            }
        }
        got.sort_unstable();
        assert_eq!(got, [1, 3], "an abandoned slot was read, or an item lost");
        victim.join().unwrap();
        assert_eq!(q.try_pop(), None);
        assert_eq!(q.probe(), (1, 0), "(abandoned, lost)");
    });
}

#[test]
fn producer_killed_after_claim_consumers_pop_past_it() {
    Model::new("ArrayQueue<ModelShm>: producer dies after its tail CAS; consumer pops past")
        .threads(2)
        .ops("victim: push 1; claim a slot for 2; die; survivor: push 3; pop until 2 items; join; pop")
        .exhaustive()
        .check(producer_death);
}

/// The victim (process 1) claims a slot for 1 and dies before writing it; then the survivor
/// (process 2) pushes 2 behind it (all of this before the race), and two consumers (processes 2 and 3) each pop once,
/// racing past the abandoned slot: exactly one of them gets 2 (no item popped twice or
/// lost), a last pop finds the queue empty, and the abandoned push is counted once — two
/// consumers that both take the abandoned position would count it twice and move `head`
/// back over an item the other popped.
fn producer_death_two_consumers() {
    let kernel = Kernel::new();
    let q = Arc::new(ArrayQueue::<u32, ModelShm>::with_capacity(2).unwrap());
    // Position 0 passed first: a process that has announced nothing reads as announcing it.
    as_process(&kernel, 2, || {
        q.try_push(0).unwrap();
        assert_eq!(q.try_pop(), Some(0));
    });
    as_process(&kernel, 1, || {
        assert!(q.run_dying(QueueStep::PushAfterClaim(1)))
    });
    kernel.exit(1);
    as_process(&kernel, 2, || q.try_push(2).unwrap());
    let other = {
        let (q, kernel) = (Arc::clone(&q), Arc::clone(&kernel));
        thread::spawn(move || as_process(&kernel, 3, || q.try_pop()))
    };
    as_process(&kernel, 2, || {
        let mine = q.try_pop();
        let theirs = other.join().unwrap();
        let mut got: Vec<u32> = mine.into_iter().chain(theirs).collect();
        got.sort_unstable();
        assert_eq!(
            got,
            [2],
            "an item popped twice or lost, or the abandoned slot read"
        );
        assert_eq!(q.try_pop(), None);
        assert_eq!(q.probe(), (1, 0), "(abandoned, lost)");
    });
}

#[test]
fn producer_killed_after_claim_two_consumers_pop_past_it() {
    Model::new("ArrayQueue<ModelShm>: producer dead after its tail CAS; two consumers pop past")
        .threads(2)
        .ops("push 0, pop; victim: claim a slot for 1; die; push 2; 2 consumers: pop 1 each; pop")
        .preemption_bound(2)
        .check(producer_death_two_consumers);
}

/// The survivor (process 2) fills a 2-slot queue with 1 and 2; the victim (process 1) claims
/// 1 and dies before freeing its slot; concurrently the survivor pushes 3, retrying while the
/// queue is full — once the claim is dead, its push must free the slot (one item lost with
/// its consumer) and succeed; then it pops 2 and 3.
fn consumer_death() {
    let kernel = Kernel::new();
    let q = Arc::new(ArrayQueue::<u32, ModelShm>::with_capacity(2).unwrap());
    as_process(&kernel, 2, || {
        q.try_push(1).unwrap();
        q.try_push(2).unwrap();
    });
    let victim = {
        let (q, kernel) = (Arc::clone(&q), Arc::clone(&kernel));
        thread::spawn(move || {
            as_process(
                &kernel,
                1,
                || assert!(q.run_dying(QueueStep::PopAfterClaim)),
            );
            runs_on_a_while();
            kernel.exit(1);
        })
    };
    as_process(&kernel, 2, || {
        while q.try_push(3).is_err() {
            thread::yield_now(); // full until the victim has claimed 1
        }
        assert_eq!((q.try_pop(), q.try_pop()), (Some(2), Some(3)));
        victim.join().unwrap();
        assert_eq!(q.probe(), (0, 1), "(abandoned, lost)");
    });
}

#[test]
fn consumer_killed_after_claim_producers_reuse_its_slot() {
    Model::new(
        "ArrayQueue<ModelShm>: consumer dies after its head CAS; producer reuses the slot", )
    .threads(2)
    .ops("survivor: push 1, 2; victim: claim 1; die; survivor: push 3 (retry while full); pop ×2")
    .exhaustive()
    .check(consumer_death);
}

/// The survivor (process 2) pushes 1 into a 1-slot queue; the victim (process 1) claims it
/// and dies before freeing the slot (all of this before the race); then two producers
/// (processes 2 and 3) push 2 and 3 into the queue the dead claim keeps full: exactly one
/// frees the slot (the item lost with its consumer, counted once) and pushes, the other finds
/// the queue full; a pop gets the pushed value. Two producers that both free the slot would
/// count the loss twice, or the later one would mark the other's pushed value empty.
fn consumer_death_two_producers() {
    let kernel = Kernel::new();
    let q = Arc::new(ArrayQueue::<u32, ModelShm>::with_capacity(1).unwrap());
    as_process(&kernel, 2, || q.try_push(1).unwrap());
    as_process(
        &kernel,
        1,
        || assert!(q.run_dying(QueueStep::PopAfterClaim)),
    );
    kernel.exit(1);
    let other = {
        let (q, kernel) = (Arc::clone(&q), Arc::clone(&kernel));
        thread::spawn(move || as_process(&kernel, 3, || q.try_push(3).is_ok().then_some(3)))
    };
    as_process(&kernel, 2, || {
        let mine = q.try_push(2).is_ok().then_some(2);
        let theirs = other.join().unwrap();
        let pushed: Vec<u32> = mine.into_iter().chain(theirs).collect();
        assert_eq!(
            pushed.len(),
            1,
            "both pushes into a 1-slot queue succeeded, or neither"
        );
        assert_eq!(q.try_pop(), Some(pushed[0]), "the pushed value was lost");
        assert_eq!(q.try_pop(), None);
        assert_eq!(q.probe(), (0, 1), "(abandoned, lost)");
    });
}

#[test]
fn consumer_killed_after_claim_two_producers_free_its_slot() {
    Model::new("ArrayQueue<ModelShm>: consumer dead after its head CAS; two producers free it")
        .threads(2)
        .ops("push 1; victim: claim 1; die; 2 producers: try_push 1 each (one fits); pop ×2")
        .preemption_bound(2)
        .check(consumer_death_two_producers);
}

zoo_test! {
    /// Tracked memory whose sleeps are unbounded (no liveness period): a survivor that went to
    /// sleep on the lock before its holder died is never woken — nobody is left to wake it.
    /// Both checkers find the schedule (a deadlock). loom was blind to it while the mutex's
    /// bounded spin yielded under a checker (loom runs a yielding thread only once no other
    /// can run, so the holder always finished dying first); `sync::hint::Backoff` gives a
    /// bounded spin no rounds under a checker, and loom now reaches the survivor's sleep.
    fn unpolled_sleeper_misses_owner_death() expect Expect::both(Failure::Deadlock) => {
        Model::new("zoo: robust mutex in a memory whose sleeps never time out")
            .threads(2)
            .ops("victim: lock; write; die; survivor: lock_checked; join; lock_checked")
            .exhaustive()
            .check(mutex_owner_death::<UnpolledModelShm>);
    }
}
