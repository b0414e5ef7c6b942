/**
 * The default mode: the life of each matching packet through the kernel.
 * Plans every selected point of the tracer tree against what this kernel
 * offers (life_plan.ts), attaches what it can (saying in one line what it
 * skipped and why), then runs its pipeline (life_pipeline.ts): one block per
 * packet when its life ends, and one per socket when its socket events
 * (timeouts, congestion states, resets it sends) have settled (or each event
 * at once with --basic).
 * @module
 */
import { minLatencyNotice, type Options } from "../cli/options.ts";
import { HostError, UsageError } from "../errors.ts";
import type { KernelEvent } from "../event/decode.ts";
import { socketValue, type SocketValueSpec } from "../event/socket_value.ts";
import { loadLifeProgram } from "../bpf/life_program.ts";
import { btfCustomPath as customPathOf, kernelTypes } from "../bpf/kernel_types.ts";
import { compatNotice } from "../bpf/compat_objects.ts";
import { StackTraces } from "../bpf/stack_traces.ts";
import { currentNetnsInode } from "../kernel/netns.ts";
import { kernelSymbols } from "../kernel/kallsyms.ts";
import { availableFilterFunctions, ensureTracefs } from "../kernel/tracefs.ts";
import type { DropCause, LifeLineContext } from "../output/life_line.ts";
import { JsonLifeSink, type LifeSink, TextLifeSink } from "../output/life_sink.ts";
import type { SocketLineContext } from "../output/socket_line.ts";
import { TimestampFormatter } from "../output/timestamp.ts";
import { tracingLine } from "../output/attach_failures.ts";
import { PcapngSink } from "../output/pcapng_sink.ts";
import { log, writeErr } from "../runtime/log.ts";
import { nowNs } from "../runtime/clock.ts";
import { Diagnoser } from "../diag/diagnoser.ts";
import { PacketDiagnosis } from "../diag/packet_report.ts";
import { loadReasonTexts } from "../diag/reason_texts_source.ts";
import { type DropReasons, dropReasonShown } from "../event/drop_reasons.ts";
import { namedLeaves, selectLeaves } from "../tracer/selection.ts";
import { loadTree } from "../tracer/tree_source.ts";
import { runTraceSession, type SessionContext } from "./trace_session.ts";
import { kernelView } from "./trace_list.ts";
import { btfSkbLeaves, functionMethods, type LifePlan, planLife } from "./life_plan.ts";
import { diagnosisRules } from "./diag_rules.ts";
import { lifePipeline } from "./life_pipeline.ts";
import { funcStatsPipeline } from "./func_stats_pipeline.ts";
import { rttPipeline } from "./rtt_pipeline.ts";
import { readLatencies } from "../bpf/latency_maps.ts";

/** Whether any packet filter is set. */
function hasFilter(opts: Options): boolean {
  return opts.netnsCurrent || Object.values(opts.filter).some((v) => v !== undefined);
}

function traceableFunctions(): Set<string> | undefined {
  const tf = ensureTracefs();
  return "path" in tf ? availableFilterFunctions(tf.path) : undefined;
}

