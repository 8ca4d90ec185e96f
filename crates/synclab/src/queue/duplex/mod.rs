//! The duplex ring; documented on [`Duplex`]. Its placement in a segment is in `segment.rs`.

use core::fmt;
use core::marker::PhantomData;
use core::mem::MaybeUninit;

use super::CapacityError;
use crate::shm::{owner, Heap, HeapMemory, Memory, Region};
use crate::sync::atomic::{AtomicU32, Ordering::*};
use crate::sync::hint::{spin_limit, spin_loop};
use crate::sync::time::Instant;
use crate::sync::UnsafeCell;

#[cfg(target_os = "linux")]
mod segment;

/// Slot `k` of both directions: direction `d`'s stamp, receipt and value are `stamp[d]`,
/// `ack[d]`, `value[d]`. On a cache line of its own (64 bytes on x86-64 and aarch64); a `u64`
/// pair takes 32 of them.
#[repr(C, align(64))]
struct Pair<T> {
    stamp: [AtomicU32; 2],
    ack: [AtomicU32; 2],
    value: [UnsafeCell<MaybeUninit<T>>; 2],
}

/// The words of one end, on a line of their own: written by the end's holder only (on the
/// fast path), so the holder's records cost a store to a line it already owns.
#[repr(C, align(64))]
struct EndWords {
    /// The holder's tag, or `owner::FREE`.
    owner: AtomicU32,
    /// Positions sent by this end (a record for a successor).
    sent: AtomicU32,
    /// Positions received by this end (a successor's start).
    received: AtomicU32,
}

/// The two ends' words.
#[repr(C)]
struct Ends([EndWords; 2]);

impl fmt::Debug for Ends {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ends").finish_non_exhaustive()
    }
}

impl<T> fmt::Debug for Pair<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pair").finish_non_exhaustive()
    }
}

impl Ends {
    fn new() -> Self {
        let end = || EndWords {
            owner: AtomicU32::new(owner::FREE),
            sent: AtomicU32::new(0),
            received: AtomicU32::new(0),
        };
        Ends([end(), end()])
    }
}

impl<T> Pair<T> {
    fn new() -> Self {
        Pair {
            stamp: [AtomicU32::new(0), AtomicU32::new(0)],
            ack: [AtomicU32::new(0), AtomicU32::new(0)],
            value: [
                UnsafeCell::new(MaybeUninit::uninit()),
                UnsafeCell::new(MaybeUninit::uninit()),
            ],
        }
    }
}

