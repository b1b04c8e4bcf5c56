// The engine's sum-by-label records (engineMetricsSumByLabel, and the fleet
// aggregator's engineFleetSumByLabel) back to an object.

/** Exposition spelling of a sum, back to a number. */
function sumOf(text: string): number {
  return text === '+Inf' ? Infinity : text === '-Inf' ? -Infinity : Number(text);
}

/**
 * `engineMetricsSumByLabel`'s records (`<length>:<value><sum>;`, the value
 * cut by its length: it may hold any character) as an object without
 * prototype (`__proto__` is just a key).
 */
export function byLabel(records: string): Record<string, number> {
  const out = Object.create(null) as Record<string, number>;
  let i = 0;
  while (i < records.length) {
    const colon = records.indexOf(':', i);
    const start = colon + 1;
    const end = start + Number(records.slice(i, colon));
    const semi = records.indexOf(';', end);
    out[records.slice(start, end)] = sumOf(records.slice(end, semi));
    i = semi + 1;
  }
  return out;
}
