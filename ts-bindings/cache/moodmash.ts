// MoodMash's key builders, invalidation helpers, TTLs and HTTP caching
// headers, as the original module had them (invalidation patterns fixed).
import { getDefaultCache } from './default-cache.js';

/** Cache key builders (unchanged from the original). */
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

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Pattern matching the keys of one id under the given prefixes, anchored:
 * `^(?:p1|p2):<id>(?::|$)`. The original's unanchored patterns let user 1's
 * invalidation delete user 12's keys; the id is also regex-escaped.
 */
export function idPattern(prefixes: string, id: number | string): string {
  return `^(?:${prefixes}):${escapeRegExp(String(id))}(?::|$)`;
}

/**
 * Invalidation helpers. Fixed: patterns are anchored to the whole id, so
 * invalidating user 1 no longer deletes the keys of users 12 and 123.
 */
export const CacheInvalidation = {
  onMoodChange: (userId: number | string): void => {
    getDefaultCache().delPattern(idPattern('mood:stats|mood:list', userId));
    getDefaultCache().delPattern(idPattern('social:feed|social:shares', userId));
  },
  onHealthMetricsChange: (userId: number | string): void => {
    getDefaultCache().delPattern(idPattern('health:metrics', userId));
  },
  onGroupChange: (groupId: number | string): void => {
    getDefaultCache().delPattern(idPattern('group:details|group:members|group:sync', groupId));
  },
  onSocialChange: (userId: number | string): void => {
    getDefaultCache().delPattern(idPattern('social:feed|social:friends|social:shares', userId));
  },
  onComplianceChange: (): void => {
    getDefaultCache().del('hipaa:status');
    getDefaultCache().del('security:dashboard');
  },
};

/** TTLs in seconds (unchanged; plain numbers, as the original's). */
export const CacheTTL: { SHORT: number; MEDIUM: number; LONG: number; VERY_LONG: number } = {
  SHORT: 60,
  MEDIUM: 300,
  LONG: 900,
  VERY_LONG: 3600,
};

/**
 * What {@link getCacheHeaders} returns. Type aliases, not interfaces, so
 * that they are assignable to `Record<string, string>` and `HeadersInit`.
 */
export type CacheHeaders = {
  'Cache-Control': string;
  'CDN-Cache-Control': string;
  'Cloudflare-CDN-Cache-Control': string;
};

/** What {@link getNoCacheHeaders} returns. */
export type NoCacheHeaders = {
  'Cache-Control': string;
  Pragma: string;
  Expires: string;
};

/** HTTP caching headers for `ttl` seconds (unchanged). */
export function getCacheHeaders(ttl: number): CacheHeaders {
  return {
    'Cache-Control': `public, max-age=${ttl}`,
    'CDN-Cache-Control': `public, max-age=${ttl}`,
    'Cloudflare-CDN-Cache-Control': `public, max-age=${ttl}`,
  };
}

/** Headers that disable caching (unchanged). */
export function getNoCacheHeaders(): NoCacheHeaders {
  return {
    'Cache-Control': 'no-store, no-cache, must-revalidate, proxy-revalidate',
    Pragma: 'no-cache',
    Expires: '0',
  };
}
