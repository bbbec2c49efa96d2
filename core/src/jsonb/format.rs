//! The on-disk layout of a jsonb container, and the one JEntry walker.
//!
//! From `src/include/utils/jsonb.h` and `src/backend/utils/adt/jsonb_util.c`
//! (stable since PostgreSQL 9.4; the tests pin it to byte images captured
//! from PostgreSQL 15):
//!
//! ```text
//! container := header:u32  jentry:u32 * n  data
//!   header  = count & 0x0FFFFFFF | JB_FSCALAR 0x10000000
//!             | JB_FOBJECT 0x20000000 | JB_FARRAY 0x40000000
//!   n       = count (array) or 2 * count (object: all keys, then all values)
//! jentry  := HAS_OFF 0x80000000 | type 0x70000000 | offlen 0x0FFFFFFF
//!   offlen  = end offset of the child's data (HAS_OFF, every 32nd entry)
//!             or its length
//!   type    = STRING 0 | NUMERIC 1 | FALSE 2 | TRUE 3 | NULL 4 | CONTAINER 5
//! ```
//!
//! Offsets are relative to `data`. A numeric or container child begins with
//! zero to three padding bytes that bring it to a 4-byte boundary
//! (`INTALIGN(offset)`); the padding is counted in its length. A numeric is a
//! complete `numeric` varlena (see `NumericParts` in `decode.rs`). A raw
//! scalar (`'5'::jsonb`) is a one-element array with `JB_FSCALAR` set.
//!
//! Both readers (the decoder and the view) locate children only through
//! [`JEntryWalker`], so the offset/length rule lives in one place.

use super::decode::{err, DecodeError, DecodeErrorKind};

/// Containers may nest at most this deep (the root container is depth 1).
/// `serde_json::from_str` rejects the text of anything deeper, so this keeps
/// the decoder equivalent to the text path, and it bounds recursion.
pub const MAX_DEPTH: u32 = 127;

pub(super) const JB_CMASK: u32 = 0x0FFF_FFFF;
pub(super) const JB_FSCALAR: u32 = 0x1000_0000;
pub(super) const JB_FOBJECT: u32 = 0x2000_0000;
pub(super) const JB_FARRAY: u32 = 0x4000_0000;

pub(super) const JENTRY_OFFLENMASK: u32 = 0x0FFF_FFFF;
pub(super) const JENTRY_TYPEMASK: u32 = 0x7000_0000;
pub(super) const JENTRY_HAS_OFF: u32 = 0x8000_0000;

pub(super) const JENTRY_ISSTRING: u32 = 0x0000_0000;
pub(super) const JENTRY_ISNUMERIC: u32 = 0x1000_0000;
pub(super) const JENTRY_ISBOOL_FALSE: u32 = 0x2000_0000;
pub(super) const JENTRY_ISBOOL_TRUE: u32 = 0x3000_0000;
pub(super) const JENTRY_ISNULL: u32 = 0x4000_0000;
pub(super) const JENTRY_ISCONTAINER: u32 = 0x5000_0000;

/// Where a raw scalar's data region starts in the payload: after its header
/// and its one JEntry.
pub(super) const RAW_SCALAR_DATA: usize = 8;

#[inline]
pub(super) fn read_u32(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
}

#[inline]
fn jentry_at(chunk: &[u8]) -> u32 {
    u32::from_ne_bytes([chunk[0], chunk[1], chunk[2], chunk[3]])
}

/// `INTALIGN`.
#[inline]
pub(super) fn int_align(x: usize) -> usize {
    (x + 3) & !3
}

/// `JBE_ADVANCE_OFFSET`: the end of the child with JEntry `entry` whose data
/// starts at `off` (the stride rule: a HAS_OFF entry holds the end offset
/// itself, any other its length). Wrapping arithmetic only avoids overflow
/// panics on garbage; every range is validated when used.
#[inline]
fn advance(off: usize, entry: u32) -> usize {
    let field = (entry & JENTRY_OFFLENMASK) as usize;
    if entry & JENTRY_HAS_OFF != 0 {
        field
    } else {
        off.wrapping_add(field)
    }
}

/// A container's header word, checked.
#[derive(Debug, Clone, Copy)]
pub(super) struct ContainerHeader {
    /// Members of an object, elements of an array.
    pub(super) count: usize,
    pub(super) is_object: bool,
}

impl ContainerHeader {
    /// Reads the header of the container occupying `region` (the container's
    /// own bytes, at absolute offset `at`, nested `depth` deep) and checks
    /// that its JEntry array fits in `region`; this also bounds every
    /// allocation the decoder makes by the input size.
    pub(super) fn parse(
        region: &[u8],
        at: usize,
        depth: u32,
    ) -> Result<ContainerHeader, DecodeError> {
        if depth > MAX_DEPTH {
            return err(at, DecodeErrorKind::DepthLimitExceeded);
        }
        let header = match read_u32(region, 0) {
            Some(h) => h,
            None => return err(at, DecodeErrorKind::Truncated),
        };
        let count = (header & JB_CMASK) as usize;
        let is_object = match header & (JB_FARRAY | JB_FOBJECT | JB_FSCALAR) {
            JB_FARRAY => false,
            JB_FOBJECT => true,
            _ => return err(at, DecodeErrorKind::InvalidContainerHeader(header)),
        };
        let parsed = ContainerHeader { count, is_object };
        match parsed.n_entries().checked_mul(4) {
            Some(len) if len <= region.len() - 4 => Ok(parsed),
            _ => err(at, DecodeErrorKind::Truncated),
        }
    }

    /// Length of the JEntry array: an object has keys, then values.
    pub(super) fn n_entries(self) -> usize {
        if self.is_object {
            self.count * 2
        } else {
            self.count
        }
    }

