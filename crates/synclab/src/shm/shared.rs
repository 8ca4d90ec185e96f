//! [`Shm`]: the [`Memory`] of designs placed in a [`Segment`], and [`Shared<D>`], a segment
//! holding one design.

use core::ptr::NonNull;
use core::time::Duration;

use std::sync::Arc;

use super::attach;
use super::error::{OpenError, SegmentOptions};
use super::mapping::Mapping;
use super::segment::{Layout, Segment, PARAMS_MAX};
use super::{Memory, Params, Region};

/// The memory of a [`Segment`] shared by processes: regions inside the mapping, shared
/// futexes (no `FUTEX_PRIVATE_FLAG`), and peers that may die mid-operation (tracked: tags
/// from the segment's attach table, liveness from the entries' byte-range locks, sleeps
/// bounded by [`Shm::POLL`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct Shm;

/// A region of a segment: a header and elements inside the mapping, which it keeps mapped.
pub struct ShmRegion<H, E> {
    _mapping: Arc<Mapping>,
    header: NonNull<H>,
    elems: NonNull<E>,
    len: usize,
}

// SAFETY: the region only hands out `&H` and `&[E]`; sharing or sending it shares those, so
// `H, E: Sync` is what it needs (the mapping itself is Send + Sync).
unsafe impl<H: Sync, E: Sync> Send for ShmRegion<H, E> {}
// SAFETY: as above.
unsafe impl<H: Sync, E: Sync> Sync for ShmRegion<H, E> {}

impl<H, E> Region<H, E> for ShmRegion<H, E> {
    #[inline(always)]
    fn header(&self) -> &H {
        // SAFETY: the header was placed (initialised by the creator, before `ready`) inside
        // the mapping this region keeps alive, aligned for H.
        unsafe { self.header.as_ref() }
    }
    #[inline(always)]
    fn elems(&self) -> &[E] {
        // SAFETY: as for the header: `len` initialised, aligned elements inside the mapping.
        unsafe { core::slice::from_raw_parts(self.elems.as_ptr(), self.len) }
    }
}

impl<H, E> core::fmt::Debug for ShmRegion<H, E> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ShmRegion")
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

/// Places regions one after another in a segment's data area, the same way in the creator
/// (which initialises them) and in every opener (which only finds them).
pub struct Cursor<'a> {
    mapping: &'a Arc<Mapping>,
    offset: usize,
    create: bool,
}

impl core::fmt::Debug for Cursor<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Cursor")
            .field("offset", &self.offset)
            .field("create", &self.create)
            .finish_non_exhaustive()
    }
}

/// `offset` rounded up to `align`, plus `size`; `None` on overflow.
fn bump(offset: usize, align: usize, size: usize) -> Option<(usize, usize)> {
    let start = offset.checked_add(align - 1)? & !(align - 1);
    Some((start, start.checked_add(size)?))
}

/// Bytes a region of header `H` and `len` elements `E` takes when placed at `offset`, and
/// where the next region may start; `None` on overflow. Designs' [`Design::size`] add these
/// up in the order their [`Design::build`] places the regions.
pub fn region_end<H, E>(offset: usize, len: usize) -> Option<usize> {
    let (_, after_header) = bump(offset, align_of::<H>().max(64), size_of::<H>())?;
    let (_, end) = bump(
        after_header,
        align_of::<E>(),
        size_of::<E>().checked_mul(len)?,
    )?;
    Some(end)
}

use core::mem::{align_of, size_of};

