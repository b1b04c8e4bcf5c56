// metricsMiddleware() of bounded-services/metrics inside a real Hono app
// (hono 4.13: `app.request` runs the whole pipeline, compose and onError
// included), compared where useful with the model of the original
// middleware (tests/oracles/ createOriginalMiddleware).
// Run: node --expose-gc --import tsx --test tests/ts/metrics-middleware.test.ts

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { bearerAuth } from 'hono/bearer-auth';
import { routePath } from 'hono/route';

import { MetricsCollector, metricsCollector, metricsMiddleware } from 'bounded-services/metrics';
import { createOriginalMetrics, createOriginalMiddleware } from '../oracles/index.js';

function sampleLines(text: string, name: string): string[] {
  return text.split('\n').filter((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
}

function valueOf(text: string, key: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${key} `));
  return line === undefined ? undefined : Number(line.slice(key.length + 1));
}

/** An app with the middleware and a quiet error handler (Hono's default logs). */
function appWith(collector: MetricsCollector): Hono {
  const app = new Hono();
  app.use('*', metricsMiddleware(collector));
  app.onError((_err, c) => c.text('Internal Server Error', 500));
  return app;
}

class QuotaError extends Error {
  override name = 'QuotaError';
}

describe('requests', () => {
  it('are counted by route pattern: 1000 user ids make one series', async () => {
    const m = new MetricsCollector();
    const app = appWith(m);
    app.get('/api/moods/:userId', (c) => c.json({ user: c.req.param('userId') }));
    app.post('/api/moods/:userId', (c) => c.text('created', 201));
    for (let i = 0; i < 1000; i++) {
      const res = await app.request(`/api/moods/${i}`);
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), { user: String(i) }, 'the response is untouched');
    }
    await app.request('/api/moods/42', { method: 'POST' });
    const text = m.toPrometheusFormat();
    assert.deepEqual(sampleLines(text, 'http_requests_total'), [
      'http_requests_total 0',
      'http_requests_total{method="GET",path="/api/moods/:userId"} 1000',
      'http_requests_total{method="POST",path="/api/moods/:userId"} 1',
    ]);
    assert.ok(!text.includes('/api/moods/42'), 'no id in any label');
    const s = m.getSnapshot();
    assert.equal(s.requests_total, 1001);
    assert.deepEqual({ ...s.requests_by_endpoint }, { '/api/moods/:userId': 1001 });
    assert.equal(s.errors_total, 0);
    assert.equal(m.getStats().response_times_count, 1000, 'one duration per request, window-bounded');

    // The original labelled by URL pathname: one label value per user,
    // merged into its one growing labels object.
    const o = createOriginalMetrics();
    const app0 = new Hono();
    app0.use('*', createOriginalMiddleware(o));
    app0.get('/api/moods/:userId', (c) => c.text('ok'));
    for (let i = 0; i < 3; i++) await app0.request(`/api/moods/${i}`);
    assert.deepEqual(o.metrics.get('http_requests_total')?.labels, { method: 'GET', path: '/api/moods/2' });
  });

  it('a 404 is counted with the bounded pattern of the middleware, not the URL', async () => {
    const m = new MetricsCollector();
    const app = appWith(m);
    app.get('/known', (c) => c.text('ok'));
    for (let i = 0; i < 200; i++) {
      const res = await app.request(`/no/such/page/${i}?q=${i}`);
      assert.equal(res.status, 404);
    }
    const text = m.toPrometheusFormat();
    assert.deepEqual(sampleLines(text, 'http_requests_total'), [
      'http_requests_total 0',
      'http_requests_total{method="GET",path="/*"} 200',
    ]);
    assert.ok(!text.includes('/no/such'), 'no URL in any label');
    // 404 is not a server error.
    assert.deepEqual(sampleLines(text, 'http_errors_total'), ['http_errors_total 0']);
  });

  it('durations are recorded for every request (window, histogram, mean gauge)', async () => {
    const m = new MetricsCollector();
    const app = appWith(m);
    app.get('/slow', async (c) => {
      await new Promise((r) => setTimeout(r, 30));
      return c.text('slow');
    });
    app.get('/fast', (c) => c.text('fast'));
    app.get('/boom', () => {
      throw new Error('x');
    });
    await app.request('/slow');
    await app.request('/fast');
    await app.request('/boom');
    await app.request('/nowhere');
    assert.equal(m.getStats().response_times_count, 4);
    const text = m.toPrometheusFormat();
    assert.equal(valueOf(text, 'http_request_duration_seconds_count'), 4);
    const sum = valueOf(text, 'http_request_duration_seconds_sum')! * 1000; // in seconds: to ms
    assert.ok(sum >= 25, `the slow request's ~30 ms are in the sum (${sum} ms)`);
    assert.ok(m.getPercentile(100) >= 25, 'the slowest is the max');
    assert.ok(m.getPercentile(25) >= 0);
    // The gauge is Math.round of the window's mean; the window holds the
    // same four durations as the histogram.
    assert.equal(m.getSnapshot().response_time_avg, Math.round(Math.round(sum) / 4));
  });
});

