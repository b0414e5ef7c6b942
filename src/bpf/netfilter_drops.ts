/**
 * Reading where netfilter dropped a packet (bpf/include/netfilter_drop.h):
 * the table, chain and hook the kernel kept for a drop event in `nf_drops`
 * (taken once, for its line), and every netfilter drop since start counted
 * by them in `nf_drop_counts` (--metrics; the all-zero key holds the drops
 * that found the map full: "other").
 * @module
 */
import type { BpfMap } from "../../lib/ffi/bpf_object.ts";
import { decodeNetfilterWhere, type KernelEvent, type NetfilterInfo } from "../event/decode.ts";
import { NF_DROP, NF_WHERE } from "../event/layout.ts";
import { readKeyCounts } from "./drop_counts.ts";

/** A drop event's time and the entry's may differ by this much: the event's is a double, exact to 2^53 ns. */
const TIME_SLACK_NS = 1000;

/** The netfilter place of drop events, read from the map nf_drops. */
export class NetfilterDrops {
  readonly #map: BpfMap;
  readonly #key = new BigUint64Array(1);
  readonly #value = new DataView(new ArrayBuffer(NF_DROP.size));

  constructor(map: BpfMap) {
    this.#map = map;
  }

  /**
   * Where netfilter dropped the packet of ev, taken from the map under its skb; undefined when it is not there (the
   * kernel's LRU dropped it) or is a later drop's of the same skb address.
   */
  take(ev: KernelEvent): NetfilterInfo | undefined {
    if (!ev.netfilterDrop) return undefined;
    this.#key[0] = ev.skb;
    const key = new Uint8Array(this.#key.buffer);
    if (!this.#map.lookup(key, new Uint8Array(this.#value.buffer))) return undefined;
    const ts = this.#value.getUint32(NF_DROP.ts + 4, true) * 4294967296 + this.#value.getUint32(NF_DROP.ts, true);
    if (Math.abs(ts - ev.tsNs) > TIME_SLACK_NS) return undefined;
    this.#map.delete(key);
    return decodeNetfilterWhere(this.#value, NF_DROP.where);
  }
}

/** One place's netfilter drops since start; pf, hook 0 and no table: the drops the bounded map could not tell apart. */
export interface NetfilterDropCount {
  readonly where: NetfilterInfo;
  readonly count: number;
}

/** Every place's count now (a snapshot: the kernel adds meanwhile). */
export function readNetfilterDropCounts(map: BpfMap): NetfilterDropCount[] {
  return readKeyCounts(map, NF_WHERE.size, (v) => ({ where: decodeNetfilterWhere(v, 0) }));
}