impl Cursor<'_> {
    /// Places a region: in the creator, writes `header()` and `elem(i)` for `i < len`; in an
    /// opener, finds the creator's.
    ///
    /// # Safety
    ///
    /// `H` and `E` must be fit to live in shared memory: no pointers or references into a
    /// process, no meaningful `Drop` (the segment outlives every process and is never
    /// dropped), and valid for whatever bytes a peer — possibly one that died mid-write —
    /// left: made of atomics, `UnsafeCell`s of [`Plain`](crate::shm::Plain) data guarded by
    /// the design, and plain data. Every process must place the same regions in the same order.
    pub unsafe fn region<H, E>(
        &mut self,
        header: impl FnOnce() -> H,
        mut elem: impl FnMut(usize) -> E,
        len: usize,
    ) -> Result<ShmRegion<H, E>, OpenError> {
        let (data, data_len) = self.mapping.data();
        let overflow = || OpenError::BadParams {
            reason: format!("a region of {len} elements does not fit in memory"),
        };
        let (h_start, h_end) =
            bump(self.offset, align_of::<H>().max(64), size_of::<H>()).ok_or_else(overflow)?;
        let (e_start, e_end) = bump(
            h_end,
            align_of::<E>(),
            size_of::<E>().checked_mul(len).ok_or_else(overflow)?,
        )
        .ok_or_else(overflow)?;
        if e_end > data_len {
            return Err(OpenError::SizeMismatch {
                name: String::from("(region)"),
                recorded: e_end as u64,
                actual: data_len as u64,
            });
        }
        // SAFETY: both ranges are inside the data area (checked above) and aligned (bump).
        let (hp, ep) = unsafe { (data.add(h_start).cast::<H>(), data.add(e_start).cast::<E>()) };
        if self.create {
            // SAFETY: the creator initialises fresh memory nobody else reads before `ready`;
            // in bounds and aligned as above.
            unsafe {
                hp.write(header());
                for i in 0..len {
                    ep.add(i).write(elem(i));
                }
            }
        }
        self.offset = e_end;
        Ok(ShmRegion {
            _mapping: Arc::clone(self.mapping),
            // SAFETY: inside a live mapping, so not null.
            header: unsafe { NonNull::new_unchecked(hp) },
            // SAFETY: as above (a zero-length slice may point at its region's start).
            elems: unsafe { NonNull::new_unchecked(ep) },
            len,
        })
    }
}

/// A design that can live in a segment.
///
/// # Safety
///
/// [`size`](Design::size) must return at least the bytes [`build`](Design::build) places
/// (the cursor reports a shortfall as an error, never overruns), and `build` must place the
/// same regions in the same order for the same parameters, in the creator and in an opener.
pub unsafe trait Design: Sized + Send + Sync {
    /// What the creator chooses (a length, a capacity), recorded in the segment's header so
    /// that an opener rebuilds the same layout.
    type Params: Params;
    /// The design's name, part of the layout hash.
    const LAYOUT: &'static str;
    /// Bumped whenever the design's layout in a segment changes.
    const VERSION: u32;
    /// Where the design's last region ends if its first is placed at `offset` of the data
    /// area; `None` if the parameters overflow.
    fn size(offset: usize, params: &Self::Params) -> Option<usize>;
    /// Places (creator) or finds (opener) the design's regions.
    fn build(cursor: &mut Cursor<'_>, params: &Self::Params) -> Result<Self, OpenError>;
}

/// A fixed-size object that can live in a segment by itself (a mutex, a condition variable);
/// placed with [`InSegment`].
///
/// # Safety
///
/// `Self` must be fit for shared memory as [`Cursor::region`]'s `H` must be.
pub unsafe trait Placeable: Send + Sync + Sized {
    /// What the creator chooses (an initial value), recorded in the header.
    type Params: Params;
    /// The object's name, part of the layout hash.
    const LAYOUT: &'static str;
    /// Bumped whenever the object's layout changes.
    const VERSION: u32;
    /// The initial object.
    fn init(params: &Self::Params) -> Self;
}

/// A fixed-size object in a segment: a handle that keeps the mapping and dereferences to the
/// object, which never moves.
pub struct InSegment<H>(ShmRegion<H, ()>);

impl<H> core::ops::Deref for InSegment<H> {
    type Target = H;
    fn deref(&self) -> &H {
        self.0.header()
    }
}

impl<H> core::fmt::Debug for InSegment<H> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("InSegment").finish_non_exhaustive()
    }
}

