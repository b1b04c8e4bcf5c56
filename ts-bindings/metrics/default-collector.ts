// The module-level collector (the original's `metricsCollector`), created
// lazily: importing the package instantiates no WebAssembly.
import { provideDefault } from '../engine.js';
import { makeDefaultCollector, type MetricsCollector } from './collector.js';
import type { MetricsOptions } from './types.js';

/** The module-level collector (the original's `metricsCollector`). */
export const metricsCollector: MetricsCollector = makeDefaultCollector();

provideDefault('metrics', () => metricsCollector);

/**
 * Reconfigures the module-level `metricsCollector` in place (see
 * {@link MetricsOptions}: caps, staleness, buckets, window): its series and
 * samples are dropped, and every module holding it sees the new settings.
 * Call it once at start-up.
 */
export function configure(options: MetricsOptions): void {
  metricsCollector.configure(options);
}
