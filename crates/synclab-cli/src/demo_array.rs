//! `synclab demo array`: the shared-array scenario (the "Python example" of the tutorial on
//! shared-memory IPC that synclab starts from), with any of the four designs.
//!
//! A producer sleeps `--write-delay-ms` before each slot and publishes it; a consumer waits for
//! the slots in order. Every line is stamped with the time its event happened (not when it was
//! printed), lines appear in the order the events happened, and the run ends with the measured
//! publish→read latency of each slot. The tutorial's own values are 5 slots, a 0.5 s write
//! delay and a 1 s penalty (`--len 5 --write-delay-ms 500 --penalty-ms 1000`); the defaults are
//! shorter so the demo finishes in about two seconds.
//!
//! **Order of the lines.** The producer holds the stdout lock from just before it publishes
//! until it has printed "Producer writes index i"; a consumer woken by that publish stamps its
//! read at once but cannot print before the producer's line is out. So "writes index i" always
//! comes before "consumes index i", and both stamps are the events' own times.

use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use synclab::array::{CondvarArray, LockFreeArray, PollingArray, SharedArray};
use synclab::lock::{FutexFamily, StdFamily};

/// The longest array the demo accepts (it prints a few lines per slot).
const MAX_LEN: usize = 1_000;
/// The longest delay or penalty the demo accepts, in milliseconds (one minute).
const MAX_MS: u64 = 60_000;

/// Which design the demo runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ArrayImpl {
    /// The original program's design: one mutex; a reader that finds the slot empty sleeps a
    /// penalty and looks again.
    Polling,
    /// std's Mutex + Condvar (`CondvarArray<StdFamily>`).
    Std,
    /// synclab's futex mutex + condvar (`CondvarArray<FutexFamily>`).
    Futex,
    /// Per-slot state words; readers spin briefly, then sleep on a futex (`LockFreeArray`).
    Lockfree,
}

/// Arguments of `synclab demo array`.
#[derive(Debug, clap::Args)]
pub struct ArrayArgs {
    /// The design to run.
    #[arg(long = "impl", value_enum, default_value = "lockfree")]
    pub implementation: ArrayImpl,
    /// Number of slots (1 to 1000; the original scenario has 5).
    #[arg(long, default_value_t = 5)]
    pub len: usize,
    /// How long the producer works before writing each slot, in ms (at most 60000; the
    /// original scenario waits 500).
    #[arg(long, default_value_t = 300)]
    pub write_delay_ms: u64,
    /// How long the polling consumer sleeps after finding a slot empty, in ms (at most 60000;
    /// the original scenario sleeps 1000). Only `--impl polling` polls; the other designs
    /// sleep until woken.
    #[arg(long, default_value_t = 500)]
    pub penalty_ms: u64,
    /// Run the producer and the consumer as two processes over one shared segment
    /// (`--impl lockfree` or `--impl futex`; Linux only).
    #[arg(long)]
    pub processes: bool,
    /// With --processes: the producer is killed (SIGKILL) right after claiming this slot; the
    /// consumer reports it and a new producer takes over from there.
    #[arg(long, requires = "processes")]
    pub die_at: Option<usize>,
}

impl ArrayArgs {
    fn validate(&self) -> Result<(), String> {
        if self.len == 0 || self.len > MAX_LEN {
            return Err(format!(
                "--len must be between 1 and {MAX_LEN} (got {})",
                self.len
            ));
        }
        if self.write_delay_ms > MAX_MS {
            return Err(format!(
                "--write-delay-ms must be at most {MAX_MS} (got {})",
                self.write_delay_ms
            ));
        }
        if self.penalty_ms > MAX_MS {
            return Err(format!(
                "--penalty-ms must be at most {MAX_MS} (got {})",
                self.penalty_ms
            ));
        }
        if self.implementation == ArrayImpl::Polling && self.penalty_ms == 0 {
            return Err(
                "--penalty-ms must be at least 1 with --impl polling (0 would busy-poll the mutex)"
                    .into(),
            );
        }
        Ok(())
    }
}

/// A published value: the slot's data and when the producer published it.
#[derive(Debug, Clone)]
struct Stamped {
    data: usize,
    published_at: Instant,
}

/// Runs the demo.
pub fn run(args: ArrayArgs) -> Result<(), String> {
    args.validate()?;
    if args.processes {
        return run_processes(&args);
    }
    let penalty = Duration::from_millis(args.penalty_ms);
    match args.implementation {
        ArrayImpl::Polling => {
            let array = PollingArray::<Stamped, StdFamily>::with_penalty(args.len, penalty)
                .map_err(|e| e.to_string())?;
            demo(
                &args,
                "PollingArray<std> (the seed's design)",
                array,
                |a, i, log| {
                    a.wait_observed(i, |i, penalty| {
                        log(format!(
                            "Consumer: no data at index {i}, waiting {} ms",
                            penalty.as_millis()
                        ))
                    })
                },
            )
        }
        ArrayImpl::Std => demo(
            &args,
            "CondvarArray<StdFamily>",
            CondvarArray::<Stamped, StdFamily>::with_len(args.len).map_err(|e| e.to_string())?,
            announce_then_wait,
        ),
        ArrayImpl::Futex => demo(
            &args,
            "CondvarArray<FutexFamily>",
            CondvarArray::<Stamped, FutexFamily>::with_len(args.len).map_err(|e| e.to_string())?,
            announce_then_wait,
        ),
        ArrayImpl::Lockfree => demo(
            &args,
            "LockFreeArray",
            LockFreeArray::<Stamped>::with_len(args.len).map_err(|e| e.to_string())?,
            announce_then_wait,
        ),
    }
}

