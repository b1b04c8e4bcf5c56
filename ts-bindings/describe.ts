// How an offending value is shown in an error message: short, never the
// whole of a long string, never a value's own toString().

/** A short description of `v` for an error message. */
export function describe(v: unknown): string {
  if (typeof v === 'string') return v.length > 40 ? `a string of length ${v.length}` : JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (v === null) return 'null';
  return typeof v;
}
