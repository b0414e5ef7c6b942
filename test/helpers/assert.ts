/**
 * The assertions the tests use (JSR's @std/assert is not reachable here).
 */

/** Thrown by a failed assertion. */
export class AssertionError extends Error {}

/** Fails unless cond is truthy. */
export function assert(cond: unknown, msg = "assertion failed"): asserts cond {
  if (!cond) throw new AssertionError(msg);
}

function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x) => {
    if (typeof x === "bigint") return `${x}n`;
    if (x instanceof Map) return { map: [...x.entries()] };
    if (x instanceof Set) return { set: [...x] };
    if (ArrayBuffer.isView(x)) return { bytes: Array.from(x as Uint8Array) };
    return x;
  });
}

/** Fails unless actual and expected are deeply equal (values, arrays, objects, maps, bytes). */
export function assertEquals<T>(actual: T, expected: T, msg?: string): void {
  const a = canonical(actual), e = canonical(expected);
  if (a !== e) throw new AssertionError(`${msg ? msg + "\n" : ""}expected: ${e}\nactual:   ${a}`);
}

/** Fails unless text matches re. */
export function assertMatch(text: string, re: RegExp, msg?: string): void {
  if (!re.test(text)) throw new AssertionError(`${msg ? msg + "\n" : ""}${JSON.stringify(text)} does not match ${re}`);
}

/** Fails unless fn throws an error of class E whose message contains part. */
export function assertThrows<E extends Error>(
  fn: () => unknown,
  cls: new (...a: any[]) => E,
  part?: string,
): E {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof cls)) {
      throw new AssertionError(`threw ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`);
    }
    if (part && !e.message.includes(part)) {
      throw new AssertionError(`message ${JSON.stringify(e.message)} lacks ${JSON.stringify(part)}`);
    }
    return e;
  }
  throw new AssertionError("did not throw");
}
