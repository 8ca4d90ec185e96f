//! What a segment shared by processes adds to the queue: announcements before claims, the
//! repair of slots a dead peer left claimed, and the bounds on a call that meets words a
//! faulty peer wrote. Documented on [`ArrayQueue`] ("In a segment"). In untracked memory
//! (`M::TRACKED` is a constant `false`, as on the heap) none of this is compiled: the hooks
//! below are `if M::TRACKED` and the cold functions are never called.

use core::time::Duration;

use super::{ArrayQueue, Slot};
use crate::shm::Memory;
use crate::sync::atomic::Ordering;
use crate::sync::time::Instant;

/// Tracked memory: a stamp bit marking a slot whose producer died after claiming it; the slot
/// holds no value and consumers pop past it.
pub(super) const ABANDONED: usize = 1 << (usize::BITS - 1);

/// An announcement's operation bit: a pop (clear: a push).
const OP_POP: u64 = 1 << 63;

/// The announcement of a call that gave up without claiming: no operation (a position this
/// far up is never reached; only a peer's garbage could name it).
const OP_NONE: u64 = u64::MAX - 1;

/// How many rounds a tracked thread waits on a stalled slot before it asks whether the
/// claimant is alive (each round a backoff step; the ask is a system call per live entry of
/// the attach table). One under a checker.
const STALL_ROUNDS: u32 = crate::sync::hint::spin_limit(64);

/// Tracked memory: how long a call may have stalled before, finding a slot in a state that
/// `head`, `tail` and the stamp together cannot be in — which only words a peer wrote can
/// make — it gives up and reports the queue full (push) or empty (pop). Long against any
/// delay in seeing another thread's stores; never reached under a checker, whose clock does
/// not move.
const JUDGE_AFTER: Duration = Duration::from_millis(2);

/// Tracked memory: how long a call waits on stalled slots at most before it gives up
/// (reports full or empty): a peer stopped between its claim and its stamp store, or a
/// corruption that looks like one. The bound of every `try_push` and `try_pop` in a segment.
pub(crate) const STALL_LIMIT: Duration = Duration::from_secs(1);

/// Tracked memory: one call's waits on stalled positions.
pub(super) struct Stall {
    /// The position waited on now, and the rounds waited on it.
    position: usize,
    rounds: u32,
    /// When the call first waited [`STALL_ROUNDS`] rounds on a position: its bounds count
    /// from here, across positions (a corrupted ring can stall a call at one position after
    /// another).
    since: Option<Instant>,
    /// Whether the call has announced a position (which a give-up takes back: an
    /// announcement says "I may have claimed this").
    announced: bool,
}

impl Stall {
    pub(super) fn new() -> Self {
        Stall {
            position: usize::MAX,
            rounds: 0,
            since: None,
            announced: false,
        }
    }

    /// Counts a round at `position`; every [`STALL_ROUNDS`] rounds on the same position,
    /// `Some(time the call has stalled)`.
    fn round(&mut self, position: usize) -> Option<Duration> {
        if self.position != position {
            self.position = position;
            self.rounds = 0;
        }
        self.rounds += 1;
        if self.rounds < STALL_ROUNDS {
            return None;
        }
        self.rounds = 0;
        let now = Instant::now();
        Some(now.saturating_duration_since(*self.since.get_or_insert(now)))
    }
}

impl<T, M: Memory> ArrayQueue<T, M> {
    /// Announces a push of position `tail` before its CAS (tracked memory only).
    #[inline(always)]
    pub(super) fn announce_push(&self, stall: &mut Stall, tail: usize) {
        if M::TRACKED {
            M::announce(self.ctx(), tail as u64);
            stall.announced = true;
        }
    }

    /// Announces a pop of position `head` before its CAS (tracked memory only).
    #[inline(always)]
    pub(super) fn announce_pop(&self, stall: &mut Stall, head: usize) {
        if M::TRACKED {
            M::announce(self.ctx(), OP_POP | head as u64);
            stall.announced = true;
        }
    }

    /// A pop at `head` found `stamp`, which is neither "full" nor "empty" for it: a push
    /// abandoned by its dead producer is skipped (the position taken, the slot freed, nothing
    /// read); otherwise this is a stall as `pop_stalled` handles it. `true`: give up (report
    /// empty).
    #[cold]
    pub(super) fn pop_past(
        &self,
        stall: &mut Stall,
        slot: &Slot<T>,
        head: usize,
        stamp: usize,
    ) -> bool {
        if stamp != head.wrapping_add(1) | ABANDONED {
            return self.pop_stalled(stall, slot, head, stamp);
        }
        // A push whose producer died after its claim: take the position and free the slot
        // without reading it. SeqCst: as the consumers' CAS in `pop`.
        M::announce(self.ctx(), OP_POP | head as u64);
        stall.announced = true;
        if self
            .ends()
            .head
            .compare_exchange(
                head,
                self.next_position(head),
                Ordering::SeqCst,
                Ordering::Relaxed,
            )
            .is_ok()
        {
            // Release: pairs with the next lap's producer's Acquire stamp load.
            slot.stamp
                .store(head.wrapping_add(self.one_lap), Ordering::Release);
            self.ends().abandoned.fetch_add(1, Ordering::Relaxed);
        }
        false
    }

    /// Tracked memory: a call gives up without having claimed a position: its announcement,
    /// if it made one, is taken back, so that no survivor waits for it as for a live claimant.
    #[cold]
    pub(super) fn give_up(&self, stall: &Stall) {
        if stall.announced {
            M::announce(self.ctx(), OP_NONE);
        }
    }