// SAFETY: one header-only region, sized by `region_end` for the same types.
unsafe impl<H: Placeable> Design for InSegment<H> {
    type Params = H::Params;
    const LAYOUT: &'static str = H::LAYOUT;
    const VERSION: u32 = H::VERSION;

    fn size(offset: usize, _: &H::Params) -> Option<usize> {
        region_end::<H, ()>(offset, 0)
    }

    fn build(cursor: &mut Cursor<'_>, params: &H::Params) -> Result<Self, OpenError> {
        // SAFETY: `Placeable`'s contract.
        unsafe { cursor.region(|| H::init(params), |_| (), 0) }.map(InSegment)
    }
}

macro_rules! tuple_design {
    ($($d:ident . $i:tt),+) => {
        // SAFETY: each design places its own regions, one after another in the order of the
        // tuple, in the creator and in an opener alike (each `build` advances the one
        // cursor); the size is where the last one ends, each counted from where the one
        // before ends.
        unsafe impl<$($d: Design),+> Design for ($($d,)+) {
            type Params = ($($d::Params,)+);
            const LAYOUT: &'static str = "synclab::shm::(designs)";
            const VERSION: u32 = 0u32 $(.wrapping_mul(31).wrapping_add($d::VERSION))+;

            fn size(offset: usize, params: &Self::Params) -> Option<usize> {
                let end = offset;
                $(let end = $d::size(end, &params.$i)?;)+
                Some(end)
            }

            fn build(cursor: &mut Cursor<'_>, params: &Self::Params) -> Result<Self, OpenError> {
                Ok(($($d::build(cursor, &params.$i)?,)+))
            }
        }
    };
}
tuple_design!(A.0, B.1);
tuple_design!(A.0, B.1, C.2);
tuple_design!(A.0, B.1, C.2, D.3);

/// FNV-1a over the design's name, its full type name and the size of its parameters.
fn layout_of<D: Design>() -> Layout {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let size = size_of::<D::Params>().to_le_bytes();
    for b in D::LAYOUT
        .bytes()
        .chain(core::any::type_name::<D>().bytes())
        .chain(size)
    {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    Layout {
        hash,
        version: u64::from(D::VERSION),
    }
}

/// A [`Segment`] holding one design `D`; dereferences to `D`.
///
/// ```
/// # #[cfg(target_os = "linux")] {
/// use synclab::array::{LockFreeArray, SharedArray};
/// use synclab::shm::{Shared, Shm, SegmentOptions};
///
/// let name = format!("/synclab-doc-{}", std::process::id());
/// let created = Shared::<LockFreeArray<u64, Shm>>::create(&name, &4, &SegmentOptions::new())?;
/// // Another process would do this (here: the same one, a second mapping).
/// let opened = Shared::<LockFreeArray<u64, Shm>>::open(&name, &SegmentOptions::new())?;
/// created.publish(2, 42).unwrap();
/// assert_eq!(opened.wait_checked(2).unwrap(), 42);
/// # }
/// # Ok::<(), synclab::shm::OpenError>(())
/// ```
pub struct Shared<D: Design> {
    design: D,
    segment: Segment,
}

impl<D: Design> Shared<D> {
    /// Creates segment `name` holding a new `D` built with `params`.
    pub fn create(
        name: &str,
        params: &D::Params,
        options: &SegmentOptions,
    ) -> Result<Self, OpenError> {
        let size = D::size(0, params).ok_or_else(|| OpenError::BadParams {
            reason: format!(
                "{} parameters need more memory than can be mapped",
                D::LAYOUT
            ),
        })?;
        let mut bytes = Vec::new();
        params.encode(&mut bytes);
        let segment = Segment::create_raw(name, size, layout_of::<D>(), &bytes, options)?;
        let design = D::build(
            &mut Cursor {
                mapping: segment.mapping(),
                offset: 0,
                create: true,
            },
            params,
        )?;
        segment.mark_ready();
        Ok(Self { design, segment })
    }

    /// Opens segment `name`, which must hold a `D` of this layout version.
    pub fn open(name: &str, options: &SegmentOptions) -> Result<Self, OpenError> {
        let segment = Segment::open_raw(name, layout_of::<D>(), options)?;
        let bytes = segment.params();
        let params = match D::Params::decode(&bytes) {
            Some((params, [])) => params,
            _ => {
                // Every value of the type encodes to the same length: measure a zeroed one.
                let mut expected = Vec::new();
                if let Some((zero, _)) = D::Params::decode(&[0; PARAMS_MAX]) {
                    zero.encode(&mut expected);
                }
                return Err(OpenError::LayoutMismatch {
                    name: name.to_string(),
                    found: bytes.len() as u64,
                    expected: expected.len() as u64,
                });
            }
        };
        // Exactly: the creator sized the object from these parameters, so a parameter that
        // does not match the object's size (a changed length word, a grown or shrunk object)
        // is refused rather than opened as a smaller or larger view.
        let needed = D::size(0, &params).unwrap_or(usize::MAX);
        let (_, have) = segment.mapping().data();
        if needed != have {
            return Err(OpenError::SizeMismatch {
                name: name.to_string(),
                recorded: needed as u64,
                actual: have as u64,
            });
        }
        let design = D::build(
            &mut Cursor {
                mapping: segment.mapping(),
                offset: 0,
                create: false,
            },
            &params,
        )?;
        Ok(Self { design, segment })
    }

    /// The segment.
    pub fn segment(&self) -> &Segment {
        &self.segment
    }
}

impl<D: Design> core::ops::Deref for Shared<D> {
    type Target = D;
    fn deref(&self) -> &D {
        &self.design
    }
}

impl<D: Design + core::fmt::Debug> core::fmt::Debug for Shared<D> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Shared")
            .field("segment", &self.segment)
            .field("design", &self.design)
            .finish()
    }
}

