//! Shared segments within one process: the header checks, creation races, an opener racing
//! the initialiser, a segment removed while mapped, stale segments. (Across processes, with
//! owners killed: `tests/shm_kill.rs`.)
#![cfg(target_os = "linux")]

use std::sync::{Arc, Barrier};
use std::time::Duration;

use synclab::array::{LockFreeArray, SharedArray, SlotWaitError};
use synclab::queue::MpmcQueue;
use synclab::shm::{OpenError, Segment, SegmentOptions, Shared, Shm, StaleCheck};

type Array = LockFreeArray<u64, Shm>;
type Array32 = LockFreeArray<u32, Shm>;

/// What `Segment::list` finds for exactly the name `n`.
fn state(n: &str) -> StaleCheck {
    Segment::list(n)
        .unwrap()
        .into_iter()
        .find(|(m, _)| m == n)
        .map_or(StaleCheck::Missing, |(_, s)| s)
}

/// A name unique to this process and test.
fn name(test: &str) -> String {
    format!("/synclab-test-{}-{test}", std::process::id())
}

/// The segment's object under /dev/shm, opened for writing behind the header's back (as a
/// foreign writer could).
fn object(n: &str) -> std::fs::File {
    std::fs::OpenOptions::new()
        .write(true)
        .open(format!("/dev/shm{n}"))
        .unwrap()
}

fn opts() -> SegmentOptions {
    SegmentOptions::new().ready_timeout(Duration::from_millis(200))
}

#[test]
fn create_open_publish_wait() {
    let n = name("smoke");
    let a = Shared::<Array>::create(&n, &8, &opts()).unwrap();
    let b = Shared::<Array>::open(&n, &opts()).unwrap();
    assert_eq!(b.len(), 8);
    a.publish(3, 77).unwrap();
    assert_eq!(b.wait_checked(3), Ok(77));
    assert_eq!(b.get_ref(4).unwrap(), None);
    assert!(matches!(
        b.wait_checked(8),
        Err(SlotWaitError::OutOfBounds(_))
    ));
    // A waiter in another thread, woken through the shared futex.
    let waiter = {
        let n = n.clone();
        std::thread::spawn(move || {
            let c = Shared::<Array>::open(&n, &opts()).unwrap();
            c.wait_checked(5)
        })
    };
    std::thread::sleep(Duration::from_millis(20));
    a.publish(5, 9).unwrap();
    assert_eq!(waiter.join().unwrap(), Ok(9));
}

