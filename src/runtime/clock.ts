/**
 * The clocks events are stamped with: the kernel's monotonic clock
 * (bpf_ktime_get_ns), and how far the wall clock is from it, for --date.
 * @module
 */
import { monotonicNs } from "../../lib/ffi/libc.ts";

/** Now on the clock of bpf_ktime_get_ns, in nanoseconds. */
export function nowNs(): number {
  return Number(monotonicNs());
}

/** Wall-clock nanoseconds minus monotonic nanoseconds, measured now. */
export function wallClockOffsetNs(): number {
  return Date.now() * 1e6 - nowNs();
}
