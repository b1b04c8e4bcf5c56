//! Series storage: a slab of slots with a free list and generation counters,
//! threaded by an intrusive doubly-linked recency list (the idea of
//! quick_cache's `linked_slab.rs`: links are slot indices, not pointers).
//!
//! * Slot indices are stable while a series lives; a freed slot goes on the
//!   free list and is reused by the next insert (O(1), no scan).
//! * Each slot has a 29-bit generation, bumped when its series is removed, so
//!   a [`SeriesHandle`](super::SeriesHandle) to a dropped series never
//!   reaches the series that reuses the slot.
//! * Labelled series are linked in recency order (most recently updated at
//!   the head). Because time is clamped to be monotonic, the tail is always
//!   the series with the oldest `last_update`, so expiry only looks at the
//!   tail. Unlabelled series are never linked (they never expire).
//!
//! # Panics
//!
//! Never: all indexing goes through `get`/`get_mut`; broken invariants are
//! reported by `debug_assert!` in debug builds and otherwise ignored.

/// "No slot" marker in links and the free list.
pub(crate) const NIL: u32 = u32::MAX;
/// Generations live in 29 bits (so a packed handle stays below 2^53) and wrap.
pub(crate) const GENERATION_MASK: u32 = (1 << 29) - 1;

/// A histogram series: per-bucket (non-cumulative) counts, the last one for
/// the implicit `+Inf` bucket, plus sum and count.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Hist {
    pub(crate) counts: Box<[u64]>,
    pub(crate) sum: f64,
    pub(crate) count: u64,
}

/// What a series holds.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Scalar(f64),
    Histogram(Box<Hist>),
}

/// One series.
#[derive(Debug, Clone)]
pub(crate) struct Series {
    /// Index of the family in the registry's family vector.
    pub(crate) family: u32,
    /// Canonical label-set key (empty for the unlabelled series).
    pub(crate) key: Box<str>,
    pub(crate) value: Value,
    /// Clock (ms) of the last update.
    pub(crate) last_update: f64,
    prev: u32,
    next: u32,
    linked: bool,
}

impl Series {
    pub(crate) fn new(family: u32, key: Box<str>, value: Value, now: f64) -> Self {
        Series {
            family,
            key,
            value,
            last_update: now,
            prev: NIL,
            next: NIL,
            linked: false,
        }
    }
}

#[derive(Debug, Clone)]
enum Entry {
    Occupied(Series),
    Vacant { next_free: u32 },
}

#[derive(Debug, Clone)]
struct Slot {
    generation: u32,
    entry: Entry,
}

/// Slab of series with a free list and a recency list.
#[derive(Debug, Clone)]
pub(crate) struct Slab {
    slots: Vec<Slot>,
    free_head: u32,
    len: usize,
    max_slots: usize,
    lru_head: u32,
    lru_tail: u32,
    lru_len: usize,
}

impl Slab {
    pub(crate) fn new(max_slots: usize) -> Self {
        Slab {
            slots: Vec::new(),
            free_head: NIL,
            len: 0,
            max_slots,
            lru_head: NIL,
            lru_tail: NIL,
            lru_len: 0,
        }
    }

