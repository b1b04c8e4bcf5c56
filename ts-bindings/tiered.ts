// bounded-services/tiered — the bounded in-isolate cache over shared
// stores (the Workers Cache API, KV, your own), with stale-while-revalidate
// and stale-if-error. This file is the face: it only re-exports (the
// implementations are under ./tiered/).
export { TieredCache } from './tiered/tiered-cache.js';
export { CacheApiStore, KvStore, MemoryStore } from './tiered/stores.js';
export type { CacheApiStoreOptions, CacheLike, CacheResponseLike, KvNamespaceLike, KvStoreOptions, MemoryStoreOptions } from './tiered/stores.js';
export { jsonCodec } from './tiered/codec.js';
export { getMemoryStats, ready, trapStats, type MemoryStats } from './memory.js';
export { tieredInvalidation, type TieredInvalidation } from './tiered/invalidation.js';
export type {
  Codec,
  Freshness,
  L1TierStats,
  StoreTierStats,
  TieredCallOptions,
  TieredOptions,
  TieredStats,
  TierStore,
  WaitUntil,
} from './tiered/types.js';
