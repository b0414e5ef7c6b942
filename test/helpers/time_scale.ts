/**
 * The tests' time limits are written for the development machine. On a
 * slower one (a loaded CI runner) scripts/test.sh measures nettrace's
 * start-up, and NETTRACE_TEST_TIME_SCALE stretches every limit by that
 * factor: a hang still fails, a slow machine does not.
 */

/** How many times slower than the development machine this one is (at least 1). */
export const TIME_SCALE: number = Math.max(1, Number(Deno.env.get("NETTRACE_TEST_TIME_SCALE") ?? "1") || 1);

/** A time limit in milliseconds, stretched for this machine. */
export function scaled(ms: number): number {
  return Math.round(ms * TIME_SCALE);
}
