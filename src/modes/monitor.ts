/**
 * nettrace --monitor: the light, always-on mode for production hosts (the C
 * nettrace's monitor). It traces no packet's life: it runs the drop program
 * (every drop, its repeats counted in the kernel) and the socket points the
 * rules judge (congestion losses, resets, the retransmission timer where
 * functions can be traced), and with --tcp-rtt or --tcp-srtt the RTT
 * samples over that threshold. Each event is judged by the rules (rules/
 * and --rules FILE); one with a WARN or ERROR finding is shown with it, one
 * whose finding is only INFO is left out. Works from tracepoints alone.
 * @module
 */
import type { Options } from "../cli/options.ts";
import { UsageError } from "../errors.ts";
import type { DropReasons } from "../event/drop_reasons.ts";
import type { KernelEvent, SocketEvent } from "../event/decode.ts";
import { StormCounts } from "../bpf/storm_counts.ts";
import type { PlannedPoint } from "../bpf/life_program.ts";
import { Diagnoser } from "../diag/diagnoser.ts";
import { PacketDiagnosis } from "../diag/packet_report.ts";
import { loadReasonTexts } from "../diag/reason_texts_source.ts";
import { kernelSymbols, resolveCodeAddress } from "../kernel/kallsyms.ts";
import { formatDropLine } from "../output/drop_line.ts";
import { dropJson, type DropJsonContext, stormJson } from "../output/json_records.ts";
import { basicEventJson, type LifeJsonContext, socketEventJson } from "../output/life_json.ts";
import { RepeatLimit } from "../output/repeat_limit.ts";
import { formatSocketLine } from "../output/socket_line.ts";
import { formatStormLine } from "../output/storm_line.ts";
import { TimestampFormatter } from "../output/timestamp.ts";
import { nowNs } from "../runtime/clock.ts";
import { writeErr } from "../runtime/log.ts";
import { allLeaves, type TraceGroup } from "../tracer/tree.ts";
import { loadTree } from "../tracer/tree_source.ts";
import { diagnosisRules } from "./diag_rules.ts";
import { loadDrop } from "./drop.ts";
import { lifeRendering, type LoadedLife, loadLife } from "./life_load.ts";
import {
  dropMonitorPipeline,
  type Judgement,
  MonitorOutput,
  type PartTally,
  socketMonitorPipeline,
} from "./monitor_pipeline.ts";
import { DropCounts } from "../bpf/drop_counts.ts";
import { NetfilterDrops, readNetfilterDropCounts } from "../bpf/netfilter_drops.ts";
import { familyName, hookName } from "../output/netfilter_text.ts";
import { PerCpuCounters } from "../bpf/stats.ts";
import { reasonName } from "../event/drop_reasons.ts";
import { STAT } from "../event/layout.ts";
import { type FindingCount, monitorFamilies, type PartCounts, RTT_BUCKETS } from "../output/monitor_metrics.ts";
import { formatExposition } from "../output/prometheus.ts";
import { serveMetrics } from "../runtime/metrics_server.ts";
import { runTraceSession, type SessionContext, type TracePart } from "./trace_session.ts";

/** The RTT points (--tcp-rtt, --tcp-srtt): as --rtt's, tcp:tcp_probe where its record has the socket, and tcp_rate_gen
 * where functions can be traced */
const RTT_POINTS = ["tcp_probe_sock", "tcp_rate_gen"];
/** The slots of the map rtt_hist (bpf/include/sock_rtt.h). */
const RTT_HIST = { count: 0, sum: 1, slot0: 2 } as const;
const NO_REASONS: DropReasons = { source: "none", names: new Map(), subsystems: new Map() };

/** What the start says of netfilter's drops: named by table and chain, or why not. */
export function netfilterNamesLine(nf: { traced: string } | { missing: string }): string {
  return "traced" in nf
    ? `netfilter's drops named by table, chain and hook (${nf.traced})`
    : `netfilter's drops not named by table and chain here: ${nf.missing}`;
}

/** A socket point as the start names it: a tracepoint hooked at the function behind it says where. */
export function socketPointText(p: Pick<PlannedPoint, "leaf" | "method" | "symbol">): string {
  return p.leaf.kind === "tp" && p.method !== "tracepoint" ? `${p.leaf.name} (${p.method} ${p.symbol})` : p.leaf.name;
}

/** Runs the monitor until a signal, -c, or a closed stdout. */
export function runMonitor(opts: Options): Promise<number> {
  return runTraceSession(opts, (session) => startMonitor(opts, session));
}

