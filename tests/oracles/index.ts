/**
 * Faithful TypeScript models of MoodMash's original in-memory services and of
 * the "fixed" versions that shipped after the seed report. Reference models
 * for differential tests and baselines for benchmarks; see README.md.
 */

export type { ClockOptions } from './clock.js';
export * from './original-cache.js';
export * from './fixed-cache.js';
export * from './original-metrics.js';
export * from './fixed-metrics.js';
