/**
 * A trace session, written once for every mode that traces: the results
 * file opened before anything is loaded, the transport chosen, the mode's
 * program loaded and attached, its records read and handed to the mode's
 * pipeline, what is held flushed at a signal, losses accounted as they
 * happen, the closing counts, and everything torn down whatever the way out.
 *
 * A mode gives a start function that loads its program and returns it with
 * its pipeline: the stages from a record to lines (decode, assemble,
 * diagnose, render) and the counts it ends with.
 * @module
 */
import type { BpfObject } from "../../lib/ffi/bpf_object.ts";
import { kernelHasRingBuffer, openEventReader } from "../../lib/ffi/ring_reader.ts";
import type { EventTransport, RecordHandler, RingReader } from "../../lib/ffi/ring_records.ts";
import { bufferName, resolveTransport } from "../bpf/event_transport.ts";
import { PerCpuCounters } from "../bpf/stats.ts";
import type { Options } from "../cli/options.ts";
import { tidyKernelSymbols } from "../kernel/kallsyms.ts";
import { lossJson, type RunCounts, summaryJson } from "../output/json_records.ts";
import { LineWriter } from "../output/line_writer.ts";
import { LossReport } from "../output/loss_report.ts";
import { wallClockOffsetNs } from "../runtime/clock.ts";
import { log, writeErr } from "../runtime/log.ts";
import { collectYoung, settleMemory } from "../runtime/memory.ts";
import { OutputFile } from "../runtime/output_file.ts";
import { StopSignal } from "../runtime/stop.ts";

const POLL_MS = 200;
/**
 * After a quick turn that read records from a ring buffer, the loop pauses this long before it waits again. The
 * kernel wakes a ring buffer's reader (an irq_work the producing CPU pays) when a record is committed at the position
 * the reader has consumed to: a reader back in epoll right after each drain is caught up, and in a storm it is woken
 * for nearly every record. Pausing lets the records of a millisecond gather behind one wake-up (a 1 MiB ring holds
 * 5,900 drops). A turn that took longer is a reader behind the storm: it goes on at once (it is not woken then; a
 * pause would halve what it writes). A perf buffer wakes its reader for every record whatever it does: no pause.
 */
const READ_PAUSE_MS = 1;
const LOSS_CHECK_MS = 500;
/**
 * When memory is settled again, once, after tracing began: the loop's first turns run code once too (the runtime's
 * threads for the waits, the first timers), whose pages and garbage would stay for the whole run (6 MB here).
 */
const SETTLE_AGAIN_MS = 3000;

/** What a session gives the mode it runs. */
export interface SessionContext {
  /** the results: stdout or -o FILE, one line per push */
  readonly out: LineWriter;
  readonly stop: StopSignal;
  readonly transport: EventTransport;
  /** wall clock minus the kernel's monotonic clock, measured at start */
  readonly wallOffsetNs: number;
  /** runs at the end, after the program is closed: the last registered first (flush a file, then close it) */
  onClose(close: () => void): void;
}

/** A mode's loaded and attached program. */
export interface TraceProgram {
  /** the object whose maps hold `events` and `stats` */
  readonly object: BpfObject;
  /** detaches every link (many at once: faster than close alone) */
  detach?(): Promise<void>;
  close(): void;
}

/** What a mode does with the records of its program. */
export interface TracePipeline {
  /** one record from the kernel */
  readonly record: RecordHandler;
  /** before "begin trace...": what the first record should not wait for (the symbol table) */
  prepare?(): void;
  /** on every poll, after the records were read: blocks whose life ended, storm repeats; nowMs: performance.now() */
  tick?(nowMs: number): void;
  /** at a signal, after the last records: what is still held (packets whose end was not seen) */
  finish?(): void;
  /** at the end of every run (a signal, -c, a --diag ERROR), after finish: what is printed once at exit */
  end?(): void;
  /** the closing counts (from the losses as last checked) */
  counts(losses: LossReport): RunCounts;
  /** the closing counts as the line after "end trace..." */
  summary(losses: LossReport): string;
}

/** A loaded program with the pipeline its records go through. */
export interface TracePart {
  readonly program: TraceProgram;
  readonly pipeline: TracePipeline;
}

/**
 * A mode's start: loads and attaches its program (the transport is chosen), returns it with its pipeline; or
 * several programs, each with its pipeline (--monitor: the drop program and the socket points), read side by side.
 */
export type ModeStart = (session: SessionContext) => Promise<TracePart | readonly TracePart[]>;

/** One part's reader and its losses, once started. */
interface RunningPart extends TracePart {
  readonly reader: RingReader;
  readonly losses: LossReport;
}

