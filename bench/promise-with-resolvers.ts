/**
 * Preloaded (`--import`) into the PostGraphile peer only: PostGraphile 5 calls
 * `Promise.withResolvers`, which Node 22 has and Node 20 lacks. A no-op where
 * it exists.
 */
type WithResolvers = <T>() => { promise: Promise<T>; resolve: (value: T | PromiseLike<T>) => void; reject: (reason?: unknown) => void };

const promise = Promise as PromiseConstructor & { withResolvers?: WithResolvers };
if (typeof promise.withResolvers !== 'function') {
  const withResolvers: WithResolvers = <T>() => {
    let resolve!: (value: T | PromiseLike<T>) => void;
    let reject!: (reason?: unknown) => void;
    const created = new Promise<T>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise: created, resolve, reject };
  };
  Object.defineProperty(Promise, 'withResolvers', { value: withResolvers, writable: true, configurable: true });
}