    /// Where the data region starts, relative to the container: after the
    /// header and the JEntry array.
    pub(super) fn data_start(self) -> usize {
        4 + 4 * self.n_entries()
    }

    /// A walker over all of the container's JEntries, from the first;
    /// `region` and `at` as given to [`ContainerHeader::parse`].
    pub(super) fn walker(self, region: &[u8], at: usize) -> JEntryWalker<'_> {
        let data = self.data_start();
        JEntryWalker::new(&region[4..data], at + data, region.len() - data)
    }
}

/// Reads a payload's root header. A raw scalar (`'5'::jsonb`: a one-element
/// array with `JB_FSCALAR` set, whose pseudo-array does not count as a
/// nesting level) yields its only child, located in the data region at
/// [`RAW_SCALAR_DATA`]; an ordinary root container yields `None`.
pub(super) fn raw_scalar(bytes: &[u8]) -> Result<Option<Child>, DecodeError> {
    let header = match read_u32(bytes, 0) {
        Some(h) => h,
        None => return err(0, DecodeErrorKind::Truncated),
    };
    if header & JB_FSCALAR == 0 {
        return Ok(None);
    }
    if header & (JB_FARRAY | JB_FOBJECT) != JB_FARRAY || header & JB_CMASK != 1 {
        return err(0, DecodeErrorKind::InvalidContainerHeader(header));
    }
    let entry = bytes.get(4..RAW_SCALAR_DATA).unwrap_or_default();
    let data_len = bytes.len().saturating_sub(RAW_SCALAR_DATA);
    match JEntryWalker::new(entry, RAW_SCALAR_DATA, data_len).next() {
        Some(child) => child.map(Some),
        None => err(4, DecodeErrorKind::Truncated),
    }
}

/// One child located by [`JEntryWalker`]: its JEntry, and its data range
/// `[off, end)` relative to the container's data region, checked to lie in
/// it (`off <= end <= data_len`). Alignment padding, if the type has any, is
/// still included.
#[derive(Debug, Clone, Copy)]
pub(super) struct Child {
    pub(super) entry: u32,
    pub(super) off: usize,
    pub(super) end: usize,
}

/// The JEntry walker: yields the children of a run of JEntries in order,
/// each [`Child`]'s range found from the previous one's end
/// (`JBE_ADVANCE_OFFSET`, carrying the offset along instead of walking back
/// each time as `getJsonbLength` does). A child whose end lies before its
/// start or past the data region is an `InvalidChildRange` error, after
/// which the walker yields nothing more.
#[derive(Debug, Clone)]
pub(super) struct JEntryWalker<'a> {
    /// JEntries not walked yet, 4 bytes each.
    entries: &'a [u8],
    /// Start of the next child's data, relative to the data region.
    off: usize,
    /// Absolute offset of the data region, for errors.
    data_at: usize,
    /// Length of the data region.
    data_len: usize,
}

impl<'a> JEntryWalker<'a> {
    /// Walks `entries` (whole JEntry words) from the first, whose data starts
    /// at the beginning of a data region of `data_len` bytes at absolute
    /// offset `data_at`.
    pub(super) fn new(entries: &'a [u8], data_at: usize, data_len: usize) -> Self {
        JEntryWalker {
            entries,
            off: 0,
            data_at,
            data_len,
        }
    }

    /// A fresh walker (one that has not advanced) moved on to entry `i`:
    /// `getJsonbOffset`, the start of child `i` found by walking back to the
    /// nearest HAS_OFF entry before it. Past the last entry it yields
    /// nothing.
    pub(super) fn seek(self, i: usize) -> Self {
        let split = i.saturating_mul(4).min(self.entries.len());
        let (before, after) = self.entries.split_at(split);
        let mut off = 0usize;
        for chunk in before.chunks_exact(4).rev() {
            let entry = jentry_at(chunk);
            off = off.wrapping_add((entry & JENTRY_OFFLENMASK) as usize);
            if entry & JENTRY_HAS_OFF != 0 {
                break;
            }
        }
        JEntryWalker {
            entries: after,
            off,
            ..self
        }
    }

    /// Splits after the first `n` entries: a walker over those, and one over
    /// the rest starting where the first `n` children's data ends (an
    /// object's values, whose data follows all keys' data). That start is
    /// computed without checking the first `n` ranges, which their own walk
    /// checks.
    pub(super) fn split(self, n: usize) -> (Self, Self) {
        let split = n.saturating_mul(4).min(self.entries.len());
        let (first, rest) = self.entries.split_at(split);
        let rest_off = first
            .chunks_exact(4)
            .fold(self.off, |off, chunk| advance(off, jentry_at(chunk)));
        (
            JEntryWalker {
                entries: first,
                ..self
            },
            JEntryWalker {
                entries: rest,
                off: rest_off,
                ..self
            },
        )
    }

    /// Yields nothing more (for a caller that stops after an error of its
    /// own).
    pub(super) fn finish(&mut self) {
        self.entries = &[];
    }
}

impl Iterator for JEntryWalker<'_> {
    type Item = Result<Child, DecodeError>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        let entries = self.entries;
        let (word, rest) = entries.split_first_chunk::<4>()?;
        let entry = u32::from_ne_bytes(*word);
        let off = self.off;
        let end = advance(off, entry);
        if end < off || end > self.data_len {
            self.finish();
            return Some(err(
                self.data_at.wrapping_add(off),
                DecodeErrorKind::InvalidChildRange,
            ));
        }
        self.entries = rest;
        self.off = end;
        Some(Ok(Child { entry, off, end }))
    }
}
