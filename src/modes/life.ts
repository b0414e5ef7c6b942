/**
 * The default mode: the life of each matching packet through the kernel.
 * Plans every selected point of the tracer tree against what this kernel
 * offers, attaches what it can (saying in one line what it skipped and why),
 * then prints one block per packet when its life ends, and one per socket
 * when its socket events (timeouts, congestion states, resets it sends) have
 * settled (or each event at once with --basic).
 * @module
 */
import type { Options } from "../cli/options.ts";
import { HostError, UsageError } from "../errors.ts";
import { decodeEvent, decodeNetfilter, decodeSocket, type KernelEvent, recordKind } from "../event/decode.ts";
import { KIND } from "../event/layout.ts";
import { loadLifeProgram, type PlannedPoint } from "../bpf/life_program.ts";
import { btfCustomPath as customPathOf, kernelTypes } from "../bpf/kernel_types.ts";
import { compatNotice } from "../bpf/compat_objects.ts";
import { currentNetnsInode } from "../kernel/netns.ts";
import { ContextTracker, type LifeBlock, lifetimeNs } from "../life/context_tracker.ts";
import type { DropCause, LifeLineContext } from "../output/life_line.ts";
import { JsonLifeSink, type LifeSink, TextLifeSink } from "../output/life_sink.ts";
import { type SocketBlock, SocketTracker } from "../life/socket_tracker.ts";
import type { SocketLineContext } from "../output/socket_line.ts";
import { TimestampFormatter } from "../output/timestamp.ts";
import { log, writeErr } from "../runtime/log.ts";
import { StackTraces } from "../bpf/stack_traces.ts";
import { decodeCapture } from "../event/capture.ts";
import { PacketBytesByContext } from "../life/packet_bytes.ts";
import { PcapngSink } from "../output/pcapng_sink.ts";
import { runTraceSession, type SessionContext, type TracePipeline } from "./trace_session.ts";
import { LIFE_FUNCTION_METHODS, planLeaf } from "../tracer/availability.ts";
import { selectLeaves } from "../tracer/selection.ts";
import { loadTree } from "../tracer/tree_source.ts";
import type { AttachKind } from "../kernel/attach_kind.ts";
import { kernelView } from "./trace_list.ts";
import type { KernelView } from "../tracer/availability.ts";
import type { TraceLeaf } from "../tracer/tree.ts";
import { kernelSymbols } from "../kernel/kallsyms.ts";
import { attachFailureText } from "../output/attach_failures.ts";
import { inputFileProblem } from "../runtime/input_file.ts";
import { availableFilterFunctions, ensureTracefs } from "../kernel/tracefs.ts";
import { nowNs } from "../runtime/clock.ts";
import { RuleFileError } from "../diag/rule_file_error.ts";
import { Diagnoser } from "../diag/diagnoser.ts";
import { PacketDiagnosis } from "../diag/packet_report.ts";
import { dropReasonShown } from "../event/drop_reasons.ts";
import type { DropReasons } from "../event/drop_reasons.ts";
import { loadReasonTexts } from "../diag/reason_texts_source.ts";
import { loadRules } from "../diag/rules_source.ts";
import type { Rule } from "../diag/rules.ts";
import { type TraceGroup, treeNames } from "../tracer/tree.ts";

const CONTEXT_TIMEOUT_NS = 2_000_000_000;
/** a socket's events that come closer than this together are one block */
const SOCKET_QUIET_NS = 200_000_000;
/** --ret: a function can return after its skb's life ended (ip_rcv after consume_skb): wait for it */
const RET_GRACE_NS = 100_000_000;

/** Whether any packet filter is set. */
function hasFilter(opts: Options): boolean {
  return opts.netnsCurrent || Object.values(opts.filter).some((v) => v !== undefined);
}

/** Function methods allowed by --attach-method. */
function functionMethods(opts: Options): AttachKind[] {
  switch (opts.attachMethod) {
    case "auto":
      return LIFE_FUNCTION_METHODS;
    case "kprobe":
    case "kprobe-multi":
    case "fentry":
      return [opts.attachMethod];
    case "tracepoint":
      return [];
    default:
      throw new UsageError(
        `--attach-method ${opts.attachMethod}: lifecycle tracing attaches with tracepoint, fentry, kprobe-multi or kprobe`,
      );
  }
}