/// Two bounded single-producer single-consumer rings in memory `M`, one per direction, slot
/// `k` of both on one cache line.
///
/// A duplex ring: two single-producer single-consumer rings, one per direction, whose slots
/// share cache lines — so that a request and its answer travel in one line.
///
/// Sources: Lamport's single-producer single-consumer ring ("Specifying concurrent program
/// modules", 1983) with the per-slot full marks of FastForward (Giacomoni, Moseley and
/// Vachharajani, PPoPP 2008), so the receiver never reads the sender's position; per-slot
/// receipts instead of a shared consumer position, so the sender never reads the
/// receiver's; Vyukov's per-slot sequence stamps (as in the [array queue](super::ArrayQueue))
/// for the full marks.
///
/// # Why two directions in one line
///
/// A round trip between two spinning peers moves, at best, one cache line each way: the
/// `processes/roundtrip-spinning` floor is two processes taking turns on one line. A ring per
/// direction with lines of its own moves two lines per round trip (the request's, then the
/// answer's), and a write-once array a fresh line per handoff; both measured well above the
/// floor (docs/benchmarks.md). Here slot `k` of both directions is one line, a `Pair`: the
/// receiver of a request writes its answer into the line it has just read, which is exactly
/// the floor's pattern. Each receiver also writes its receipt into that line, so a sender
/// learns that its slot is free from the line it is about to write, not from a line of the
/// peer's. A round trip with one message in flight each way therefore wants
/// `with_capacity(1)`: one line carries every request and answer, reused, as in the floor;
/// with more slots each round trip moves to the next line, which costs about as much again
/// as the floor's handoff (docs/notes/round-trip.md). A one-way stream pays one more
/// ownership change of each line per message (the receipt), for a bounded ring with no
/// shared positions.
///
/// # The protocol
///
/// Each direction `d` (from end `d` to end `1 - d`) has `capacity` slots. Positions count
/// from 0 and wrap at 2³² (capacities are at most [`MAX_CAPACITY`](super::MAX_CAPACITY) =
/// 2³¹, so a difference of positions is never ambiguous).
///
/// | word | written by | read by | meaning |
/// |---|---|---|---|
/// | `stamp[d]` of slot `k` | end `d` only, Release | end `1 - d`, Acquire | `p + 1` (wrapping): the slot holds the value of position `p`; `0` initially (nothing yet) |
/// | `ack[d]` of slot `k` | end `1 - d` only, Release, after copying a value out | end `d`, Acquire, before writing the slot | `p + 1`: position `p`'s value was taken out of this slot; `0` initially |
/// | `received` of end `e` | end `e` only, Relaxed, before the `ack` | the next holder of end `e` | positions end `e` has taken |
/// | `sent` of end `e` | end `e` only, Relaxed | the next holder of end `e` | positions end `e` has sent (for a successor) |
/// | `owner` of end `e` | CAS by whoever takes the end | takers; the peer's [`DuplexEnd::peer_died`] | the holder's tag, `owner::FREE` when nobody holds it |
///
/// Sending position `p` into slot `k = p mod capacity`: load the slot's `ack` (Acquire: the
/// peer's read of position `p - capacity`'s value happens before our overwrite of it); if
/// `p - ack ≥ capacity` that position is still in the slot (or, in the first lap, nothing has
/// been sent through it and `p < capacity`, so the test passes): hand the value back.
/// Otherwise write the value, then store `stamp = p + 1` (Release), then record
/// `sent = p + 1`.
///
/// Receiving position `p` from slot `k`: load the stamp (Acquire); unless it is `p + 1`,
/// nothing is there. Otherwise read the value out, record `received = p + 1`, store the
/// slot's `ack = p + 1` (Release) and return it.
///
/// The fast paths are plain loads and stores, no read-modify-write: a `swap` per handoff (what
/// a sleeping receiver would need the sender to do, to learn that it must wake it) costs about
/// as much as a second line. So the ring does not sleep:
/// `try_send` and `try_recv` never block, and [`DuplexEnd::recv_spinning`] busy-polls, as iceoryx2's
/// polling subscribers do. A receiver that must sleep uses the
/// [blocking queue](super::BlockingQueue) or the [laned array](crate::array::LanedArray).
///
/// # Ends and their holders
///
/// End `e` is taken with a CAS on its owner word (the holder's tag in tracked memory), and the
/// [`DuplexEnd`] handle is neither `Send` nor `Sync`: one thread sends and receives for an end at a
/// time, so every word and value above has one writer. Dropping the handle lets the end go
/// (Release) and the next taker continues from its records (Acquire).
///
/// # A holder that dies (tracked memory)
///
/// In a segment shared by processes ([`Shm`](crate::shm::Shm)) the holder of an end may be
/// killed at any step. A survivor that takes the end over (as [`Duplex::end`] allows once
/// the holder's tag is dead) continues from the records:
///
/// | the holder dies… | what is left | what the successor does |
/// |---|---|---|
/// | while writing a value | the slot's stamp still says the older position | overwrites it: the send never happened |
/// | after the stamp, before recording `sent` | a value sent, `sent` one short | sees `stamp == sent + 1` in its next outgoing slot and counts it: the value is delivered once |
/// | while copying a value out, before recording `received` | the value still in the slot, its `ack` not written | receives it again: a value is taken once by a holder that returned it |
/// | after recording `received`, before the `ack` | the value consumed, its slot still looks taken to the sender | writes the `ack` of position `received - 1` again (the sender may only then reuse the slot) |
/// | after the `ack` | the value consumed | nothing to do (the dead holder had it) |
///
/// The peer keeps working meanwhile: its sends fill the ring and then hand values back, its
/// receives find nothing, and [`DuplexEnd::peer_died`] tells it why.
///
/// ```
/// use synclab::queue::Duplex;
///
/// let ring = Duplex::<u64>::with_capacity(4).unwrap();
/// let mut client = ring.end(0).unwrap();
/// let mut server = ring.end(1).unwrap();
/// client.try_send(41).unwrap();
/// let request = server.try_recv().unwrap();
/// server.try_send(request + 1).unwrap();
/// assert_eq!(client.try_recv(), Some(42));
/// assert_eq!(client.try_recv(), None);
/// ```
pub struct Duplex<T, M: Memory = Heap> {
    ring: M::Region<Ends, Pair<T>>,
}

