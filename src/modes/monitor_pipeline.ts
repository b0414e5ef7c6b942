/**
 * --monitor's pipelines: one for the drop program's records, one for the
 * socket points'. Each record is decoded, judged (its finding from the
 * rules: shown when the finding is a WARN or an ERROR, left out when it is
 * only INFO), and rendered as one line with its finding marked, or as one
 * JSON object with its finding. A finding's advice follows its first line.
 * The drops' repeats are held back in the kernel (the storm map) and given
 * back once a second; the socket events' in user space (RepeatLimit). -c
 * counts the lines of both.
 * @module
 */
import { decodeEvent, decodeSocket, type KernelEvent, type NetfilterInfo, type SocketEvent } from "../event/decode.ts";
import type { FindingReport } from "../diag/finding_report.ts";
import type { StormCounts } from "../bpf/storm_counts.ts";
import type { StormRepeats } from "../event/storm.ts";
import type { RunCounts } from "../output/json_records.ts";
import type { LineWriter } from "../output/line_writer.ts";
import {
  adviceLine,
  findingJson,
  findingMark,
  type FindingRepeats,
  formatRepeatsLine,
  repeatsJson,
} from "../output/monitor_line.ts";
import type { RepeatLimit } from "../output/repeat_limit.ts";
import type { FindingCount } from "../output/monitor_metrics.ts";
import type { TimestampFormatter } from "../output/timestamp.ts";
import type { StopSignal } from "../runtime/stop.ts";
import type { TracePipeline } from "./trace_session.ts";

/** How often repeats held back are given back. */
const REPEATS_MS = 1000;

/** Lines a part has shown so far (read by --metrics). */
export interface PartTally {
  shown: number;
}

/** What the rules say of an event: whether it is shown, and its finding (a WARN or an ERROR). */
export interface Judgement {
  readonly show: boolean;
  readonly finding?: FindingReport;
}

/** What both pipelines share: the output, -c, the advice already given. */
export class MonitorOutput {
  #shown = 0;
  readonly #advised = new Set<string>();

  constructor(
    readonly out: LineWriter,
    readonly stop: StopSignal,
    readonly json: boolean,
    readonly time: TimestampFormatter,
    readonly wallOffsetNs: number,
    readonly count?: number,
  ) {}

  /** One event's line (or object) with its finding; the advice under the finding's first line. */
  event(line: () => string, object: () => Record<string, unknown>, finding?: FindingReport): void {
    if (this.json) {
      const o = object();
      if (finding) o.finding = findingJson(finding);
      this.out.push(JSON.stringify(o));
    } else {
      this.out.push(line() + findingMark(finding));
      const key = finding && `${finding.finding.point}\0${finding.finding.message}`;
      if (finding?.advice && key && !this.#advised.has(key)) {
        this.#advised.add(key);
        this.out.push(adviceLine(finding.advice));
      }
    }
    this.#shown++;
    if (this.count && this.#shown >= this.count) this.stop.request("count");
  }

  /** Repeats held back, as a line or an object. */
  repeats(r: FindingRepeats): void {
    this.out.push(this.json ? JSON.stringify(repeatsJson(r, this.wallOffsetNs)) : formatRepeatsLine(r, this.time));
  }
}

/** The drop program's pipeline. */
export interface DropMonitorSetup {
  readonly output: MonitorOutput;
  /** where netfilter dropped the event's packet, when the kernel kept it (--monitor's netfilter names) */
  readonly netfilter?: (ev: KernelEvent) => NetfilterInfo | undefined;
  readonly judge: (ev: KernelEvent) => Judgement;
  readonly line: (ev: KernelEvent) => string;
  readonly object: (ev: KernelEvent) => Record<string, unknown>;
  /** the storm map (undefined: --no-storm-limit), and how its repeats read */
  readonly storms?: StormCounts;
  readonly stormLine: (r: StormRepeats) => string;
  readonly stormObject: (r: StormRepeats) => Record<string, unknown>;
  readonly nowNs: () => number;
  readonly tally: PartTally;
}

export function dropMonitorPipeline(s: DropMonitorSetup): TracePipeline {
  const { output, tally } = s;
  let benign = 0, lastRepeats = performance.now();
  const giveBack = () => {
    for (const r of s.storms?.take(s.nowNs()) ?? []) {
      output.out.push(output.json ? JSON.stringify(s.stormObject(r)) : s.stormLine(r));
    }
  };
  return {
    record: (v, off, size) => {
      const decoded = decodeEvent(v, off, size);
      const nf = decoded.netfilterDrop ? s.netfilter?.(decoded) : undefined;
      const ev = nf ? { ...decoded, nf } : decoded;
      const j = s.judge(ev);
      if (!j.show) {
        benign++;
        return;
      }
      output.event(() => s.line(ev), () => s.object(ev), j.finding);
      tally.shown++;
    },
    tick: (nowMs) => {
      if (nowMs - lastRepeats < REPEATS_MS) return;
      lastRepeats = nowMs;
      giveBack();
    },
    finish: giveBack,
    counts: (losses): RunCounts => ({
      shown: tally.shown,
      summarized: losses.summarized,
      lost: losses.lost,
      limited: losses.limited,
      notFollowed: 0,
      stormFull: losses.stormFull,
    }),
    summary: (losses) =>
      `drops: ${losses.dropSummary(tally.shown)}${benign ? `, ${benign} not shown (INFO: nothing wrong)` : ""}`,
  };
}

/** The socket points' pipeline. */
export interface SocketMonitorSetup {
  readonly output: MonitorOutput;
  readonly judge: (ev: SocketEvent) => Judgement;
  readonly line: (ev: SocketEvent) => string;
  readonly object: (ev: SocketEvent) => Record<string, unknown>;
  readonly pointName: (point: number) => string;
  readonly limit: RepeatLimit;
  readonly nowNs: () => number;
  readonly tally: PartTally;
  /** --metrics: each finding's count (key: point, level, message), before the limit */
  readonly findings?: Map<string, FindingCount>;
}

export function socketMonitorPipeline(s: SocketMonitorSetup): TracePipeline {
  const { output, limit, tally } = s;
  let lastRepeats = performance.now();
  const giveBack = (all: boolean) => {
    const tsNs = s.nowNs();
    for (const r of limit.take(performance.now(), all)) {
      const [point, message] = r.key.split("\0");
      output.repeats({ ...r, point, message, tsNs });
    }
  };
  return {
    record: (v, off, size) => {
      const ev = decodeSocket(v, off, size);
      const j = s.judge(ev);
      if (!j.show) return;
      const point = s.pointName(ev.point);
      if (j.finding && s.findings) {
        const { level, message } = j.finding.finding;
        const key = `${point}\0${level}\0${message}`;
        const c = s.findings.get(key);
        s.findings.set(key, { point, level, message, count: (c?.count ?? 0) + 1 });
      }
      if (!limit.allow(`${point}\0${j.finding?.finding.message ?? "RTT sample"}`, performance.now())) return;
      output.event(() => s.line(ev), () => s.object(ev), j.finding);
      tally.shown++;
    },
    tick: (nowMs) => {
      if (nowMs - lastRepeats < REPEATS_MS) return;
      lastRepeats = nowMs;
      giveBack(false);
    },
    finish: () => giveBack(true),
    counts: (losses): RunCounts => ({
      shown: tally.shown,
      summarized: limit.held,
      lost: losses.lost,
      limited: losses.limited,
      notFollowed: 0,
    }),
    summary: (losses) => `socket events: ${tally.shown} shown, ${limit.held} held back as repeats, ${losses.summary()}`,
  };
}
