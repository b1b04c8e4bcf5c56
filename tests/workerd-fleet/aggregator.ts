// fleet-agg: defines the aggregator Durable Object the three workers ship
// to. FaultyAggregator fails every FAULT_EVERY-th delta, alternately before
// merging it (a lost request) and after (a lost response), so the test can
// prove retries never count twice; POST /abort resets the object (memory
// lost, storage kept), as an eviction or a restart does.
import { defineMetricsAggregator } from 'bounded-services/fleet';

interface State {
  storage: never;
  abort(reason?: string): void;
  blockConcurrencyWhile<T>(fn: () => Promise<T>): Promise<T>;
}

const Base = defineMetricsAggregator({ maxSeriesPerMetric: 100 });
let posts = 0;

export class FaultyAggregator extends Base {
  readonly #state: State;
  readonly #every: number;
  constructor(state: State, env: { FAULT_EVERY?: string }) {
    super(state, env);
    this.#state = state;
    this.#every = Number(env.FAULT_EVERY ?? 0);
  }

  override async fetch(request: Request): Promise<Response> {
    const path = new URL(request.url).pathname;
    if (path === '/abort') {
      this.#state.abort('reset by the test');
      return new Response('aborted');
    }
    if (path === '/delta' && this.#every > 0 && ++posts % this.#every === 0) {
      if ((posts / this.#every) % 2 === 1) return new Response('injected: lost before merging', { status: 500 });
      await super.fetch(request);
      return new Response('injected: merged, response lost', { status: 502 });
    }
    return (await super.fetch(request)) as Response;
  }
}

export default {
  fetch(): Response {
    return new Response('fleet-agg: the aggregator Durable Object lives here', { status: 404 });
  },
};