#[cfg(target_os = "linux")]
fn run_processes(args: &ArrayArgs) -> Result<(), String> {
    let condvar = match args.implementation {
        ArrayImpl::Lockfree => false,
        ArrayImpl::Futex => true,
        other => {
            return Err(format!(
                "--processes runs --impl lockfree (LockFreeArray<Shm>) or --impl futex (CondvarArray<RobustFamily<Shm>, Shm>); --impl {other:?} uses std's or the seed's locks, which cannot live in a shared segment"
            ))
        }
    };
    crate::demo_processes::array(args.len, args.write_delay_ms, args.die_at, condvar)
}

#[cfg(not(target_os = "linux"))]
fn run_processes(_: &ArrayArgs) -> Result<(), String> {
    Err("--processes needs Linux (POSIX shared memory and /proc)".into())
}

/// The consumer's wait for a design that sleeps until woken: say so once, then wait.
fn announce_then_wait<A: SharedArray<Stamped>>(
    array: &A,
    index: usize,
    log: &dyn Fn(String),
) -> Result<Stamped, synclab::array::IndexError> {
    if array.try_get(index)?.is_none() {
        log(format!(
            "Consumer: no data at index {index}, sleeping until it is published"
        ));
    }
    array.wait(index)
}

type WaitFn<A> = fn(&A, usize, &dyn Fn(String)) -> Result<Stamped, synclab::array::IndexError>;

fn demo<A>(args: &ArrayArgs, name: &str, array: A, wait: WaitFn<A>) -> Result<(), String>
where
    A: SharedArray<Stamped> + 'static,
{
    let len = args.len;
    let write_delay = Duration::from_millis(args.write_delay_ms);
    println!(
        "synclab demo array: {name}, {len} slots, write delay {} ms{}",
        args.write_delay_ms,
        if args.implementation == ArrayImpl::Polling {
            format!(", penalty {} ms", args.penalty_ms)
        } else {
            String::new()
        }
    );
    let start = Instant::now();
    let stamp = move |at: Instant| at.duration_since(start).as_secs_f64();
    let log = move |line: String| println!("[{:>8.3} s] {line}", stamp(Instant::now()));
    let log_at = move |at: Instant, line: String| println!("[{:>8.3} s] {line}", stamp(at));
    let array = Arc::new(array);

    let producer = {
        let array = Arc::clone(&array);
        thread::Builder::new()
            .name("Producer".into())
            .spawn(move || -> Result<(), String> {
                for i in 0..len {
                    thread::sleep(write_delay);
                    // Held across the publish: the woken consumer prints after this line.
                    let mut out = std::io::stdout().lock();
                    let at = Instant::now();
                    let value = Stamped {
                        data: i,
                        published_at: at,
                    };
                    array.publish(i, value).map_err(|e| e.to_string())?;
                    let _ = writeln!(out, "[{:>8.3} s] Producer writes index {i}: {i}", stamp(at));
                }
                Ok(())
            })
            .map_err(|e| format!("cannot start the producer thread: {e}"))?
    };
    let consumer = {
        let array = Arc::clone(&array);
        thread::Builder::new()
            .name("Consumer".into())
            .spawn(move || -> Result<Vec<Duration>, String> {
                let mut latencies = Vec::with_capacity(len);
                for i in 0..len {
                    let asked = Instant::now();
                    let value = wait(&array, i, &log).map_err(|e| e.to_string())?;
                    let read_at = Instant::now();
                    let latency = read_at.duration_since(value.published_at);
                    log_at(read_at, format!(
                        "Consumer consumes index {i}, data: {} (waited {:.1} ms, {:.3} ms after publish)",
                        value.data,
                        read_at.duration_since(asked).as_secs_f64() * 1e3,
                        latency.as_secs_f64() * 1e3
                    ));
                    latencies.push(latency);
                }
                Ok(latencies)
            })
            .map_err(|e| format!("cannot start the consumer thread: {e}"))?
    };
    producer
        .join()
        .map_err(|_| "the producer thread panicked".to_string())??;
    let latencies = consumer
        .join()
        .map_err(|_| "the consumer thread panicked".to_string())??;

    let mut table = String::from("\npublish→read latency per slot:\n");
    for (i, l) in latencies.iter().enumerate() {
        let _ = writeln!(table, "  slot {i:>3}: {:>10.3} ms", l.as_secs_f64() * 1e3);
    }
    let total: Duration = latencies.iter().sum();
    let _ = writeln!(
        table,
        "  mean    : {:>10.3} ms   (run took {:.3} s)",
        total.as_secs_f64() * 1e3 / latencies.len() as f64,
        start.elapsed().as_secs_f64()
    );
    print!("{table}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(implementation: ArrayImpl, len: usize, penalty_ms: u64) -> ArrayArgs {
        ArrayArgs {
            implementation,
            len,
            write_delay_ms: 1,
            penalty_ms,
            processes: false,
            die_at: None,
        }
    }

    #[test]
    fn bad_input_is_an_error_naming_the_value() {
        let err = run(args(ArrayImpl::Lockfree, 0, 1)).unwrap_err();
        assert_eq!(err, "--len must be between 1 and 1000 (got 0)");
        let err = run(args(ArrayImpl::Polling, 2, 0)).unwrap_err();
        assert!(err.contains("--penalty-ms must be at least 1"), "{err}");
        let err = run(args(ArrayImpl::Std, 2, 60_001)).unwrap_err();
        assert!(err.contains("(got 60001)"), "{err}");
    }

    #[test]
    fn every_design_runs_the_demo() {
        for imp in [
            ArrayImpl::Polling,
            ArrayImpl::Std,
            ArrayImpl::Futex,
            ArrayImpl::Lockfree,
        ] {
            run(args(imp, 3, 1)).unwrap();
        }
    }
}
