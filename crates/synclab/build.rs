//! Sets `cfg(synclab_plain)` when neither model checker's cfg is given, so that code outside
//! the `sync` layer says "only on real threads and real memory" without naming the checkers
//! (which only `src/sync/` may do).

fn main() {
    println!("cargo::rustc-check-cfg=cfg(synclab_plain)");
    println!("cargo::rerun-if-env-changed=CARGO_CFG_SYNCLAB_LOOM");
    println!("cargo::rerun-if-env-changed=CARGO_CFG_SYNCLAB_SHUTTLE");
    let checker = std::env::var_os("CARGO_CFG_SYNCLAB_LOOM").is_some()
        || std::env::var_os("CARGO_CFG_SYNCLAB_SHUTTLE").is_some();
    if !checker {
        println!("cargo::rustc-cfg=synclab_plain");
    }
}
