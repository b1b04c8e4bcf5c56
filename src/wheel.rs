//! A hierarchical timer wheel over integer ids, for reclaiming expired cache
//! entries with bounded work per call.
//!
//! Time is measured in *ticks* (milliseconds relative to an origin chosen by
//! the owner). The wheel has [`LEVELS`] levels of 64 slots; a slot of level
//! `l` spans `64^l` ticks, so the wheel covers `2^36` ticks (about 795 days
//! of milliseconds). Deadlines further away wait in one overflow list that is
//! re-examined when the wheel's time enters a new `2^36`-tick epoch.
//!
//! Every id lives in at most one intrusive circular doubly-linked list with a
//! sentinel (a wheel slot, the overflow list, or the *pending* list of ids
//! taken out of a slot and not yet examined), so insertion, removal and
//! moving a whole slot are O(1). Advancing time is
//! incremental: [`TimerWheel::next_expired`] does at most `budget` steps,
//! where a step examines one id or moves one whole slot (an O(1) splice)
//! into the pending list. An id moves down at most [`LEVELS`] times in its
//! life, so the amortized cost per inserted id is O(1), and no single call
//! does more than its budget, however many ids expire at once.
//!
//! The design follows the classic hierarchical wheel (Varghese & Lauck) as
//! used by tokio's timer: an id in level `l` has a deadline that agrees with
//! the wheel's `elapsed` time on every bit above level `l` and differs in
//! level `l`'s six bits, so all of level 0 expires before any of level 1,
//! and the earliest occupied slot is found with one `trailing_zeros` per
//! level.
#![forbid(unsafe_code)]

/// Marker for "no id" in links.
pub const NIL: u32 = u32::MAX;

/// Number of wheel levels.
pub const LEVELS: usize = 6;
const SLOT_BITS: u32 = 6;
const SLOTS: usize = 1 << SLOT_BITS;
/// Ticks covered by the whole wheel: one epoch.
const EPOCH_BITS: u32 = SLOT_BITS * LEVELS as u32;
const EPOCH_MASK: u64 = (1u64 << EPOCH_BITS) - 1;

/// List index of the overflow list (deadlines in a later epoch).
const OVERFLOW: usize = LEVELS * SLOTS;
/// List index of the pending list (ids taken out of a slot, to examine).
const PENDING: usize = OVERFLOW + 1;
/// Number of lists; list `i` has its sentinel node at index `i`, and id
/// `id` lives at node index `LISTS + id`.
const LISTS: usize = PENDING + 1;

/// A node of a circular doubly-linked list. Sentinels make unlinking and
/// splicing O(1) without knowing which list a node is in.
#[derive(Clone, Copy, Debug)]
struct Node {
    prev: u32,
    next: u32,
    deadline: u64,
}

impl Node {
    const UNLINKED: Node = Node {
        prev: NIL,
        next: NIL,
        deadline: 0,
    };
}

/// A hierarchical timer wheel holding ids `0..capacity`.
///
/// The owner keeps the real entries; the wheel only knows each id's deadline
/// tick. An id is *due* once the wheel's time reaches its deadline tick.
#[derive(Clone, Debug)]
pub struct TimerWheel {
    /// Sentinels `0..LISTS`, then one node per id.
    nodes: Vec<Node>,
    /// Bit `s` of `occupied[l]` is set when slot `s` of level `l` may be
    /// non-empty. It is set on insertion and cleared when the slot is
    /// emptied by a splice, or lazily when found empty (removals do not
    /// know their list, so they leave it set).
    occupied: [u64; LEVELS],
    elapsed: u64,
    len: usize,
}

impl Default for TimerWheel {
    fn default() -> Self {
        Self::new()
    }
}

impl TimerWheel {
    /// An empty wheel at tick 0. Allocates nothing: the sentinels (~6 KiB)
    /// come with the first id, so an idle cache costs a few bytes.
    pub fn new() -> Self {
        TimerWheel {
            nodes: Vec::new(),
            occupied: [0; LEVELS],
            elapsed: 0,
            len: 0,
        }
    }

    fn reset_sentinels(&mut self) {
        for (i, n) in self.nodes.iter_mut().enumerate().take(LISTS) {
            *n = Node {
                prev: i as u32,
                next: i as u32,
                deadline: 0,
            };
        }
    }

    /// Number of ids in the wheel.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Heap bytes held by the wheel's node storage.
    pub fn heap_bytes(&self) -> usize {
        self.nodes.capacity() * std::mem::size_of::<Node>()
    }

    /// Whether the wheel holds no id.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The wheel's current time: every deadline at or before it has been
    /// moved to the pending list or returned.
    pub fn elapsed(&self) -> u64 {
        self.elapsed
    }

