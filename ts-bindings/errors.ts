// The one error protocol of the engine (src/bindings/error.rs): a refused
// call returns Status.Failed and leaves its kind and message, which this
// turns into the JavaScript error of that kind with the core's message.
import { ErrorKind } from '../pkg/bounded_services_bg.js';
import { wbg } from './glue.js';

/** The error the last refused engine call left, prefixed with `who`. */
export function engineError(who: string): Error {
  return errorOf(wbg.engineErrorKind(), wbg.engineTakeErrorMessage(), who);
}

/**
 * The JavaScript error of `kind` (an `ErrorKind`, or -1 for none recorded)
 * with the core's `text`: for every instance of the core (the fleet build's
 * declares the same kinds).
 */
export function errorOf(kind: number, text: string, who: string): Error {
  const message = `${who}: ${kind < 0 ? 'internal error: the engine refused a call and recorded no error' : text}`;
  switch (kind) {
    case ErrorKind.Type:
      return new TypeError(message);
    case ErrorKind.Range:
      return new RangeError(message);
    default:
      return new Error(message);
  }
}
