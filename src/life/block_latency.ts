/**
 * --latency-show: how long after its packet's first point each point came,
 * from the kernel's own timestamps of the events (bpf_ktime_get_ns at each
 * point). The free that ends a life is left out unless --latency-free. Pure.
 * @module
 */
import type { KernelEvent } from "../event/decode.ts";
import type { LifeBlock } from "./context_tracker.ts";

/** Which latencies to show. */
export interface LatencyChoice {
  /** --latency-free: the free's latency too */
  readonly includeFree: boolean;
  /** whether an event is the free that ends its skb's life */
  readonly isFree: (ev: KernelEvent) => boolean;
}

/** Per event of the block, nanoseconds since its first event; undefined for a free left out. */
export function blockLatencies(b: LifeBlock, choice: LatencyChoice): Array<number | undefined> {
  const first = b.events[0]?.tsNs ?? 0;
  return b.events.map((e) => choice.includeFree || !choice.isFree(e) ? e.tsNs - first : undefined);
}

/** "0.052ms": milliseconds with three decimals, as the lines print them. */
export function formatLatency(ns: number): string {
  return `${(ns / 1e6).toFixed(3)}ms`;
}