/** The counts of several parts as one (the JSON summary). */
function addCounts(all: RunCounts[]): RunCounts {
  const sum = (f: (c: RunCounts) => number | undefined) =>
    all.some((c) => f(c) !== undefined) ? all.reduce((n, c) => n + (f(c) ?? 0), 0) : undefined;
  return {
    shown: sum((c) => c.shown)!,
    summarized: sum((c) => c.summarized),
    lost: sum((c) => c.lost)!,
    limited: sum((c) => c.limited)!,
    notFollowed: sum((c) => c.notFollowed)!,
    stormFull: sum((c) => c.stormFull),
    socketBlocks: sum((c) => c.socketBlocks),
  };
}

/**
 * Runs a trace session until a signal, the mode's own stop (-c, a --diag ERROR) or a closed stdout; the mode checks
 * its input before, or in start before it loads anything.
 */
export async function runTraceSession(opts: Options, start: ModeStart): Promise<number> {
  // a file nettrace may not write is bad input, found before anything is loaded
  const outFile = opts.output ? OutputFile.open(opts.output, opts.outputTruncate, opts.outputRotate) : undefined;
  const closers: Array<() => void> = [];
  const stop = new StopSignal();
  const started: TracePart[] = [];
  const running: RunningPart[] = [];
  try {
    const transport = resolveTransport(opts.transport, kernelHasRingBuffer);
    log("info", `events through the ${bufferName(transport)}`);
    const out = new LineWriter(outFile ?? Deno.stdout);
    const session: SessionContext = {
      out,
      stop,
      transport,
      wallOffsetNs: wallClockOffsetNs(),
      onClose: (c) => closers.push(c),
    };
    const parts = await start(session);
    started.push(...(Array.isArray(parts) ? parts as readonly TracePart[] : [parts as TracePart]));
    const buffer = bufferName(transport);
    for (const part of started) {
      const losses = new LossReport(
        new PerCpuCounters(part.program.object.map("stats")),
        buffer,
        opts.json ? (what, count, total) => out.push(JSON.stringify(lossJson(what, count, total, buffer))) : undefined,
      );
      const handle = part.pipeline.record;
      const onRecord: RecordHandler = (v, o, size) => {
        if (!stop.stopped) handle(v, o, size);
      };
      const events = part.program.object.map("events");
      const reader = openEventReader(transport, opts.ringReader, events, opts.ringSize, onRecord);
      running.push({ ...part, reader, losses });
    }
    for (const p of running) p.pipeline.prepare?.();
    tidyKernelSymbols(performance.now());
    await settleMemory();
    writeErr("begin trace...");
    const began = performance.now();
    let lastLossCheck = began, settledAgain = false;
    // several parts: the first one's wait paces the loop, and every part is drained on each turn
    const [first] = running;
    while (!stop.stopped) {
      await first.reader.wait(POLL_MS);
      const turn = performance.now();
      let read = 0;
      for (const p of running) read += p.reader.drain();
      const now = performance.now();
      for (const p of running) p.pipeline.tick?.(now);
      if (!out.flush()) stop.request("stdout closed");
      if (now - lastLossCheck >= LOSS_CHECK_MS) {
        lastLossCheck = now;
        for (const p of running) p.losses.check();
      }
      if (!settledAgain && now - began >= SETTLE_AGAIN_MS) {
        settledAgain = true;
        await settleMemory();
        log("debug", `memory settled again after ${Math.round(performance.now() - now)} ms`);
      } else {
        // the kernel's symbols forgotten unused: all of it given back; read for a new address: the file's bytes
        const symbols = tidyKernelSymbols(now);
        if (symbols === "forgotten") await settleMemory();
        else if (symbols === "read") await collectYoung();
      }
      if (read > 0 && transport === "ringbuf" && performance.now() - turn < READ_PAUSE_MS) {
        await new Promise((r) => setTimeout(r, READ_PAUSE_MS));
      }
    }
    if (stop.reason === "signal") {
      for (const p of running) {
        p.reader.drain();
        p.pipeline.finish?.();
      }
    }
    for (const p of running) p.pipeline.end?.();
    out.flush();
    for (const p of running) p.losses.check();
    if (opts.json) {
      out.push(JSON.stringify(summaryJson(addCounts(running.map((p) => p.pipeline.counts(p.losses))))));
      out.flush();
    }
  } finally {
    for (const p of running) p.reader.close();
    for (const p of started) await p.program.detach?.();
    for (const p of started) p.program.close();
    // last registered, first run: what writes to a file is done before the file is closed
    for (const c of closers.reverse()) c();
    stop.dispose();
    outFile?.close();
  }
  writeErr("end trace...");
  for (const p of running) writeErr(p.pipeline.summary(p.losses));
  return 0;
}
