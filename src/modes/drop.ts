/**
 * nettrace --drop: prints every packet the kernel drops, with its headers,
 * the drop reason (names from the running kernel) and the location.
 * @module
 */
import type { BpfObject } from "../../lib/ffi/bpf_object.ts";
import { Btf } from "../../lib/ffi/btf.ts";
import { kernelHasRingBuffer, openEventReader } from "../../lib/ffi/ring_reader.ts";
import { bufferName, resolveTransport } from "../bpf/event_transport.ts";
import type { RingReader } from "../../lib/ffi/ring_records.ts";
import type { Options } from "../cli/options.ts";
import { HostError } from "../errors.ts";
import { decodeEvent } from "../event/decode.ts";
import { loadDropProgram } from "../bpf/drop_program.ts";
import { PerCpuCounters } from "../bpf/stats.ts";
import { btfCustomPath as customPathOf, kernelTypes } from "../bpf/kernel_types.ts";
import { compatNotice } from "../bpf/compat_objects.ts";
import { loadDropReasons } from "../kernel/drop_reason_loader.ts";
import { kernelSymbols } from "../kernel/kallsyms.ts";
import { currentNetnsInode } from "../kernel/netns.ts";
import { ensureTracefs } from "../kernel/tracefs.ts";
import { type DropLineContext, formatDropComment, formatDropLine, formatStack } from "../output/drop_line.ts";
import { decodeCapture } from "../event/capture.ts";
import { PcapngSink } from "../output/pcapng_sink.ts";
import { VERSION } from "../version.ts";
import { LineWriter } from "../output/line_writer.ts";
import { OutputFile } from "../runtime/output_file.ts";
import { LossReport } from "../output/loss_report.ts";
import { dropJson, type DropJsonContext, lossJson, stormJson, summaryJson } from "../output/json_records.ts";
import { formatStormLine } from "../output/storm_line.ts";
import { StormCounts } from "../bpf/storm_counts.ts";
import { TimestampFormatter } from "../output/timestamp.ts";
import { nowNs, wallClockOffsetNs } from "../runtime/clock.ts";
import { log, writeErr } from "../runtime/log.ts";
import { StopSignal } from "../runtime/stop.ts";
import { settleMemory } from "../runtime/memory.ts";

const POLL_MS = 200;
const LOSS_CHECK_MS = 500;
/** How often the repeats of a drop storm are printed. */
const STORM_REPORT_MS = 1000;
const STACK_DEPTH = 127;
const BPF_FRAME = /^(bpf_prog_|bpf_trampoline_|bpf_trace_run)/;