#[test]
fn mode_is_0600_unless_asked() {
    use std::os::unix::fs::PermissionsExt;
    let n = name("mode");
    let _a = Shared::<Array>::create(&n, &1, &opts()).unwrap();
    let mode = std::fs::metadata(format!("/dev/shm{n}"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let n2 = name("mode2");
    let _b = Shared::<Array>::create(&n2, &1, &opts().mode(0o640)).unwrap();
    let mode = std::fs::metadata(format!("/dev/shm{n2}"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o640);
}

#[test]
fn creator_unlinks_on_drop() {
    let n = name("unlink");
    let a = Shared::<Array>::create(&n, &1, &opts()).unwrap();
    assert_eq!(state(&n), StaleCheck::InUse);
    drop(a);
    assert_eq!(state(&n), StaleCheck::Missing);
    assert!(matches!(
        Shared::<Array>::open(&n, &opts()),
        Err(OpenError::NotFound { .. })
    ));
}

/// A segment whose header records the array's previous layout version (1: slots packed
/// rather than one per cache line) is refused with a typed error, never read with the new
/// slot size. The old header is made by rewriting the version field of a fresh segment.
#[test]
fn a_lock_free_array_segment_of_layout_version_1_is_refused() {
    use std::os::unix::fs::FileExt;
    let n = name("version");
    let _a = Shared::<Array>::create(&n, &4, &opts()).unwrap();
    // The header's `layout_version` field: a little-endian u64 at offset 24 (segment.rs).
    object(&n).write_all_at(&1u64.to_le_bytes(), 24).unwrap();
    match Shared::<Array>::open(&n, &opts()) {
        Err(OpenError::VersionMismatch {
            found: 1,
            expected: 2,
            ..
        }) => {}
        other => panic!("expected VersionMismatch {{ found: 1, expected: 2 }}, got {other:?}"),
    }
}

#[test]
fn another_layout_or_parameter_type_is_a_typed_error() {
    let n = name("layout");
    let _a = Shared::<Array>::create(&n, &4, &opts()).unwrap();
    match Shared::<Array32>::open(&n, &opts()) {
        Err(OpenError::LayoutMismatch {
            found, expected, ..
        }) => assert_ne!(found, expected),
        other => panic!("expected LayoutMismatch, got {other:?}"),
    }
}

#[test]
fn a_size_that_does_not_match_the_header_is_a_typed_error() {
    let n = name("size");
    let _a = Shared::<Array>::create(&n, &4, &opts()).unwrap();
    // Grow the object behind the header's back.
    let f = object(&n);
    let len = f.metadata().unwrap().len();
    f.set_len(len + 4096).unwrap();
    match Shared::<Array>::open(&n, &opts()) {
        Err(OpenError::SizeMismatch {
            recorded, actual, ..
        }) => {
            assert_eq!((recorded, actual), (len, len + 4096))
        }
        other => panic!("expected SizeMismatch, got {other:?}"),
    }
}

/// Options whose wait for an initialiser is long: an error that comes back at once was not
/// waited for.
fn patient() -> SegmentOptions {
    SegmentOptions::new().ready_timeout(Duration::from_secs(2))
}

/// `open` with [`patient`] options, and how long it took.
fn timed_open(n: &str) -> (Result<Shared<Array>, OpenError>, Duration) {
    let start = std::time::Instant::now();
    let result = Shared::<Array>::open(n, &patient());
    (result, start.elapsed())
}

#[test]
fn a_foreign_object_is_not_a_segment_at_once() {
    let contents: [(&str, Vec<u8>); 4] = [
        ("empty", Vec::new()),
        ("text", b"hello, this is not a segment\n".to_vec()),
        (
            "random",
            (0..16384u32)
                .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
                .collect(),
        ),
        ("bytes", vec![0xAB; 16384]),
    ];
    for (what, bytes) in contents {
        let n = name(&format!("foreign-{what}"));
        std::fs::write(format!("/dev/shm{n}"), bytes).unwrap();
        let (result, took) = timed_open(&n);
        assert!(
            matches!(result, Err(OpenError::NotASegment { .. })),
            "{what}: expected NotASegment, got {result:?}"
        );
        assert!(took < Duration::from_millis(500), "{what}: took {took:?}");
        Segment::unlink(&n).unwrap();
    }
}

#[test]
fn a_changed_format_word_is_not_a_segment() {
    use std::os::unix::fs::FileExt;
    let n = name("format");
    let _a = Shared::<Array>::create(&n, &4, &opts()).unwrap();
    // The header's `format` field: a little-endian u32 at offset 8 (segment.rs).
    object(&n).write_all_at(&77u32.to_le_bytes(), 8).unwrap();
    let (result, took) = timed_open(&n);
    assert!(
        matches!(result, Err(OpenError::NotASegment { .. })),
        "expected NotASegment, got {result:?}"
    );
    assert!(took < Duration::from_millis(500), "took {took:?}");
}

#[test]
fn a_segment_shrunk_below_its_header_is_a_size_mismatch_at_once() {
    let n = name("shrunk");
    let a = Shared::<Array>::create(&n, &4, &opts()).unwrap();
    let len = a.segment().size() as u64;
    object(&n).set_len(100).unwrap();
    let (result, took) = timed_open(&n);
    match result {
        Err(OpenError::SizeMismatch {
            recorded, actual, ..
        }) => assert_eq!((recorded, actual), (len, 100)),
        other => panic!("expected SizeMismatch, got {other:?}"),
    }
    assert!(took < Duration::from_millis(500), "took {took:?}");
}

#[test]
fn a_length_parameter_that_does_not_match_the_object_is_a_size_mismatch() {
    use std::os::unix::fs::FileExt;
    let n = name("params0");
    let _a = Shared::<Array>::create(&n, &4, &opts()).unwrap();
    // The header's first parameter word (the array's length): offset 64 (segment.rs).
    for len in [0u64, 3, 5, u64::MAX] {
        object(&n).write_all_at(&len.to_le_bytes(), 64).unwrap();
        match Shared::<Array>::open(&n, &opts()) {
            Err(OpenError::SizeMismatch { .. }) | Err(OpenError::BadParams { .. }) => {}
            other => panic!("length {len}: expected SizeMismatch, got {other:?}"),
        }
    }
}

#[test]
fn a_segment_of_another_owner_is_refused_unless_named() {
    use std::os::unix::fs::PermissionsExt;
    let n = name("owner");
    let _a = Shared::<Array>::create(&n, &4, &opts()).unwrap();
    let path = format!("/dev/shm{n}");
    let me = std::fs::metadata(&path).unwrap();
    let other = 4242;
    if std::os::unix::fs::chown(&path, Some(other), None).is_err() {
        println!("skipped: cannot give {path} to another user (not root)");
        return;
    }
    match Shared::<Array>::open(&n, &opts()) {
        Err(OpenError::ForeignOwner {
            owner, expected, ..
        }) => assert_eq!(
            (owner, expected),
            (other, {
                use std::os::unix::fs::MetadataExt;
                me.uid()
            })
        ),
        other => panic!("expected ForeignOwner, got {other:?}"),
    }
    // Named as the expected owner, it opens.
    Shared::<Array>::open(&n, &opts().owner(other)).unwrap();
    // Widened permission bits are refused unless allowed.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).unwrap();
    match Shared::<Array>::open(&n, &opts().owner(other)) {
        Err(OpenError::ModeTooWide { mode, asked, .. }) => {
            assert_eq!((mode, asked), (0o666, 0o600))
        }
        other => panic!("expected ModeTooWide, got {other:?}"),
    }
    Shared::<Array>::open(&n, &opts().owner(other).allow_wider_mode(true)).unwrap();
}

#[test]
fn bad_names_are_typed_errors() {
    for bad in ["", "/", "noslash", "/a/b", "/nul\0", "/.", "/.."] {
        assert!(
            matches!(
                Shared::<Array>::create(bad, &1, &opts()),
                Err(OpenError::InvalidName { .. })
            ),
            "{bad:?}"
        );
    }
}

#[test]
fn two_creators_racing_for_one_name_exactly_one_wins() {
    for round in 0..50 {
        let n = name(&format!("race{round}"));
        let barrier = Arc::new(Barrier::new(2));
        let racers: Vec<_> = (0..2)
            .map(|_| {
                let (n, barrier) = (n.clone(), Arc::clone(&barrier));
                std::thread::spawn(move || {
                    barrier.wait();
                    Shared::<Array>::create(&n, &4, &opts())
                })
            })
            .collect();
        let results: Vec<_> = racers.into_iter().map(|r| r.join().unwrap()).collect();
        let won = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(won, 1, "round {round}: {results:?}");
        assert!(results
            .iter()
            .any(|r| matches!(r, Err(OpenError::AlreadyExists { stale: false, .. }))));
    }
}

#[test]
fn an_opener_racing_the_initialiser_waits_or_gets_a_typed_error() {
    for round in 0..50 {
        let n = name(&format!("init{round}"));
        let barrier = Arc::new(Barrier::new(2));
        let opener = {
            let (n, barrier) = (n.clone(), Arc::clone(&barrier));
            std::thread::spawn(move || {
                barrier.wait();
                loop {
                    match Shared::<Array>::open(&n, &opts()) {
                        Err(OpenError::NotFound { .. }) => std::thread::yield_now(),
                        other => return other.map(|s| s.wait_checked(0)),
                    }
                }
            })
        };
        barrier.wait();
        let a = Shared::<Array>::create(&n, &4, &opts()).unwrap();
        a.publish(0, round).unwrap();
        // Either it opened a fully initialised segment and read the value, or it reported
        // NotReady (never garbage, never a hang).
        match opener.join().unwrap() {
            Ok(v) => assert_eq!(v, Ok(round)),
            Err(OpenError::NotReady { .. }) => {}
            Err(e) => panic!("round {round}: {e}"),
        }
    }
}

#[test]
fn sweep_never_takes_a_segment_its_creator_is_building() {
    // Before creation went through a temporary name and link(2), a remover running between the
    // creator's O_EXCL open and its flock saw an unlocked object and unlinked it.
    for round in 0..1000 {
        let n = name(&format!("building{round}"));
        let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let remover = {
            let (n, done) = (n.clone(), Arc::clone(&done));
            std::thread::spawn(move || {
                let mut removed = 0;
                while !done.load(std::sync::atomic::Ordering::Relaxed) {
                    removed += Segment::sweep(&n).unwrap().len();
                }
                removed
            })
        };
        let segment = Shared::<Array>::create(&n, &2, &opts()).unwrap();
        assert_eq!(state(&n), StaleCheck::InUse);
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        assert_eq!(
            remover.join().unwrap(),
            0,
            "round {round}: a live segment was removed"
        );
        drop(segment);
    }
}

#[test]
fn a_segment_removed_while_mapped_keeps_working() {
    let n = name("removed");
    let a = Shared::<Array>::create(&n, &2, &opts()).unwrap();
    let b = Shared::<Array>::open(&n, &opts()).unwrap();
    Segment::unlink(&n).unwrap();
    assert_eq!(state(&n), StaleCheck::Missing);
    a.publish(1, 5).unwrap();
    assert_eq!(b.wait_checked(1), Ok(5));
    // The name is free again: a new segment is a different one.
    let c = Shared::<Array>::create(&n, &2, &opts()).unwrap();
    assert_eq!(c.get_ref(1).unwrap(), None);
}

type Counter = synclab::shm::InSegment<synclab::lock::RobustMutex<u64, Shm>>;

/// The attach table's census is a test probe (the `fault-injection` feature).
#[cfg(feature = "fault-injection")]
#[test]
fn attach_entries_are_freed_when_threads_exit() {
    use synclab::fault::Probe;
    let n = name("entries");
    let m = Shared::<Counter>::create(&n, &0, &opts()).unwrap();
    // Far more threads, one after another, than the table has entries.
    for _ in 0..300 {
        std::thread::scope(|s| {
            // An explicit join waits for the OS thread to exit, thread-local destructors (which
            // free the entry) included; the scope's implicit wait ends when the closure returns.
            s.spawn(|| *m.lock_checked().unwrap() += 1).join().unwrap();
        });
    }
    assert_eq!(*m.lock_checked().unwrap(), 300);
    let (alive, dead) = m.segment().probe();
    assert!(
        alive <= 2 && dead == 0,
        "entries leaked: {alive} alive, {dead} dead"
    );
}

#[test]
fn threads_beyond_the_attach_table_still_exclude_each_other() {
    let n = name("full");
    let m = Shared::<Counter>::create(&n, &0, &opts()).unwrap();
    let threads = 140; // more than the 127 entries, all attached at once
    let barrier = Barrier::new(threads);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                *m.lock_checked().unwrap() += 1; // claims an entry (or gets the untracked tag)
                barrier.wait(); // every thread holds its entry here
                for _ in 0..100 {
                    *m.lock_checked().unwrap() += 1;
                }
            });
        }
    });
    assert_eq!(*m.lock_checked().unwrap(), 140 * 101);
}