// SAFETY: shared futexes reach every process that maps the segment; regions are placed by
// `Cursor` inside the mapping they keep alive; tags are entries of the segment's attach table,
// unique among live threads (an entry is reclaimed only from a dead thread, and its generation
// changes), and `is_dead` answers from that table and the entries' byte locks (see `attach.rs`); a thread's
// announcement is stored in its own entry and read by `claimant_dead`.
unsafe impl Memory for Shm {
    const NAME: &'static str = "shm";
    const TRACKED: bool = true;
    /// A sleeper re-checks its peer's liveness every 20 ms: a death is noticed by a thread
    /// already asleep within 20 ms plus the check (a look-up and a system call). An operation
    /// that *starts* after the death notices it before it sleeps.
    const POLL: Duration = Duration::from_millis(20);

    type Region<H, E> = ShmRegion<H, E>;
    type Scope = crate::sync::futex::CrossProcess;

    /// The calling thread's tag in the segment holding `ctx`. A thread that cannot get one
    /// (the attach table full, or no description of its own to lock with) gets the *untracked* tag, which is never
    /// reported dead: its locks are waited for, never taken over (and the segment stops judging
    /// queue claims by announcement, see `attach.rs`) — safety first, at the price of not
    /// noticing that thread's death.
    #[inline]
    fn tag(ctx: *const ()) -> u32 {
        attach::mine(ctx as usize).map_or(attach::UNTRACKED_TAG, |m| m.tag)
    }

    fn is_dead(ctx: *const (), tag: u32) -> bool {
        if attach::mine(ctx as usize).is_some_and(|m| m.tag == tag) {
            return false; // ourselves
        }
        attach::mapping_of(ctx as usize).is_none_or(|m| m.is_dead(tag))
    }

    #[inline]
    fn announce(ctx: *const (), op: u64) {
        if let Some(m) = attach::mine(ctx as usize) {
            m.announce(op);
        }
    }

    fn claimant_dead(ctx: *const (), op: u64) -> bool {
        attach::mapping_of(ctx as usize).is_none_or(|m| m.claimant_dead(op))
    }
}
