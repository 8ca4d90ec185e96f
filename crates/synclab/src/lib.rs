#![doc = include_str!("../README.md")]

pub mod array;
pub mod lock;
pub mod pool;
pub mod queue;
pub mod shm;
pub mod sync;
pub mod zoo;
