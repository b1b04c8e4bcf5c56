// getMemoryStats(): the figures the MoodMash memory report asked for, for
// `GET /api/health/memory`, measured where the package can measure them.
// The engine reports its own figures (linear memory, every live core and
// registry); the module-level instances report theirs through the engine's
// registry of defaults, so this depends on neither implementation
// (importing `bounded-services/cache` loads no metrics code, and the
// reverse).
import { engine, defaultFigures, ex, outNumbers } from './engine.js';
import { trapStats } from './traps.js';

/** Memory figures of the module-level cache and collector, and of all instances. */
export interface MemoryStats {
  /** Entries in the module-level cache (measured; 0 when `bounded-services/cache` is not loaded). */
  cache_size: number;
  /**
   * Estimate, in KiB, of what the module-level cache holds: its keys
   * (2 bytes per UTF-16 code unit), the sizes of its values as given to
   * `set`/`sizeCalculation` (0 when none are given: the values' own heap use
   * is not known), and the core's own structures in Wasm memory.
   */
  cache_memory_kb: number;
  /** The module-level cache's entry bound. */
  cache_max_entries: number;
  /** Sum of the sizes given for the module-level cache's values (measured bookkeeping). */
  cache_tracked_bytes: number;
  /**
   * Bytes of the module-level cache's eviction-policy structures in Wasm
   * memory (frequency sketch, ghost queue, the adaptive policy's shadow
   * caches; 0 under `'lru'`), measured from their allocations and included
   * in `cache_memory_kb`.
   */
  cache_policy_bytes: number;
  /** Metric names registered in the module-level collector (measured). */
  metrics_count: number;
  /** Series across those metrics (measured). */
  metrics_series_count: number;
  /** Response times in the module-level collector's window (measured). */
  response_times_count: number;
  /** Estimate, in KiB, of the module-level collector's structures in Wasm memory. */
  metrics_memory_kb: number;
  /**
   * Caches holding Wasm memory (measured by the engine): the module-level
   * one and every `BoundedCache` neither disposed nor yet finalized.
   */
  live_caches: number;
  /** Collectors holding Wasm memory, likewise (one holds none before its first use). */
  live_collectors: number;
  /** Entries across all live caches (measured). */
  all_cache_entries: number;
  /**
   * Estimate, in KiB, of what all live caches and collectors hold in Wasm
   * memory: the sizes given for values and the cores' structures (keys,
   * which live in JavaScript, are counted only for the module-level cache).
   */
  all_memory_kb: number;
  /**
   * Size of the WebAssembly linear memory in bytes (measured). It never
   * shrinks; it stops growing once the bounds are reached.
   */
  wasm_memory_bytes: number;
  /** Wasm traps recovered from since start (see the README). */
  traps: number;
}

/** Memory figures; see {@link MemoryStats} for which are estimates. */
export function getMemoryStats(): MemoryStats {
  engine();
  const s: MemoryStats = {
    cache_size: 0,
    cache_memory_kb: 0,
    cache_max_entries: 0,
    cache_tracked_bytes: 0,
    cache_policy_bytes: 0,
    metrics_count: 0,
    metrics_series_count: 0,
    response_times_count: 0,
    metrics_memory_kb: 0,
    live_caches: 0,
    live_collectors: 0,
    all_cache_entries: 0,
    all_memory_kb: 0,
    wasm_memory_bytes: 0,
    traps: trapStats().traps,
  };
  // First: opening a module-level instance may grow the figures below.
  for (const f of defaultFigures()) {
    if (f.kind === 'cache') {
      s.cache_size = f.entries;
      s.cache_memory_kb = (f.keyBytes + f.trackedBytes + f.coreBytes) / 1024;
      s.cache_max_entries = f.maxEntries;
      s.cache_tracked_bytes = f.trackedBytes;
      s.cache_policy_bytes = f.policyBytes;
    } else {
      s.metrics_count = f.metrics;
      s.metrics_series_count = f.series;
      s.response_times_count = f.responseTimes;
      s.metrics_memory_kb = f.coreBytes / 1024;
    }
  }
  // src/bindings/mod.rs `engineMemoryStats`.
  const [wasmBytes, caches, cacheEntries, trackedBytes, coreBytes, registries, registryBytes] = outNumbers(
    ex.engineMemoryStats(),
    7,
  ) as [number, number, number, number, number, number, number];
  s.live_caches = caches;
  s.live_collectors = registries;
  s.all_cache_entries = cacheEntries;
  s.all_memory_kb = (trackedBytes + coreBytes + registryBytes) / 1024;
  s.wasm_memory_bytes = wasmBytes;
  return s;
}

export { ready } from './platform.js';
export { trapStats };
