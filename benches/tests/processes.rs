//! Every processes contender runs once at the quick scale, helper process and all. Its own
//! `main` (harness = false): the binary is re-executed as the helper.

#[cfg(target_os = "linux")]
fn main() {
    use synclab_benches::{Params, Scale};
    synclab_benches::processes::serve_if_helper();
    let (mut passed, failed) = (0, 0);
    for w in synclab_benches::processes::workloads() {
        for c in &w.contenders {
            let m = (c.run)(&Params {
                threads: 2,
                scale: Scale::Quick,
            });
            assert!(m.ops > 0, "{}: {} did no work", w.id, c.name);
            println!(
                "test {} / {} ... ok ({} ops in {:?})",
                w.id, c.name, m.ops, m.elapsed
            );
            passed += 1;
        }
    }
    println!("\ntest result: ok. {passed} passed; {failed} failed");
}

#[cfg(not(target_os = "linux"))]
fn main() {
    println!("processes workloads: Linux only; 0 passed; 0 failed");
}