    /// Whether `id` is in the wheel.
    pub fn contains(&self, id: u32) -> bool {
        Self::index(id)
            .and_then(|i| self.nodes.get(i))
            .is_some_and(|n| n.prev != NIL)
    }

    /// The deadline `id` was inserted with, if it is in the wheel.
    pub fn deadline(&self, id: u32) -> Option<u64> {
        Self::index(id)
            .and_then(|i| self.nodes.get(i))
            .filter(|n| n.prev != NIL)
            .map(|n| n.deadline)
    }

    /// Removes every id and resets time to 0, keeping allocated memory.
    pub fn clear(&mut self) {
        self.nodes.iter_mut().for_each(|n| *n = Node::UNLINKED);
        self.reset_sentinels();
        self.occupied = [0; LEVELS];
        self.elapsed = 0;
        self.len = 0;
    }

    /// Reserves node storage for ids below `capacity`.
    pub fn reserve_ids(&mut self, capacity: usize) {
        let want = LISTS.saturating_add(capacity);
        if self.nodes.len() < want {
            let fresh = self.nodes.is_empty();
            self.nodes.resize(want, Node::UNLINKED);
            if fresh {
                self.reset_sentinels();
            }
        }
    }

    /// Inserts `id` with the given deadline tick. An id already in the wheel
    /// is moved. A deadline at or before the current time makes the id due
    /// at once (it goes to the pending list). `NIL` is ignored.
    pub fn insert(&mut self, id: u32, deadline: u64) {
        let Some(index) = Self::index(id) else {
            return;
        };
        self.remove(id);
        self.reserve_ids(id as usize + 1);
        if let Some(node) = self.nodes.get_mut(index) {
            node.deadline = deadline;
        }
        self.len += 1;
        self.place(index as u32, deadline);
    }

    /// Removes `id` if present; returns whether it was.
    pub fn remove(&mut self, id: u32) -> bool {
        if !self.contains(id) {
            return false;
        }
        if let Some(index) = Self::index(id) {
            self.unlink(index as u32);
        }
        self.len -= 1;
        true
    }

    /// Advances the wheel towards `now` and returns the next due id, already
    /// removed from the wheel, or `None` when nothing more is due at `now` or
    /// when `budget` steps have been spent (each step decrements `budget`).
    ///
    /// `now` earlier than the wheel's time is treated as the wheel's time.
    pub fn next_expired(&mut self, now: u64, budget: &mut u32) -> Option<u32> {
        loop {
            if *budget == 0 {
                return None;
            }
            let head = self.node(PENDING as u32).next;
            if head != PENDING as u32 {
                *budget -= 1;
                self.unlink(head);
                let deadline = self.node(head).deadline;
                if deadline <= now {
                    self.len -= 1;
                    return Some(head - LISTS as u32);
                }
                // Taken out of a coarse slot but not due yet: it goes to a
                // finer level (or back to overflow), relative to `elapsed`.
                self.place(head, deadline);
                continue;
            }
            match self.next_slot() {
                Some((list, start)) if start <= now => {
                    *budget -= 1;
                    if self.list_is_empty(list) {
                        // A stale occupied bit left by removals.
                        self.clear_occupied(list);
                        continue;
                    }
                    debug_assert!(start >= self.elapsed);
                    self.elapsed = if list == OVERFLOW {
                        // The wheel's levels are empty (they come first), so
                        // time may jump straight to the epoch of `now`:
                        // overflow ids due by then are returned, the others
                        // placed anew. Stepping one epoch at a time would
                        // take ~(now - elapsed) / 2^36 steps after a large
                        // clock jump (found by fuzzing).
                        start.max(now & !EPOCH_MASK)
                    } else {
                        start
                    };
                    self.splice_into_pending(list);
                }
                _ => {
                    // Nothing due at `now`: every remaining deadline is later,
                    // so jumping to `now` keeps the level invariant.
                    if now > self.elapsed {
                        self.elapsed = now;
                    }
                    return None;
                }
            }
        }
    }

    /// A lower bound of the earliest tick at which an id may become due:
    /// 0 when ids are pending, `u64::MAX` when nothing is scheduled. The
    /// owner may skip calling [`TimerWheel::next_expired`] before it.
    pub fn next_check(&self) -> u64 {
        if !self.list_is_empty(PENDING) {
            return 0;
        }
        self.next_slot().map_or(u64::MAX, |(_, start)| start)
    }