#[test]
fn the_futex_condvar_array_in_a_segment() {
    type CondvarShm = synclab::array::CondvarArray<u64, synclab::lock::RobustFamily<Shm>, Shm>;
    let n = name("condvar");
    let a = Shared::<CondvarShm>::create(&n, &4, &opts()).unwrap();
    let waiter = {
        let n = n.clone();
        std::thread::spawn(move || Shared::<CondvarShm>::open(&n, &opts()).unwrap().wait(3))
    };
    a.publish(3, 11).unwrap();
    assert_eq!(waiter.join().unwrap(), Ok(11));
    assert_eq!(a.try_get(0), Ok(None));
    assert!(a.publish(3, 12).is_err());
}

type Laned = synclab::array::LanedArray<u64, Shm>;

#[test]
fn a_laned_array_in_a_segment() {
    use synclab::array::{LaneError, PublishError};
    let n = name("lanes");
    let a = Shared::<Laned>::create(&n, &[8, 2], &opts()).unwrap();
    let b = Shared::<Laned>::open(&n, &opts()).unwrap();
    assert_eq!((b.len(), b.lanes()), (8, 2));
    let even = a.lane(0).unwrap();
    // One owner word for every mapping: the lane is taken through the other one too.
    assert_eq!(b.lane(0).err(), Some(LaneError::Taken { lane: 0 }));
    even.publish(2, 20).unwrap();
    assert_eq!(b.wait_checked(2), Ok(20));
    assert!(matches!(
        even.publish(3, 30),
        Err(PublishError::NotInLane {
            index: 3,
            lane: 0,
            owner: 1,
            ..
        })
    ));
    // Another thread, through its own mapping, holds the odd lane; its publish wakes us.
    let odd = {
        let n = n.clone();
        std::thread::spawn(move || {
            let c = Shared::<Laned>::open(&n, &opts()).unwrap();
            let lane = c.lane(1).unwrap();
            let v = c.wait_checked(4).unwrap();
            lane.publish(5, v + 1).unwrap();
        })
    };
    even.publish(4, 40).unwrap();
    assert_eq!(a.wait_checked(5), Ok(41));
    odd.join().unwrap();
    // The thread's lane was released when its handle dropped.
    drop(b.lane(1).unwrap());
}

