/**
 * nettrace --drop: prints every packet the kernel drops, with its headers,
 * the drop reason (names from the running kernel) and the location; a storm
 * of the same drop is counted in the kernel and printed once a second; -w
 * writes the packets as pcapng.
 * @module
 */
import type { BpfObject } from "../../lib/ffi/bpf_object.ts";
import { Btf, BtfKind } from "../../lib/ffi/btf.ts";
import type { Options } from "../cli/options.ts";
import { HostError } from "../errors.ts";
import { decodeEvent } from "../event/decode.ts";
import { decodeCapture } from "../event/capture.ts";
import { type DropProgram, loadDropProgram } from "../bpf/drop_program.ts";
import { StackTraces } from "../bpf/stack_traces.ts";
import { StormCounts } from "../bpf/storm_counts.ts";
import { btfCustomPath as customPathOf, kernelTypes } from "../bpf/kernel_types.ts";
import { compatNotice } from "../bpf/compat_objects.ts";
import { loadDropReasons } from "../kernel/drop_reason_loader.ts";
import { kernelSymbols, resolveCodeAddress } from "../kernel/kallsyms.ts";
import { kernelHz } from "../kernel/kconfig.ts";
import { currentNetnsInode } from "../kernel/netns.ts";
import { effectiveCapabilities, perfEventParanoid, perfEventsRefused } from "../kernel/privileges.ts";
import { releaseAtLeast } from "../kernel/release.ts";
import { ensureTracefs } from "../kernel/tracefs.ts";
import { type DropLineContext, formatDropComment, formatDropLine } from "../output/drop_line.ts";
import { formatCallStack } from "../output/call_stack.ts";
import { dropJson, type DropJsonContext, stormJson } from "../output/json_records.ts";
import { PcapngSink } from "../output/pcapng_sink.ts";
import { formatStormLine } from "../output/storm_line.ts";
import { TimestampFormatter } from "../output/timestamp.ts";
import { nowNs } from "../runtime/clock.ts";
import { log, writeErr } from "../runtime/log.ts";
import { runTraceSession, type SessionContext, type TracePipeline } from "./trace_session.ts";

/** How often the repeats of a drop storm are printed. */
const STORM_REPORT_MS = 1000;

/** Runs the drop monitor until a signal, -c, or a closed stdout. Returns the exit status. */
export function runDrop(opts: Options): Promise<number> {
  return runTraceSession(opts, (session) => startDrop(opts, session));
}

/** Loads and attaches the drop program; returns it with the pipeline from a record to its line. */
async function startDrop(opts: Options, session: SessionContext) {
  // a file nettrace may not write is bad input, found before anything is loaded
  const pcap = opts.write ? PcapngSink.open(opts.write, opts.snaplen) : undefined;
  if (pcap) session.onClose(() => pcap.close());
  const loaded = await loadDrop(opts, session, { snaplen: pcap ? opts.snaplen : 0 });
  const pipeline = dropPipeline(opts, session, { ...loaded, pcap });
  const object = loaded.object;
  return { program: { object, close: () => object.close() }, pipeline };
}

/** The loaded drop program: its object, the kernel's drop reasons (none before 5.17), where it sees drops. */
export interface LoadedDrop {
  readonly object: BpfObject;
  readonly reasons?: DropLineContext["reasons"];
  readonly point: string;
  /** with netfilterNames: the table walks traced, or why they are not */
  readonly netfilter?: DropProgram["netfilter"];
}

/** How a mode wants the drop program. */
export interface DropChoice {
  /** the bytes of each packet sent with its event (-w), 0 = none */
  readonly snaplen: number;
  /** every drop counted by key in the kernel (--metrics) */
  readonly countDrops?: boolean;
  /** false: a storm is one drop (reason, place, protocol) of every flow (--monitor) */
  readonly stormByFlow?: boolean;
  /** netfilter's drops named by table, chain and hook, where the kernel can (--monitor) */
  readonly netfilterNames?: boolean;
}

/**
 * The drop program's attach method when the user leaves it to nettrace, and the one to fall back on. kfree_skb as a
 * BTF-typed tracepoint (tp_btf) where the kernel's own BTF types it: the program loads the skb's fields instead of
 * reading them with helper calls, and no perf event is in the way; a drop then costs about 290 ns of BPF instead of
 * 430 here. Else the classic tracepoint skb:kfree_skb, or its raw tracepoint where perf events are refused (the same
 * arguments, attached without one).
 */
function autoDropMethods(
  kernelBtf: Btf | undefined,
  ownBtf: boolean,
): Array<"tp_btf" | "tracepoint" | "raw_tracepoint"> {
  const refused = perfEventsRefused(effectiveCapabilities(), perfEventParanoid());
  if (refused) log("info", `${refused}: the drop program is not attached as the classic tracepoint`);
  const untyped = refused ? "raw_tracepoint" : "tracepoint";
  const typed = ownBtf && releaseAtLeast(Deno.osRelease(), 5, 5) &&
    (kernelBtf?.find("btf_trace_kfree_skb", BtfKind.TYPEDEF) ?? 0) > 0;
  return typed ? ["tp_btf", untyped] : [untyped];
}

