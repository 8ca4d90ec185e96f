//! synclab — shared-memory synchronization, side by side, model-checked and measured.
//!
//! The crate is built in layers (bottom up):
//!
//! * [`sync`] — the only module that knows which world it runs in (real threads, loom or
//!   shuttle). Every other module imports its atomics, cells, threads and futex from here.
//!
//! See `docs/` in the repository for the designs, what was verified within which bounds, and
//! the measured results.
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod sync;
