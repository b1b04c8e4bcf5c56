/**
 * Model of MoodMash's ORIGINAL `src/services/cache.ts`, written from
 * /work/shared/spec/original-services.md ("`src/services/cache.ts`" section),
 * bugs included. The original is a module-level singleton; here each call to
 * `createOriginalCache()` yields a fresh instance with its own Map, counters
 * and clock, so tests and benchmarks never share state.
 *
 * This is a reference model and a benchmark baseline, not a product: do not
 * "fix" anything here. Known bugs kept on purpose:
 *   - unbounded Map, and `cleanExpired()` is never called (seed leak #2);
 *   - `delPattern` / `CacheInvalidation` use unanchored regular expressions,
 *     so invalidating user 1 also deletes user 12's and 123's keys.
 */

import type { ClockOptions } from './clock.js';

export interface CacheEntry<T = unknown> {
  data: T;
  /** ms since epoch */
  expires_at: number;
  /** ms since epoch */
  created_at: number;
}

export interface CacheStats {
  hits: number;
  misses: number;
  /** percentage: hits / (hits + misses) * 100, or 0 with no lookups */
  hit_rate: number;
  /** stored entries, expired ones included until removed */
  total_entries: number;
}

export interface OriginalCache {
  get<T = unknown>(key: string): T | null;
  /** `ttl` in seconds (default 300). */
  set(key: string, data: unknown, ttl?: number): void;
  del(key: string): void;
  /** `new RegExp(pattern)`, unanchored; throws SyntaxError if invalid. */
  delPattern(pattern: string): void;
  /** Removes all entries and resets hits and misses. */
  clear(): void;
  getStats(): CacheStats;
  cleanExpired(): void;
  /** Number of stored entries (the original's `cache.size`). */
  size(): number;
}

export function createOriginalCache(options: ClockOptions = {}): OriginalCache {
  const now = options.now ?? Date.now;
  const cache = new Map<string, CacheEntry>();
  let hits = 0;
  let misses = 0;

  return {
    get<T = unknown>(key: string): T | null {
      const entry = cache.get(key);
      if (!entry) {
        misses++;
        return null;
      }
      // Strictly greater: an entry is still served at exactly expires_at.
      if (now() > entry.expires_at) {
        cache.delete(key);
        misses++;
        return null;
      }
      hits++;
      // The very object that was stored: no copy.
      return entry.data as T;
    },

    set(key: string, data: unknown, ttl: number = 300): void {
      const t = now();
      cache.set(key, { data, expires_at: t + ttl * 1000, created_at: t });
    },

    del(key: string): void {
      cache.delete(key);
    },

    delPattern(pattern: string): void {
      const re = new RegExp(pattern); // unanchored; SyntaxError if invalid
      // Deleting the current key while iterating a Map is safe in JavaScript.
      for (const key of cache.keys()) {
        if (re.test(key)) cache.delete(key);
      }
    },

    clear(): void {
      cache.clear();
      hits = 0;
      misses = 0;
    },

    getStats(): CacheStats {
      const total = hits + misses;
      return {
        hits,
        misses,
        hit_rate: total > 0 ? (hits / (hits + misses)) * 100 : 0,
        total_entries: cache.size,
      };
    },

    cleanExpired(): void {
      const t = now();
      for (const [key, entry] of cache.entries()) {
        if (t > entry.expires_at) cache.delete(key);
      }
    },

    size(): number {
      return cache.size;
    },
  };
}

// ---------------------------------------------------------------------------
// Pure helpers exported by the same module, kept as they are (spec list).

export const CacheKeys = {
  moodStats: (userId: number | string) => `mood:stats:${userId}`,
  userMoods: (userId: number | string, limit?: number) => `mood:list:${userId}:${limit || 'all'}`,
  healthMetrics: (userId: number | string) => `health:metrics:${userId}`,
  socialFeed: (userId: number | string, limit?: number) => `social:feed:${userId}:${limit || 10}`,
  groupDetails: (groupId: number | string) => `group:details:${groupId}`,
  groupMembers: (groupId: number | string) => `group:members:${groupId}`,
  moodSync: (groupId: number | string) => `group:sync:${groupId}`,
  userFriends: (userId: number | string) => `social:friends:${userId}`,
  sharedMoods: (userId: number | string) => `social:shares:${userId}`,
  complianceStatus: () => 'hipaa:status',
  securityDashboard: () => 'security:dashboard',
  performanceDashboard: () => 'performance:dashboard',
};

/** Seconds. */
export const CacheTTL = {
  SHORT: 60,
  MEDIUM: 300,
  LONG: 900,
  VERY_LONG: 3600,
};

export function getCacheHeaders(ttl: number): Record<string, string> {
  return {
    'Cache-Control': `public, max-age=${ttl}`,
    'CDN-Cache-Control': `public, max-age=${ttl}`,
    'Cloudflare-CDN-Cache-Control': `public, max-age=${ttl}`,
  };
}

export function getNoCacheHeaders(): Record<string, string> {
  return {
    'Cache-Control': 'no-store, no-cache, must-revalidate, proxy-revalidate',
    Pragma: 'no-cache',
    Expires: '0',
  };
}

export interface CacheInvalidation {
  onMoodChange(userId: number | string): void;
  onHealthMetricsChange(userId: number | string): void;
  onGroupChange(groupId: number | string): void;
  onSocialChange(userId: number | string): void;
  onComplianceChange(): void;
}

/** The subset of a cache that `CacheInvalidation` uses. */
export interface InvalidatableCache {
  del(key: string): void;
  delPattern(pattern: string): void;
}

/**
 * The original `CacheInvalidation`, bound to `cache` instead of the module
 * singleton. Known bug kept: the patterns are unanchored (no `$`), so user 1's
 * invalidation also deletes the keys of users 12, 123, ...
 */
export function createCacheInvalidation(cache: InvalidatableCache): CacheInvalidation {
  return {
    onMoodChange(userId) {
      cache.delPattern(`mood:(stats|list):${userId}`);
      cache.delPattern(`social:(feed|shares):${userId}`);
    },
    onHealthMetricsChange(userId) {
      cache.delPattern(`health:metrics:${userId}`);
    },
    onGroupChange(groupId) {
      cache.delPattern(`group:(details|members|sync):${groupId}`);
    },
    onSocialChange(userId) {
      cache.delPattern(`social:(feed|friends|shares):${userId}`);
    },
    onComplianceChange() {
      cache.del('hipaa:status');
      cache.del('security:dashboard');
    },
  };
}