// SAFETY: the ring owns the `T`s in flight and drops them; moving it moves them (`T: Send`).
unsafe impl<T: Send, M: Memory> Send for Duplex<T, M> {}
// SAFETY: through `&Duplex` the holders of the two ends move `T`s from one thread to another
// (`T: Send`); no `&T` is ever shared. Every access to a value is ordered by its slot's stamp
// and its receipt (see the SAFETY comments at each access).
unsafe impl<T: Send, M: Memory> Sync for Duplex<T, M> {}

impl<T, M: HeapMemory> Duplex<T, M> {
    /// A duplex ring of `capacity` slots per direction, on the heap (or in another heap memory
    /// `M`, such as a checker's model memory). A segment's ring is placed by
    /// [`Shared::create`](crate::shm::Shared::create).
    ///
    /// # Errors
    ///
    /// [`CapacityError`] for 0, more than [`MAX_CAPACITY`](super::MAX_CAPACITY), or a ring
    /// that cannot be allocated.
    pub fn with_capacity(capacity: usize) -> Result<Self, CapacityError> {
        let capacity = CapacityError::check(capacity)?;
        let mut slots = Vec::new();
        slots.try_reserve_exact(capacity).map_err(|_| {
            CapacityError::allocation_failed(capacity, core::mem::size_of::<Pair<T>>())
        })?;
        slots.extend((0..capacity).map(|_| Pair::new()));
        Ok(Self {
            // Exact: `into_boxed_slice` does not reallocate.
            ring: M::region(Ends::new(), slots.into_boxed_slice()),
        })
    }
}

impl<T, M: Memory> Duplex<T, M> {
    #[inline(always)]
    fn slots(&self) -> &[Pair<T>] {
        self.ring.elems()
    }

    #[inline(always)]
    fn words(&self, end: usize) -> &EndWords {
        &self.ring.header().0[end]
    }

    /// Slots per direction.
    pub fn capacity(&self) -> usize {
        self.slots().len()
    }