    /// Live series.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn max_slots(&self) -> usize {
        self.max_slots
    }

    /// Slots allocated so far (live or free): every slot index is below it.
    pub(crate) fn slots_len(&self) -> usize {
        self.slots.len()
    }

    /// Insert a series; returns `(slot, generation)` or `None` when all
    /// `max_slots` slots are in use.
    pub(crate) fn insert(&mut self, series: Series) -> Option<(u32, u32)> {
        if self.free_head != NIL {
            let idx = self.free_head;
            let slot = self.slots.get_mut(idx as usize)?;
            let Entry::Vacant { next_free } = slot.entry else {
                debug_assert!(false, "free list points at an occupied slot");
                return None;
            };
            self.free_head = next_free;
            slot.entry = Entry::Occupied(series);
            self.len += 1;
            return Some((idx, slot.generation));
        }
        if self.slots.len() >= self.max_slots {
            return None;
        }
        let idx = u32::try_from(self.slots.len()).ok()?;
        self.slots.push(Slot {
            generation: 0,
            entry: Entry::Occupied(series),
        });
        self.len += 1;
        Some((idx, 0))
    }

    /// The series in `slot` if the generation matches.
    pub(crate) fn get(&self, slot: u32, generation: u32) -> Option<&Series> {
        let s = self.slots.get(slot as usize)?;
        match &s.entry {
            Entry::Occupied(series) if s.generation == generation => Some(series),
            _ => None,
        }
    }

    /// Mutable access if the generation matches.
    pub(crate) fn get_mut(&mut self, slot: u32, generation: u32) -> Option<&mut Series> {
        let s = self.slots.get_mut(slot as usize)?;
        match &mut s.entry {
            Entry::Occupied(series) if s.generation == generation => Some(series),
            _ => None,
        }
    }

    /// The series in `slot`, whatever its generation (internal indices).
    pub(crate) fn at(&self, slot: u32) -> Option<&Series> {
        match &self.slots.get(slot as usize)?.entry {
            Entry::Occupied(series) => Some(series),
            Entry::Vacant { .. } => None,
        }
    }

    pub(crate) fn at_mut(&mut self, slot: u32) -> Option<&mut Series> {
        match &mut self.slots.get_mut(slot as usize)?.entry {
            Entry::Occupied(series) => Some(series),
            Entry::Vacant { .. } => None,
        }
    }

    /// Current generation of a slot (for building handles).
    pub(crate) fn generation(&self, slot: u32) -> Option<u32> {
        self.slots.get(slot as usize).map(|s| s.generation)
    }

    /// Remove the series in `slot` (unlinking it), bump the slot's
    /// generation and put the slot on the free list.
    pub(crate) fn remove(&mut self, slot: u32) -> Option<Series> {
        self.unlink(slot);
        let free_head = self.free_head;
        let s = self.slots.get_mut(slot as usize)?;
        if matches!(s.entry, Entry::Vacant { .. }) {
            return None;
        }
        let old = std::mem::replace(
            &mut s.entry,
            Entry::Vacant {
                next_free: free_head,
            },
        );
        s.generation = s.generation.wrapping_add(1) & GENERATION_MASK;
        self.free_head = slot;
        self.len -= 1;
        match old {
            Entry::Occupied(series) => Some(series),
            Entry::Vacant { .. } => None,
        }
    }

    /// Remove every series (bumping every generation). O(slots).
    pub(crate) fn clear(&mut self) {
        self.free_head = NIL;
        for (i, s) in self.slots.iter_mut().enumerate().rev() {
            if matches!(s.entry, Entry::Occupied(_)) {
                s.generation = s.generation.wrapping_add(1) & GENERATION_MASK;
            }
            s.entry = Entry::Vacant {
                next_free: self.free_head,
            };
            // `slots.len() <= max_slots < 2^24`, so the index fits.
            self.free_head = i as u32;
        }
        self.len = 0;
        self.lru_head = NIL;
        self.lru_tail = NIL;
        self.lru_len = 0;
    }

    fn set_prev(&mut self, slot: u32, prev: u32) {
        if let Some(s) = self.at_mut(slot) {
            s.prev = prev;
        }
    }

    fn set_next(&mut self, slot: u32, next: u32) {
        if let Some(s) = self.at_mut(slot) {
            s.next = next;
        }
    }

    /// Take `slot` out of the recency list (no-op if not linked).
    fn unlink(&mut self, slot: u32) {
        let Some(s) = self.at_mut(slot) else { return };
        if !s.linked {
            return;
        }
        let (prev, next) = (s.prev, s.next);
        s.prev = NIL;
        s.next = NIL;
        s.linked = false;
        if prev == NIL {
            self.lru_head = next;
        } else {
            self.set_next(prev, next);
        }
        if next == NIL {
            self.lru_tail = prev;
        } else {
            self.set_prev(next, prev);
        }
        self.lru_len -= 1;
    }

    /// Link `slot` at the head (most recent), unlinking it first if needed.
    pub(crate) fn move_to_front(&mut self, slot: u32) {
        if self.lru_head == slot {
            return;
        }
        self.unlink(slot);
        let head = self.lru_head;
        let Some(s) = self.at_mut(slot) else { return };
        s.prev = NIL;
        s.next = head;
        s.linked = true;
        if head == NIL {
            self.lru_tail = slot;
        } else {
            self.set_prev(head, slot);
        }
        self.lru_head = slot;
        self.lru_len += 1;
    }

    /// Least recently updated linked series.
    pub(crate) fn lru_tail(&self) -> Option<u32> {
        (self.lru_tail != NIL).then_some(self.lru_tail)
    }

    /// Approximate heap bytes of the slot vector itself.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.slots.capacity() * std::mem::size_of::<Slot>()
    }

    /// Walk the whole structure and check its invariants. O(slots); for tests.
    pub(crate) fn check(&self) -> Result<(), String> {
        let occupied = self
            .slots
            .iter()
            .filter(|s| matches!(s.entry, Entry::Occupied(_)))
            .count();
        if occupied != self.len {
            return Err(format!("len {} but {} occupied slots", self.len, occupied));
        }
        let mut free = 0usize;
        let mut cur = self.free_head;
        while cur != NIL {
            match self.slots.get(cur as usize).map(|s| &s.entry) {
                Some(Entry::Vacant { next_free }) => cur = *next_free,
                _ => return Err(format!("free list reaches non-vacant slot {cur}")),
            }
            free += 1;
            if free > self.slots.len() {
                return Err("free list has a cycle".into());
            }
        }
        if free + self.len != self.slots.len() {
            return Err(format!(
                "{free} free + {} live != {} slots",
                self.len,
                self.slots.len()
            ));
        }
        let mut n = 0usize;
        let mut prev = NIL;
        let mut cur = self.lru_head;
        let mut last_time = f64::INFINITY;
        while cur != NIL {
            let s = self
                .at(cur)
                .ok_or_else(|| format!("recency list reaches vacant slot {cur}"))?;
            if !s.linked || s.prev != prev {
                return Err(format!("bad links at slot {cur}"));
            }
            if s.last_update > last_time {
                return Err(format!("recency list out of time order at slot {cur}"));
            }
            last_time = s.last_update;
            prev = cur;
            cur = s.next;
            n += 1;
            if n > self.slots.len() {
                return Err("recency list has a cycle".into());
            }
        }
        if prev != self.lru_tail || n != self.lru_len {
            return Err("recency list tail/length mismatch".into());
        }
        let linked = self
            .slots
            .iter()
            .filter(|s| matches!(&s.entry, Entry::Occupied(x) if x.linked))
            .count();
        if linked != n {
            return Err(format!("{linked} series marked linked, {n} in the list"));
        }
        Ok(())
    }
}
