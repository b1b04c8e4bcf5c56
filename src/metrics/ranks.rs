//! The window's rank index: which ring positions hold values of each
//! log-linear bucket, so that an exact nearest-rank percentile reads a few
//! dozen counts and sorts one bucket, not the window.
//!
//! A value's bucket comes from its bits: 32 buckets per power of two from
//! 2^-10 to 2^31 (ms: ~1 µs to ~25 days), one below (0 and tinier values)
//! and one above. A larger value never lands in a smaller bucket, so the
//! k-th smallest value of the window is the (k − below)-th smallest of the
//! bucket where the counts reach k. Each bucket links its ring positions in
//! a list (`next`/`prev` per position), and keeps a count; 42 group counts
//! (32 buckets each) make finding the bucket ~70 additions.
//!
//! Updating a position is O(1): unlink it from the bucket it was in, link
//! it into its new value's. The window updates the positions written since
//! the last query at the next one (in order; at most the window, rebuilt
//! past that), so recording a sample costs nothing here. A query is the
//! count walk, then a sort of the bucket's values (a few per bucket for
//! spread-out durations; the whole window, once, if every value shares one
//! bucket: the sorted bucket is kept until the window changes).
#![forbid(unsafe_code)]

const SUB_BITS: u32 = 5;
const SUB: usize = 1 << SUB_BITS;
/// Biased exponent of the lowest bucketed octave, 2^-10.
const LOW_EXP: u64 = 1023 - 10;
const OCTAVES: usize = 41;
/// Bucket 0 below 2^-10, then `OCTAVES × SUB`, then one above 2^31.
const BUCKETS: usize = OCTAVES * SUB + 2;
const GROUPS: usize = BUCKETS.div_ceil(SUB);
const NIL: u32 = u32::MAX;
const EMPTY: Bucket = Bucket {
    head: NIL,
    count: 0,
};

/// The bucket of a sample (finite, not negative, not -0).
fn bucket_of(x: f64) -> usize {
    let bits = x.to_bits();
    let exp = bits >> 52;
    if exp < LOW_EXP {
        return 0;
    }
    let octave = (exp - LOW_EXP) as usize;
    if octave >= OCTAVES {
        return BUCKETS - 1;
    }
    let sub = ((bits >> (52 - SUB_BITS)) as usize) & (SUB - 1);
    1 + octave * SUB + sub
}

/// A bucket: the first position of its list, and how many it holds.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    head: u32,
    count: u32,
}

/// A position: its neighbours in its bucket's list, and which bucket.
#[derive(Debug, Clone, Copy)]
struct Link {
    next: u32,
    prev: u32,
    bucket: u16,
}

#[derive(Debug, Clone)]
pub(crate) struct Ranks {
    buckets: Vec<Bucket>,
    /// Counts per `SUB` buckets: the walk to a rank reads ~70 numbers.
    groups: Vec<u32>,
    links: Vec<Link>,
    /// A bucket's values, sorted, while `sorted_of` says which and no
    /// position has been updated since (`NONE`: none).
    sorted: Vec<f64>,
    sorted_of: usize,
}

const NONE: usize = usize::MAX;

impl Ranks {
    /// An index of no positions.
    pub(crate) fn new() -> Self {
        Ranks {
            buckets: vec![EMPTY; BUCKETS],
            groups: vec![0; GROUPS],
            links: Vec::new(),
            sorted: Vec::new(),
            sorted_of: NONE,
        }
    }

    /// Position `pos` now holds `x`: positions are added in order (`pos`
    /// one past the last), then rewritten.
    pub(crate) fn update(&mut self, pos: usize, x: f64) {
        self.sorted_of = NONE;
        let b = bucket_of(x);
        match self.links.get(pos) {
            Some(l) if usize::from(l.bucket) == b => return,
            Some(&l) => self.unlink(l),
            None => self.links.push(Link {
                next: NIL,
                prev: NIL,
                bucket: 0,
            }),
        }
        self.link(pos, b);
    }