/** Leaves for every BTF function taking an skb that the tree does not have (--all-skb-functions). */
function btfSkbLeaves(view: KernelView, tree: TraceLeaf[]): TraceLeaf[] {
  const known = new Set(tree.flatMap((l) => [l.func ?? l.name, ...l.aliases]));
  return view.skbFunctions()
    .filter((f) => !known.has(f.name) && f.position <= 4)
    .map((f) => ({
      name: f.name,
      kind: "func" as const,
      func: f.name,
      skbArg: f.position,
      end: false,
      clone: false,
      ret: false,
      defaultOn: true,
      sock: false,
      aliases: [],
      group: "btf",
      line: 0,
    }));
}

function traceableFunctions(): Set<string> | undefined {
  const tf = ensureTracefs();
  return "path" in tf ? availableFilterFunctions(tf.path) : undefined;
}

/** Why a --rules file cannot be read as one, before its text is parsed; undefined when it can. */
function ruleFileProblem(path: string): string | undefined {
  const problem = inputFileProblem(path, "rule file");
  if (problem) return problem;
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(Deno.readFileSync(path));
  } catch (e) {
    return e instanceof TypeError ? "not a text file (not UTF-8)" : `cannot read it: ${(e as Error).message}`;
  }
  if (!text.replace(/#.*$/gm, "").trim()) return "has no rules (only comments or blank lines)";
  return undefined;
}

/** The rules of --diag (--rules FILE first); a malformed or unreadable file is bad input. */
function diagnosisRules(opts: Options, tree: TraceGroup[]): Rule[] {
  if (opts.rulesFile) {
    const why = ruleFileProblem(opts.rulesFile);
    if (why) throw new UsageError(`--rules '${opts.rulesFile}': ${why}`);
  }
  const { points, groups } = treeNames(tree);
  try {
    return loadRules(opts.rulesFile, points, groups);
  } catch (e) {
    if (e instanceof RuleFileError) throw new UsageError(`bad rule file: ${e.message}`);
    throw e;
  }
}

/** Runs lifecycle tracing until a signal, -c, or a closed stdout. */
export function runLife(opts: Options): Promise<number> {
  if (opts.basic && opts.minLatencyMs) {
    throw new UsageError("--min-latency needs whole packets: it cannot be combined with --basic");
  }
  if (opts.basic && opts.diag) throw new UsageError("--diag needs whole packets: it cannot be combined with --basic");
  if (opts.basic && opts.write) {
    throw new UsageError("-w writes one packet per block, with its path: it cannot be combined with --basic");
  }
  if (opts.rulesFile && !opts.diag) throw new UsageError("--rules FILE is for --diag");
  if (opts.hooks && !opts.diag) throw new UsageError("--hooks is for --diag");
  if (!hasFilter(opts) && !opts.force) {
    throw new UsageError(
      "no filter given: tracing every packet through the kernel is heavy; add a filter (-s, -d, -p, -P, ...) or --force",
    );
  }
  return runTraceSession(opts, (session) => startLife(opts, session));
}

/** Plans the points, loads and attaches them; returns the program with the pipeline from records to blocks. */
async function startLife(opts: Options, session: SessionContext) {
  // a file nettrace may not write is bad input, found before anything is loaded
  const pcap = opts.write ? PcapngSink.open(opts.write, opts.snaplen) : undefined;
  if (pcap) session.onClose(() => pcap.close());
  const startNs = performance.now();
  const tree = loadTree();
  const diagnoser = opts.diag ? new Diagnoser(diagnosisRules(opts, tree)) : undefined;
  const selected = selectLeaves(tree, { trace: opts.trace, matcher: opts.traceMatcher, exclude: opts.traceExclude });
  const types = kernelTypes(opts.btf);
  const btfCustomPath = customPathOf(types);
  const compat = types.kind === "compat" ? types.objects : undefined;
  if (compat && opts.allSkbFunctions) {
    throw new HostError("--all-skb-functions finds the functions in the kernel's BTF, which this kernel does not have");
  }
  const rulesNs = performance.now();
  const { view, dropReasons, resetReasons, close } = await kernelView(btfCustomPath);
  const probedNs = performance.now();
  let reasons: DropReasons | undefined;
  let rstReasons = new Map<number, string>();
  const methods = functionMethods(opts);
  const planned: PlannedPoint[] = [];
  const skipped = new Map<string, number>();
  try {
    const leaves = opts.allSkbFunctions ? [...selected, ...btfSkbLeaves(view, selected)] : selected;
    for (const leaf of leaves) {
      if (leaf.kind === "tp" && opts.attachMethod !== "auto" && opts.attachMethod !== "tracepoint") {
        skipped.set(
          `--attach-method ${opts.attachMethod}`,
          (skipped.get(`--attach-method ${opts.attachMethod}`) ?? 0) + 1,
        );
        continue;
      }
      const plan = planLeaf(leaf, view, methods);
      if (plan.usable) {
        planned.push({
          leaf,
          ret: !leaf.sock && ((opts.ret && leaf.ret) || (diagnoser?.wantsReturn(leaf.name, leaf.group) ?? false)),
          method: plan.method as PlannedPoint["method"],
          symbol: plan.symbol,
          skbArg: plan.skbArg,
          offsets: plan.offsets,
        });
      } else {
        const why = leaf.kind === "func" && !methods.some((m) => view.capabilities.attach[m].available)
          ? methods.length ? "no function probes on this kernel" : "--attach-method tracepoint"
          : plan.why.startsWith("not in the running kernel")
          ? "function not in the running kernel"
          : plan.why;
        skipped.set(why, (skipped.get(why) ?? 0) + 1);
      }
    }
    reasons = dropReasons();
    if (planned.some((p) => p.leaf.sock)) rstReasons = resetReasons();
  } finally {
    close();
  }
  for (const name of opts.traceStack) {
    const p = planned.find((x) => x.leaf.name === name);
    if (!p) throw new UsageError(`--trace-stack: '${name}' is not a trace point attached in this run`);
    p.stack = true;
  }
  if (!planned.length) {
    throw new UsageError(
      `none of the ${selected.length} chosen trace points can be attached here (nettrace -t ? says why)`,
    );
  }

  const plannedNs = performance.now();
  const traceable = planned.some((p) => p.method === "kprobe-multi" || p.method === "fentry")
    ? traceableFunctions()
    : undefined;
  const traceableNs = performance.now();
  const filter = { ...opts.filter };
  if (opts.netnsCurrent) filter.netns = currentNetnsInode();
  const { transport, out, stop } = session;
  let packets = 0, socketBlocks = 0;
  const prog = await loadLifeProgram({
    points: planned,
    filter,
    ringSize: opts.ringSize,
    snaplen: pcap ? opts.snaplen : 0,
    transport,
    rateLimit: opts.rateLimit,
    btfCustomPath,
    compat,
    traceable,
  });
  const program = { object: prog.object, detach: () => prog.detach(), close: () => prog.close() };
  try {
    if (compat) {
      writeErr(compatNotice(compat, "life", transport) + "; functions take their arguments where the tracer tree says");
    }
    const obj = prog.object;
    const ms = (x: number) => `${Math.round(x)} ms`;
    log(
      "info",
      `start-up: ${ms(startNs)} runtime and modules, ${ms(rulesNs - startNs)} tree and rules, ` +
        `${ms(probedNs - rulesNs)} kernel capabilities, ${ms(plannedNs - probedNs)} plan, ` +
        `${ms(traceableNs - plannedNs)} ftrace's function list, ${ms(prog.resolveMs)} function BTF ids, ` +
        `${ms(prog.prepareMs)} object set-up, ${ms(prog.loadMs)} load, ${ms(prog.attachMs)} attach`,
    );
    const failedPoints = new Set(prog.failed.map((f) => f.point));
    const attached = planned.length - failedPoints.size;
    const byMethod = new Map<string, number>();
    for (const p of planned) if (!failedPoints.has(p)) byMethod.set(p.method, (byMethod.get(p.method) ?? 0) + 1);
    const how = [...byMethod].map(([m, n]) => `${n} by ${m}`).join(", ");
    const skippedText = [...skipped].map(([why, n]) => `${n} ${why}`).join("; ");
    const failures = prog.failed.map((f) => ({ point: f.point.leaf.name, why: f.why }));
    const failedText = failures.length ? `; not attached: ${attachFailureText(failures)}` : "";
    writeErr(`tracing ${attached} points (${how})${skippedText ? `; skipped: ${skippedText}` : ""}${failedText}`);
    if (opts.ret && !planned.some((p) => p.ret && p.method !== "tracepoint")) {
      writeErr(
        "nettrace: --ret shows nothing here: return values need function probes (kretprobes), which this kernel lacks",
      );
    }
    for (const f of prog.failed) log("info", `${f.point.leaf.name}: ${f.why}`);

    const stacks = new StackTraces(obj.map("stacks"), (a) => kernelSymbols().resolve(a));
    const wallOffsetNs = session.wallOffsetNs;
    const lineCtx: LifeLineContext = {
      time: new TimestampFormatter(opts.date, wallOffsetNs),
      pointName: (i) => planned[i]?.leaf.name ?? `point#${i}`,
      detail: opts.detail,
      stack: (id) => stacks.frames(id),
    };
    const kernelReasons = reasons ?? { source: "none" as const, names: new Map(), subsystems: new Map() };
    const attachedPoints = planned.filter((p) => !failedPoints.has(p));
    const diagnosis = diagnoser
      ? new PacketDiagnosis({
        diagnoser,
        pointName: lineCtx.pointName,
        pointGroup: (i) => planned[i]?.leaf.group ?? "",
        reasons: kernelReasons,
        reasonTexts: loadReasonTexts(),
        symbolize: (a) => kernelSymbols().resolve(a),
        attached: new Set(attachedPoints.map((p) => p.leaf.name)),
        showHooks: opts.hooks,
        resetReasonName: (v) => rstReasons.get(v),
        functionsMissing: methods.some((m) => view.capabilities.attach[m].available)
          ? undefined
          : "this kernel has no function probes: no kprobe, no fentry",
      })
      : undefined;
    if (diagnosis) { for (const n of diagnosis.notes) writeErr(`nettrace: --diag: ${n}`); }
    const dropShown = (ev: KernelEvent) =>
      planned[ev.point]?.leaf.end ? dropReasonShown(kernelReasons, ev.reason) : undefined;
    lineCtx.freedWithDropReason = (ev) => dropShown(ev) !== undefined;
    // a free's cause: its drop reason and where; before 5.17 kfree_skb names no reason, where it freed the skb is all
    lineCtx.dropCause = (ev: KernelEvent): DropCause | undefined => {
      const reason = dropShown(ev);
      const bareFree = !reason && kernelReasons.source === "none" && planned[ev.point]?.leaf.name === "kfree_skb";
      if (!reason && !(bareFree && ev.location)) return undefined;
      return { reason, location: ev.location ? kernelSymbols().resolve(ev.location) : undefined };
    };
    const wantReturns = planned.some((p) => p.ret && p.method !== "tracepoint");
    const tracker = new ContextTracker(CONTEXT_TIMEOUT_NS, wantReturns ? RET_GRACE_NS : 0);
    const minLatencyNs = (opts.minLatencyMs ?? 0) * 1_000_000;
    const captures = pcap ? new PacketBytesByContext() : undefined;
    const emitBlock = (b: LifeBlock) => {
      const captured = captures?.take(b);
      if (stop.stopped) return;
      if (minLatencyNs && lifetimeNs(b) < minLatencyNs) return;
      const report = diagnosis?.report(b.events);
      if (report && opts.diag?.quiet && !report.abnormal) return;
      out.push(sink.block(b, report));
      if (pcap && captured) {
        // the packet's path through the kernel, as the text mode prints its block, is its comment
        const timeNs = BigInt(captured.event.tsNs) + BigInt(wallOffsetNs);
        pcap.packet(captured.event, timeNs, captured.bytes, commentSink.block(b, report));
      }
      packets++;
      if (opts.count && packets >= opts.count) stop.request("count");
      if (report?.error && !opts.diag?.keep) stop.request("diag");
    };
    const sockCtx: SocketLineContext = { ...lineCtx, resetReason: (v) => rstReasons.get(v), hz: view.capabilities.hz };
    const sink: LifeSink = opts.json
      ? new JsonLifeSink({
        pointName: lineCtx.pointName,
        wallOffsetNs,
        dropCause: lineCtx.dropCause,
        freedWithDropReason: lineCtx.freedWithDropReason,
        stack: lineCtx.stack,
        socket: sockCtx,
      })
      : new TextLifeSink(lineCtx, sockCtx);
    const commentSink = sink instanceof TextLifeSink ? sink : new TextLifeSink(lineCtx, sockCtx);
    const sockets = new SocketTracker(SOCKET_QUIET_NS);
    const emitSocketBlock = (b: SocketBlock) => {
      if (stop.stopped || minLatencyNs) return;
      const report = diagnosis?.reportSocket(b.events);
      if (report && opts.diag?.quiet && !report.abnormal) return;
      out.push(sink.socketBlock(b, report));
      socketBlocks++;
      if (report?.error && !opts.diag?.keep) stop.request("diag");
    };
    const record = (v: DataView, off: number, size: number) => {
      const kind = recordKind(v, off);
      if (kind === KIND.sock) {
        const ev = decodeSocket(v, off, size);
        if (opts.basic) {
          out.push(sink.socketEvent(ev));
          packets++;
          if (opts.count && packets >= opts.count) stop.request("count");
        } else sockets.add(ev);
        return;
      }
      if (kind === KIND.nf) {
        const nf = decodeNetfilter(v, off, size);
        if (opts.basic) {
          out.push(sink.netfilter(nf.tsNs, nf.point, nf.info));
        } else tracker.addNetfilter(nf.point, nf.skb, nf.ctxId, nf.info);
        return;
      }
      const ev = decodeEvent(v, off, size);
      if (captures && ev.opensContext) {
        const bytes = decodeCapture(v, off, size);
        if (bytes) captures.add(ev, bytes);
      }
      if (ev.kind === KIND.ret) {
        if (opts.basic) {
          out.push(sink.ret(ev.tsNs, ev.point, ev.location));
        } else tracker.addReturn(ev.point, ev.skb, ev.ctxId, ev.location, ev.tsNs);
        return;
      }
      if (opts.basic) {
        out.push(sink.event(ev));
        packets++;
        if (opts.count && packets >= opts.count) stop.request("count");
        return;
      }
      const done = tracker.add(ev, planned[ev.point]?.leaf.end ?? false);
      if (done) emitBlock(done);
    };
    const pipeline: TracePipeline = {
      record,
      tick: () => {
        pcap?.flush();
        if (opts.basic) return;
        const now = nowNs();
        for (const b of tracker.expire(now)) emitBlock(b);
        for (const b of sockets.expire(now)) emitSocketBlock(b);
      },
      finish: () => {
        if (opts.basic) return;
        for (const b of tracker.flush()) emitBlock(b);
        for (const b of sockets.flush()) emitSocketBlock(b);
      },
      counts: (losses) => ({
        shown: packets,
        lost: losses.lost,
        limited: losses.limited,
        notFollowed: losses.notFollowed,
        socketBlocks: opts.basic ? undefined : socketBlocks,
      }),
      summary: (losses) => {
        const socketText = socketBlocks ? ` (and ${socketBlocks} socket block${socketBlocks === 1 ? "" : "s"})` : "";
        return `${packets} ${opts.basic ? "events" : "packets"} shown${socketText}, ${losses.summary()}`;
      },
    };
    return { program, pipeline };
  } catch (e) {
    program.close();
    throw e;
  }
}
