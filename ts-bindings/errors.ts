// The one error protocol of the engine (src/bindings/error.rs): a refused
// call returns Status.Failed and leaves its kind and message, which this
// turns into the JavaScript error of that kind with the core's message.
import { ErrorKind } from '../pkg/bounded_services_bg.js';
import { wbg } from './glue.js';

/** The error the last refused engine call left, prefixed with `who`. */
export function engineError(who: string): Error {
  const kind = wbg.engineErrorKind();
  const text = wbg.engineTakeErrorMessage();
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