    /// Places an unlinked node in the list its deadline belongs to.
    fn place(&mut self, node: u32, deadline: u64) {
        if deadline <= self.elapsed {
            self.push_back(node, PENDING);
            return;
        }
        let diff = self.elapsed ^ deadline;
        if diff > EPOCH_MASK {
            self.push_back(node, OVERFLOW);
            return;
        }
        let significant = 63 - (diff | (SLOTS as u64 - 1)).leading_zeros();
        let level = (significant / SLOT_BITS) as usize;
        let slot = ((deadline >> (level as u32 * SLOT_BITS)) as usize) & (SLOTS - 1);
        debug_assert!(level < LEVELS);
        debug_assert!(
            slot > ((self.elapsed >> (level as u32 * SLOT_BITS)) as usize & (SLOTS - 1)),
            "a deadline after elapsed lands in a later slot of its level"
        );
        self.push_back(node, level * SLOTS + slot);
        if let Some(bits) = self.occupied.get_mut(level) {
            *bits |= 1u64 << slot;
        }
    }

    /// The earliest list that may be non-empty (a wheel slot, else the
    /// overflow list) and the tick its range starts at.
    fn next_slot(&self) -> Option<(usize, u64)> {
        for (level, &bits) in self.occupied.iter().enumerate() {
            if bits != 0 {
                let slot = bits.trailing_zeros() as u64;
                let shift = level as u32 * SLOT_BITS;
                let level_mask = (1u64 << (shift + SLOT_BITS)) - 1;
                let start = (self.elapsed & !level_mask) | (slot << shift);
                return Some((level * SLOTS + slot as usize, start));
            }
        }
        if !self.list_is_empty(OVERFLOW) {
            // Overflow ids lie in later epochs: the next epoch starts first.
            let start = (self.elapsed | EPOCH_MASK).saturating_add(1);
            return Some((OVERFLOW, start));
        }
        None
    }

    /// Moves a whole list to the end of the pending list in O(1).
    fn splice_into_pending(&mut self, from: usize) {
        let src = self.node(from as u32);
        self.clear_occupied(from);
        if src.next == from as u32 {
            return;
        }
        let (first, last) = (src.next, src.prev);
        let pending = PENDING as u32;
        let tail = self.node(pending).prev;
        self.set_next(tail, first);
        self.set_prev(first, tail);
        self.set_next(last, pending);
        self.set_prev(pending, last);
        self.set_next(from as u32, from as u32);
        self.set_prev(from as u32, from as u32);
    }

    fn push_back(&mut self, node: u32, list: usize) {
        let sentinel = list as u32;
        let tail = self.node(sentinel).prev;
        if let Some(n) = self.nodes.get_mut(node as usize) {
            n.prev = tail;
            n.next = sentinel;
        }
        self.set_next(tail, node);
        self.set_prev(sentinel, node);
    }

    fn unlink(&mut self, node: u32) {
        let Node { prev, next, .. } = self.node(node);
        if prev == NIL {
            return;
        }
        self.set_next(prev, next);
        self.set_prev(next, prev);
        self.set_prev(node, NIL);
        self.set_next(node, NIL);
    }

    fn list_is_empty(&self, list: usize) -> bool {
        self.node(list as u32).next == list as u32
    }

    fn clear_occupied(&mut self, list: usize) {
        if list < OVERFLOW {
            if let Some(bits) = self.occupied.get_mut(list / SLOTS) {
                *bits &= !(1u64 << (list % SLOTS));
            }
        }
    }

    /// Node index of an id, or `None` for `NIL` (and ids that would
    /// overflow the index space).
    fn index(id: u32) -> Option<usize> {
        if id == NIL {
            return None;
        }
        (id as usize).checked_add(LISTS)
    }

    /// A node by index. Before the first id, storage is empty and every
    /// list reads as empty (a sentinel linked to itself).
    fn node(&self, node: u32) -> Node {
        match self.nodes.get(node as usize) {
            Some(n) => *n,
            None if (node as usize) < LISTS => Node {
                prev: node,
                next: node,
                deadline: 0,
            },
            None => Node::UNLINKED,
        }
    }

    fn set_next(&mut self, node: u32, next: u32) {
        if let Some(n) = self.nodes.get_mut(node as usize) {
            n.next = next;
        }
    }

    fn set_prev(&mut self, node: u32, prev: u32) {
        if let Some(n) = self.nodes.get_mut(node as usize) {
            n.prev = prev;
        }
    }