/** Runs lifecycle tracing (or --sock: socket tracing) until a signal, -c, or a closed stdout. */
export function runLife(opts: Options): Promise<number> {
  // --sock: the socket points, one line per event, as --basic shows them; no filter needed (as in the C nettrace):
  // a socket's events come at the pace of its system calls and timers, not of its packets
  if (opts.mode === "sock") return runTraceSession(opts, (session) => startLife({ ...opts, basic: true }, session));
  // --rtt: the samples tcp:tcp_probe (kernels whose record has the socket) and tcp_rate_gen (where functions can be
  // traced) see, unless -t chooses other socket points; counted in the kernel once each (a sample seen at both is one)
  if (opts.mode === "rtt") {
    const trace = opts.trace.length ? opts.trace : ["tcp_probe_sock", "tcp_rate_gen"];
    return runTraceSession(opts, (session) => startLife({ ...opts, basic: true, trace }, session));
  }
  if (opts.basic && opts.minLatencyUs) {
    throw new UsageError("--min-latency needs whole packets: it cannot be combined with --basic");
  }
  if (opts.basic && opts.diag) throw new UsageError("--diag needs whole packets: it cannot be combined with --basic");
  if (opts.basic && opts.write) {
    throw new UsageError("-w writes one packet per block, with its path: it cannot be combined with --basic");
  }
  if (opts.rulesFile && !opts.diag) throw new UsageError("--rules FILE is for --diag");
  if (opts.hooks && !opts.diag) throw new UsageError("--hooks is for --diag");
  // as the C nettrace: no filter traces every packet; said once, as it is heavy on a busy host
  if (!hasFilter(opts) && !opts.force && !opts.funcStats) {
    writeErr(
      "nettrace: no filter: every packet through the kernel is traced (heavy on a busy host; " +
        "narrow it with -s, -d, -p, -P, ...; --force says nothing)",
    );
  }
  const notice = minLatencyNotice(opts.minLatencyUs);
  if (notice) writeErr(notice);
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
  const selected = selectLeaves(tree, {
    trace: opts.trace,
    matcher: opts.traceRegex,
    exclude: opts.traceExclude,
    sock: opts.mode === "sock" || opts.mode === "rtt",
  });
  const matchers = opts.traceMatcher.length ? namedLeaves(tree, opts.traceMatcher, "--trace-matcher") : undefined;
  const frees = opts.traceFree.length ? namedLeaves(tree, opts.traceFree, "--trace-free") : undefined;
  const stackLeaves = opts.traceStack.length ? namedLeaves(tree, opts.traceStack, "--trace-stack") : undefined;
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
  let plan: LifePlan;
  try {
    const leaves = opts.allSkbFunctions ? [...selected, ...btfSkbLeaves(view, selected)] : selected;
    plan = planLife(
      leaves,
      view,
      opts,
      (leaf) => diagnoser?.wantsReturn(leaf.name, leaf.group) ?? false,
      matchers,
      frees,
      stackLeaves,
    );
    reasons = dropReasons();
    if (plan.planned.some((p) => p.leaf.sock)) rstReasons = resetReasons();
  } finally {
    close();
  }
  const { planned, skipped } = plan;
  if (!planned.length) {
    throw new UsageError(
      `none of the ${selected.length} chosen trace points can be attached here (nettrace -t ? says why)`,
    );
  }
  const functionsMissing = !functionMethods(opts).some((m) => view.capabilities.attach[m].available);

  const plannedNs = performance.now();
  const traceable = planned.some((p) => p.method === "kprobe-multi" || p.method === "fentry")
    ? traceableFunctions()
    : undefined;
  const traceableNs = performance.now();
  const filter = { ...opts.filter };
  if (opts.netnsCurrent) filter.netns = currentNetnsInode();
  const { transport, out, stop } = session;
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
    funcStats: opts.funcStats,
    pktFixed: opts.pktFixed,
    rtt: {
      srttMinUs: opts.rttMin.srttUs ?? 0,
      rttMinUs: opts.rttMin.rttUs ?? 0,
      minRttMinUs: opts.rttMin.minRttUs ?? 0,
      mode: opts.mode !== "rtt" ? 0 : opts.rttDetail ? 2 : 1,
    },
    latency: opts.latencySummary ? { mode: opts.latencyOnly ? 2 : 1, includeFree: opts.latencyFree } : undefined,
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
    const failures = prog.failed.map((f) => ({ point: f.point.leaf.name, why: f.why }));
    const attachedMethods = planned.filter((p) => !failedPoints.has(p)).map((p) => p.method);
    writeErr(tracingLine(attachedMethods, skipped, failures));
    if (plan.stacksMissing.length) {
      writeErr(
        `nettrace: --trace-stack: ${plan.stacksMissing.join(", ")} not traced in this run ` +
          "(not chosen with -t, or not attachable here: nettrace -t ? says why)",
      );
    }
    if (opts.ret && !planned.some((p) => p.ret && p.method !== "tracepoint")) {
      writeErr(
        "nettrace: --ret shows nothing here: return values need function probes (kretprobes), which this kernel lacks",
      );
    }
    for (const f of prog.failed) log("info", `${f.point.leaf.name}: ${f.why}`);
    if (opts.funcStats) {
      const pipeline = funcStatsPipeline({
        calls: obj.map("calls"),
        points: planned.map((p) => failedPoints.has(p) ? undefined : p.leaf.name),
        intervalS: opts.intervalS,
        json: opts.json,
        out,
        nowNs,
        wallOffsetNs: session.wallOffsetNs,
      });
      return { program, pipeline };
    }

    const stacks = new StackTraces(obj.map("stacks"), (a) => kernelSymbols().resolve(a));
    const wallOffsetNs = session.wallOffsetNs;
    const kernelReasons = reasons ?? { source: "none" as const, names: new Map(), subsystems: new Map() };
    const dropShown = (ev: KernelEvent) =>
      planned[ev.point]?.leaf.end ? dropReasonShown(kernelReasons, ev.reason) : undefined;
    const lineCtx: LifeLineContext = {
      time: new TimestampFormatter(opts.date, wallOffsetNs),
      pointName: (i) => planned[i]?.leaf.name ?? `point#${i}`,
      detail: opts.detail,
      tiny: opts.tinyShow,
      stack: (id) => stacks.frames(id),
      freedWithDropReason: (ev) => dropShown(ev) !== undefined,
      latency: opts.latencyShow
        ? { includeFree: opts.latencyFree, isFree: (ev) => planned[ev.point]?.leaf.end ?? false }
        : undefined,
      // a free's cause: its drop reason and where; before 5.17 kfree_skb names no reason, where it freed the skb is all
      dropCause: (ev: KernelEvent): DropCause | undefined => {
        const reason = dropShown(ev);
        const bareFree = !reason && kernelReasons.source === "none" && planned[ev.point]?.leaf.name === "kfree_skb";
        if (!reason && !(bareFree && ev.location)) return undefined;
        return { reason, location: ev.location ? kernelSymbols().resolve(ev.location) : undefined };
      },
    };
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
        functionsMissing: functionsMissing ? "this kernel has no function probes: no kprobe, no fentry" : undefined,
      })
      : undefined;
    if (diagnosis) { for (const n of diagnosis.notes) writeErr(`nettrace: --diag: ${n}`); }
    const valueSpecs = planned.map((p): SocketValueSpec | undefined =>
      p.value && p.leaf.value ? { size: p.value.size, signed: p.value.signed, is: p.leaf.value.is } : undefined
    );
    const sockCtx: SocketLineContext = {
      ...lineCtx,
      resetReason: (v) => rstReasons.get(v),
      hz: view.capabilities.hz,
      value: (ev) => socketValue(ev, valueSpecs[ev.point]),
    };
    const sink: LifeSink = opts.json
      ? new JsonLifeSink({
        pointName: lineCtx.pointName,
        wallOffsetNs,
        dropCause: lineCtx.dropCause,
        freedWithDropReason: lineCtx.freedWithDropReason,
        stack: lineCtx.stack,
        latency: lineCtx.latency,
        socket: sockCtx,
      })
      : new TextLifeSink(lineCtx, sockCtx);
    const pipeline = lifePipeline({
      basic: opts.basic,
      count: opts.count,
      minLatencyNs: (opts.minLatencyUs ?? 0) * 1000,
      endsLife: (point) => planned[point]?.leaf.end ?? false,
      wantReturns: planned.some((p) => p.ret && p.method !== "tracepoint"),
      diagnosis,
      diagQuiet: opts.diag?.quiet ?? false,
      diagKeep: opts.diag?.keep ?? false,
      sink,
      pcap: pcap && {
        file: pcap,
        comment: sink instanceof TextLifeSink ? sink : new TextLifeSink(lineCtx, sockCtx),
        wallOffsetNs,
      },
      latency: opts.latencySummary
        ? {
          read: () =>
            readLatencies(
              obj.map("lat_stats"),
              obj.map("lat_slots"),
              planned.map((p) => failedPoints.has(p) ? undefined : p.leaf.name),
            ),
          blocks: !opts.latencyOnly,
          json: opts.json,
        }
        : undefined,
      out,
      stop,
      nowNs,
    });
    if (opts.mode === "rtt") {
      const rtt = rttPipeline({
        conns: obj.map("rtt_conns"),
        samples: opts.rttDetail ? pipeline : undefined,
        intervalS: opts.intervalS,
        json: opts.json,
        out,
        nowNs,
        wallOffsetNs,
      });
      return { program, pipeline: rtt };
    }
    return { program, pipeline };
  } catch (e) {
    program.close();
    throw e;
  }
}