/** Loads and attaches the drop program (--drop, --monitor's drops). */
export async function loadDrop(opts: Options, session: SessionContext, choice: DropChoice): Promise<LoadedDrop> {
  const types = kernelTypes(opts.btf);
  const btfCustomPath = customPathOf(types);
  const compat = types.kind === "compat" ? types.objects : undefined;
  const tracefs = ensureTracefs();
  if ("error" in tracefs) throw new HostError(`tracefs is not available: ${tracefs.error}`);

  const kernelBtf = compat ? undefined : Btf.kernel(btfCustomPath);
  let prog;
  let reasons;
  try {
    reasons = loadDropReasons(kernelBtf, tracefs.path);
    if (reasons.source === "none") log("info", "this kernel reports no drop reasons: the reason column is left out");
    const filter = { ...opts.filter };
    if (opts.netnsCurrent) filter.netns = currentNetnsInode();
    const methods = opts.attachMethod === "auto"
      ? autoDropMethods(kernelBtf, !compat && !btfCustomPath)
      : [opts.attachMethod];
    const config = {
      filter,
      wantStack: opts.dropStack,
      ringSize: opts.ringSize,
      transport: session.transport,
      rateLimit: opts.rateLimit,
      stormLimit: opts.stormLimit,
      stormHz: opts.stormLimit ? await kernelHz() : undefined,
      snaplen: choice.snaplen,
      countDrops: choice.countDrops,
      stormByFlow: choice.stormByFlow,
      netfilterNames: choice.netfilterNames,
      consumedReason: reasons.consumed,
      tpHasReason: reasons.source !== "none",
      btfCustomPath,
      compat,
    };
    for (const [i, method] of methods.entries()) {
      try {
        prog = await loadDropProgram({ ...config, method }, kernelBtf);
        break;
      } catch (e) {
        if (!(e instanceof HostError) || i === methods.length - 1) throw e;
        log("info", `${e.message}; trying --attach-method ${methods[i + 1]}`);
      }
    }
    if (!prog) throw new Error("no attach method to try"); // methods is never empty
  } finally {
    kernelBtf?.close();
  }
  log("info", `drops seen at ${prog.point}`);
  if (compat) writeErr(compatNotice(compat, "drop", session.transport));
  return {
    object: prog.object,
    reasons: reasons.source === "none" ? undefined : reasons,
    point: prog.point,
    netfilter: prog.netfilter,
  };
}

/** What the drop pipeline needs of the loaded program. */
interface DropStages {
  object: BpfObject;
  reasons?: DropLineContext["reasons"];
  point: string;
  pcap?: PcapngSink;
}

/** decode → render (text or JSON) → stdout, and the packet's bytes → pcapng; storm repeats once a second. */
function dropPipeline(opts: Options, session: SessionContext, d: DropStages): TracePipeline {
  const { out, stop } = session;
  const symbolize = resolveCodeAddress;
  const ctx: DropLineContext = {
    time: new TimestampFormatter(opts.date, session.wallOffsetNs),
    reasons: d.reasons,
    symbolize,
    detail: opts.detail,
  };
  const jsonCtx: DropJsonContext | undefined = opts.json
    ? { reasons: d.reasons, symbolize, wallOffsetNs: session.wallOffsetNs }
    : undefined;
  const stacks = new StackTraces(d.object.map("stacks"), symbolize);
  const commentCtx = { reasons: d.reasons, symbolize, point: d.point };
  const storms = opts.stormLimit ? StormCounts.of(d.object, nowNs()) : undefined;
  const reportStorms = () => {
    for (const r of storms?.take(nowNs()) ?? []) {
      out.push(jsonCtx ? JSON.stringify(stormJson(r, jsonCtx)) : formatStormLine(r, ctx));
    }
  };
  let shown = 0;
  let lastStormReport = performance.now();
  return {
    record: (view, off, size) => {
      const ev = decodeEvent(view, off, size);
      if (d.pcap) {
        const bytes = decodeCapture(view, off, size);
        if (bytes) {
          const timeNs = BigInt(ev.tsNs) + BigInt(session.wallOffsetNs);
          d.pcap.packet(ev, timeNs, bytes, formatDropComment(ev, commentCtx));
        }
      }
      if (jsonCtx) {
        out.push(JSON.stringify(dropJson(ev, jsonCtx, opts.dropStack ? stacks.frames(ev.stackId) : undefined)));
      } else {
        out.push(formatDropLine(ev, ctx));
        if (opts.dropStack) out.push(formatCallStack(stacks.frames(ev.stackId)));
      }
      shown++;
      if (opts.count && shown >= opts.count) stop.request("count");
    },
    // every line names its location: the symbols are read now, not while the first drop waits
    prepare: () => void kernelSymbols(),
    tick: (nowMs) => {
      d.pcap?.flush();
      if (nowMs - lastStormReport >= STORM_REPORT_MS) {
        lastStormReport = nowMs;
        reportStorms();
      }
    },
    finish: reportStorms,
    counts: (losses) => ({
      shown,
      summarized: losses.summarized,
      lost: losses.lost,
      limited: losses.limited,
      notFollowed: 0,
      stormFull: losses.stormFull,
    }),
    summary: (losses) => losses.dropSummary(shown),
  };
}
