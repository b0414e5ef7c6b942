/**
 * The lifecycle mode's pipeline, from a record of the kernel to the lines
 * of a sink: decode (the record's kind: an skb event, a return value,
 * netfilter details, a socket event) → assemble (events into packets by
 * context, socket events into blocks by socket) → diagnose (--diag: findings
 * as data) → render (the sink: text or JSON; -w adds the packet with its
 * block as the comment). With --basic each event is rendered as it comes.
 * @module
 */
import type { PointLatency } from "../life/latency_histogram.ts";
import { formatLatencySummary } from "../output/latency_summary.ts";
import { latencySummaryJson } from "../output/json_records.ts";
import { decodeEvent, decodeNetfilter, decodeSocket, type KernelEvent, recordKind } from "../event/decode.ts";
import { decodeCapture } from "../event/capture.ts";
import { KIND } from "../event/layout.ts";
import type { PacketDiagnosis, PacketReport } from "../diag/packet_report.ts";
import type { LifeSink } from "../output/life_sink.ts";
import type { PcapngSink } from "../output/pcapng_sink.ts";
import type { LineWriter } from "../output/line_writer.ts";
import type { StopSignal } from "../runtime/stop.ts";
import type { TracePipeline } from "./trace_session.ts";
import { ContextTracker, type LifeBlock, lifetimeNs } from "../life/context_tracker.ts";
import { type SocketBlock, SocketTracker } from "../life/socket_tracker.ts";
import { PacketBytesByContext } from "../life/packet_bytes.ts";

/** how long a context may go without events before its block is printed as it is */
const CONTEXT_TIMEOUT_NS = 2_000_000_000;
/** a socket's events that come closer than this together are one block */
const SOCKET_QUIET_NS = 200_000_000;
/** --ret: a function can return after its skb's life ended (ip_rcv after consume_skb): wait for it */
const RET_GRACE_NS = 100_000_000;

/** Everything the pipeline is made of; what varies per run is decided before, here it is only used. */
export interface LifePipelineSetup {
  /** --basic: every event as it comes, no blocks */
  readonly basic: boolean;
  /** -c */
  readonly count?: number;
  /** --min-latency, in nanoseconds (0: every packet) */
  readonly minLatencyNs: number;
  /** whether a trace point ends an skb's life */
  readonly endsLife: (point: number) => boolean;
  /** whether return values (--ret) are expected: complete blocks then wait for them */
  readonly wantReturns: boolean;
  /** --diag */
  readonly diagnosis?: PacketDiagnosis;
  /** --diag quiet: only abnormal packets; keep: an ERROR does not end the run */
  readonly diagQuiet: boolean;
  readonly diagKeep: boolean;
  readonly sink: LifeSink;
  /** -w: the file, and the sink whose text block is each packet's comment */
  readonly pcap?: { readonly file: PcapngSink; readonly comment: LifeSink; readonly wallOffsetNs: number };
  /** --latency-summary: the histograms the kernel counted, read at the end; blocks: false with --latency (histograms
   * alone: the kernel sends only the events that end a packet's life) */
  readonly latency?: {
    readonly read: () => { points: PointLatency[]; packets: number };
    readonly blocks: boolean;
    readonly json: boolean;
  };
  readonly out: LineWriter;
  readonly stop: StopSignal;
  /** the kernel's monotonic clock now */
  readonly nowNs: () => number;
}

