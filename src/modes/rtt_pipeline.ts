/**
 * --rtt: the kernel counts each TCP connection's RTT samples in map
 * rtt_conns; this pipeline reads the map every --interval seconds, if given,
 * and at the end, and renders the histograms as text or one JSON object.
 * With --rtt-detail the samples also come through the ring: the socket
 * pipeline (each sample a line) runs inside this one.
 * @module
 */
import type { BpfMap } from "../../lib/ffi/bpf_object.ts";
import { decodeRttConnection, type RttConnection } from "../event/rtt_conn.ts";
import { formatRttHistograms, plural, rttJson } from "../output/rtt_histograms.ts";
import { groupedCount } from "../output/grouped_count.ts";
import type { LineWriter } from "../output/line_writer.ts";
import type { TracePipeline } from "./trace_session.ts";
import { RTT_CONN, RTT_KEY } from "../event/layout.ts";

/** What the pipeline reads and where it writes. */
export interface RttSetup {
  /** map rtt_conns: socket address -> struct nt_rtt_conn */
  readonly conns: BpfMap;
  /** --rtt-detail: the pipeline that prints each sample */
  readonly samples?: TracePipeline;
  readonly intervalS?: number;
  readonly json: boolean;
  readonly out: LineWriter;
  /** the kernel's monotonic clock now, and its offset to the wall clock (for JSON's time) */
  readonly nowNs: () => number;
  readonly wallOffsetNs: number;
}

/** Every connection in the map. */
function readConnections(s: RttSetup): RttConnection[] {
  const value = new Uint8Array(RTT_CONN.size);
  const out: RttConnection[] = [];
  for (const key of s.conns.keys(RTT_KEY.size)) {
    if (s.conns.lookup(key, value)) out.push(decodeRttConnection(key, value));
  }
  return out;
}

export function rttPipeline(s: RttSetup): TracePipeline {
  const startNs = s.nowNs();
  let lastMs = performance.now(), samples = 0, connections = 0;

  const emit = (final: boolean) => {
    const conns = readConnections(s);
    samples = conns.reduce((n, c) => n + c.samples, 0);
    connections = conns.filter((c) => c.samples > 0).length;
    const now = s.nowNs(), seconds = (now - startNs) / 1e9;
    s.out.push(
      s.json
        ? JSON.stringify(rttJson(conns, { tsNs: now, wallOffsetNs: s.wallOffsetNs, seconds, final }))
        : formatRttHistograms(conns, seconds, final),
    );
  };

  return {
    record: s.samples?.record ?? (() => {}),
    prepare: () => s.samples?.prepare?.(),
    tick: (nowMs) => {
      s.samples?.tick?.(nowMs);
      if (s.intervalS === undefined || nowMs - lastMs < s.intervalS * 1000) return;
      lastMs = nowMs;
      emit(false);
    },
    finish: () => {
      s.samples?.finish?.();
      emit(true);
    },
    end: () => s.samples?.end?.(),
    counts: (losses) =>
      s.samples?.counts(losses) ?? {
        shown: samples,
        lost: losses.lost,
        limited: losses.limited,
        notFollowed: losses.notFollowed,
      },
    summary: (losses) =>
      `${groupedCount(samples)} RTT samples counted on ${plural(connections, "connection")}` +
      (s.samples ? `; ${s.samples.summary(losses)}` : ""),
  };
}
