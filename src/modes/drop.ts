/**
 * nettrace --drop: prints every packet the kernel drops, with its headers,
 * the drop reason (names from the running kernel) and the location.
 * @module
 */
import { BpfObject } from "../../lib/ffi/bpf_object.ts";
import { Btf } from "../../lib/ffi/btf.ts";
import { LibbpfError } from "../../lib/ffi/libbpf.ts";
import { openRingReader, type RingReader } from "../../lib/ffi/ring_reader.ts";
import type { Options } from "../cli/options.ts";
import { HostError } from "../errors.ts";
import { decodeEvent } from "../event/decode.ts";
import { STAT } from "../event/layout.ts";
import { encodeFilter } from "../bpf/filter.ts";
import { DROP_OBJECT } from "../bpf/objects.ts";
import { PerCpuCounters } from "../bpf/stats.ts";
import { locateBtf } from "../kernel/btf_source.ts";
import { loadDropReasons } from "../kernel/drop_reason_loader.ts";
import { kernelSymbols } from "../kernel/kallsyms.ts";
import { currentNetnsInode } from "../kernel/netns.ts";
import { ensureTracefs } from "../kernel/tracefs.ts";
import { type DropLineContext, formatDropLine, formatStack } from "../output/drop_line.ts";
import { LineWriter } from "../output/line_writer.ts";
import { TimestampFormatter } from "../output/timestamp.ts";
import { log, writeErr } from "../runtime/log.ts";
import { StopSignal } from "../runtime/stop.ts";

const POLL_MS = 200;
const LOSS_CHECK_MS = 500;
const STACK_DEPTH = 127;

function u32(n: number): Uint8Array {
  return new Uint8Array(new Uint32Array([n >>> 0]).buffer);
}

/** Prints how many events were lost since the last report; returns the new total. */
function reportLoss(total: number, reported: number): number {
  if (total > reported) writeErr(`nettrace: ${total - reported} events lost: ring buffer full (${total} lost in all)`);
  return total;
}

/** Loads and attaches the drop program; the caller closes the object. */
function loadDropObject(opts: Options, btfCustomPath: string | undefined, consumed: number | undefined): BpfObject {
  const filter = { ...opts.filter };
  if (opts.netnsCurrent) filter.netns = currentNetnsInode();
  const obj = BpfObject.open(DROP_OBJECT, { name: "nettrace_drop", btfCustomPath });
  try {
    obj.setReadOnly({
      filter: encodeFilter(filter),
      want_stack: new Uint8Array([opts.dropStack ? 1 : 0]),
      skip_reason: u32(consumed ?? 0xffffffff),
    });
    obj.map("events").setMaxEntries(opts.ringSize);
    if (!opts.dropStack) obj.map("stacks").setMaxEntries(1);
    obj.load();
    obj.program("nt_drop_tp").attachTracepoint("skb", "kfree_skb");
    return obj;
  } catch (e) {
    obj.close();
    if (e instanceof LibbpfError) throw new HostError(`cannot start the drop monitor: ${e.message}`);
    throw e;
  }
}

/** Runs the drop monitor until a signal, -c, or a closed stdout. Returns the exit status. */
export async function runDrop(opts: Options): Promise<number> {
  const btfSource = locateBtf(opts.btf);
  const btfCustomPath = btfSource.custom ? btfSource.path : undefined;
  const tracefs = ensureTracefs();
  if ("error" in tracefs) throw new HostError(`tracefs is not available: ${tracefs.error}`);

  const kernelBtf = Btf.kernel(btfCustomPath);
  const reasons = loadDropReasons(kernelBtf, tracefs.path);
  kernelBtf.close();
  if (reasons.source === "none") log("info", "this kernel reports no drop reasons: the reason column is left out");

  const stop = new StopSignal();
  const out = new LineWriter();
  let obj: BpfObject | undefined;
  let reader: RingReader | undefined;
  let shown = 0;
  let lost = 0;
  try {
    obj = loadDropObject(opts, btfCustomPath, reasons.consumed);
    const counters = new PerCpuCounters(obj.map("stats"));
    const stacks = obj.map("stacks");
    const stackKey = new Int32Array(1);
    const stackValue = new BigUint64Array(STACK_DEPTH);
    const ctx: DropLineContext = {
      time: new TimestampFormatter(opts.date),
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
        frames.push(ctx.symbolize(a));
      }
      return frames;
    };

    reader = openRingReader(opts.ringReader, obj.map("events"), (view, off, size) => {
      if (stop.stopped) return;
      const ev = decodeEvent(view, off, size);
      out.push(formatDropLine(ev, ctx));
      if (opts.dropStack) out.push(formatStack(stackFrames(ev.stackId)));
      shown++;
      if (opts.count && shown >= opts.count) stop.request("count");
    });

    writeErr("begin trace...");
    let lastLossCheck = performance.now();
    while (!stop.stopped) {
      await reader.wait(POLL_MS);
      reader.drain();
      if (!out.flush()) stop.request("stdout closed");
      const now = performance.now();
      if (now - lastLossCheck >= LOSS_CHECK_MS) {
        lastLossCheck = now;
        lost = reportLoss(counters.read(STAT.lost), lost);
      }
    }
    if (stop.reason === "signal") {
      reader.drain();
      out.flush();
    }
    lost = reportLoss(counters.read(STAT.lost), lost);
  } finally {
    reader?.close();
    obj?.close();
    stop.dispose();
  }
  writeErr(`end trace: ${shown} events shown, ${lost} events lost`);
  return 0;
}
