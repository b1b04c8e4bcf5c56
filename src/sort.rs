//! One small in-place sort for the core's few O(n log n) sorts (the
//! response-time window's mirror, the exposition's series order). The
//! standard library's sorts are faster on large inputs but each
//! instantiation costs ~5–7 KB of Wasm; these inputs are at most the
//! window size or a family's series, sorted at most once per scrape or per
//! 32 window pushes.
#![forbid(unsafe_code)]

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
    use super::heap_sort_by;

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
