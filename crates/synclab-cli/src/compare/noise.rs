//! Foreign CPU load: how much of the machine other processes (and the hypervisor) took while
//! a cell was measured.
//!
//! /proc/stat's `cpu` line counts, in clock ticks, the time all CPUs spent busy; getrusage(2)
//! gives this process's own CPU time (all its threads, to the microsecond) and that of the
//! children it has waited for (a cross-process workload's peers). Their difference
//! over a cell is everyone else's CPU time; divided by the machine's capacity (online CPUs ×
//! wall time) it is the share of the machine that was not ours to measure with. Steal time
//! (the hypervisor running other guests on our vCPUs) counts as foreign: it is.
//!
//! /proc/stat ticks at `sysconf(_SC_CLK_TCK)` (100 Hz here), so a cell of one second on two
//! CPUs is read to about ±1 % of the machine; cells are longer than that in a full run.

use std::time::{Duration, Instant};

/// A moment's counters.
#[derive(Debug, Clone, Copy)]
pub struct Snapshot {
    at: Instant,
    /// Busy ticks of all CPUs, if /proc/stat was readable.
    busy_ticks: Option<u64>,
    own_cpu: Duration,
}

/// The machine's busy ticks: user, nice, system, irq, softirq, steal (idle and iowait are
/// not busy; guest time is already inside user).
fn busy_ticks() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let fields: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(|f| f.parse().ok())
        .collect::<Option<_>>()?;
    // user nice system idle iowait irq softirq steal [guest guest_nice]
    let get = |i: usize| fields.get(i).copied().unwrap_or(0);
    Some(get(0) + get(1) + get(2) + get(5) + get(6) + get(7))
}

/// The number of `cpuN` lines in /proc/stat: the CPUs whose time it counts.
pub fn online_cpus() -> Option<usize> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let n = stat
        .lines()
        .filter(|l| l.starts_with("cpu") && l.as_bytes().get(3).is_some_and(u8::is_ascii_digit))
        .count();
    (n > 0).then_some(n)
}

/// CPU time of this process (every thread) and of its waited-for children.
fn own_cpu_time() -> Duration {
    let get = |who| {
        // SAFETY: `rusage` is plain old data; all-zero is a valid value to overwrite.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: a valid `who` and a valid, writable pointer; the call only writes `usage`.
        if unsafe { libc::getrusage(who, &mut usage) } != 0 {
            return Duration::ZERO;
        }
        let tv = |t: libc::timeval| {
            Duration::new(t.tv_sec.max(0) as u64, (t.tv_usec.max(0) as u32) * 1000)
        };
        tv(usage.ru_utime) + tv(usage.ru_stime)
    };
    get(libc::RUSAGE_SELF) + get(libc::RUSAGE_CHILDREN)
}

fn ticks_per_second() -> f64 {
    // SAFETY: sysconf has no preconditions; it reads a configuration value.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as f64
    } else {
        100.0
    }
}

impl Snapshot {
    /// The counters now.
    pub fn now() -> Self {
        Snapshot {
            busy_ticks: busy_ticks(),
            own_cpu: own_cpu_time(),
            at: Instant::now(),
        }
    }

    /// Foreign CPU time between `self` and `later` as a share of the machine's capacity, or
    /// `None` when /proc/stat was unreadable or no time passed.
    pub fn foreign_share(&self, later: &Snapshot) -> Option<f64> {
        share(
            later.busy_ticks?.checked_sub(self.busy_ticks?)?,
            ticks_per_second(),
            later.own_cpu.saturating_sub(self.own_cpu),
            later.at.duration_since(self.at),
            online_cpus()?,
        )
    }
}

/// `busy_ticks` of machine time minus `own` CPU time, over `cpus × wall`, clamped to [0, 1].
fn share(
    busy_ticks: u64,
    ticks_per_second: f64,
    own: Duration,
    wall: Duration,
    cpus: usize,
) -> Option<f64> {
    let busy = busy_ticks as f64 / ticks_per_second;
    let capacity = wall.as_secs_f64() * cpus as f64;
    (capacity > 0.0).then(|| ((busy - own.as_secs_f64()) / capacity).clamp(0.0, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn foreign_share_subtracts_our_own_cpu() {
        let ms = Duration::from_millis;
        // 2 CPUs for 1 s; the machine was busy 150 ticks (1.5 s), 1.2 s of it ours.
        let s = share(150, 100.0, ms(1200), ms(1000), 2).unwrap();
        assert!((s - 0.15).abs() < 1e-9, "{s}");
        // All of it ours: nothing foreign (tick rounding may put us above the busy time).
        assert_eq!(share(100, 100.0, ms(1004), ms(1000), 2), Some(0.0));
        assert_eq!(share(100, 100.0, ms(0), ms(0), 2), None);
    }

    #[test]
    fn proc_stat_is_read_on_linux() {
        if cfg!(target_os = "linux") {
            assert!(busy_ticks().is_some());
            assert!(online_cpus().is_some_and(|n| n >= 1));
            let a = Snapshot::now();
            std::thread::sleep(Duration::from_millis(20));
            let s = a.foreign_share(&Snapshot::now()).expect("readable");
            assert!((0.0..=1.0).contains(&s));
        }
    }
}
