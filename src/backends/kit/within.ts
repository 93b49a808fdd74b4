/**
 * A promise raced against a timer, for calls that must not hold their caller past a bound.
 * @module
 */

/**
 * `promise`'s value, or undefined when it has not settled within `ms`; a value that arrives later goes to `late`
 * (to hand back a connection, say). A rejection within `ms` rejects.
 */
export async function within<T>(
  promise: Promise<T>,
  ms: number,
  late: (value: T) => void = () => undefined,
): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  let timedOut = false;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => {
      timedOut = true;
      resolve(undefined);
    }, ms);
  });
  try {
    return await Promise.race([
      promise.then((result) => {
        if (timedOut) late(result);
        return result;
      }),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
