/**
 * Lifecycle events as the kernel would record them, for pure tests: a
 * KernelEvent with everything the test does not care about at its default.
 */
import type { KernelEvent } from "../../src/event/decode.ts";

/** A lifecycle event (kind 2) of an IPv4 packet; `fields` overrides the defaults. */
export function recordedEvent(fields: Partial<KernelEvent> & Pick<KernelEvent, "packet">): KernelEvent {
  return {
    tsNs: 0,
    skb: 0n,
    location: 0n,
    reason: 0,
    pid: 0,
    netns: 0,
    ifindex: 0,
    stackId: -1,
    cpu: 0,
    kind: 2,
    comm: "",
    ifname: "",
    ctxId: 0n,
    point: 0,
    skState: 0,
    ...fields,
  };
}
