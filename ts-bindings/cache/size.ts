// approximateSize(): what `maxBytes` counts when `set` is given no size.

/** Values walked at most per call: bounds the cost of sizing one value. */
const WALK_LIMIT = 10_000;

/**
 * An approximate size in bytes of a key and value, for `maxBytes`:
 * strings count 16 bytes plus 2 per UTF-16 code unit, numbers and bigints
 * 8, booleans 4, typed arrays, `DataView`s and `ArrayBuffer`s their byte
 * length plus 16; arrays, `Map`s, `Set`s and plain objects 16 bytes plus
 * their members (8 per array slot, 16 plus the key for an object member,
 * keys and values of `Map` entries). Cycles are followed once.
 *
 * The walk visits at most 10,000 values, without recursion (a deep value
 * cannot overflow the stack). Members it could not visit are counted at the
 * mean size of the members it did: exact for uniform collections (an array
 * of a million numbers), an estimate otherwise; nested members of unvisited
 * members are not seen. An estimate of what the value holds, not of V8's
 * exact heap use (which depends on its representations).
 */
export function approximateSize(value: unknown, key = ''): number {
  let budget = WALK_LIMIT;
  let total = 2 * key.length;
  // Members known to exist (of the containers visited), and bytes of the
  // members visited: the mean extrapolates to the rest.
  let known = 0;
  let walked = 0;
  let walkedBytes = 0;
  const seen = new Set<object>();
  // [value, bytes of its slot in its container]; the root has no slot.
  const pending: [unknown, number][] = [[value, 0]];
  const push = (v: unknown, slot: number): boolean => {
    if (pending.length >= budget) return false;
    pending.push([v, slot]);
    return true;
  };
  while (pending.length > 0 && budget > 0) {
    budget--;
    const [v, slot] = pending.pop() as [unknown, number];
    const bytes = slot + ownSize(v, seen, (n) => (known += n), push);
    total += bytes;
    if (slot > 0) {
      walked++;
      walkedBytes += bytes;
    }
  }
  // Members never visited, plus those still queued when the budget ran out
  // (their slot bytes were not counted either).
  const unseen = known - walked;
  if (unseen > 0 && walked > 0) total += Math.round((unseen * walkedBytes) / walked);
  return total;
}

/**
 * Bytes of `v` itself, without its members; queues the members it can with
 * `push(member, slotBytes)` and reports how many it has with `count`.
 */
function ownSize(
  v: unknown,
  seen: Set<object>,
  count: (n: number) => void,
  push: (member: unknown, slot: number) => boolean,
): number {
  switch (typeof v) {
    case 'string':
      return 16 + 2 * v.length;
    case 'number':
    case 'bigint':
      return 8;
    case 'boolean':
      return 4;
    case 'object': {
      if (v === null || seen.has(v)) return 0;
      seen.add(v);
      if (ArrayBuffer.isView(v) || v instanceof ArrayBuffer) return 16 + v.byteLength;
      if (Array.isArray(v)) {
        count(v.length);
        for (let i = 0; i < v.length && push(v[i], 8); i++);
      } else if (v instanceof Map) {
        count(2 * v.size);
        for (const [k, x] of v) if (!push(k, 8) || !push(x, 8)) break;
      } else if (v instanceof Set) {
        count(v.size);
        for (const x of v) if (!push(x, 8)) break;
      } else {
        const keys = Object.keys(v);
        count(keys.length);
        for (const k of keys) if (!push((v as Record<string, unknown>)[k], 16 + 2 * k.length)) break;
      }
      return 16;
    }
    default:
      return 16;
  }
}
