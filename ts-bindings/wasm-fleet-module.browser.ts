// The fleet aggregator runs in a Durable Object (or Node), never in a
// browser: say so instead of fetching a module nobody should load there.

/** Throws: aggregators do not run in browsers. */
export function fleetWasmModule(): WebAssembly.Module {
  throw new Error(
    'bounded-services/fleet: the aggregator runs in a Cloudflare Durable Object or in Node, not in a browser (only the shipper is platform-neutral)',
  );
}
