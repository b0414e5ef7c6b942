/**
 * Events the kernel could not send are never silent: those lost to a full
 * ring or perf buffer and those held back by --rate-limit are read from the per-CPU
 * counters and reported as they happen and in the closing summary; so are
 * packets the lifecycle mode could not follow (its context map full).
 * @module
 */
import type { PerCpuCounters } from "../bpf/stats.ts";
import { STAT } from "../event/layout.ts";
import { writeErr } from "../runtime/log.ts";

/**
 * What a loss is: lost to a full buffer, held back by --rate-limit, a packet not followed, or a drop neither
 * sent nor summarized because the storm map was full.
 */
export type LossKind = "lost" | "limited" | "not_followed" | "storm_full";

/** Told each new loss (count since the last report, total so far), besides the line on stderr. */
export type LossListener = (what: LossKind, count: number, total: number) => void;

/** Reports new losses since the last check. */
export class LossReport {
  #lost = 0;
  #limited = 0;
  #ctxFull = 0;
  #stormFull = 0;
  #summarized = 0;

  /** buffer: what events go through ("ring buffer", "perf buffer"), named when it is full */
  constructor(
    readonly counters: PerCpuCounters,
    readonly buffer = "ring buffer",
    readonly listener?: LossListener,
  ) {}

  /** Events lost to a full buffer so far. */
  get lost(): number {
    return this.#lost;
  }

  /** Drops lost because the storm map was full, so far. */
  get stormFull(): number {
    return this.#stormFull;
  }

  /** Drops the kernel summarized (--storm-limit) instead of sending, as of the last check: not a loss. */
  get summarized(): number {
    return this.#summarized;
  }

  /** Events held back by --rate-limit so far. */
  get limited(): number {
    return this.#limited;
  }

  /** Packets the lifecycle mode could not follow so far. */
  get notFollowed(): number {
    return this.#ctxFull;
  }

  /** Reads the counters and prints what is new. */
  check(): void {
    const lost = this.counters.read(STAT.lost);
    if (lost > this.#lost) {
      writeErr(`nettrace: ${lost - this.#lost} events lost: ${this.buffer} full (${lost} lost in all)`);
      this.listener?.("lost", lost - this.#lost, lost);
      this.#lost = lost;
    }
    const limited = this.counters.read(STAT.limited);
    if (limited > this.#limited) {
      writeErr(`nettrace: ${limited - this.#limited} events not sent: over --rate-limit (${limited} in all)`);
      this.listener?.("limited", limited - this.#limited, limited);
      this.#limited = limited;
    }
    const ctxFull = this.counters.read(STAT.ctxFull);
    if (ctxFull > this.#ctxFull) {
      writeErr(
        `nettrace: ${
          ctxFull - this.#ctxFull
        } packets not followed: the context map could not store them (${ctxFull} in all)`,
      );
      this.listener?.("not_followed", ctxFull - this.#ctxFull, ctxFull);
      this.#ctxFull = ctxFull;
    }
    this.#summarized = this.counters.read(STAT.summarized);
    const stormFull = this.counters.read(STAT.stormFull);
    if (stormFull > this.#stormFull) {
      writeErr(
        `nettrace: ${
          stormFull - this.#stormFull
        } events lost: the storm map is full, they could be neither sent nor summarized (${stormFull} in all)`,
      );
      this.listener?.("storm_full", stormFull - this.#stormFull, stormFull);
      this.#stormFull = stormFull;
    }
  }

  /** The summary's tail: "0 events lost" and, when any, the rate-limited count. */
  summary(): string {
    return `${this.#lost} events lost${this.#limited ? `, ${this.#limited} held back by --rate-limit` : ""}${
      this.#ctxFull ? `, ${this.#ctxFull} packets not followed (context map full)` : ""
    }`;
  }

  /** The drop monitor's summary: "12 events shown, 199988 summarized, 0 lost", every drop in one of them. */
  dropSummary(shown: number): string {
    const lost = this.#lost + this.#stormFull;
    return `${shown} events shown, ${this.summarized} summarized, ${lost} lost${
      this.#limited ? `, ${this.#limited} held back by --rate-limit` : ""
    }`;
  }
}
