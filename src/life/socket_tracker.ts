/**
 * Groups socket events into blocks: the events of one socket that come close
 * together (a retransmission timeout and the Loss state it causes) are shown
 * and diagnosed as one block, printed once the socket has been quiet for a
 * while. Pure: tests feed recorded events.
 * @module
 */
import type { SocketEvent } from "../event/decode.ts";

/** Events of one socket, ready to print. */
export interface SocketBlock {
  sk: bigint;
  /** in time order */
  events: SocketEvent[];
}

interface Open {
  events: SocketEvent[];
  lastNs: number;
}

/** Open socket blocks by socket address. */
export class SocketTracker {
  readonly #open = new Map<bigint, Open>();

  /** quietNs: how long a socket stays without events before its block is printed */
  constructor(readonly quietNs: number) {}

  /** Number of open blocks. */
  get size(): number {
    return this.#open.size;
  }

  /** Adds an event to its socket's block. */
  add(ev: SocketEvent): void {
    const o = this.#open.get(ev.sk);
    if (o) {
      o.events.push(ev);
      o.lastNs = Math.max(o.lastNs, ev.tsNs);
    } else {
      this.#open.set(ev.sk, { events: [ev], lastNs: ev.tsNs });
    }
  }

  /** Blocks of sockets quiet since nowNs - quietNs, oldest first. */
  expire(nowNs: number): SocketBlock[] {
    const out: SocketBlock[] = [];
    for (const [sk, o] of this.#open) {
      if (nowNs - o.lastNs < this.quietNs) continue;
      this.#open.delete(sk);
      out.push({ sk, events: o.events.slice().sort((a, b) => a.tsNs - b.tsNs) });
    }
    return out.sort((a, b) => a.events[0].tsNs - b.events[0].tsNs);
  }

  /** Every open block (at exit), oldest first. */
  flush(): SocketBlock[] {
    return this.expire(Number.POSITIVE_INFINITY);
  }
}
