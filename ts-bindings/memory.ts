// getMemoryStats(): the figures the MoodMash memory report asked for, for
// `GET /api/health/memory`, measured where the package can measure them.
import { getDefaultCache } from './cache.js';
import { engine, ex, trapStats } from './engine.js';
import { metricsCollector } from './metrics.js';

/** Memory figures of the module-level cache and metrics collector. */
export interface MemoryStats {
  /** Entries in the module-level cache (measured). */
  cache_size: number;
  /**
   * Estimate, in KiB, of what the module-level cache holds: its keys
   * (2 bytes per UTF-16 code unit), the sizes of its values as given to
   * `set`/`sizeCalculation` (0 when none are given: the values' own heap use
   * is not known), and the core's own structures in Wasm memory.
   */
  cache_memory_kb: number;
  /** The cache's entry bound (configured). */
  cache_max_entries: number;
  /** Sum of the sizes given for cached values (measured bookkeeping). */
  cache_tracked_bytes: number;
  /** Metric names registered in the module-level collector (measured). */
  metrics_count: number;
  /** Series across those metrics (measured). */
  metrics_series_count: number;
  /** Response times in the window (measured; at most its size). */
  response_times_count: number;
  /** Estimate, in KiB, of the collector's structures in Wasm memory. */
  metrics_memory_kb: number;
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
  const cache = getDefaultCache();
  const c = cache.getStats();
  const m = cache.memoryBytes();
  const mc = metricsCollector.getStats();
  return {
    cache_size: c.total_entries,
    cache_memory_kb: (m.key_bytes + m.tracked_bytes + m.core_bytes) / 1024,
    cache_max_entries: c.max_entries,
    cache_tracked_bytes: m.tracked_bytes,
    metrics_count: mc.metrics_count,
    metrics_series_count: mc.series_count,
    response_times_count: mc.response_times_count,
    metrics_memory_kb: mc.heap_bytes_estimate / 1024,
    wasm_memory_bytes: ex.engineWasmMemoryBytes(),
    traps: trapStats().traps,
  };
}
