//! Hit counts of the core's policies on trace files (bench/hitratio):
//! `cargo run --release --example hitratio -- DIR CAP[,CAP...] [POLICY,...]`
//! prints one line per trace, capacity and policy: `trace cap policy hits requests`.
use bounded_services::cache::{CacheOptions, KeyedCache, Policy};
use std::fs;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dir = args.get(1).cloned().unwrap_or_else(|| ".".into());
    let caps: Vec<u32> = args
        .get(2)
        .map(|s| s.split(',').filter_map(|c| c.parse().ok()).collect())
        .unwrap_or_else(|| vec![1000]);
    let policies: Vec<Policy> = args
        .get(3)
        .map(|s| s.split(',').filter_map(Policy::from_name).collect())
        .unwrap_or_else(|| Policy::ALL.to_vec());
    let mut files: Vec<_> = fs::read_dir(&dir)
        .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    files.sort();
    for path in files.iter().filter(|p| p.extension().is_some_and(|e| e == "bin")) {
        let name = path.file_stem().map(|s| s.to_string_lossy().to_string()).unwrap_or_default();
        let bytes = fs::read(path).unwrap_or_default();
        let ids: Vec<u32> = bytes
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        for &cap in &caps {
            if let Some(c) = name.strip_prefix("loop-") {
                if c.parse::<u32>().ok() != Some(cap) {
                    continue;
                }
            }
            for &policy in &policies {
                let opts = CacheOptions { max_entries: cap, policy, ..CacheOptions::default() };
                let Ok(mut cache) = KeyedCache::<u32, ()>::new(opts) else { continue };
                let mut hits = 0u64;
                for &id in &ids {
                    if cache.get(&id, 0.0).is_some() {
                        hits += 1;
                    } else {
                        let _ = cache.set(id, (), f64::INFINITY, 0.0, 0.0);
                    }
                }
                println!("{name} {cap} {} {hits} {}", policy.name(), ids.len());
            }
        }
    }
}
