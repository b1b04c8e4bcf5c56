/** Injected clock shared by every baseline factory. */
export interface ClockOptions {
  /** ms since epoch; defaults to `Date.now` */
  now?: () => number;
}
