/**
 * Lifecycle and socket events as the kernel would record them, for pure
 * tests: everything the test does not care about at its default.
 */
import type { KernelEvent, SocketEvent } from "../../src/event/decode.ts";

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
    opensContext: false,
    netfilterDrop: false,
    ...fields,
  };
}

/** A socket event of an IPv4 TCP connection; `fields` overrides the defaults. */
export function recordedSocket(fields: Partial<SocketEvent> = {}): SocketEvent {
  return {
    tsNs: 0,
    sk: 0xffff888100000000n,
    point: 0,
    pid: 0,
    netns: 0,
    rstReason: 0,
    stackId: -1,
    cpu: 0,
    comm: "",
    family: 4,
    saddr: "10.0.0.1",
    sport: 40000,
    daddr: "10.0.0.2",
    dport: 4444,
    state: 1,
    caState: 0,
    undoCleared: false,
    retransmits: 0,
    backoff: 0,
    packetsOut: 0,
    retransOut: 0,
    lostOut: 0,
    sackedOut: 0,
    totalRetrans: 0,
    sndCwnd: 10,
    ssthresh: 0x7fffffff,
    srttUs: 0,
    rtoJiffies: 0,
    protocol: 6,
    rttUs: 0,
    minRttUs: 0,
    ...fields,
  };
}
