// An entry as the tiers hold it: the value with its own freshness times, so
// every tier (and every isolate) decides freshness by the same wall-clock
// instants, whatever the tier's own expiry did.
//
// In L1 an entry is an object holding the value by reference. In a store it
// is text, version 1: one line of JSON metadata, a newline, then the
// codec's text of the value (empty for a "not found"):
//
//   {"bs":1,"k":"<key>","f":<fresh until>,"r":<revalidate until>,"e":<if-error until>,"n":<0|1>}\n<value>
//
// Times are ms since the epoch; `null` stands for Infinity. `k` is the
// original key, so a hashed store key can never serve another key's value.
import type { Codec } from './types.js';

export interface Entry {
  value: unknown;
  /** Served without a load until this instant (ms). */
  fresh: number;
  /** Served stale while one refresh runs until this instant. */
  revalidate: number;
  /** Served stale when the loader fails until this instant. */
  ifError: number;
  /** A cached "not found". */
  negative: boolean;
}

/** The last instant any tier has a use for `e`. */
export function endOf(e: Entry): number {
  return Math.max(e.fresh, e.revalidate, e.ifError);
}

const time = (t: number): number | null => (Number.isFinite(t) ? t : null);
const untime = (t: unknown): number => (t === null ? Infinity : (t as number));

/** The store text of `e` under `key`; throws what the codec throws. */
export function encodeEntry(key: string, e: Entry, codec: Codec): string {
  const body = e.negative ? '' : codec.encode(e.value);
  if (typeof body !== 'string') throw new TypeError('bounded-services/tiered: the codec must encode to a string');
  const head = JSON.stringify({ bs: 1, k: key, f: time(e.fresh), r: time(e.revalidate), e: time(e.ifError), n: e.negative ? 1 : 0 });
  return `${head}\n${body}`;
}

const isTime = (t: unknown): boolean => t === null || (typeof t === 'number' && !Number.isNaN(t));

/**
 * The entry in `text` if it is one of ours, of this version, for `key`;
 * `undefined` for anything else (another writer's data, a hash collision,
 * a newer format, a value the codec cannot read).
 */
export function decodeEntry(key: string, text: string, codec: Codec): Entry | undefined {
  const nl = text.indexOf('\n');
  if (nl < 0) return undefined;
  let head: { bs?: unknown; k?: unknown; f?: unknown; r?: unknown; e?: unknown; n?: unknown };
  try {
    head = JSON.parse(text.slice(0, nl));
  } catch {
    return undefined;
  }
  if (head === null || typeof head !== 'object' || head.bs !== 1 || head.k !== key) return undefined;
  if (!isTime(head.f) || !isTime(head.r) || !isTime(head.e)) return undefined;
  const negative = head.n === 1;
  let value: unknown = null;
  if (!negative) {
    try {
      value = codec.decode(text.slice(nl + 1));
    } catch {
      return undefined;
    }
  }
  return { value, fresh: untime(head.f), revalidate: untime(head.r), ifError: untime(head.e), negative };
}
