/**
 * Groups lifecycle events into packets: the kernel tags each event with its
 * context (the first skb address of the packet; clones share it). A context
 * is complete when every skb in it has reached an end of life; one whose end
 * is never seen is let go after a timeout. Pure: tests feed recorded events.
 * @module
 */
import type { KernelEvent, NetfilterInfo } from "../event/decode.ts";

/** One packet's life, ready to print. */
export interface LifeBlock {
  /** skb addresses in the order they appeared */
  readonly skbs: readonly bigint[];
  /** events in time order, each with the return value and netfilter details that came for it */
  readonly events: readonly KernelEvent[];
  /** false: printed after the timeout, some skb's end was not seen */
  readonly complete: boolean;
}

/** What later records add to an event: its function's return, the netfilter details. */
type Addition = Pick<KernelEvent, "ret" | "retNs" | "nf">;

interface Context {
  skbs: bigint[];
  live: Set<bigint>;
  events: KernelEvent[];
  /** by index in events */
  additions: Map<number, Addition>;
  lastNs: number;
}

/** The block of a context: its events completed with what came for them, in time order. */
function block(c: Context, complete: boolean): LifeBlock {
  const events = c.additions.size
    ? c.events.map((e, i) => {
      const more = c.additions.get(i);
      return more ? { ...e, ...more } : e;
    })
    : c.events.slice();
  events.sort((a, b) => a.tsNs - b.tsNs);
  return { skbs: c.skbs, events, complete };
}

/** Open contexts by id. */
export class ContextTracker {
  readonly #open = new Map<bigint, Context>();
  /** complete, waiting graceNs for return values that come after the end of life */
  readonly #closing: Array<{ id: bigint; c: Context; endNs: number }> = [];

  /**
   * timeoutNs: how long a context may stay without events before it is printed as it is.
   * graceNs: with --ret, how long a complete context waits for late return values (0: none).
   */
  constructor(readonly timeoutNs: number, readonly graceNs = 0) {}

  /**
   * Adds to the latest event of this point and skb in its context that has no `field` yet.
   * False when there is none (its context is gone).
   */
  #addTo(point: number, skb: bigint, ctxId: bigint, field: "ret" | "nf", more: Addition): boolean {
    const c = this.#open.get(ctxId) ?? this.#closing.find((x) => x.id === ctxId)?.c;
    if (!c) return false;
    for (let i = c.events.length - 1; i >= 0; i--) {
      const e = c.events[i];
      const had = c.additions.get(i);
      if (e.point !== point || e.skb !== skb || had?.[field] !== undefined) continue;
      c.additions.set(i, { ...had, ...more });
      return true;
    }
    return false;
  }

  /**
   * A function's return value (--ret), for the latest entry of the same point
   * and skb that has none yet. False when its context is gone.
   */
  addReturn(point: number, skb: bigint, ctxId: bigint, value: bigint, tsNs?: number): boolean {
    return this.#addTo(point, skb, ctxId, "ret", { ret: value, retNs: tsNs });
  }

  /** Netfilter details, for the latest event of the same point and skb that has none yet. */
  addNetfilter(point: number, skb: bigint, ctxId: bigint, info: NetfilterInfo): boolean {
    return this.#addTo(point, skb, ctxId, "nf", { nf: info });
  }

  /** Number of open contexts. */
  get size(): number {
    return this.#open.size;
  }

  /**
   * Adds an event; returns the context's block when this event completed it,
   * or the block of an earlier packet this event's packet took the place of.
   */
  add(ev: KernelEvent, endsLife: boolean): LifeBlock | undefined {
    let c = this.#open.get(ev.ctxId);
    let cut: LifeBlock | undefined;
    if (c && ev.opensContext) {
      // A new packet at the address of one whose end was not seen (__kfree_skb has no tracepoint): the
      // kernel told them apart (nt_identify), filtered the new one anew and opened a context for it under
      // the same id. The first one ends here.
      this.#open.delete(ev.ctxId);
      cut = block(c, false);
      c = undefined;
    }
    if (!c) {
      c = { skbs: [], live: new Set(), events: [], additions: new Map(), lastNs: ev.tsNs };
      this.#open.set(ev.ctxId, c);
    }
    c.events.push(ev);
    c.lastNs = Math.max(c.lastNs, ev.tsNs);
    if (!c.skbs.includes(ev.skb)) c.skbs.push(ev.skb);
    if (endsLife) c.live.delete(ev.skb);
    else c.live.add(ev.skb);
    if (endsLife && c.live.size === 0) {
      this.#open.delete(ev.ctxId);
      // (never with a cut: the kernel opens no context at an end of life)
      if (this.graceNs === 0) return block(c, true);
      this.#closing.push({ id: ev.ctxId, c, endNs: ev.tsNs });
    }
    return cut;
  }

  /** Contexts with no event since nowNs - timeout, and complete ones past their grace, oldest first. */
  expire(nowNs: number): LifeBlock[] {
    const out: Array<[number, LifeBlock]> = [];
    while (this.#closing.length && nowNs - this.#closing[0].endNs >= this.graceNs) {
      const { c } = this.#closing.shift()!;
      out.push([c.events[0].tsNs, block(c, true)]);
    }
    for (const [id, c] of this.#open) {
      if (nowNs - c.lastNs >= this.timeoutNs) {
        this.#open.delete(id);
        out.push([c.events[0].tsNs, block(c, false)]);
      }
    }
    return out.sort((a, b) => a[0] - b[0]).map((x) => x[1]);
  }

  /** Every open context (at exit), oldest first. */
  flush(): LifeBlock[] {
    return this.expire(Number.POSITIVE_INFINITY);
  }
}

/** How long the packet lived in the kernel: from its first to its last event. */
export function lifetimeNs(b: LifeBlock): number {
  return b.events.length ? b.events[b.events.length - 1].tsNs - b.events[0].tsNs : 0;
}
