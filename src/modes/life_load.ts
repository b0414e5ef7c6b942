/**
 * Loading lifecycle tracing's program, for every mode built on it (lifecycle, --diag, --sock, --rtt,
 * --func-stats, --monitor's socket points): the chosen leaves planned against what this kernel offers
 * (life_plan.ts), the program loaded and attached, one line saying what was skipped and why; then the contexts
 * its lines and JSON objects are rendered with.
 * @module
 */
import type { Options } from "../cli/options.ts";
import { HostError, UsageError } from "../errors.ts";
import type { KernelEvent } from "../event/decode.ts";
import { socketValue, type SocketValueSpec } from "../event/socket_value.ts";
import { type LifeProgram, loadLifeProgram, type PlannedPoint } from "../bpf/life_program.ts";
import { btfCustomPath as customPathOf, kernelTypes } from "../bpf/kernel_types.ts";
import { compatNotice } from "../bpf/compat_objects.ts";
import { StackTraces } from "../bpf/stack_traces.ts";
import { currentNetnsInode } from "../kernel/netns.ts";
import { KERNEL_BTF } from "../kernel/btf_source.ts";
import { effectiveCapabilities, moduleBtfsRefused } from "../kernel/privileges.ts";
import { resolveCodeAddress } from "../kernel/kallsyms.ts";
import { functionLookup } from "../kernel/function_lookup.ts";
import { availableFilterFunctions, ensureTracefs } from "../kernel/tracefs.ts";
import type { DropCause, LifeLineContext } from "../output/life_line.ts";
import { JsonLifeSink, type LifeSink, TextLifeSink } from "../output/life_sink.ts";
import type { SocketLineContext } from "../output/socket_line.ts";
import { TimestampFormatter } from "../output/timestamp.ts";
import { tracingLine } from "../output/attach_failures.ts";
import { log, writeErr } from "../runtime/log.ts";
import type { Diagnoser } from "../diag/diagnoser.ts";
import { type DropReasons, dropReasonShown } from "../event/drop_reasons.ts";
import type { TraceLeaf } from "../tracer/tree.ts";
import { functionMethod, type KernelView } from "../tracer/availability.ts";
import type { SessionContext, TraceProgram } from "./trace_session.ts";
import { kernelView } from "./trace_list.ts";
import { btfSkbLeaves, functionMethods, planLife } from "./life_plan.ts";

/** What is traced: the chosen leaves, and what the options say of them. */
export interface LifeChoice {
  readonly selected: TraceLeaf[];
  /** the rules (--diag, --monitor): where they test a return value, it is probed */
  readonly diagnoser?: Diagnoser;
  /** --trace-matcher, --trace-free, --trace-stack */
  readonly matchers?: ReadonlySet<TraceLeaf>;
  readonly frees?: ReadonlySet<TraceLeaf>;
  readonly stacks?: ReadonlySet<TraceLeaf>;
  /** --monitor: the RTT points, where the RTT thresholds hold (and only there) */
  readonly rttPoints?: ReadonlySet<string>;
  /** --monitor --metrics: every new RTT sample at those points counted into the histogram rtt_hist */
  readonly rttHistogram?: boolean;
  /** -w: the bytes of each packet sent with the event that opens it, 0 = none */
  readonly snaplen: number;
  /** performance.now() when the mode started (the start-up line's first part) */
  readonly startNs: number;
}

/** The loaded and attached program, its points, and the kernel's names for what its events carry. */
export interface LoadedLife {
  readonly program: TraceProgram;
  readonly planned: readonly PlannedPoint[];
  readonly failedPoints: ReadonlySet<PlannedPoint>;
  /** --trace-stack points that are not traced */
  readonly stacksMissing: readonly string[];
  readonly reasons: DropReasons;
  readonly resetReasons: ReadonlyMap<number, string>;
  /** the kernel's CONFIG_HZ */
  readonly hz?: number;
  /** this kernel has none of the function probes the options allow */
  readonly functionsMissing: boolean;
}