    /// Takes end `end` (0 or 1) for the calling thread: the right to send in direction `end`
    /// and to receive from direction `1 - end`, until the handle is dropped.
    ///
    /// An end has one holder at a time: [`EndError::Taken`] while another thread holds it (or
    /// this one does). In tracked memory an end whose holder died is taken over; the
    /// successor continues from the dead holder's records (see `Duplex`).
    pub fn end(&self, end: usize) -> Result<DuplexEnd<'_, T, M>, EndError> {
        if end > 1 {
            return Err(EndError::NoSuchEnd { end });
        }
        let words = self.words(end);
        // Acquire (in `take`): pairs with the Release in `DuplexEnd::drop` (or the kernel's
        // edge for a dead holder): the previous holder's records and values happen before
        // our use.
        let tag = owner::take::<M>(&words.owner).ok_or(EndError::Taken { end })?;
        let cap = self.capacity();
        // Relaxed: ordered by the Acquire above; only this end's holders write these.
        let mut sent = words.sent.load(Relaxed);
        let received = words.received.load(Relaxed);
        // A holder that died after its stamp and before its record sent one more than it
        // recorded: its value is in the next outgoing slot, stamped `sent + 1`.
        // Relaxed: the stamp was stored by this end's previous holder, whose stores the
        // handover above (the Acquire CAS, or the kernel's edge for a dead holder) already
        // orders before this load; we only compare it, and read no value.
        let next = &self.slots()[sent as usize % cap];
        if next.stamp[end].load(Relaxed) == sent.wrapping_add(1) {
            sent = sent.wrapping_add(1);
            words.sent.store(sent, Relaxed);
        }
        // A holder that died after recording `received` and before its receipt left the slot
        // of position `received - 1` looking taken: write the receipt again (the same word a
        // live holder writes last; rewriting it when it is there already changes nothing).
        // Release: pairs with the peer's Acquire load of `ack` in `send_until`: the dead
        // holder's read of that value (ordered before us by the handover) happens before the
        // peer's overwrite.
        let last = (received as usize % cap + cap - 1) % cap;
        self.slots()[last].ack[1 - end].store(received, Release);
        Ok(DuplexEnd {
            ring: self,
            me: end,
            tag,
            sent,
            out_slot: sent as usize % cap,
            received,
            in_slot: received as usize % cap,
            _thread: PhantomData,
        })
    }
}

/// Why [`Duplex::end`] refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum EndError {
    /// `end` is not 0 or 1.
    NoSuchEnd {
        /// The end asked for.
        end: usize,
    },
    /// Another live thread holds the end (or the calling thread does, through another handle).
    Taken {
        /// The end asked for.
        end: usize,
    },
}

impl fmt::Display for EndError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EndError::NoSuchEnd { end } => {
                write!(f, "no end {end}: a duplex ring has ends 0 and 1")
            }
            EndError::Taken { end } => write!(f, "end {end} is held by a live thread"),
        }
    }
}

impl std::error::Error for EndError {}

/// Why [`DuplexEnd::recv_spinning`] returned no value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SpinRecvError {
    /// The deadline passed with nothing to receive.
    TimedOut,
    /// Nothing to receive, and the peer end's holder is dead (tracked memory only); a new
    /// holder may take its end over and send.
    PeerDied,
}

impl fmt::Display for SpinRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpinRecvError::TimedOut => write!(f, "timed out with nothing to receive"),
            SpinRecvError::PeerDied => {
                write!(f, "nothing to receive and the peer end's holder died")
            }
        }
    }
}

impl std::error::Error for SpinRecvError {}

/// `send_until` and `recv_until` run to the end, or stop as a process killed there would
/// (fault injection, `queue/fault.rs`).
const RUN_TO_END: u8 = 0;
pub(super) const STOP_AFTER_WRITE: u8 = 1;
pub(super) const STOP_AFTER_STAMP: u8 = 2;
pub(super) const STOP_AFTER_RECORD: u8 = 3;

/// One end of a [`Duplex`], held by the thread that took it until dropped: it sends in
/// direction `end` and receives from direction `1 - end`.
///
/// Neither `Send` nor `Sync`: the end's owner word names the thread that took it (its tag, in
/// tracked memory), and that thread's death is what lets a survivor take the end over.
///
/// ```compile_fail
/// use synclab::queue::Duplex;
///
/// fn send<S: Send>(_: S) {}
/// let ring = Duplex::<u64>::with_capacity(1).unwrap();
/// send(ring.end(0).unwrap());
/// ```
pub struct DuplexEnd<'a, T, M: Memory> {
    ring: &'a Duplex<T, M>,
    me: usize,
    tag: u32,
    /// The next position to send, and its slot.
    sent: u32,
    out_slot: usize,
    /// The next position to receive, and its slot.
    received: u32,
    in_slot: usize,
    _thread: PhantomData<*const ()>,
}