    fn link(&mut self, pos: usize, b: usize) {
        let Some(bucket) = self.buckets.get_mut(b) else {
            return;
        };
        let next = std::mem::replace(&mut bucket.head, pos as u32);
        bucket.count += 1;
        if let Some(g) = self.groups.get_mut(b / SUB) {
            *g += 1;
        }
        if let Some(n) = self.links.get_mut(next as usize) {
            n.prev = pos as u32;
        }
        if let Some(l) = self.links.get_mut(pos) {
            // BUCKETS < 2^16
            *l = Link {
                next,
                prev: NIL,
                bucket: b as u16,
            };
        }
    }

    /// Takes the position `l` describes out of its bucket (its own link is
    /// then stale until [`link`](Self::link) rewrites it).
    fn unlink(&mut self, l: Link) {
        let b = usize::from(l.bucket);
        if let Some(n) = self.links.get_mut(l.next as usize) {
            n.prev = l.prev;
        }
        let Some(bucket) = self.buckets.get_mut(b) else {
            return;
        };
        match self.links.get_mut(l.prev as usize) {
            Some(p) => p.next = l.next,
            None => bucket.head = l.next,
        }
        bucket.count -= 1;
        if let Some(g) = self.groups.get_mut(b / SUB) {
            *g -= 1;
        }
    }

    /// The `rank`-th smallest (from 0) of the values in `ring`, which this
    /// index describes; `None` past the last.
    pub(crate) fn select(&mut self, ring: &[f64], rank: usize) -> Option<f64> {
        let mut below = 0usize;
        let mut b = 0usize;
        for (g, &n) in self.groups.iter().enumerate() {
            if below + n as usize > rank {
                b = g * SUB;
                break;
            }
            below += n as usize;
        }
        loop {
            let n = self.buckets.get(b)?.count as usize;
            if below + n > rank {
                break;
            }
            below += n;
            b += 1;
        }
        if self.sorted_of != b {
            self.sorted.clear();
            let mut pos = self.buckets.get(b)?.head;
            while let Some(&x) = ring.get(pos as usize) {
                self.sorted.push(x);
                pos = self.links.get(pos as usize)?.next;
            }
            // Finite, not negative, no -0: `<` is the total order.
            crate::sort::heap_sort_by(&mut self.sorted, |a, b| a < b);
            self.sorted_of = b;
        }
        self.sorted.get(rank - below).copied()
    }

    /// Approximate heap bytes held.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.buckets.capacity() * std::mem::size_of::<Bucket>()
            + self.groups.capacity() * std::mem::size_of::<u32>()
            + self.links.capacity() * std::mem::size_of::<Link>()
            + self.sorted.capacity() * std::mem::size_of::<f64>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_never_decrease_with_the_value() {
        let mut xs = vec![
            0.0,
            f64::MIN_POSITIVE,
            1e-300,
            2f64.powi(-10) * (1.0 - f64::EPSILON),
            2f64.powi(-10),
            0.5,
            1.0,
            1.0 + f64::EPSILON,
            1.5,
            1000.0,
            2f64.powi(31) * (1.0 - f64::EPSILON),
            2f64.powi(31),
            1e300,
            f64::MAX,
        ];
        xs.extend((0..5000).map(|i| f64::from(i) * 0.37));
        xs.sort_by(f64::total_cmp);
        for (a, b) in xs.iter().zip(xs.iter().skip(1)) {
            assert!(bucket_of(*a) <= bucket_of(*b), "{a} {b}");
        }
        assert_eq!(bucket_of(0.0), 0);
        assert_eq!(bucket_of(2f64.powi(-10)), 1);
        assert_eq!(bucket_of(f64::MAX), BUCKETS - 1);
        assert_eq!(bucket_of(2f64.powi(31)), BUCKETS - 1);
        assert_eq!(bucket_of(2f64.powi(31) * (1.0 - f64::EPSILON)), BUCKETS - 2);
    }
}
