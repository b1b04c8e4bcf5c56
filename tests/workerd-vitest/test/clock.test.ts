// Inside workerd (the Workers entry, whose default clock reads Date.now()
// once per turn): fake timers reach caches in one synchronous turn, as an
// app's own TTL tests need, and real time is read afresh after every await.
import { describe, expect, it, vi } from 'vitest';
import { BoundedCache, configure, get, set } from 'bounded-services/cache';
import { MetricsCollector } from 'bounded-services/metrics';

describe('bounded-services inside workerd', () => {
  it('runs in workerd', () => {
    expect(navigator.userAgent).toBe('Cloudflare-Workers');
  });

  it('vi.useFakeTimers() + advanceTimersByTime reach a cache in one synchronous turn', () => {
    vi.useFakeTimers();
    try {
      const c = new BoundedCache();
      c.set('k', 'v', 60);
      expect(c.get('k')).toBe('v');
      vi.advanceTimersByTime(61_000);
      expect(c.get('k')).toBeNull();
    } finally {
      vi.useRealTimers();
    }
  });

  it('... and the module-level cache, made before the fake timers', () => {
    configure({});
    vi.useFakeTimers();
    try {
      set('k', 'v', 60);
      vi.advanceTimersByTime(60_000);
      expect(get('k')).toBe('v');
      vi.advanceTimersByTime(1);
      expect(get('k')).toBeNull();
    } finally {
      vi.useRealTimers();
    }
  });

  it('vi.setSystemTime earlier, then configure(): entries expire on time', () => {
    vi.useFakeTimers();
    try {
      configure({});
      vi.setSystemTime(new Date('2030-01-01T00:00:00Z'));
      set('a', 1, 10);
      vi.setSystemTime(new Date('2029-01-01T00:00:00Z'));
      configure({});
      set('b', 2, 10);
      vi.advanceTimersByTime(10_001);
      expect(get('b')).toBeNull();
    } finally {
      vi.useRealTimers();
    }
  });

  it('real timers: an entry expires across an await of a timer, never served after', async () => {
    const c = new BoundedCache();
    c.set('k', 'v', 0.05);
    expect(c.get('k')).toBe('v');
    await new Promise((r) => setTimeout(r, 80));
    expect(c.get('k')).toBeNull();
  });

  it('collectors too: staleness under fake timers', () => {
    vi.useFakeTimers();
    try {
      const m = new MetricsCollector({ staleAfterMs: 1000 });
      m.increment('x_total', 1, { k: 'v' });
      vi.advanceTimersByTime(1001);
      m.toPrometheusFormat();
      expect(m.getStats().expired_series).toBe(1);
    } finally {
      vi.useRealTimers();
    }
  });
});