impl<T, M: Memory> DuplexEnd<'_, T, M> {
    /// Sends `value` to the peer, or hands it back if the ring towards the peer is full.
    /// Never blocks.
    #[inline]
    pub fn try_send(&mut self, value: T) -> Result<(), T> {
        self.send_until::<RUN_TO_END>(value)
    }

    #[inline(always)]
    pub(super) fn send_until<const STOP: u8>(&mut self, value: T) -> Result<(), T> {
        let ring = self.ring;
        let cap = ring.capacity() as u32;
        let slot = &ring.slots()[self.out_slot];
        // Acquire: pairs with the peer's Release store of the receipt in `try_recv` (or in
        // `end`, by its successor): its read of the value we are about to overwrite happens
        // before our write.
        if self.sent.wrapping_sub(slot.ack[self.me].load(Acquire)) >= cap {
            return Err(value);
        }
        // SAFETY: only this end's holder writes direction `me`'s values (the handle is neither
        // Send nor Sync and `end` hands an end to one thread at a time; an earlier holder's
        // writes happen before ours through the handover); the peer has taken the position
        // this slot held before (checked above, Acquire), and reads this one only after our
        // Release stamp below; `Drop` needs `&mut`, excluded by our borrow.
        slot.value[self.me].with_mut(|p| unsafe { (*p).write(value) });
        if STOP == STOP_AFTER_WRITE {
            return Ok(());
        }
        let next = self.sent.wrapping_add(1);
        // Release: pairs with the Acquire stamp load in `try_recv`: the value is visible to a
        // receiver that sees the stamp.
        slot.stamp[self.me].store(next, Release);
        if STOP == STOP_AFTER_STAMP {
            return Ok(());
        }
        // Relaxed: a record for a successor, which reads it after the handover's Acquire.
        ring.words(self.me).sent.store(next, Relaxed);
        self.sent = next;
        self.out_slot += 1;
        if self.out_slot == ring.capacity() {
            self.out_slot = 0;
        }
        Ok(())
    }

    /// Receives the peer's next value, or `None` if it has sent nothing more. Never blocks.
    #[inline]
    pub fn try_recv(&mut self) -> Option<T> {
        self.recv_until::<RUN_TO_END>()
    }

    #[inline(always)]
    pub(super) fn recv_until<const STOP: u8>(&mut self) -> Option<T> {
        let ring = self.ring;
        let from = 1 - self.me;
        let slot = &ring.slots()[self.in_slot];
        let next = self.received.wrapping_add(1);
        // Acquire: pairs with the sender's Release stamp store: its write of the value
        // happens before our read.
        if slot.stamp[from].load(Acquire) != next {
            return None;
        }
        // SAFETY: the stamp says the slot holds position `received`, written before the
        // stamp (Acquire above); the sender does not overwrite it until it sees our receipt
        // below (Release/Acquire); only this end's holder receives from direction `from`, and
        // it moves the value out once: the record moves our position past it.
        let value = slot.value[from].with(|p| unsafe { (*p).assume_init_read() });
        // Relaxed: a record for a successor, which reads it after the handover's Acquire. It
        // comes before the receipt: a successor that finds it must not take the value again,
        // and one that does not finds the value still in the slot (no receipt let the sender
        // overwrite it).
        ring.words(self.me).received.store(next, Relaxed);
        if STOP == STOP_AFTER_RECORD {
            return Some(value);
        }
        // Release: pairs with the Acquire load of `ack` in the peer's `send_until`: our read
        // of the value happens before the sender's next write of the slot.
        slot.ack[from].store(next, Release);
        self.received = next;
        self.in_slot += 1;
        if self.in_slot == ring.capacity() {
            self.in_slot = 0;
        }
        Some(value)
    }

    /// Busy-polls [`try_recv`](Self::try_recv) until a value comes, `deadline` (if any) passes,
    /// or — in tracked memory, asked once every [`Memory::POLL`] of polling — the peer end's
    /// holder is found dead. Uses a CPU for the whole wait: for peers that own their CPUs.
    pub fn recv_spinning(&mut self, deadline: Option<Instant>) -> Result<T, SpinRecvError> {
        // Under a checker the clock is frozen and every poll is a scheduling point: look at
        // the clock and ask about the peer at every poll, or a dead peer would never be seen.
        let every = spin_limit(256);
        let checker = crate::sync::WORLD != crate::sync::World::Plain;
        let mut polls: u32 = 0;
        let mut next_check = None;
        loop {
            if let Some(v) = self.try_recv() {
                return Ok(v);
            }
            spin_loop();
            polls = polls.wrapping_add(1);
            // The clock every 256 polls: a clock read costs as much as a handoff.
            if polls % every != 0 {
                continue;
            }
            let now = Instant::now();
            if deadline.is_some_and(|d| now >= d) {
                return self.try_recv().ok_or(SpinRecvError::TimedOut);
            }
            if M::TRACKED {
                // A liveness check is a system call: once every POLL of polling.
                let due = *next_check.get_or_insert_with(|| now.checked_add(M::POLL));
                if checker || due.is_none_or(|d| now >= d) {
                    next_check = Some(now.checked_add(M::POLL));
                    if self.peer_died() {
                        // A last look: the peer may have sent before it died.
                        return self.try_recv().ok_or(SpinRecvError::PeerDied);
                    }
                }
            }
        }
    }

    /// Whether the peer end is held by a thread that is gone for good (tracked memory only;
    /// always `false` on the heap). A free peer end (never taken, or let go) is not dead.
    pub fn peer_died(&self) -> bool {
        owner::holder_dead::<M>(&self.ring.words(1 - self.me).owner)
    }
}

