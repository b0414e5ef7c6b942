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
import { UsageError } from "../errors.ts";
import { kernelSymbols, resolveCodeAddress } from "../kernel/kallsyms.ts";
import { TextLifeSink } from "../output/life_sink.ts";
import { PcapngSink } from "../output/pcapng_sink.ts";
import { writeErr } from "../runtime/log.ts";
import { nowNs } from "../runtime/clock.ts";
import { Diagnoser } from "../diag/diagnoser.ts";
import { PacketDiagnosis } from "../diag/packet_report.ts";
import { loadReasonTexts } from "../diag/reason_texts_source.ts";
import { namedLeaves, selectLeaves } from "../tracer/selection.ts";
import { loadTree } from "../tracer/tree_source.ts";
import { runTraceSession, type SessionContext } from "./trace_session.ts";
import { diagnosisRules } from "./diag_rules.ts";
import { lifePipeline } from "./life_pipeline.ts";
import { funcStatsPipeline } from "./func_stats_pipeline.ts";
import { rttPipeline } from "./rtt_pipeline.ts";
import { readLatencies } from "../bpf/latency_maps.ts";
import { lifeRendering, loadLife } from "./life_load.ts";

/** Whether any packet filter is set. */
function hasFilter(opts: Options): boolean {
  return opts.netnsCurrent || Object.values(opts.filter).some((v) => v !== undefined);
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

/** Chooses the points, loads and attaches them; returns the program with the pipeline from records to blocks. */
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
  const loaded = await loadLife(opts, session, {
    selected,
    diagnoser,
    matchers: opts.traceMatcher.length ? namedLeaves(tree, opts.traceMatcher, "--trace-matcher") : undefined,
    frees: opts.traceFree.length ? namedLeaves(tree, opts.traceFree, "--trace-free") : undefined,
    stacks: opts.traceStack.length ? namedLeaves(tree, opts.traceStack, "--trace-stack") : undefined,
    snaplen: pcap ? opts.snaplen : 0,
    startNs,
  });
  const { program, planned, failedPoints } = loaded;
  const { out, stop } = session;
  try {
    if (loaded.stacksMissing.length) {
      writeErr(
        `nettrace: --trace-stack: ${loaded.stacksMissing.join(", ")} not traced in this run ` +
          "(not chosen with -t, or not attachable here: nettrace -t ? says why)",
      );
    }
    if (opts.ret && !planned.some((p) => p.ret && p.method !== "tracepoint")) {
      writeErr(
        "nettrace: --ret shows nothing here: return values need function probes (kretprobes), which this kernel lacks",
      );
    }
    const obj = program.object;
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

    const { lineCtx, sockCtx, sink } = lifeRendering(opts, session, loaded);
    const attachedPoints = planned.filter((p) => !failedPoints.has(p));
    const diagnosis = diagnoser
      ? new PacketDiagnosis({
        diagnoser,
        pointName: lineCtx.pointName,
        pointGroup: (i) => planned[i]?.leaf.group ?? "",
        reasons: loaded.reasons,
        reasonTexts: loadReasonTexts(),
        symbolize: resolveCodeAddress,
        attached: new Set(attachedPoints.map((p) => p.leaf.name)),
        showHooks: opts.hooks,
        resetReasonName: (v) => loaded.resetReasons.get(v),
        functionsMissing: loaded.functionsMissing
          ? "this kernel has no function probes: no kprobe, no fentry"
          : undefined,
      })
      : undefined;
    if (diagnosis) { for (const n of diagnosis.notes) writeErr(`nettrace: --diag: ${n}`); }
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
        wallOffsetNs: session.wallOffsetNs,
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
        wallOffsetNs: session.wallOffsetNs,
      });
      return { program, pipeline: rtt };
    }
    // a free's location and the stacks name kernel functions: the symbols are read before tracing, not while the
    // first such event waits (and not after the start-up's memory was given back)
    if (planned.some((p) => p.leaf.end) || opts.traceStack.length > 0) {
      return { program, pipeline: { ...pipeline, prepare: () => void kernelSymbols() } };
    }
    return { program, pipeline };
  } catch (e) {
    program.close();
    throw e;
  }
}
