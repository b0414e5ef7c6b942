/**
 * Reading --storm-limit's `storms` map (bpf/include/storm_limit.h): the
 * repeats each key gained since the last read. A key idle for IDLE_NS whose
 * repeats were all reported is deleted, so the map holds the storms of now,
 * and the next drop of that key is shown again. The kernel keeps no time of
 * a key's last drop (a read of the clock costs as much as the rest of a
 * summarized drop): every drop changes its window or its counts, and a key
 * is idle when none of them changed between reads IDLE_NS apart.
 *
 * The exact total of repeats is the per-CPU NT_STAT_SUMMARIZED counter; the
 * per-key counts can miss a repeat counted between the last read of a key and
 * its deletion (an idle key, so at most a stray one).
 * @module
 */
import type { BpfMap } from "../../lib/ffi/bpf_object.ts";
import { STORM, STORM_KEY } from "../event/layout.ts";
import { decodeStormKey, type StormRepeats } from "../event/storm.ts";

/** Keys with no drop for this long are deleted once reported. */
export const IDLE_NS = 5e9;

/** The repeats per key since the last read. */
export class StormCounts {
  /** per key: its repeats reported so far, its counters as last read, and when they last changed (the reader's clock) */
  readonly #keys = new Map<string, { reported: number; counters: string; sinceNs: number }>();
  readonly #value = new Uint8Array(STORM.size);
  readonly #view = new DataView(this.#value.buffer);
  #lastReadNs: number;

  /** startNs: when tracing began, on the kernel's monotonic clock */
  constructor(private map: Pick<BpfMap, "keys" | "lookup" | "delete">, startNs: number) {
    this.#lastReadNs = startNs;
  }

  /** Repeats new since the last call, one record per key that has any; nowNs: the monotonic clock now. */
  take(nowNs: number): StormRepeats[] {
    const seconds = (nowNs - this.#lastReadNs) / 1e9;
    this.#lastReadNs = nowNs;
    const out: StormRepeats[] = [];
    for (const key of this.map.keys(STORM_KEY.size)) {
      if (!this.map.lookup(key, this.#value)) continue;
      const id = key.join(",");
      const total = Number(this.#view.getBigUint64(STORM.summarized, true));
      const counters = this.#value.subarray(0, STORM.summarized + 8).join(",");
      const known = this.#keys.get(id);
      const count = total - (known?.reported ?? 0);
      // unchanged counters: its summarized count too, all of it reported when they last changed
      const idle = known?.counters === counters && nowNs - known.sinceNs >= IDLE_NS;
      if (count > 0) out.push({ key: decodeStormKey(key), count, seconds, tsNs: nowNs });
      if (idle) {
        this.map.delete(key);
        this.#keys.delete(id);
      } else if (known?.counters !== counters) {
        this.#keys.set(id, { reported: total, counters, sinceNs: nowNs });
      }
    }
    return out;
  }
}