    /// Checks every invariant; for tests. O(n).
    ///
    /// # Panics
    /// When an invariant does not hold (a bug in the wheel).
    #[doc(hidden)]
    #[allow(clippy::panic)]
    pub fn check_invariants(&self) {
        let mut count = 0;
        for list in 0..LISTS {
            let sentinel = list as u32;
            let mut prev = sentinel;
            let mut node = self.node(sentinel).next;
            while node != sentinel {
                let n = self.node(node);
                let id = node as usize - LISTS;
                assert_eq!(n.prev, prev, "back link of id {id}");
                if list < OVERFLOW {
                    let level = list / SLOTS;
                    let shift = level as u32 * SLOT_BITS;
                    let upper = !((1u64 << (shift + SLOT_BITS)) - 1);
                    assert_eq!(n.deadline & upper, self.elapsed & upper, "level of id {id}");
                    assert!(
                        n.deadline > self.elapsed,
                        "slotted id {id} is after elapsed"
                    );
                    assert_eq!((n.deadline >> shift) as usize & (SLOTS - 1), list % SLOTS);
                    let bit = self
                        .occupied
                        .get(level)
                        .map_or(0, |b| b >> (list % SLOTS) & 1);
                    assert_eq!(bit, 1, "occupied bit of a non-empty slot");
                } else if list == OVERFLOW {
                    assert!((n.deadline ^ self.elapsed) > EPOCH_MASK, "overflow id {id}");
                }
                count += 1;
                prev = node;
                node = n.next;
                assert!(count <= self.nodes.len(), "list {list} is a cycle");
            }
            assert_eq!(self.node(sentinel).prev, prev, "tail of list {list}");
        }
        assert_eq!(count, self.len, "len");
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn drain(w: &mut TimerWheel, now: u64) -> Vec<u32> {
        let mut out = Vec::new();
        let mut budget = u32::MAX;
        while let Some(id) = w.next_expired(now, &mut budget) {
            out.push(id);
        }
        w.check_invariants();
        out
    }

    #[test]
    fn ids_come_out_when_due_and_not_before() {
        let mut w = TimerWheel::new();
        w.insert(1, 10);
        w.insert(2, 5);
        w.insert(3, 70);
        w.insert(4, 5000);
        w.insert(5, 1 << 40);
        w.check_invariants();
        assert_eq!(drain(&mut w, 4), Vec::<u32>::new());
        assert_eq!(drain(&mut w, 5), vec![2]);
        assert_eq!(drain(&mut w, 69), vec![1]);
        assert_eq!(drain(&mut w, 4999), vec![3]);
        assert_eq!(drain(&mut w, 5000), vec![4]);
        assert_eq!(drain(&mut w, (1 << 40) - 1), Vec::<u32>::new());
        assert_eq!(drain(&mut w, 1 << 40), vec![5]);
        assert!(w.is_empty());
    }

    #[test]
    fn budget_bounds_each_call() {
        let mut w = TimerWheel::new();
        for id in 0..10_000 {
            w.insert(id, 1000 + u64::from(id % 7));
        }
        let mut total = 0;
        let mut calls = 0;
        loop {
            let mut budget = 16;
            let mut got = 0;
            while w.next_expired(5000, &mut budget).is_some() {
                got += 1;
            }
            assert!(got <= 16);
            total += got;
            calls += 1;
            if got == 0 && budget > 0 {
                break;
            }
        }
        assert_eq!(total, 10_000);
        assert!(calls < 10_000 / 8, "bounded steps per id: {calls} calls");
        w.check_invariants();
    }

    #[test]
    fn remove_and_reinsert() {
        let mut w = TimerWheel::new();
        w.insert(7, 100);
        assert!(w.contains(7));
        assert!(w.remove(7));
        assert!(!w.remove(7));
        w.insert(7, 50);
        w.insert(7, 30);
        assert_eq!(w.len(), 1);
        assert_eq!(drain(&mut w, 40), vec![7]);
    }

    #[test]
    fn past_deadline_is_due_at_once() {
        let mut w = TimerWheel::new();
        assert_eq!(drain(&mut w, 1000), Vec::<u32>::new());
        w.insert(1, 3);
        assert_eq!(w.next_check(), 0);
        assert_eq!(drain(&mut w, 1000), vec![1]);
    }

    #[test]
    fn a_huge_clock_jump_costs_a_few_steps() {
        let mut w = TimerWheel::new();
        w.insert(1, 1 << 50);
        w.insert(2, (1 << 62) + 5);
        w.insert(3, u64::MAX - 1);
        let mut budget = 64;
        let mut got = Vec::new();
        while let Some(id) = w.next_expired(1 << 62, &mut budget) {
            got.push(id);
        }
        assert_eq!(got, vec![1]);
        assert!(budget > 50, "a few steps, not one per epoch: {budget} left");
        w.check_invariants();
        assert_eq!(drain(&mut w, (1 << 62) + 5), vec![2]);
        assert_eq!(drain(&mut w, u64::MAX - 1), vec![3]);
    }

    #[test]
    fn epoch_boundary_and_overflow() {
        let mut w = TimerWheel::new();
        let epoch = 1u64 << 36;
        drain(&mut w, epoch - 3);
        w.insert(1, epoch + 2);
        w.insert(2, epoch - 1);
        w.insert(3, 5 * epoch);
        w.check_invariants();
        assert_eq!(drain(&mut w, epoch - 1), vec![2]);
        assert_eq!(drain(&mut w, epoch + 1), Vec::<u32>::new());
        assert_eq!(drain(&mut w, epoch + 2), vec![1]);
        assert_eq!(drain(&mut w, 5 * epoch), vec![3]);
    }
}
