//! The sanitizer leg's negative control: ThreadSanitizer must be seen catching a data race,
//! or a clean `cargo xtask tsan` would prove nothing. The race is the zoo's
//! `RelaxedPublishArray` (a Relaxed publish, then a read of the value on another thread),
//! run on real threads in a child process — which is undefined behaviour, the zoo's `unsafe`
//! contract says so, and that is why this runs only in the sanitizer build (`cargo xtask tsan`
//! sets `SYNCLAB_UNDER_TSAN=1`), where the race detector is the point. Elsewhere it does nothing.

#[path = "shared/child.rs"]
mod child;

const CHILD: &str = "SYNCLAB_TSAN_CONTROL_CHILD";

#[test]
fn tsan_reports_the_zoo_relaxed_publish_race() {
    if std::env::var("SYNCLAB_UNDER_TSAN").as_deref() != Ok("1") {
        eprintln!(
            "tsan_control: only meaningful in `cargo xtask tsan` (SYNCLAB_UNDER_TSAN=1); skipped"
        );
        return;
    }
    if std::env::var_os(CHILD).is_some() {
        race();
        return;
    }
    let (_, text) = child::run("tsan_reports_the_zoo_relaxed_publish_race", CHILD);
    assert!(
        text.contains("WARNING: ThreadSanitizer: data race")
            && text.contains("synclab-zoo/src/array.rs"),
        "ThreadSanitizer did not report the zoo's Relaxed-publish race (is the build \
         instrumented?):\n{text}"
    );
    let line = text
        .lines()
        .find(|l| l.contains("synclab-zoo/src/array.rs"))
        .unwrap_or_default();
    eprintln!(
        "[tsan] negative control: data race reported, first frame in the zoo: {}",
        line.trim()
    );
}

/// Publishes with a Relaxed store on one thread while another reads the value once it sees
/// READY: the read races with the write.
fn race() {
    use std::sync::Arc;
    use synclab_zoo::array::RelaxedPublishArray;
    // SAFETY: none — this is the data race the sanitizer must report, run only in the
    // sanitizer's build and only in this child process (see the module docs).
    let array = Arc::new(unsafe { RelaxedPublishArray::<u64>::new(1) });
    let reader = {
        let array = Arc::clone(&array);
        std::thread::spawn(move || loop {
            if let Some(v) = array.try_get(0).unwrap() {
                return v;
            }
            std::thread::yield_now();
        })
    };
    array.publish(0, 7).unwrap();
    assert_eq!(reader.join().unwrap(), 7);
}