#[test]
fn a_laned_segment_is_not_an_unlaned_one_and_lane_counts_are_checked() {
    let n = name("lanes-layout");
    let _a = Shared::<Laned>::create(&n, &[4, 2], &opts()).unwrap();
    match Shared::<Array>::open(&n, &opts()) {
        Err(OpenError::LayoutMismatch {
            found, expected, ..
        }) => assert_ne!(found, expected),
        other => panic!("expected LayoutMismatch, got {other:?}"),
    }
    for lanes in [0, 3, 17] {
        match Shared::<Laned>::create(&name(&format!("lanes-{lanes}")), &[4, lanes], &opts()) {
            Err(OpenError::BadParams { reason }) => assert!(reason.contains("power of two")),
            other => panic!("expected BadParams for {lanes} lanes, got {other:?}"),
        }
    }
}

type JobQueue = synclab::queue::ArrayQueue<u64, Shm>;
type JobLock = synclab::shm::InSegment<synclab::lock::RobustMutex<[u64; 2], Shm>>;

#[test]
fn a_queue_and_a_lock_in_one_segment() {
    let n = name("pair");
    let a = Shared::<(JobQueue, JobLock)>::create(&n, &(8, [0, 0]), &opts()).unwrap();
    let b = Shared::<(JobQueue, JobLock)>::open(&n, &opts()).unwrap();
    a.0.try_push(7).unwrap();
    assert_eq!(b.0.try_pop(), Some(7));
    b.1.lock_checked().unwrap()[0] = 9;
    assert_eq!(a.1.lock_checked().unwrap()[0], 9);
    assert_eq!(b.0.capacity(), 8);
    // Another tuple, or the queue alone, is another layout.
    match Shared::<(JobLock, JobQueue)>::open(&n, &opts()) {
        Err(OpenError::LayoutMismatch { .. }) => {}
        other => panic!("expected LayoutMismatch, got {other:?}"),
    }
    match Shared::<JobQueue>::open(&n, &opts()) {
        Err(OpenError::LayoutMismatch { .. }) => {}
        other => panic!("expected LayoutMismatch, got {other:?}"),
    }
}