/** The lifecycle pipeline of one run. */
export function lifePipeline(s: LifePipelineSetup): TracePipeline {
  const { sink, out, stop, diagnosis } = s;
  const tracker = new ContextTracker(CONTEXT_TIMEOUT_NS, s.wantReturns ? RET_GRACE_NS : 0);
  const sockets = new SocketTracker(SOCKET_QUIET_NS);
  const captures = s.pcap ? new PacketBytesByContext() : undefined;
  let shown = 0, socketBlocks = 0;

  const counted = () => {
    shown++;
    if (s.count && shown >= s.count) stop.request("count");
  };
  /** diagnose: a report, or none when --diag quiet leaves a normal packet out */
  const judged = (report: PacketReport | undefined) => report && s.diagQuiet && !report.abnormal ? false : true;
  const afterReport = (report: PacketReport | undefined) => {
    if (report?.error && !s.diagKeep) stop.request("diag");
  };

  const renderBlock = (b: LifeBlock) => {
    const captured = captures?.take(b);
    if (stop.stopped) return;
    if (s.minLatencyNs && lifetimeNs(b) < s.minLatencyNs) return;
    const report = diagnosis?.report(b.events);
    if (!judged(report)) return;
    if (s.latency?.blocks !== false) out.push(sink.block(b, report));
    if (s.pcap && captured) {
      // the packet's path through the kernel, as the text mode prints its block, is its comment
      const timeNs = BigInt(captured.event.tsNs) + BigInt(s.pcap.wallOffsetNs);
      s.pcap.file.packet(captured.event, timeNs, captured.bytes, s.pcap.comment.block(b, report));
    }
    counted();
    afterReport(report);
  };
  const renderSocketBlock = (b: SocketBlock) => {
    if (stop.stopped || s.minLatencyNs) return;
    const report = diagnosis?.reportSocket(b.events);
    if (!judged(report)) return;
    out.push(sink.socketBlock(b, report));
    socketBlocks++;
    afterReport(report);
  };

  const record = (v: DataView, off: number, size: number) => {
    const kind = recordKind(v, off);
    if (kind === KIND.sock) {
      const ev = decodeSocket(v, off, size);
      if (s.basic) {
        out.push(sink.socketEvent(ev));
        counted();
      } else sockets.add(ev);
      return;
    }
    if (kind === KIND.nf) {
      const nf = decodeNetfilter(v, off, size);
      if (s.basic) out.push(sink.netfilter(nf.tsNs, nf.point, nf.info));
      else tracker.addNetfilter(nf.point, nf.skb, nf.ctxId, nf.info);
      return;
    }
    const ev: KernelEvent = decodeEvent(v, off, size);
    if (captures && ev.opensContext) {
      const bytes = decodeCapture(v, off, size);
      if (bytes) captures.add(ev, bytes);
    }
    if (ev.kind === KIND.ret) {
      if (s.basic) out.push(sink.ret(ev.tsNs, ev.point, ev.location));
      else tracker.addReturn(ev.point, ev.skb, ev.ctxId, ev.location, ev.tsNs);
      return;
    }
    if (s.basic) {
      out.push(sink.event(ev));
      counted();
      return;
    }
    const done = tracker.add(ev, s.endsLife(ev.point));
    if (done) renderBlock(done);
  };

  return {
    record,
    tick: () => {
      s.pcap?.file.flush();
      if (s.basic) return;
      const now = s.nowNs();
      for (const b of tracker.expire(now)) renderBlock(b);
      for (const b of sockets.expire(now)) renderSocketBlock(b);
    },
    finish: () => {
      if (s.basic) return;
      for (const b of tracker.flush()) renderBlock(b);
      for (const b of sockets.flush()) renderSocketBlock(b);
    },
    end: () => {
      if (!s.latency) return;
      const { points, packets } = s.latency.read();
      out.push(
        s.latency.json ? JSON.stringify(latencySummaryJson(points, packets)) : formatLatencySummary(points, packets),
      );
    },
    counts: (losses) => ({
      shown,
      lost: losses.lost,
      limited: losses.limited,
      notFollowed: losses.notFollowed,
      socketBlocks: s.basic ? undefined : socketBlocks,
    }),
    summary: (losses) => {
      const socketText = socketBlocks ? ` (and ${socketBlocks} socket block${socketBlocks === 1 ? "" : "s"})` : "";
      return `${shown} ${s.basic ? "events" : "packets"} shown${socketText}, ${losses.summary()}`;
    },
  };
}