/** Runs the drop monitor until a signal, -c, or a closed stdout. Returns the exit status. */
export async function runDrop(opts: Options): Promise<number> {
  // a file nettrace may not write is bad input, found before anything is loaded
  const outFile = opts.output ? OutputFile.open(opts.output, opts.outputTruncate, opts.outputRotate) : undefined;
  const captureFile = opts.write ? OutputFile.open(opts.write, false, undefined, "-w") : undefined;
  const types = kernelTypes(opts.btf);
  const btfCustomPath = customPathOf(types);
  const compat = types.kind === "compat" ? types.objects : undefined;
  const tracefs = ensureTracefs();
  if ("error" in tracefs) throw new HostError(`tracefs is not available: ${tracefs.error}`);

  const kernelBtf = compat ? undefined : Btf.kernel(btfCustomPath);
  const reasons = loadDropReasons(kernelBtf, tracefs.path);
  if (reasons.source === "none") log("info", "this kernel reports no drop reasons: the reason column is left out");
  const filter = { ...opts.filter };
  if (opts.netnsCurrent) filter.netns = currentNetnsInode();

  const transport = resolveTransport(opts.transport, kernelHasRingBuffer);
  log("info", `events through the ${bufferName(transport)}`);
  const stop = new StopSignal();
  const out = new LineWriter(outFile ?? Deno.stdout);
  let obj: BpfObject | undefined;
  let point = "";
  let reader: RingReader | undefined;
  let shown = 0;
  let losses: LossReport | undefined;
  try {
    try {
      const prog = loadDropProgram({
        method: opts.attachMethod === "auto" ? "tracepoint" : opts.attachMethod,
        filter,
        wantStack: opts.dropStack,
        ringSize: opts.ringSize,
        transport,
        rateLimit: opts.rateLimit,
        stormLimit: opts.stormLimit,
        snaplen: captureFile ? opts.snaplen : 0,
        consumedReason: reasons.consumed,
        tpHasReason: reasons.source !== "none",
        btfCustomPath,
        compat,
      }, kernelBtf);
      obj = prog.object;
      point = prog.point;
      log("info", `drops seen at ${prog.point}`);
      if (compat) writeErr(compatNotice(compat, "drop", transport));
    } finally {
      kernelBtf?.close();
    }
    const buffer = bufferName(transport);
    losses = new LossReport(
      new PerCpuCounters(obj.map("stats")),
      buffer,
      opts.json ? (what, count, total) => out.push(JSON.stringify(lossJson(what, count, total, buffer))) : undefined,
    );
    const stacks = obj.map("stacks");
    const stackKey = new Int32Array(1);
    const stackValue = new BigUint64Array(STACK_DEPTH);
    const wallOffsetNs = wallClockOffsetNs();
    const ctx: DropLineContext = {
      time: new TimestampFormatter(opts.date, wallOffsetNs),
      reasons: reasons.source === "none" ? undefined : reasons,
      symbolize: (addr) => kernelSymbols().resolve(addr),
      detail: opts.detail,
    };
    const stackFrames = (id: number): string[] => {
      if (id < 0) return ["(stack not available)"];
      stackKey[0] = id;
      if (!stacks.lookup(new Uint8Array(stackKey.buffer), new Uint8Array(stackValue.buffer))) return ["(stack lost)"];
      const frames: string[] = [];
      for (const a of stackValue) {
        if (a === 0n) break;
        const f = ctx.symbolize(a);
        // frames of BPF itself (program, trampoline, tracepoint runner) are not the packet's path
        if (frames.length === 0 && BPF_FRAME.test(f)) continue;
        frames.push(f);
      }
      return frames;
    };

    const jsonCtx: DropJsonContext | undefined = opts.json
      ? { reasons: ctx.reasons, symbolize: ctx.symbolize, wallOffsetNs }
      : undefined;
    const pcap = captureFile
      ? new PcapngSink(
        captureFile,
        { application: `nettrace ${VERSION}`, os: `Linux ${Deno.osRelease()}` },
        opts.snaplen,
      )
      : undefined;
    const commentCtx = { reasons: ctx.reasons, symbolize: ctx.symbolize, point };
    reader = openEventReader(transport, opts.ringReader, obj.map("events"), opts.ringSize, (view, off, size) => {
      if (stop.stopped) return;
      const ev = decodeEvent(view, off, size);
      if (pcap) {
        const bytes = decodeCapture(view, off, size);
        if (bytes) {
          pcap.packet(ev, BigInt(ev.tsNs) + BigInt(wallOffsetNs), bytes, formatDropComment(ev, commentCtx));
        }
      }
      if (jsonCtx) {
        out.push(JSON.stringify(dropJson(ev, jsonCtx, opts.dropStack ? stackFrames(ev.stackId) : undefined)));
      } else {
        out.push(formatDropLine(ev, ctx));
        if (opts.dropStack) out.push(formatStack(stackFrames(ev.stackId)));
      }
      shown++;
      if (opts.count && shown >= opts.count) stop.request("count");
    });

    const storms = opts.stormLimit ? new StormCounts(obj.map("storms"), nowNs()) : undefined;
    const reportStorms = () => {
      for (const r of storms?.take(nowNs()) ?? []) {
        out.push(jsonCtx ? JSON.stringify(stormJson(r, jsonCtx)) : formatStormLine(r, ctx));
      }
    };

    // every line names its location: the symbols are read now, not while the first drop waits
    kernelSymbols();
    await settleMemory();
    writeErr("begin trace...");
    let lastLossCheck = performance.now(), lastStormReport = lastLossCheck;
    while (!stop.stopped) {
      await reader.wait(POLL_MS);
      reader.drain();
      pcap?.flush();
      const now = performance.now();
      if (now - lastStormReport >= STORM_REPORT_MS) {
        lastStormReport = now;
        reportStorms();
      }
      if (!out.flush()) stop.request("stdout closed");
      if (now - lastLossCheck >= LOSS_CHECK_MS) {
        lastLossCheck = now;
        losses.check();
      }
    }
    if (stop.reason === "signal") {
      reader.drain();
      reportStorms();
      out.flush();
    }
    pcap?.flush();
    losses.check();
    if (opts.json) {
      out.push(JSON.stringify(summaryJson({
        shown,
        summarized: losses.summarized,
        lost: losses.lost,
        limited: losses.limited,
        notFollowed: 0,
        stormFull: losses.stormFull,
      })));
      out.flush();
    }
  } finally {
    reader?.close();
    obj?.close();
    stop.dispose();
    outFile?.close();
    captureFile?.close();
  }
  writeErr("end trace...");
  writeErr(losses?.dropSummary(shown) ?? `${shown} events shown, 0 summarized, 0 lost`);
  return 0;
}