/**
 * The kernel's own BTF as the types libbpf relocates against, where it may not list the modules' BTF: told its
 * types, libbpf does not look for the modules' (a type only a module has counts as missing: the points of that
 * module are not traced); left to itself, libbpf 1.1 fails the load. Undefined where it may, or with compat objects.
 */
function kernelBtfOnly(hasBtf: boolean): string | undefined {
  const refused = hasBtf ? moduleBtfsRefused(effectiveCapabilities()) : undefined;
  if (!refused) return undefined;
  log("info", `${refused}: the programs are relocated against ${KERNEL_BTF} alone`);
  return KERNEL_BTF;
}

function traceableFunctions(): Set<string> | undefined {
  const tf = ensureTracefs();
  return "path" in tf ? availableFilterFunctions(tf.path) : undefined;
}

/**
 * The RTT mode of the program: --rtt's (1 histograms, 2 each sample too); --monitor's at its RTT points, each new
 * sample over a --tcp-rtt/--tcp-srtt threshold (rtt_conns remembers the last one seen), none without a threshold (the
 * points then feed the metrics' histogram only); else 0.
 */
function rttMode(opts: Options, choice: LifeChoice): 0 | 1 | 2 {
  if (choice.rttPoints) return opts.rttMin.given.length ? 2 : 1;
  if (opts.mode !== "rtt") return 0;
  return opts.rttDetail ? 2 : 1;
}