impl<T, M: Memory> Drop for DuplexEnd<'_, T, M> {
    fn drop(&mut self) {
        // Release (in `let_go`): pairs with the Acquire in `end`: our sends, receives and
        // records happen before the next holder's.
        owner::let_go::<M>(&self.ring.words(self.me).owner, self.tag);
    }
}

impl<T, M: Memory> fmt::Debug for DuplexEnd<'_, T, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DuplexEnd")
            .field("end", &self.me)
            .field("sent", &self.sent)
            .field("received", &self.received)
            .finish_non_exhaustive()
    }
}

impl<T, M: Memory> Drop for Duplex<T, M> {
    fn drop(&mut self) {
        // Values that need no drop (every value in a segment: `Plain` is `Copy`) are left
        // alone: a segment's slots belong to every process that maps it, not to this handle.
        if !core::mem::needs_drop::<T>() {
            return;
        }
        let cap = self.capacity();
        let mut in_flight = Vec::new();
        for d in 0..2 {
            // Relaxed: `&mut self` proves no handle is alive (they borrow the ring), and
            // whatever gave us exclusive access ordered their accesses before ours. On the
            // heap nobody dies, so the records are exact.
            let sent = self.words(d).sent.load(Relaxed);
            let taken = self.words(1 - d).received.load(Relaxed);
            // A holder that died after a stamp and before its record leaves `sent` one short;
            // if the peer then took that value, `taken` is ahead: nothing is in flight.
            let count = match sent.wrapping_sub(taken) {
                n if n <= cap as u32 => n,
                _ => 0,
            };
            in_flight.extend((0..count).map(|i| (d, taken.wrapping_add(i) as usize % cap)));
        }
        let slots = self.slots();
        // Every value in flight is dropped even if one's `Drop` panics, as `Vec` does.
        crate::cleanup::drop_each(0..in_flight.len(), |i| {
            let (d, k) = in_flight[i];
            // SAFETY: position `taken + i` was sent (its value written) and not taken, so slot
            // `k` of direction `d` holds an initialised value; each (d, k) is visited once and
            // the ring is never used again.
            slots[k].value[d].with_mut(|p| unsafe { (*p).assume_init_drop() });
        });
    }
}

impl<T, M: Memory> fmt::Debug for Duplex<T, M> {
    /// Shows the capacity only: positions change under our feet.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Duplex")
            .field("capacity", &self.capacity())
            .finish_non_exhaustive()
    }
}
