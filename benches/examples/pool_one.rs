//! Runs one pools contender repeatedly (for profiling):
//! `pool_one <contender> <workers> [reps] [workload id, default pools/tiny-tasks-1-submitter]`.
#![allow(missing_docs)]
use synclab_benches::{pools, Params, Scale};
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let name = &args[1];
    let threads: usize = args[2].parse().unwrap();
    let reps: usize = args.get(3).and_then(|r| r.parse().ok()).unwrap_or(5);
    let w = pools::workloads()
        .into_iter()
        .find(|w| {
            w.id == args
                .get(4)
                .map_or("pools/tiny-tasks-1-submitter", String::as_str)
        })
        .unwrap();
    let c = w
        .contenders
        .iter()
        .find(|c| c.name == name.as_str())
        .unwrap();
    for _ in 0..reps {
        let m = (c.run)(&Params {
            threads,
            scale: Scale::Full,
        });
        println!("{:.3} Mops/s", w.metric.value(&m));
    }
}
