//! The core's few sorts, small in Wasm: the standard library's sorts are
//! faster on large inputs but each instantiation costs ~5–7 KB of Wasm.
//! * [`heap_sort_by`]: the exposition's series order, at most once per
//!   scrape per family; O(n log n) worst case, no allocation.
//! * [`sort_f64`]: the response-time window's mirror, once per read after
//!   more than 32 samples came since the last one.
#![forbid(unsafe_code)]

/// Sorts numbers ascending in `f64::total_cmp`'s order, none of them `-0.0`
/// (the window stores `0.0` for it; counting would return `0.0`). Whole
/// numbers spanning less than [`COUNTS`] — what `Date.now()` differences
/// in one window usually are — are counted: linear however they repeat.
/// With 1000 new durations of 1..500 ms, a scrape's three percentile reads
/// take ~7 µs in Node, ~50 µs with a heapsort. Anything else is heapsorted. The loops exit early
/// on purpose: LLVM then does not unroll them (the counting costs ~0.2 KB
/// of the gzipped .wasm, not ~0.6 KB).
pub fn sort_f64(v: &mut [f64]) {
    let (mut low, mut high) = (f64::INFINITY, f64::NEG_INFINITY);
    for &x in v.iter() {
        if x.trunc() != x {
            return heap_sort(v);
        }
        if x < low {
            low = x;
        }
        if x > high {
            high = x;
        }
    }
    let mut counts = [0u32; COUNTS];
    for &x in v.iter() {
        let Some(c) = counts.get_mut((x - low) as usize) else {
            return heap_sort(v);
        };
        *c += 1;
    }
    let mut out = v.iter_mut();
    for (d, &c) in counts.iter().take((high - low) as usize + 1).enumerate() {
        for slot in out.by_ref().take(c as usize) {
            *slot = low + d as f64;
        }
    }
}

fn heap_sort(v: &mut [f64]) {
    heap_sort_by(v, |a, b| a.total_cmp(b).is_lt());
}

/// Widest span of whole numbers [`sort_f64`] counts (16 KB of counts on the stack).
const COUNTS: usize = 4096;

/// Sorts `v` in place by `less` (a strict weak order): heapsort, O(n log n)
/// worst case, no allocation, not stable.
pub fn heap_sort_by<T>(v: &mut [T], mut less: impl FnMut(&T, &T) -> bool) {
    let n = v.len();
    for root in (0..n / 2).rev() {
        sift_down(v, root, n, &mut less);
    }
    for end in (1..n).rev() {
        v.swap(0, end);
        sift_down(v, 0, end, &mut less);
    }
}

fn sift_down<T>(v: &mut [T], mut root: usize, end: usize, less: &mut impl FnMut(&T, &T) -> bool) {
    loop {
        let mut child = 2 * root + 1;
        if child >= end {
            return;
        }
        if child + 1 < end && lt(v, child, child + 1, less) {
            child += 1;
        }
        if !lt(v, root, child, less) {
            return;
        }
        v.swap(root, child);
        root = child;
    }
}

fn lt<T>(v: &[T], a: usize, b: usize, less: &mut impl FnMut(&T, &T) -> bool) -> bool {
    match (v.get(a), v.get(b)) {
        (Some(x), Some(y)) => less(x, y),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::{heap_sort_by, sort_f64};

    #[test]
    fn numbers_sort_like_the_standard_sort() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        // Counted: whole ms, a few values, negative, the widest span.
        // Heapsorted: spans too wide, fractions, all finite bit patterns.
        let shapes: [&dyn Fn(u64) -> f64; 9] = [
            &|r| (1 + r % 500) as f64,
            &|r| (r % 3) as f64,
            &|r| (r % 4096) as f64 - 7.0,
            &|r| (r % 4096) as f64 + 1e15,
            &|r| (r % 4097) as f64,
            &|r| (r % 100_000) as f64 * 1e9,
            &|r| (r % 100_000) as f64 / 7.0 - 5000.0,
            &|r| (r % 500) as f64 + 0.5,
            &|r| f64::from_bits(r & !(0x7ff << 52) | ((r % 2046 + 1) << 52)),
        ];
        for n in 0..300 {
            for shape in shapes {
                let mut v: Vec<f64> = (0..n).map(|_| shape(next())).collect();
                let mut want = v.clone();
                want.sort_by(f64::total_cmp);
                sort_f64(&mut v);
                let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&v), bits(&want), "n = {n}");
            }
        }
    }

    #[test]
    fn sorts_like_the_standard_sort() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        for n in 0..200 {
            let mut v: Vec<u32> = (0..n)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    (seed % 50) as u32
                })
                .collect();
            let mut want = v.clone();
            want.sort_unstable();
            heap_sort_by(&mut v, |a, b| a < b);
            assert_eq!(v, want, "n = {n}");
        }
    }
}