describe('errors', () => {
  it('errors thrown by handlers ARE counted, with error = the error name (the original missed them)', async () => {
    const m = new MetricsCollector();
    const app = appWith(m);
    app.get('/type', () => {
      throw new TypeError('cannot read properties of undefined (user 12345)');
    });
    app.get('/quota/:id', () => {
      throw new QuotaError(`quota exceeded for ${Math.random()}`);
    });
    for (let i = 0; i < 3; i++) assert.equal((await app.request('/type')).status, 500);
    for (let i = 0; i < 2; i++) assert.equal((await app.request(`/quota/${i}`)).status, 500);
    const text = m.toPrometheusFormat();
    assert.deepEqual(sampleLines(text, 'http_errors_total'), [
      'http_errors_total 0',
      'http_errors_total{error="QuotaError",method="GET",path="/quota/:id"} 2',
      'http_errors_total{error="TypeError",method="GET",path="/type"} 3',
    ]);
    assert.ok(!text.includes('cannot read') && !text.includes('quota exceeded'), 'never the message');
    const s = m.getSnapshot();
    assert.equal(s.errors_total, 5);
    assert.deepEqual({ ...s.errors_by_type }, { TypeError: 3, QuotaError: 2 });
    assert.equal(s.requests_total, 5, 'failed requests are requests too');

    // The original middleware on the same app: Hono hands the error to
    // onError, next() resolves, and nothing is counted.
    const o = createOriginalMetrics();
    const app0 = new Hono();
    app0.use('*', createOriginalMiddleware(o));
    app0.onError((_err, c) => c.text('Internal Server Error', 500));
    app0.get('/type', () => {
      throw new TypeError('boom');
    });
    for (let i = 0; i < 3; i++) assert.equal((await app0.request('/type')).status, 500);
    assert.equal(o.metrics.get('http_errors_total')?.value, 0, 'the original counted 0 errors');
    assert.equal(o.getSnapshot().errors_total, 0);
    assert.equal(o.metrics.get('http_requests_total')?.value, 3);
  });

  it('also with Hono default error handler (no app.onError)', async () => {
    const m = new MetricsCollector();
    const app = new Hono();
    app.use('*', metricsMiddleware(m));
    app.get('/e', () => {
      throw new RangeError('r');
    });
    const errLog = console.error;
    console.error = () => {}; // Hono's default handler logs the error
    try {
      assert.equal((await app.request('/e')).status, 500);
    } finally {
      console.error = errLog;
    }
    assert.equal(valueOf(m.toPrometheusFormat(), 'http_errors_total{error="RangeError",method="GET",path="/e"}'), 1);
  });

  it('a 5xx response without a throw is counted as http_<status>', async () => {
    const m = new MetricsCollector();
    const app = appWith(m);
    app.get('/unavailable', (c) => c.text('down', 503));
    app.get('/internal', (c) => c.text('oops', 500));
    app.get('/teapot', (c) => c.text('no', 418));
    await app.request('/unavailable');
    await app.request('/unavailable');
    await app.request('/internal');
    await app.request('/teapot');
    const text = m.toPrometheusFormat();
    assert.deepEqual(sampleLines(text, 'http_errors_total'), [
      'http_errors_total 0',
      'http_errors_total{error="http_500",method="GET",path="/internal"} 1',
      'http_errors_total{error="http_503",method="GET",path="/unavailable"} 2',
    ]);
    assert.deepEqual({ ...m.getSnapshot().errors_by_type }, { http_500: 1, http_503: 2 });
  });

  it("the route pattern is routePath(c)'s, read without hono/route; routePath itself can be passed", async () => {
    const own = new MetricsCollector();
    const passed = new MetricsCollector();
    const app = new Hono();
    app.use('*', metricsMiddleware(own));
    app.use('*', metricsMiddleware({ collector: passed, routePath }));
    const sub = new Hono();
    sub.get('/items/:id', (c) => c.text('item'));
    app.route('/sub', sub);
    app.get('/api/moods/:userId', (c) => c.text('m'));
    await app.request('/api/moods/7');
    await app.request('/sub/items/9');
    await app.request('/nowhere');
    for (const m of [own, passed]) {
      const byPath = m.getSnapshot().requests_by_endpoint;
      assert.equal(byPath['/api/moods/:userId'], 1);
      assert.equal(byPath['/sub/items/:id'], 1);
      assert.equal(byPath['/*'], 1, 'unmatched: the middleware pattern');
    }
  });

  it('a 4xx is not an error, thrown as an HTTPException or returned; a 5xx HTTPException is http_<status>', async () => {
    const m = new MetricsCollector();
    const app = new Hono();
    app.use('*', metricsMiddleware(m));
    app.get('/auth', () => {
      throw new HTTPException(401, { message: 'no token' });
    });
    app.get('/bad', (c) => c.text('no', 400));
    app.get('/down', () => {
      throw new HTTPException(503, { message: 'maintenance' });
    });
    assert.equal((await app.request('/auth')).status, 401);
    assert.equal((await app.request('/bad')).status, 400);
    assert.equal((await app.request('/down')).status, 503);
    const text = m.toPrometheusFormat();
    assert.equal(valueOf(text, 'http_requests_total{method="GET",path="/auth"}'), 1);
    assert.equal(valueOf(text, 'http_requests_total{method="GET",path="/bad"}'), 1);
    assert.equal(valueOf(text, 'http_errors_total{error="http_503",method="GET",path="/down"}'), 1);
    assert.equal(m.getSnapshot().errors_total, 1, 'only the 503');
    assert.ok(!text.includes('maintenance'));
  });

  it("bearerAuth's 401s are not errors (regression: they were counted as error=\"Error\")", async () => {
    const m = new MetricsCollector();
    const app = new Hono();
    app.use('*', metricsMiddleware(m));
    app.use('/api/*', bearerAuth({ token: 'secret' }));
    app.get('/api/moods/:userId', (c) => c.json({ ok: true }));
    for (let i = 0; i < 3; i++) assert.equal((await app.request('/api/moods/1')).status, 401);
    const ok = await app.request('/api/moods/1', { headers: { Authorization: 'Bearer secret' } });
    assert.equal(ok.status, 200);
    const snap = m.getSnapshot();
    assert.equal(snap.errors_total, 0);
    assert.equal(snap.requests_total, 4);
    // A rejected request is labelled with the auth middleware's pattern.
    assert.equal(snap.requests_by_endpoint['/api/*'], 3);
    assert.equal(snap.requests_by_endpoint['/api/moods/:userId'], 1);
  });

  it('an error app.onError turned into a 2xx is still counted, by its class name', async () => {
    const m = new MetricsCollector();
    const app = new Hono();
    app.use('*', metricsMiddleware(m));
    class DbUnavailable extends Error {}
    app.get('/t', () => {
      throw new TypeError('x');
    });
    app.get('/db', () => {
      throw new DbUnavailable('down');
    });
    app.onError((_e, c) => c.text('handled', 200));
    assert.equal((await app.request('/t')).status, 200);
    assert.equal((await app.request('/db')).status, 200);
    const text = m.toPrometheusFormat();
    assert.equal(valueOf(text, 'http_errors_total{error="TypeError",method="GET",path="/t"}'), 1);
    assert.equal(valueOf(text, 'http_errors_total{error="DbUnavailable",method="GET",path="/db"}'), 1);
  });

  it('a thrown non-Error is counted by its type and rethrown, as without the middleware', async () => {
    const m = new MetricsCollector();
    const app = appWith(m);
    app.get('/str', () => {
      throw 'a string with a secret 123';
    });
    const bare = new Hono();
    bare.get('/str', () => {
      throw 'a string with a secret 123';
    });
    // Hono passes only Error instances to onError; anything else propagates
    // (synchronously for a lone handler, as a rejection through compose).
    await assert.rejects(async () => bare.request('/str'), (e) => e === 'a string with a secret 123');
    await assert.rejects(async () => app.request('/str'), (e) => e === 'a string with a secret 123');
    const text = m.toPrometheusFormat();
    assert.equal(valueOf(text, 'http_errors_total{error="string",method="GET",path="/str"}'), 1);
    assert.equal(valueOf(text, 'http_requests_total{method="GET",path="/str"}'), 1);
    assert.ok(!text.includes('secret'));
    assert.equal(m.getStats().response_times_count, 1);
  });
});