#[test]
fn three_designs_in_one_segment() {
    let n = name("triple");
    type Three = (JobQueue, Array, JobLock);
    let a = Shared::<Three>::create(&n, &(2, 3, [1, 2]), &opts()).unwrap();
    let b = Shared::<Three>::open(&n, &opts()).unwrap();
    a.1.publish(2, 5).unwrap();
    assert_eq!(b.1.wait_checked(2), Ok(5));
    assert_eq!(*b.2.lock_checked().unwrap(), [1, 2]);
    b.0.try_push(1).unwrap();
    b.0.try_push(2).unwrap();
    assert_eq!(a.0.try_push(3), Err(3));
}

#[test]
fn stale_segments_are_listed_and_swept_by_prefix() {
    let prefix = name("sweep");
    let live = Shared::<Array>::create(&format!("{prefix}-live"), &1, &opts()).unwrap();
    // A crashed creator's segments: objects nobody holds.
    for i in 0..3 {
        std::fs::write(format!("/dev/shm{prefix}-dead{i}"), vec![0; 64]).unwrap();
    }
    let listed = Segment::list(&prefix).unwrap();
    let names: Vec<&str> = listed.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            format!("{prefix}-dead0"),
            format!("{prefix}-dead1"),
            format!("{prefix}-dead2"),
            format!("{prefix}-live"),
        ]
    );
    assert_eq!(listed[3].1, StaleCheck::InUse);
    assert!(matches!(
        listed[0].1,
        StaleCheck::Stale {
            initialised: false,
            ..
        }
    ));
    let removed = Segment::sweep(&prefix).unwrap();
    assert_eq!(removed.len(), 3, "{removed:?}");
    assert_eq!(
        Segment::list(&prefix).unwrap(),
        [(format!("{prefix}-live"), StaleCheck::InUse)]
    );
    drop(live);
    assert_eq!(Segment::list(&prefix).unwrap(), []);
    assert!(matches!(
        Segment::list("no-slash"),
        Err(OpenError::InvalidName { .. })
    ));
}
