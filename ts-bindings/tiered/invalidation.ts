// MoodMash's invalidation helpers for a tiered cache. L1 is cleared by the
// same anchored patterns as `CacheInvalidation`; the stores cannot be
// scanned, so they are cleared by key: the keys of that id this isolate's
// L1 holds, plus the keys the helper can name itself (each builder with its
// default arguments). A variant key no isolate holds in L1 (say
// `CacheKeys.userMoods(id, 50)` loaded elsewhere) stays in the stores until
// its TTL ends: keep the stores' TTLs as short as that staleness allows.
import { CacheKeys, idPattern } from '../cache/moodmash.js';
import type { TieredCache } from './tiered-cache.js';

/** The helpers of {@link tieredInvalidation}: `CacheInvalidation`'s, resolving when every tier was told. */
export interface TieredInvalidation {
  onMoodChange(userId: number | string): Promise<void>;
  onHealthMetricsChange(userId: number | string): Promise<void>;
  onGroupChange(groupId: number | string): Promise<void>;
  onSocialChange(userId: number | string): Promise<void>;
  onComplianceChange(): Promise<void>;
}

async function invalidate(cache: TieredCache, pattern: string | undefined, named: string[]): Promise<void> {
  const keys = new Set(named);
  if (pattern !== undefined) {
    for (const k of cache.keysMatching(pattern)) keys.add(k);
    cache.delPattern(pattern);
  }
  await Promise.all([...keys].map((k) => cache.del(k)));
}

/** `CacheInvalidation`'s helpers for `cache`, deleting in L1 and in its stores. */
export function tieredInvalidation(cache: TieredCache): TieredInvalidation {
  return {
    onMoodChange: (id) =>
      invalidate(cache, idPattern('mood:stats|mood:list|social:feed|social:shares', id), [
        CacheKeys.moodStats(id),
        CacheKeys.userMoods(id),
        CacheKeys.socialFeed(id),
        CacheKeys.sharedMoods(id),
      ]),
    onHealthMetricsChange: (id) => invalidate(cache, idPattern('health:metrics', id), [CacheKeys.healthMetrics(id)]),
    onGroupChange: (id) =>
      invalidate(cache, idPattern('group:details|group:members|group:sync', id), [
        CacheKeys.groupDetails(id),
        CacheKeys.groupMembers(id),
        CacheKeys.moodSync(id),
      ]),
    onSocialChange: (id) =>
      invalidate(cache, idPattern('social:feed|social:friends|social:shares', id), [
        CacheKeys.socialFeed(id),
        CacheKeys.userFriends(id),
        CacheKeys.sharedMoods(id),
      ]),
    onComplianceChange: () => invalidate(cache, undefined, [CacheKeys.complianceStatus(), CacheKeys.securityDashboard()]),
  };
}