/** Plans the chosen points, loads and attaches them; says what was skipped and why. */
export async function loadLife(opts: Options, session: SessionContext, choice: LifeChoice): Promise<LoadedLife> {
  const { selected, diagnoser, startNs } = choice;
  const types = kernelTypes(opts.btf);
  const btfCustomPath = customPathOf(types);
  const compat = types.kind === "compat" ? types.objects : undefined;
  if (compat && opts.allSkbFunctions) {
    throw new HostError("--all-skb-functions finds the functions in the kernel's BTF, which this kernel does not have");
  }
  const rulesNs = performance.now();
  // the kinds this run can attach with: tried, not shown to fire (--check does that), functions until one attaches
  const methods = functionMethods(opts);
  const { view, dropReasons, resetReasons, close } = await kernelView(btfCustomPath, {
    kinds: ["tracepoint", ...methods],
    oneOf: methods,
    fire: false,
  });
  const probedNs = performance.now();
  // fentry and kprobe-multi hook only what ftrace can: its function list (read for them anyway) names the functions,
  // instead of kallsyms' whole table (made for name lookups: 3 s of a start in the 6.1 guest)
  const fm = functionMethod(view.capabilities, methods);
  // a socket tracepoint with the function behind it may be hooked there
  const wantsFunctions = opts.allSkbFunctions || selected.some((l) => l.kind === "func" || l.behind);
  const traceable = wantsFunctions && (fm.method === "fentry" || fm.method === "kprobe-multi")
    ? traceableFunctions()
    : undefined;
  const planView: KernelView = traceable ? { ...view, symbol: functionLookup(traceable) } : view;
  const traceableNs = performance.now();
  let reasons: DropReasons | undefined;
  let rstReasons = new Map<number, string>();
  let plan;
  try {
    const leaves = opts.allSkbFunctions ? [...selected, ...btfSkbLeaves(view, selected)] : selected;
    plan = planLife(
      leaves,
      planView,
      opts,
      (leaf) => diagnoser?.wantsReturn(leaf.name, leaf.group) ?? false,
      choice.matchers,
      choice.frees,
      choice.stacks,
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
  if (choice.rttPoints) { for (const p of planned) p.rttPoint = choice.rttPoints.has(p.leaf.name); }
  const functionsMissing = fm.method === undefined;

  const plannedNs = performance.now();
  const filter = { ...opts.filter };
  if (opts.netnsCurrent) filter.netns = currentNetnsInode();
  const { transport } = session;
  const prog: LifeProgram = await loadLifeProgram({
    points: planned,
    filter,
    ringSize: opts.ringSize,
    snaplen: choice.snaplen,
    transport,
    rateLimit: opts.rateLimit,
    btfCustomPath: btfCustomPath ?? kernelBtfOnly(compat === undefined),
    compat,
    traceable,
    funcStats: opts.funcStats,
    pktFixed: opts.pktFixed,
    rtt: {
      srttMinUs: opts.rttMin.srttUs ?? 0,
      rttMinUs: opts.rttMin.rttUs ?? 0,
      minRttMinUs: opts.rttMin.minRttUs ?? 0,
      mode: rttMode(opts, choice),
      pointsOnly: choice.rttPoints !== undefined,
      histogram: choice.rttHistogram,
    },
    latency: opts.latencySummary ? { mode: opts.latencyOnly ? 2 : 1, includeFree: opts.latencyFree } : undefined,
  });
  const program = { object: prog.object, detach: () => prog.detach(), close: () => prog.close() };
  try {
    if (compat) {
      writeErr(compatNotice(compat, "life", transport) + "; functions take their arguments where the tracer tree says");
    }
    const ms = (x: number) => `${Math.round(x)} ms`;
    log(
      "info",
      `start-up: ${ms(startNs)} runtime and modules, ${ms(rulesNs - startNs)} tree and rules, ` +
        `${ms(probedNs - rulesNs)} kernel capabilities, ${ms(traceableNs - probedNs)} ftrace's function list, ` +
        `${ms(plannedNs - traceableNs)} plan, ${ms(prog.resolveMs)} function BTF ids, ` +
        `${ms(prog.prepareMs)} object set-up, ${ms(prog.loadMs)} load, ${ms(prog.attachMs)} attach`,
    );
    const failedPoints = new Set(prog.failed.map((f) => f.point));
    const failures = prog.failed.map((f) => ({ point: f.point.leaf.name, why: f.why }));
    const attachedMethods = planned.filter((p) => !failedPoints.has(p)).map((p) => p.method);
    writeErr(tracingLine(attachedMethods, skipped, failures));
    for (const f of prog.failed) log("info", `${f.point.leaf.name}: ${f.why}`);
    return {
      program,
      planned,
      failedPoints,
      stacksMissing: plan.stacksMissing,
      reasons: reasons ?? { source: "none" as const, names: new Map(), subsystems: new Map() },
      resetReasons: rstReasons,
      hz: view.capabilities.hz,
      functionsMissing,
    };
  } catch (e) {
    program.close();
    throw e;
  }
}

/** How a loaded program's events are rendered: the line contexts and the sink (text or JSON). */
export interface LifeRendering {
  readonly lineCtx: LifeLineContext;
  readonly sockCtx: SocketLineContext;
  readonly sink: LifeSink;
}

/** The contexts of a loaded program's lines (its points' names, stacks, drop causes, socket values) and the sink. */
export function lifeRendering(opts: Options, session: SessionContext, loaded: LoadedLife): LifeRendering {
  const { planned } = loaded;
  const stacks = new StackTraces(loaded.program.object.map("stacks"), resolveCodeAddress);
  const wallOffsetNs = session.wallOffsetNs;
  const kernelReasons = loaded.reasons;
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
      return { reason, location: ev.location ? resolveCodeAddress(ev.location) : undefined };
    },
  };
  const valueSpecs = planned.map((p): SocketValueSpec | undefined =>
    p.value && p.leaf.value ? { size: p.value.size, signed: p.value.signed, is: p.leaf.value.is } : undefined
  );
  const sockCtx: SocketLineContext = {
    ...lineCtx,
    resetReason: (v) => loaded.resetReasons.get(v),
    hz: loaded.hz,
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
  return { lineCtx, sockCtx, sink };
}
