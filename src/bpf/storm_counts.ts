/**
 * Reading --storm-limit's `storms` map (bpf/include/storm_limit.h): the
 * repeats each key gained since the last read. A key's repeats are its
 * entry's count plus those of the CPUs' runs of it (storm_runs: a CPU whose
 * drop found the key's window spent counts its repeats there until the
 * window ends; a run counts for the entry it was started from, the same
 * `born`). A key idle for IDLE_NS whose repeats were all reported is deleted,
 * so the map holds the storms of now, and the next drop of that key is shown
 * again. The kernel keeps no time of a key's last drop (a read of the clock
 * costs as much as the rest of a summarized drop): every drop changes its
 * window, its counts or a run's, and a key is idle when none of them changed
 * between reads IDLE_NS apart.
 *
 * The exact total of repeats is the per-CPU NT_STAT_SUMMARIZED counter; the
 * per-key counts can miss a repeat counted between the last read of a key and
 * its deletion (an idle key, so at most a stray one).
 * @module
 */
import type { BpfMap, BpfObject } from "../../lib/ffi/bpf_object.ts";
import { STORM, STORM_KEY, STORM_RUN } from "../event/layout.ts";
import { decodeStormKey, type StormRepeats } from "../event/storm.ts";
import { CpuRuns } from "./cpu_runs.ts";

/** Keys with no drop for this long are deleted once reported. */
export const IDLE_NS = 5e9;

/** The repeats per key since the last read. */
export class StormCounts {
  /** per key: its repeats reported so far, its counters as last read, and when they last changed (the reader's clock) */
  readonly #keys = new Map<string, { reported: number; counters: string; sinceNs: number }>();
  #lastReadNs: number;

  /** startNs: when tracing began, on the kernel's monotonic clock; runs: the map's storm_runs */
  constructor(
    private map: Pick<BpfMap, "keys" | "lookup" | "delete">,
    startNs: number,
    private runs: Pick<CpuRuns, "read">,
  ) {
    this.#lastReadNs = startNs;
  }

  /** The storms of a drop object (its `storms` map and `storm_runs`). */
  static of(object: BpfObject, startNs: number): StormCounts {
    return new StormCounts(object.map("storms"), startNs, new CpuRuns(object.map("storm_runs"), STORM_RUN.size));
  }

  /** Repeats new since the last call, one record per key that has any; nowNs: the monotonic clock now. */
  take(nowNs: number): StormRepeats[] {
    const seconds = (nowNs - this.#lastReadNs) / 1e9;
    this.#lastReadNs = nowNs;
    // the entries first, then the runs (cpu_runs.ts: a run's repeats are then in one or the other)
    const entries: Array<{ key: Uint8Array; id: string; value: DataView }> = [];
    for (const key of this.map.keys(STORM_KEY.size)) {
      const value = new Uint8Array(STORM.size);
      if (this.map.lookup(key, value)) entries.push({ key, id: key.join(","), value: new DataView(value.buffer) });
    }
    const inRuns = new Map<string, bigint>(); // key and born -> repeats in runs
    for (const run of this.runs.read()) {
      if (run.getBigUint64(STORM_RUN.until, true) === 0n) continue;
      const id = new Uint8Array(run.buffer, run.byteOffset + STORM_RUN.key, STORM_KEY.size).join(",") + "/" +
        run.getBigUint64(STORM_RUN.born, true);
      inRuns.set(id, (inRuns.get(id) ?? 0n) + run.getBigUint64(STORM_RUN.summarized, true));
    }
    const out: StormRepeats[] = [];
    for (const { key, id, value } of entries) {
      const runs = inRuns.get(id + "/" + value.getBigUint64(STORM.born, true)) ?? 0n;
      const total = Number(value.getBigUint64(STORM.summarized, true) + runs);
      const counters = new Uint8Array(value.buffer, 0, STORM.summarized + 8).join(",") + "+" + runs;
      const known = this.#keys.get(id);
      const count = total - (known?.reported ?? 0);
      // unchanged counters: its summarized count too, all of it reported when they last changed
      const idle = known?.counters === counters && nowNs - known.sinceNs >= IDLE_NS;
      if (count > 0) out.push({ key: decodeStormKey(key), count, seconds, tsNs: nowNs });
      if (idle) {
        this.map.delete(key);
        this.#keys.delete(id);
      } else if (known?.counters !== counters) {
        this.#keys.set(id, { reported: Math.max(total, known?.reported ?? 0), counters, sinceNs: nowNs });
      }
    }
    return out;
  }
}
