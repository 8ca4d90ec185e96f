//! Time under a model checker: a clock that does not move.
//!
//! loom and shuttle replay executions and must see the same choices on every replay, so real
//! time cannot steer a model. Under both checkers [`Instant::now`] always returns the same
//! instant: a deadline in the future never passes by itself, and a deadline of "now" (a zero
//! timeout) has passed at once. Timeouts of futex waits are instead *explored* by the futex
//! model (see [`crate::sync::futex`]).

use core::ops::{Add, AddAssign, Sub, SubAssign};
use core::time::Duration;

/// An instant of the frozen clock: an offset from the one moment [`Instant::now`] returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(Duration);

impl Instant {
    /// The clock's only "now".
    #[inline]
    pub fn now() -> Self {
        Instant(Duration::ZERO)
    }

    /// Time from `earlier` to `self`, or zero if `earlier` is later (as std saturates).
    #[inline]
    pub fn duration_since(&self, earlier: Instant) -> Duration {
        self.saturating_duration_since(earlier)
    }

    /// Time from `earlier` to `self`, or zero if `earlier` is later.
    #[inline]
    pub fn saturating_duration_since(&self, earlier: Instant) -> Duration {
        self.0.saturating_sub(earlier.0)
    }

    /// Time since `self`: zero, since the clock does not move.
    #[inline]
    pub fn elapsed(&self) -> Duration {
        Instant::now().saturating_duration_since(*self)
    }

    /// `self + duration`, or `None` on overflow.
    #[inline]
    pub fn checked_add(&self, duration: Duration) -> Option<Instant> {
        self.0.checked_add(duration).map(Instant)
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;
    fn add(self, duration: Duration) -> Instant {
        self.checked_add(duration)
            .expect("overflow when adding duration to instant")
    }
}

impl AddAssign<Duration> for Instant {
    fn add_assign(&mut self, duration: Duration) {
        *self = *self + duration;
    }
}

impl Sub<Duration> for Instant {
    type Output = Instant;
    fn sub(self, duration: Duration) -> Instant {
        self.0
            .checked_sub(duration)
            .map(Instant)
            .expect("overflow when subtracting duration from instant")
    }
}

impl SubAssign<Duration> for Instant {
    fn sub_assign(&mut self, duration: Duration) {
        *self = *self - duration;
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;
    fn sub(self, earlier: Instant) -> Duration {
        self.saturating_duration_since(earlier)
    }
}
