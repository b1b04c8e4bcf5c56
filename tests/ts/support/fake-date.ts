// A stand-in for fake timers (vi.useFakeTimers, @sinonjs/fake-timers): the
// global `Date` replaced by a subclass whose `now()` reads `clock.t`.

/** Replaces the global `Date`, runs `fn` with the clock, restores `Date`. */
export function withFakeDate(start: number, fn: (clock: { t: number }) => void): void {
  const RealDate = globalThis.Date;
  const clock = { t: start };
  class FakeDate extends RealDate {
    static override now(): number {
      return clock.t;
    }
  }
  globalThis.Date = FakeDate as DateConstructor;
  try {
    fn(clock);
  } finally {
    globalThis.Date = RealDate;
  }
}
