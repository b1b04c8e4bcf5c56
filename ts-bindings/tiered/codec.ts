// The default codec: JSON, strict. `JSON.stringify` silently turns what it
// cannot represent into something else (a Date into a string, a Map into
// `{}`, NaN into null, a function into nothing) or throws deep inside; a
// value read back from a store must equal the one stored, so this codec
// refuses such values up front with a TypeError naming where they are.
import type { Codec } from './types.js';

const MAX_DEPTH = 512;

function where(path: string): string {
  return path === '' ? 'the value' : `value${path}`;
}

function kindOf(v: object): string {
  const proto = Object.getPrototypeOf(v) as { constructor?: { name?: string } } | null;
  const name = proto?.constructor?.name;
  return name ? `a ${name}` : 'an object with a custom prototype';
}

function check(v: unknown, path: string, depth: number, ancestors: Set<object>): void {
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return;
    case 'number':
      if (!Number.isFinite(v)) throw new TypeError(`bounded-services/tiered: ${where(path)} is ${v}, which JSON cannot store`);
      return;
    case 'undefined':
      throw new TypeError(`bounded-services/tiered: ${where(path)} is undefined, which JSON cannot store`);
    case 'bigint':
    case 'symbol':
    case 'function':
      throw new TypeError(`bounded-services/tiered: ${where(path)} is a ${typeof v}, which JSON cannot store (give the cache a codec)`);
  }
  if (v === null) return;
  const o = v as object;
  if (depth >= MAX_DEPTH) throw new TypeError(`bounded-services/tiered: ${where(path)} is nested deeper than ${MAX_DEPTH} levels`);
  if (ancestors.has(o)) throw new TypeError(`bounded-services/tiered: ${where(path)} refers back to itself (a cycle), which JSON cannot store`);
  ancestors.add(o);
  if (Array.isArray(o)) {
    for (let i = 0; i < o.length; i++) check(o[i], `${path}[${i}]`, depth + 1, ancestors);
  } else {
    const proto = Object.getPrototypeOf(o);
    if (proto !== Object.prototype && proto !== null) {
      throw new TypeError(`bounded-services/tiered: ${where(path)} is ${kindOf(o)}, which JSON would not give back as it is (give the cache a codec)`);
    }
    for (const k of Object.keys(o)) {
      const x = (o as Record<string, unknown>)[k];
      // An undefined property is dropped, as JSON.stringify does: reading it
      // back gives undefined all the same.
      if (x !== undefined) check(x, `${path}.${k}`, depth + 1, ancestors);
    }
  }
  ancestors.delete(o);
}

/**
 * JSON, refusing what JSON would not give back as it was: `undefined` (but
 * in an object property, which is dropped as `JSON.stringify` does),
 * non-finite numbers, bigints, symbols, functions, cycles, and objects
 * other than plain objects and arrays (`Date`, `Map`, `Set`, class
 * instances, typed arrays). Such a value is a `TypeError` naming where it
 * is; give the cache your own {@link Codec} to store them.
 */
export const jsonCodec: Codec = {
  encode(value: unknown): string {
    check(value, '', 0, new Set());
    return JSON.stringify(value);
  },
  decode(text: string): unknown {
    return JSON.parse(text);
  },
};
