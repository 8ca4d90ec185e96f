//! Instruction counts under valgrind's callgrind: costs that do not move with the machine's
//! load (hardware counters are not available on these guests).
//!
//! For every [`CountedOp`] the binary re-runs *itself* under
//! `valgrind --tool=callgrind` (`synclab count-op …`, a hidden subcommand) twice: with `n`
//! operations and with `2n`. The per-operation figure is `(Ir(2n) − Ir(n)) / n`: start-up,
//! set-up and tear-down appear in both runs and cancel. For [`CountScope::Region`] ops
//! callgrind counts only inside [`synclab_counted_region`] (`--collect-atstart=no
//! --toggle-collect=…`), so even set-up that grows with `n` (an array of `n` slots) stays
//! out; [`CountScope::Process`] ops count every thread. The whole table is measured twice
//! (or `--instruction-runs` times) and each row shows every measurement and their largest
//! difference: they must agree within 1 %.

use std::path::{Path, PathBuf};
use std::process::Command;

use synclab_benches::{CountScope, CountedOp, Role};

use super::results::{InstructionRow, Instructions};

/// The smaller operation count (the other is twice this).
pub const N: u64 = 10_000;

/// `group/contender`, the id `count-op` takes.
pub fn op_id(op: &CountedOp) -> String {
    format!("{}/{}", op.group, op.contender)
}

/// The function callgrind counts inside for [`CountScope::Region`] ops. Never inlined, so it
/// exists as a symbol for `--toggle-collect`.
#[inline(never)]
pub fn synclab_counted_region(f: &mut dyn FnMut()) {
    f();
}

/// The toggle pattern for [`synclab_counted_region`] (matched against demangled names).
const TOGGLE: &str = "*synclab_counted_region*";

/// `synclab count-op OP N`: runs one counted operation `n` times (what valgrind runs).
pub fn count_op(op: &str, n: u64) -> Result<(), String> {
    let ops = synclab_benches::counted_ops();
    let found = ops.iter().find(|o| op_id(o) == op).ok_or_else(|| {
        format!(
            "count-op: no counted operation {op:?}; there are: {}",
            ops.iter().map(op_id).collect::<Vec<_>>().join(", ")
        )
    })?;
    if n == 0 || n > 1 << 20 {
        return Err(format!(
            "count-op: --n must be between 1 and {} (got {n})",
            1 << 20
        ));
    }
    (found.run)(n, &|f| synclab_counted_region(f));
    Ok(())
}

/// `valgrind --version`, or why valgrind cannot be used.
pub fn valgrind_version() -> Result<String, String> {
    let missing = "valgrind was not found: instruction counts need it. Install it with \
                   `apt-get install -y valgrind` (Debian/Ubuntu), or run `cargo xtask icount`, \
                   which installs it when it is missing";
    let out = Command::new("valgrind")
        .arg("--version")
        .output()
        .map_err(|_| missing.to_string())?;
    if !out.status.success() {
        return Err(missing.into());
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// The `totals:` (or `summary:`) Ir of a callgrind output file.
fn total_ir(path: &Path) -> Result<u64, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read callgrind output {}: {e}", path.display()))?;
    let line = text
        .lines()
        .find(|l| l.starts_with("totals:"))
        .or_else(|| text.lines().find(|l| l.starts_with("summary:")))
        .ok_or_else(|| format!("{}: no totals line", path.display()))?;
    line.split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| format!("{}: unreadable totals line {line:?}", path.display()))
}

/// Counts `op` at `n` operations once: total Ir.
fn count_once(exe: &Path, dir: &Path, op: &CountedOp, n: u64, tag: &str) -> Result<u64, String> {
    let out_file = dir.join(format!("callgrind.{tag}.out"));
    let mut cmd = Command::new("valgrind");
    cmd.arg("--tool=callgrind")
        .arg(format!("--callgrind-out-file={}", out_file.display()));
    if op.scope == CountScope::Region {
        cmd.arg("--collect-atstart=no")
            .arg(format!("--toggle-collect={TOGGLE}"));
    }
    cmd.arg(exe)
        .arg("count-op")
        .arg(op_id(op))
        .arg(n.to_string());
    let out = cmd
        .output()
        .map_err(|e| format!("cannot start valgrind: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "valgrind failed on {} (n = {n}): {}",
            op_id(op),
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .rev()
                .take(8)
                .collect::<Vec<_>>()
                .join(" | ")
        ));
    }
    let ir = total_ir(&out_file);
    let _ = std::fs::remove_file(&out_file);
    ir
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::Synclab => "synclab",
        Role::Anchor => "anchor",
        Role::Floor => "floor",
        Role::Seed => "seed",
    }
}

/// Measures every op `runs` times. `filter` selects ops whose `group/contender` contains one
/// of the texts (all when empty).
pub fn measure(filter: &[String], runs: usize, scratch: &Path) -> Result<Instructions, String> {
    let valgrind = valgrind_version()?;
    let exe: PathBuf =
        std::env::current_exe().map_err(|e| format!("cannot find this binary: {e}"))?;
    std::fs::create_dir_all(scratch)
        .map_err(|e| format!("cannot create {}: {e}", scratch.display()))?;
    let ops: Vec<CountedOp> = synclab_benches::counted_ops()
        .into_iter()
        .filter(|op| filter.is_empty() || filter.iter().any(|f| op_id(op).contains(f.as_str())))
        .collect();
    if ops.is_empty() {
        return Err(format!("--filter {filter:?} matches no counted operation"));
    }
    let mut rows: Vec<InstructionRow> = ops
        .iter()
        .map(|op| InstructionRow {
            group: op.group.into(),
            operation: op.operation.into(),
            contender: op.contender.into(),
            role: role_name(op.role).into(),
            scope: match op.scope {
                CountScope::Region => "region".into(),
                CountScope::Process => "process".into(),
            },
            per_op: Vec::new(),
            totals: Vec::new(),
        })
        .collect();
    for m in 0..runs {
        for (i, op) in ops.iter().enumerate() {
            let small = count_once(&exe, scratch, op, N, &format!("{m}.{i}.n"))?;
            let large = count_once(&exe, scratch, op, 2 * N, &format!("{m}.{i}.2n"))?;
            let per_op = (large as f64 - small as f64) / N as f64;
            eprintln!(
                "instructions [{}/{}] {}: {per_op:.1} per operation",
                m * ops.len() + i + 1,
                runs * ops.len(),
                op_id(op)
            );
            rows[i].per_op.push(per_op);
            rows[i].totals.push([small, large]);
        }
    }
    Ok(Instructions {
        valgrind,
        n: N,
        runs,
        rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_are_read_from_callgrind_output() {
        let dir = std::env::temp_dir().join(format!("synclab-icount-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("out");
        std::fs::write(
            &f,
            "version: 1\nevents: Ir\nfl=x\n0 5\nsummary: 123\ntotals: 456\n",
        )
        .unwrap();
        assert_eq!(total_ir(&f), Ok(456));
        std::fs::write(&f, "events: Ir\nsummary: 99\n").unwrap();
        assert_eq!(total_ir(&f), Ok(99));
        std::fs::write(&f, "events: Ir\n").unwrap();
        assert!(total_ir(&f).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn count_op_rejects_unknown_ops_and_sizes() {
        assert!(count_op("locks/NoSuchLock", 10)
            .unwrap_err()
            .contains("locks/FutexMutex"));
        assert!(count_op("locks/FutexMutex", 0).is_err());
        count_op("locks/FutexMutex", 10).unwrap();
    }
}
