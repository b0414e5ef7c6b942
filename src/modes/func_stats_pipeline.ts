/**
 * --func-stats: the points only count their calls in the kernel (per CPU,
 * map `calls`); this pipeline reads the counts every --interval seconds, if
 * given, and at the end, and renders them as a table or a JSON object. No
 * record comes through the ring.
 * @module
 */
import type { BpfMap } from "../../lib/ffi/bpf_object.ts";
import { PerCpuCounters } from "../bpf/stats.ts";
import { formatFuncStats, type PointCalls } from "../output/func_stats.ts";
import { groupedCount } from "../output/grouped_count.ts";
import { funcStatsJson } from "../output/json_records.ts";
import type { LineWriter } from "../output/line_writer.ts";
import type { TracePipeline } from "./trace_session.ts";

/** What the pipeline reads and where it writes. */
export interface FuncStatsSetup {
  /** the per-CPU array of calls, by point index */
  readonly calls: BpfMap;
  /** the names of the attached points, by index (undefined: not attached) */
  readonly points: ReadonlyArray<string | undefined>;
  readonly intervalS?: number;
  readonly json: boolean;
  readonly out: LineWriter;
  /** the kernel's monotonic clock now, and its offset to the wall clock (for JSON's time) */
  readonly nowNs: () => number;
  readonly wallOffsetNs: number;
}

export function funcStatsPipeline(s: FuncStatsSetup): TracePipeline {
  const counters = new PerCpuCounters(s.calls);
  const startNs = s.nowNs();
  const previous = new Map<number, number>();
  let tables = 0, lastMs = performance.now(), total = 0;

  const emit = (final: boolean) => {
    const rows: PointCalls[] = [];
    total = 0;
    s.points.forEach((name, i) => {
      if (name === undefined) return;
      const calls = counters.read(i);
      rows.push({ point: name, calls, recent: calls - (previous.get(i) ?? 0) });
      previous.set(i, calls);
      total += calls;
    });
    const now = s.nowNs(), seconds = (now - startNs) / 1e9;
    s.out.push(
      s.json
        ? JSON.stringify(funcStatsJson(rows, { tsNs: now, wallOffsetNs: s.wallOffsetNs, seconds, final }))
        : formatFuncStats(rows, seconds, s.intervalS !== undefined) + "\n",
    );
    tables++;
  };

  return {
    record: () => {},
    tick: (nowMs) => {
      if (s.intervalS === undefined || nowMs - lastMs < s.intervalS * 1000) return;
      lastMs = nowMs;
      emit(false);
    },
    finish: () => emit(true),
    counts: (losses) => ({
      shown: tables,
      lost: losses.lost,
      limited: losses.limited,
      notFollowed: losses.notFollowed,
    }),
    summary: () => `${groupedCount(total)} calls counted at ${s.points.filter((p) => p).length} points`,
  };
}