    /// Tracked memory: a push waits on `slot` at position `tail`, stamped `stamp`. Every
    /// [`STALL_ROUNDS`] rounds it frees the slot if its consumer died, and gives up (`true`:
    /// report full) if the view has been impossible for [`JUDGE_AFTER`] or the wait has lasted
    /// [`STALL_LIMIT`].
    #[cold]
    pub(super) fn push_stalled(
        &self,
        stall: &mut Stall,
        slot: &Slot<T>,
        tail: usize,
        stamp: usize,
    ) -> bool {
        let Some(waited) = stall.round(tail) else {
            return false;
        };
        // Full from the previous lap (perhaps an abandoned push being skipped): its consumer
        // may have died between its claim and its stamp store.
        let previous_lap = (stamp & !ABANDONED).wrapping_add(self.one_lap) == tail.wrapping_add(1);
        if previous_lap {
            self.free_if_consumer_died(slot, stamp);
        }
        let give_up = waited >= STALL_LIMIT
            || (waited >= JUDGE_AFTER && !self.push_view_possible(tail, stamp));
        if give_up {
            self.give_up(stall);
        }
        give_up
    }

    /// Whether a slot stamped `stamp` can stall a push at `tail` in a queue no peer corrupted:
    /// the previous lap's producer between its claim and its stamp store (then the queue is
    /// full: `head` is that position), or the previous lap's consumer between its claim and
    /// its stamp store (then `head` has moved past it) — or our `tail` is stale.
    #[cold]
    fn push_view_possible(&self, tail: usize, stamp: usize) -> bool {
        // Relaxed: a look after the wait has lasted long past any delay in seeing stores.
        let head = self.ends().head.load(Ordering::Relaxed);
        let previous = tail.wrapping_sub(self.one_lap);
        if stamp == previous {
            return head == previous;
        }
        if (stamp & !ABANDONED).wrapping_add(self.one_lap) == tail.wrapping_add(1) {
            return tail.wrapping_sub(head) < self.one_lap;
        }
        self.ends().tail.load(Ordering::Relaxed) & !self.mark_bit != tail
    }

    /// Tracked memory: a pop waits on `slot` at position `head`, stamped `stamp`. Every
    /// [`STALL_ROUNDS`] rounds it abandons the slot if its producer died, and gives up
    /// (`true`: report empty) as [`push_stalled`](Self::push_stalled) does.
    #[cold]
    pub(super) fn pop_stalled(
        &self,
        stall: &mut Stall,
        slot: &Slot<T>,
        head: usize,
        stamp: usize,
    ) -> bool {
        let Some(waited) = stall.round(head) else {
            return false;
        };
        if stamp == head {
            // Claimed by a producer that has not written: it may have died there.
            self.abandon_if_producer_died(slot, head);
        }
        let give_up = waited >= STALL_LIMIT
            || (waited >= JUDGE_AFTER && !self.pop_view_possible(head, stamp));
        if give_up {
            self.give_up(stall);
        }
        give_up
    }

    /// Whether a slot stamped `stamp` can stall a pop at `head` in a queue no peer corrupted:
    /// this lap's producer between its claim and its stamp store (then `tail` is past `head`,
    /// by at most a lap), or the previous lap's consumer between its claim and its stamp store
    /// — or our `head` is stale.
    #[cold]
    fn pop_view_possible(&self, head: usize, stamp: usize) -> bool {
        if stamp == head {
            // Relaxed: as in `push_view_possible`.
            let tail = self.ends().tail.load(Ordering::Relaxed) & !self.mark_bit;
            return tail.wrapping_sub(head) <= self.one_lap;
        }
        if (stamp & !ABANDONED).wrapping_add(self.one_lap) == head.wrapping_add(1) {
            return true;
        }
        self.ends().head.load(Ordering::Relaxed) != head
    }

    /// Tracked memory: frees `slot` (stamped `stamp`, full from the previous lap) if the
    /// consumer that claimed it died before freeing it; the item is lost with it.
    #[cold]
    fn free_if_consumer_died(&self, slot: &Slot<T>, stamp: usize) {
        let position = (stamp & !ABANDONED).wrapping_sub(1);
        // Acquire: pairs with the claimant's SeqCst CAS on `head` (and the release sequence
        // after it), so its announcement — made before that CAS — is visible to the check.
        let _ = self.ends().head.load(Ordering::Acquire);
        if M::claimant_dead(self.ctx(), OP_POP | position as u64) {
            // Relaxed: the slot carries no value any more; the next producer's Acquire stamp
            // load orders nothing beyond what the dead consumer left.
            if slot
                .stamp
                .compare_exchange(
                    stamp,
                    position.wrapping_add(self.one_lap),
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                )
                .is_ok()
            {
                self.ends().lost.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Tracked memory: marks `slot` (claimed for `position`, never written) [`ABANDONED`] if
    /// its producer died, so consumers pop past it.
    #[cold]
    fn abandon_if_producer_died(&self, slot: &Slot<T>, position: usize) {
        // Acquire: pairs with the claimant's SeqCst CAS on `tail`, so its announcement is
        // visible to the check.
        let _ = self.ends().tail.load(Ordering::Acquire);
        if M::claimant_dead(self.ctx(), position as u64) {
            // Relaxed: an abandoned slot publishes no value.
            let _ = slot.stamp.compare_exchange(
                position,
                position.wrapping_add(1) | ABANDONED,
                Ordering::Relaxed,
                Ordering::Relaxed,
            );
        }
    }
}