describe('the middleware never makes a request fail', () => {
  it('hostile routes and errors: responses are those of the app without the middleware', async () => {
    const long = '/' + 'a'.repeat(2000); // route pattern over the 1024-byte label limit
    const build = (withMetrics: MetricsCollector | undefined) => {
      const app = new Hono();
      if (withMetrics) app.use('*', metricsMiddleware(withMetrics));
      app.onError((err, c) => c.text(`error ${err.name}`, 500));
      app.get(long, (c) => c.text('long'));
      app.get('/q"uo\\te/:id', (c) => c.text('quote ' + c.req.param('id')));
      app.get('/emoji/😀/:x', (c) => c.text('emoji'));
      app.get('/weird-name', () => {
        const e = new Error('m');
        e.name = 'N"a\\m\ne' + 'x'.repeat(3000); // over the limit, with escapes
        throw e;
      });
      app.get('/nameless', () => {
        const e = new Error('m');
        e.name = '';
        throw e;
      });
      app.get('/symbol-name', () => {
        const e = new Error('m');
        (e as unknown as { name: unknown }).name = 42;
        throw e;
      });
      app.all('/any', (c) => c.text(c.req.method));
      return app;
    };
    const m = new MetricsCollector();
    const withM = build(m);
    const without = build(undefined);
    const requests: Array<[string, RequestInit?]> = [
      [long],
      [long + '?x=' + 'y'.repeat(5000)],
      ['/q%22uo%5Cte/1'],
      ['/q"uo\\te/2'],
      ['/emoji/%F0%9F%98%80/1'],
      ['/weird-name'],
      ['/nameless'],
      ['/symbol-name'],
      ['/any', { method: 'PURGE' }],
      ['/any', { method: 'DELETE' }],
      ['/' + '%00'.repeat(500)],
      ['/%E2%80%A8\r\n'],
    ];
    for (const [path, init] of requests) {
      const a = await withM.request(path, init);
      const b = await without.request(path, init);
      assert.equal(a.status, b.status, path.slice(0, 50));
      assert.equal(await a.text(), await b.text(), path.slice(0, 50));
    }
    // Every request's duration is recorded, even when a label was refused
    // (the over-long route pattern and error name exceed the 1024-byte limit).
    assert.equal(m.getStats().response_times_count, requests.length);
    const text = m.toPrometheusFormat();
    assert.ok(text.endsWith('\n'));
    assert.ok(!text.includes('a'.repeat(1100)), 'the over-long pattern was not stored');
    assert.equal(valueOf(text, 'http_errors_total{error="Error",method="GET",path="/nameless"}'), 1, 'empty name -> Error');
    assert.equal(valueOf(text, 'http_errors_total{error="Error",method="GET",path="/symbol-name"}'), 1, 'non-string name -> Error');
    // Every request is counted (regression: labels over the limit made the
    // increment throw and the request went uncounted): an over-long route
    // pattern or error name becomes the fixed value bs_overlong.
    assert.equal(m.getSnapshot().requests_total, requests.length);
    assert.equal(valueOf(text, 'http_requests_total{method="GET",path="bs_overlong"}'), 2);
    assert.equal(valueOf(text, 'http_errors_total{error="bs_overlong",method="GET",path="/weird-name"}'), 1);
    assert.equal(valueOf(text, 'http_requests_total{method="PURGE",path="/any"}'), 1);
    assert.equal(valueOf(text, 'http_requests_total{method="GET",path="/q\\"uo\\\\te/:id"}'), 1, 'escaped in the exposition');
  });

  it('a collector at its cardinality cap still serves every request (overflow series)', async () => {
    const m = new MetricsCollector({ maxSeriesPerMetric: 2 });
    const app = appWith(m);
    for (let i = 0; i < 10; i++) app.get(`/r${i}`, (c) => c.text(`r${i}`));
    for (let i = 0; i < 10; i++) assert.equal(await (await app.request(`/r${i}`)).text(), `r${i}`);
    const text = m.toPrometheusFormat();
    assert.equal(valueOf(text, 'http_requests_total{bs_overflow="true"}'), 8);
    assert.equal(m.getSnapshot().requests_total, 10);
  });

  it('defaults to the module-level metricsCollector', async () => {
    metricsCollector.reset();
    const app = new Hono();
    app.use('*', metricsMiddleware());
    app.get('/x/:id', (c) => c.text('x'));
    await app.request('/x/1');
    assert.equal(metricsCollector.getSnapshot().requests_by_endpoint['/x/:id'], 1);
    metricsCollector.reset();
  });
});
