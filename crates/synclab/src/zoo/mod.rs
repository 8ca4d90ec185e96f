//! The bug zoo: deliberately broken designs, kept so that the checkers can be seen catching
//! them. Nothing else in the library uses this module.
//!
//! Each entry names the bug, where it comes from (a line of the seed document or a classic
//! pattern), and the design in the library that fixes it. The verification crate runs each
//! entry as an expected failure; `docs/zoo.md` shows the counterexamples.

pub mod array;
pub mod deque;
pub mod locks;
pub mod pool;
pub mod queue;
