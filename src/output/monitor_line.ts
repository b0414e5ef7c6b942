/**
 * What --monitor adds to a drop's or a socket event's line or JSON object:
 * its finding (` *message*`, as the C nettrace marks it), the advice the
 * first time a finding is shown, and the repeats of a finding that were held
 * back. Pure.
 * @module
 */
import type { FindingReport } from "../diag/finding_report.ts";
import type { HeldRepeats } from "./repeat_limit.ts";
import { isoTime, JSON_SCHEMA_VERSION } from "./json_records.ts";
import type { TimestampFormatter } from "./timestamp.ts";
import { moreLikeThis } from "./storm_line.ts";

/** The mark a line gets: ` *message*`, or nothing without a finding. */
export function findingMark(f: FindingReport | undefined): string {
  return f ? ` *${f.finding.message}*` : "";
}

/** The advice line shown under the first line of a finding. */
export function adviceLine(advice: string): string {
  return `    fix advice: ${advice}`;
}

/** The finding of a JSON object: level, message and advice. */
export function findingJson(f: FindingReport): Record<string, unknown> {
  const out: Record<string, unknown> = { level: f.finding.level, message: f.finding.message };
  if (f.advice) out.advice = f.advice;
  return out;
}

/** A finding's repeats held back: its point and message, how many, over how long. */
export interface FindingRepeats extends HeldRepeats {
  readonly point: string;
  readonly message: string;
  /** the kernel's clock when they were given back */
  readonly tsNs: number;
}

/** `[time] tcp_retransmit_timer: the TCP retransmission timer fired (RTO) ... and 1,204 more like this in 1.0 s` */
export function formatRepeatsLine(r: FindingRepeats, time: TimestampFormatter): string {
  return `[${time.format(r.tsNs)}] ${r.point}: ${r.message}${moreLikeThis(r.count, r.seconds)}`;
}

/** The JSON object of held repeats (type "repeats"). */
export function repeatsJson(r: FindingRepeats, wallOffsetNs: number): Record<string, unknown> {
  return {
    type: "repeats",
    v: JSON_SCHEMA_VERSION,
    ts_ns: r.tsNs,
    time: isoTime(r.tsNs, wallOffsetNs),
    point: r.point,
    message: r.message,
    count: r.count,
    seconds: Math.round(r.seconds * 1000) / 1000,
  };
}
