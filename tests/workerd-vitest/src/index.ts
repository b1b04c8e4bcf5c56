// A minimal worker: the tests run in its runtime.
import { BoundedCache } from 'bounded-services/cache';

const cache = new BoundedCache({ maxEntries: 10 });

export default {
  async fetch(): Promise<Response> {
    cache.set('hello', 'world', 60);
    return new Response(String(cache.get('hello')));
  },
};