/** The socket points the rules can find something wrong at (a WARN or an ERROR), and the RTT points if asked. */
export function monitorSocketLeaves(tree: TraceGroup[], diagnoser: Diagnoser, rttPoints: ReadonlySet<string>) {
  return allLeaves(tree).filter((l) =>
    l.sock && (rttPoints.has(l.name) ||
      diagnoser.rulesFor(l.name, l.group).some((r) => r.level !== "INFO" && r.addrChanged === undefined))
  );
}

async function startMonitor(opts: Options, session: SessionContext): Promise<TracePart[]> {
  const startNs = performance.now();
  const tree = loadTree();
  const diagnoser = new Diagnoser(diagnosisRules(opts, tree));
  // the RTT points: for --tcp-rtt/--tcp-srtt's events, and for the metrics' RTT histogram
  const rttPoints = new Set(opts.rttMin.given.length || opts.metrics ? RTT_POINTS : []);
  const selected = monitorSocketLeaves(tree, diagnoser, rttPoints);
  // a storm is one drop at one place, whatever its flow: a port scan is one line and its repeats
  const drop = await loadDrop(opts, session, {
    snaplen: 0,
    countDrops: opts.metrics !== undefined,
    stormByFlow: false,
    netfilterNames: true,
  });
  const dropProgram = { object: drop.object, close: () => drop.object.close() };
  let life: LoadedLife | undefined;
  try {
    life = await loadLife(opts, session, {
      selected,
      diagnoser,
      rttPoints,
      rttHistogram: opts.metrics !== undefined,
      snaplen: 0,
      startNs,
    });
  } catch (e) {
    if (!(e instanceof UsageError)) {
      dropProgram.close();
      throw e;
    }
    // a kernel with none of the socket points: the drops alone
    writeErr(`nettrace: --monitor: no socket point can be traced here (${e.message}): drops only`);
  }
  try {
    const time = new TimestampFormatter(opts.date, session.wallOffsetNs);
    const output = new MonitorOutput(session.out, session.stop, opts.json, time, session.wallOffsetNs, opts.count);
    const symbolize = resolveCodeAddress;
    const kfree = allLeaves(tree).find((l) => l.name === "kfree_skb");
    const reasons = drop.reasons ?? NO_REASONS;
    // the socket points attached (one line says them) and, with kfree_skb, what the rules can see here
    const sockPoints = life?.planned.filter((p) => !life!.failedPoints.has(p)) ?? [];
    const sockNames = sockPoints.map((p) => p.leaf.name);
    const traced = new Set(["kfree_skb", ...sockNames]);
    const dropDiagnosis = new PacketDiagnosis({
      diagnoser,
      pointName: () => "kfree_skb",
      pointGroup: () => kfree?.group ?? "",
      reasons,
      reasonTexts: loadReasonTexts(),
      symbolize,
      attached: traced,
      showHooks: false,
    });
    const dropTally: PartTally = { shown: 0 }, sockTally: PartTally = { shown: 0 };
    const findingCounts = new Map<string, FindingCount>();
    const limit = new RepeatLimit(opts.stormLimit);
    const jsonCtx: DropJsonContext = { reasons: drop.reasons, symbolize, wallOffsetNs: session.wallOffsetNs };
    const lineCtx = { time, reasons: drop.reasons, symbolize, detail: opts.detail };
    const netfilterDrops = drop.netfilter && "traced" in drop.netfilter
      ? new NetfilterDrops(drop.object.map("nf_drops"))
      : undefined;
    const dropPipeline = dropMonitorPipeline({
      output,
      netfilter: netfilterDrops && ((ev) => netfilterDrops.take(ev)),
      judge: (ev: KernelEvent): Judgement => {
        const report = dropDiagnosis.report([ev]);
        const finding = report.findings[0];
        // only INFO (a ping reply no ping socket wanted): nothing wrong
        return { show: finding !== undefined || report.messages[0].length === 0, finding };
      },
      line: (ev) => formatDropLine(ev, lineCtx),
      object: (ev) => dropJson(ev, jsonCtx),
      storms: opts.stormLimit ? StormCounts.of(drop.object, nowNs()) : undefined,
      stormLine: (r) => formatStormLine(r, lineCtx),
      stormObject: (r) => stormJson(r, jsonCtx),
      nowNs,
      tally: dropTally,
    });
    // every drop line names its location: the symbols are read before tracing, not while the first drop waits (and
    // not after the start-up's memory was given back)
    const parts: TracePart[] = [{
      program: dropProgram,
      pipeline: { ...dropPipeline, prepare: () => void kernelSymbols() },
    }];
    writeErr(
      `nettrace: --monitor: drops at ${drop.point}${
        sockPoints.length ? `; sockets at ${sockPoints.map(socketPointText).join(", ")}` : ""
      }`,
    );
    if (drop.netfilter) writeErr(`nettrace: --monitor: ${netfilterNamesLine(drop.netfilter)}`);
    if (life) {
      const loaded = life;
      const { sockCtx } = lifeRendering(opts, session, loaded);
      const pointName = (i: number) => loaded.planned[i]?.leaf.name ?? `point#${i}`;
      const sockDiagnosis = new PacketDiagnosis({
        diagnoser,
        pointName,
        pointGroup: (i) => loaded.planned[i]?.leaf.group ?? "",
        reasons,
        reasonTexts: loadReasonTexts(),
        symbolize,
        attached: traced,
        showHooks: false,
        resetReasonName: (v) => loaded.resetReasons.get(v),
      });
      const sockJson: LifeJsonContext = { pointName, wallOffsetNs: session.wallOffsetNs, socket: sockCtx };
      const sockPipeline = socketMonitorPipeline({
        output,
        judge: (ev: SocketEvent): Judgement => {
          const finding = sockDiagnosis.reportSocket([ev]).findings[0];
          return { show: finding !== undefined || rttPoints.has(pointName(ev.point)), finding };
        },
        line: (ev) => formatSocketLine(ev, sockCtx),
        object: (ev) => basicEventJson({ kind: "socket", ...socketEventJson(ev, sockJson) }),
        pointName,
        limit,
        nowNs,
        tally: sockTally,
        findings: opts.metrics ? findingCounts : undefined,
      });
      parts.push({ program: loaded.program, pipeline: sockPipeline });
    }
    if (opts.metrics) {
      const stats = parts.map((p) => new PerCpuCounters(p.program.object.map("stats")));
      const dropCounts = DropCounts.of(drop.object);
      // the RTT histogram, where an RTT point could be attached
      const rttHist = sockNames.some((n) => rttPoints.has(n))
        ? new PerCpuCounters(life!.program.object.map("rtt_hist"))
        : undefined;
      const startSeconds = Math.round((Date.now() - performance.now() + startNs) / 1000);
      const render = () => {
        const counts: PartCounts[] = [{
          part: "drops",
          seen: stats[0].read(STAT.seen),
          lost: stats[0].read(STAT.lost) + stats[0].read(STAT.stormFull),
          shown: dropTally.shown,
          summarized: stats[0].read(STAT.summarized),
        }];
        if (stats[1]) {
          counts.push({
            part: "sockets",
            seen: stats[1].read(STAT.seen),
            lost: stats[1].read(STAT.lost),
            shown: sockTally.shown,
            summarized: limit.held,
          });
        }
        return formatExposition(monitorFamilies({
          drops: dropCounts.read().map((d) =>
            d.location === 0n && d.reason === 0 && d.ifindex === 0 && d.netns === 0
              ? { ifindex: 0, netns: 0, count: d.count }
              : {
                reason: drop.reasons ? reasonName(drop.reasons, d.reason) : undefined,
                location: symbolize(d.location).split("+")[0],
                ifindex: d.ifindex,
                netns: d.netns,
                count: d.count,
              }
          ),
          netfilterDrops: netfilterDrops &&
            readNetfilterDropCounts(drop.object.map("nf_drop_counts")).map(({ where, count }) =>
              where.table === "" && where.pf === 0 ? { count } : {
                family: familyName(where.pf),
                hook: hookName(where.hook),
                table: where.table,
                chain: where.chain,
                count,
              }
            ),
          findings: [...findingCounts.values()],
          rtt: rttHist && {
            count: rttHist.read(RTT_HIST.count),
            sumUs: rttHist.read(RTT_HIST.sum),
            slots: Array.from({ length: RTT_BUCKETS }, (_, i) => rttHist.read(RTT_HIST.slot0 + i)),
          },
          parts: counts,
          startSeconds,
        }));
      };
      const server = serveMetrics(opts.metrics.hostname, opts.metrics.port, render);
      session.onClose(() => void server.close());
      writeErr(`nettrace: --metrics: serving http://${server.address}/metrics`);
      if (!opts.metrics.local) {
        writeErr(`nettrace: --metrics: ${server.address} is not loopback: other hosts can read the metrics`);
      }
    }
    return parts;
  } catch (e) {
    dropProgram.close();
    life?.program.close();
    throw e;
  }
}
