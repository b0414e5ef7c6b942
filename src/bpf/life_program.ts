/**
 * Loading bpf/life.bpf.c and attaching it to every planned trace point:
 * tracepoints one link each, functions through one kprobe-multi link or one
 * kprobe each. The link's cookie is the point's index in the points map.
 * @module
 */
import { BpfObject } from "../../lib/ffi/bpf_object.ts";
import { LibbpfError } from "../../lib/ffi/libbpf.ts";
import { HostError } from "../errors.ts";
import { missingHelper } from "./missing_helper.ts";
import { POINT, POINT_FLAG } from "../event/layout.ts";
import type { TracepointField, TracepointOffsets } from "../kernel/tracepoint_format.ts";
import type { TraceLeaf } from "../tracer/tree.ts";
import { filteredObject, filterReadOnly, type PacketFilter } from "./filter.ts";
import { eventObject } from "./objects.ts";
import type { CompatObjects } from "./compat_objects.ts";
import type { EventTransport } from "../../lib/ffi/ring_records.ts";
import { kernelSymbols } from "../kernel/kallsyms.ts";
import { type FunctionTarget, KernelFunctionIds, TracingCopies } from "../../lib/ffi/tracing_copies.ts";
import { PointCopies } from "../../lib/ffi/point_copies.ts";
import { LATENCY_SLOTS } from "../life/latency_histogram.ts";
import { kernelHasAttachCookies } from "../../lib/ffi/libbpf.ts";
import { ensureTracefs } from "../kernel/tracefs.ts";

/** A point to attach: the leaf and how. */
export interface PlannedPoint {
  leaf: TraceLeaf;
  method: "tracepoint" | "kprobe" | "kprobe-multi" | "fentry";
  /** kallsyms name (functions) */
  symbol?: string;
  /** position of the skb argument (socket points: of the socket argument) */
  skbArg?: number;
  /** tracepoints: where the record holds the skb (and a free's reason and location) */
  offsets?: TracepointOffsets;
  /** a socket point's value: the record's field (tracepoints), or the argument (functions: offset is its position) */
  value?: TracepointField;
  /** --trace-stack: record the kernel stack here */
  stack?: boolean;
  /** --ret: send the function's return value */
  ret?: boolean;
  /** --trace-matcher names other points: this one opens no context, it only follows packets matched there */
  followOnly?: boolean;
  /** --monitor: an RTT point, where the RTT thresholds hold (rtt.pointsOnly) */
  rttPoint?: boolean;
  /** a socket tracepoint hooked at the function behind it: the position of the congestion state entered */
  caStateArg?: number;
}

/** Whether the point's return is probed too: a clone function, or --ret, hooked as a function (not a socket point). */
function probesReturn(p: PlannedPoint): boolean {
  return (p.leaf.clone || !!p.ret) && p.method !== "tracepoint" && !p.leaf.sock;
}

/** What the object needs before load. */
export interface LifeProgramConfig {
  points: PlannedPoint[];
  filter: PacketFilter;
  ringSize: number;
  /** bytes of each followed packet sent with the event that opens its context (-w), 0 = none */
  snaplen: number;
  /** how events leave the kernel: picks the object (ring buffer or perf buffer) */
  transport: EventTransport;
  /** events per second per CPU, 0 = off */
  rateLimit: number;
  btfCustomPath?: string;
  /** objects built for this kernel without BTF, instead of the CO-RE ones */
  compat?: CompatObjects;
  /** functions ftrace can hook; fentry and kprobe-multi points outside it are not tried */
  traceable?: Set<string>;
  /** --func-stats: the points only count their calls (map `calls`), no event is sent */
  funcStats?: boolean;
  /** --pkt-fixed: every point matches the packet against the filter, also in a known context */
  pktFixed?: boolean;
  /** socket events' RTT thresholds (µs, 0 = off) and --rtt's mode: 1 histograms only (map rtt_conns), 2 each
   * sample too; pointsOnly (--monitor): they hold at the points marked rttPoint, the others pass */
  rtt?: {
    srttMinUs: number;
    rttMinUs: number;
    minRttMinUs: number;
    mode: 0 | 1 | 2;
    pointsOnly?: boolean;
    /** --monitor --metrics: every new sample into the map rtt_hist, before the thresholds */
    histogram?: boolean;
  };
  /** --latency-summary (mode 1: beside the events) and --latency (2: only the events that end a packet's life, which
   * -c counts): the latencies counted in the kernel, per point (maps lat_stats, lat_slots); includeFree:
   * --latency-free */
  latency?: { mode: 1 | 2; includeFree: boolean };
}

/** The loaded object, and the points that could not be attached (with why). */
export interface LifeProgram {
  /** the object that owns the maps */
  object: BpfObject;
  failed: Array<{ point: PlannedPoint; why: string }>;
  /** how long finding the fentry functions' BTF took, opening and setting up the object, loading it */
  resolveMs: number;
  prepareMs: number;
  loadMs: number;
  attachMs: number;
  /** detaches every point at once (faster than close() alone with many points) */
  detach(): Promise<void>;
  /** detaches and frees everything (the fentry copies too) */
  close(): void;
}

function u32(n: number): Uint8Array {
  return new Uint8Array(new Uint32Array([n]).buffer);
}

function pointBytes(p: PlannedPoint): Uint8Array {
  const b = new Uint8Array(POINT.size);
  const v = new DataView(b.buffer);
  const o: Partial<TracepointOffsets> = p.offsets ?? {};
  // a socket tracepoint counts every record, or (without_skb) those without an skb only
  v.setUint16(POINT.skb_offset, (p.leaf.sock && !p.leaf.withoutSkb ? 0 : o.skb) ?? 0, true);
  v.setUint16(POINT.reason_offset, o.reason ?? 0, true);
  v.setUint16(POINT.location_offset, o.location ?? 0, true);
  b[POINT.skb_arg] = p.skbArg ?? 0;
  b[POINT.follow_only] = p.followOnly ? 1 : 0;
  b[POINT.rtt_point] = p.rttPoint ? 1 : 0;
  if (p.leaf.sock) {
    v.setUint16(POINT.sk_offset, o.sk ?? 0, true);
    v.setUint16(POINT.rst_reason_offset, o.rstReason ?? 0, true);
    // a function's argument is its position + 1 (0: none), a record's field its offset
    v.setUint16(POINT.ca_state_offset, p.caStateArg !== undefined ? p.caStateArg + 1 : o.caState ?? 0, true);
    if (p.value) {
      v.setUint16(POINT.value_offset, p.value.offset, true);
      b[POINT.value_size] = p.value.size;
    }
    b[POINT.flags] = POINT_FLAG.sock | (p.stack ? POINT_FLAG.stack : 0);
    return b;
  }
  const fn = p.method !== "tracepoint";
  const nf = !fn
    ? 0
    : p.leaf.nf === "hook"
    ? POINT_FLAG.nfHook
    : p.leaf.nf === "chain"
    ? POINT_FLAG.nfChain
    : p.leaf.nf === "table"
    ? POINT_FLAG.nfTable
    : 0;
  b[POINT.flags] = (p.leaf.end ? POINT_FLAG.end : 0) | (fn && p.leaf.clone ? POINT_FLAG.clone : 0) |
    (fn && p.ret && !p.leaf.clone ? POINT_FLAG.ret : 0) | (p.stack ? POINT_FLAG.stack : 0) | nf;
  return b;
}

/** fentry and fexit points: every function is loaded from the template's instructions (tracing_copies.ts). */
interface FentryPlan {
  ids: KernelFunctionIds;
  /** fentry points (index into cfg.points) and the function targets */
  entry: Array<{ i: number; target: FunctionTarget }>;
  /** points whose return is probed by fexit */
  exit: Array<{ i: number; target: FunctionTarget }>;
}

/** Finds each fentry point's function in the kernel's BTF; points that cannot be hooked go to failed. */
function planFentry(cfg: LifeProgramConfig, failed: LifeProgram["failed"]): FentryPlan | undefined {
  const wanted = cfg.points.map((p, i) => [p, i] as const).filter(([p]) => p.method === "fentry");
  if (!wanted.length) return undefined;
  const ids = new KernelFunctionIds();
  const entry: FentryPlan["entry"] = [], exit: FentryPlan["exit"] = [];
  for (const [p, i] of wanted) {
    if (cfg.traceable && !cfg.traceable.has(p.symbol!)) {
      failed.push({ point: p, why: "not in available_filter_functions (ftrace cannot hook it)" });
      continue;
    }
    const target = ids.find(p.symbol!, kernelSymbols().moduleOf(p.symbol!));
    if (!target) {
      failed.push({ point: p, why: `no BTF type for ${p.symbol} in the kernel or its modules` });
      continue;
    }
    entry.push({ i, target });
    if (probesReturn(p)) exit.push({ i, target });
  }
  return { ids, entry, exit };
}

/** How many programs are loaded at once: verifier passes of different programs run side by side. */
const PARALLEL_LOADS = Math.max(1, Math.min(8, navigator.hardwareConcurrency || 1));

/**
 * Loads a copy of the template for every planned function but the
 * template's own, and links each (the template too) with its point index as
 * the cookie. Points that fail go to failed, with the kernel's reason.
 */
async function attachCopies(
  copies: TracingCopies,
  planned: Array<{ i: number; target: FunctionTarget }>,
  cfg: LifeProgramConfig,
  failed: LifeProgram["failed"],
  what: string,
): Promise<void> {
  const [first, ...rest] = planned;
  const fds = [copies.template.fd, ...await copies.load(rest.map((r) => r.target), PARALLEL_LOADS)];
  const all = [first, ...rest];
  const loaded = all.map(({ i }, k) => ({ i, fd: fds[k] }));
  for (const { i, fd } of loaded) {
    if (typeof fd !== "number") failed.push({ point: cfg.points[i], why: `${what}: ${fd.message}` });
  }
  const linkable = loaded.filter((x): x is { i: number; fd: number } => typeof x.fd === "number");
  const errors = await copies.link(linkable.map(({ i, fd }) => ({ progFd: fd, cookie: BigInt(i) })), PARALLEL_LOADS);
  errors.forEach((e, k) => {
    if (e) failed.push({ point: cfg.points[linkable[k].i], why: `${what}: ${e.message}` });
  });
}

/** The loaded program, with what detaches and frees it. */
function finished(
  obj: BpfObject,
  failed: LifeProgram["failed"],
  copies: TracingCopies[],
  pointCopies: PointCopies[],
  t: { resolvedMs: number; prepareMs: number; loadMs: number; t1: number },
): LifeProgram {
  return {
    object: obj,
    failed,
    resolveMs: t.resolvedMs,
    prepareMs: t.prepareMs,
    loadMs: t.loadMs,
    attachMs: performance.now() - t.t1,
    detach: async () => {
      for (const c of pointCopies) c.detach();
      await Promise.all([obj.detachAll(), ...copies.map((c) => c.detach())]);
    },
    close: () => {
      for (const c of pointCopies) c.close();
      for (const c of copies) c.close();
      obj.close();
    },
  };
}

/**
 * Kernels without attach cookies: a copy of the tracepoint, kprobe or kretprobe program for every point, its
 * marker set to the point's index, attached through a perf event of its own (lib/ffi/point_copies.ts).
 */
async function attachPointCopies(
  obj: BpfObject,
  cfg: LifeProgramConfig,
  returns: ReadonlyArray<readonly [PlannedPoint, number]>,
  failed: LifeProgram["failed"],
): Promise<PointCopies[]> {
  const tf = ensureTracefs();
  const groups: Array<{ program: string; kind: "tracepoint" | "kprobe"; ids: number[]; ret: boolean }> = [
    { program: "nt_life_tp", kind: "tracepoint", ids: [], ret: false },
    { program: "nt_life_kp", kind: "kprobe", ids: [], ret: false },
    {
      program: "nt_life_krp",
      kind: "kprobe",
      ids: returns.filter(([p]) => p.method === "kprobe").map(([, i]) => i),
      ret: true,
    },
  ];
  cfg.points.forEach((p, i) => {
    if (p.method === "tracepoint") groups[0].ids.push(i);
    else if (p.method === "kprobe") groups[1].ids.push(i);
    else failed.push({ point: p, why: `${p.method} needs attach cookies, which this kernel lacks (Linux 5.15)` });
  });
  const out: PointCopies[] = [];
  for (const g of groups.filter((g) => g.ids.length)) {
    const copies = new PointCopies(obj.program(g.program), g.kind);
    out.push(copies);
    const fds = await copies.load(g.ids, PARALLEL_LOADS);
    g.ids.forEach((i, k) => {
      const p = cfg.points[i], fd = fds[k];
      const what = g.ret ? "return probe: " : "";
      if (typeof fd !== "number") return failed.push({ point: p, why: `${what}${fd.message}` });
      try {
        if (g.kind === "kprobe") copies.attachKprobe(fd, p.symbol!, g.ret);
        else if ("path" in tf) {
          copies.attachTracepoint(fd, `${tf.path}/events/${p.leaf.category}/${p.leaf.event}/id`, tpName(p));
        } else throw new Error(`tracefs is not available: ${tf.error}`);
      } catch (e) {
        failed.push({ point: p, why: `${what}${(e as Error).message}` });
      }
    });
  }
  return out;
}

const tpName = (p: PlannedPoint) => `${p.leaf.category}:${p.leaf.event}`;

/** Loads the object, fills the points map, attaches every point (index = cookie). */
export async function loadLifeProgram(cfg: LifeProgramConfig): Promise<LifeProgram> {
  const methods = new Set(cfg.points.map((p) => p.method));
  const failed: LifeProgram["failed"] = [];
  const start = performance.now();
  const fentry = planFentry(cfg, failed);
  const resolvedMs = performance.now() - start;
  const obj = BpfObject.open(
    filteredObject(await eventObject("life", cfg.transport, cfg.compat), cfg.filter, "nettrace_life"),
    {
      name: "nettrace_life",
      btfCustomPath: cfg.btfCustomPath,
    },
  );
  const copies: TracingCopies[] = [];
  const pointCopies: PointCopies[] = [];
  const byCookie = kernelHasAttachCookies();
  try {
    // a second point on one tracepoint takes the second program (the kernel takes a program once per tracepoint)
    const tpSeen = new Set<string>();
    const tpProgram = cfg.points.map((p) => {
      if (p.method !== "tracepoint") return "";
      const again = tpSeen.has(tpName(p));
      tpSeen.add(tpName(p));
      return again ? "nt_life_tp2" : "nt_life_tp";
    });
    obj.program("nt_life_tp").setAutoload(methods.has("tracepoint"));
    // without cookies every point has a copy of its own: the second program is not needed
    obj.program("nt_life_tp2").setAutoload(byCookie && tpProgram.includes("nt_life_tp2"));
    obj.program("nt_life_kp").setAutoload(methods.has("kprobe"));
    obj.program("nt_life_kpm").setAutoload(methods.has("kprobe-multi"));
    const clones = cfg.points.map((p, i) => [p, i] as const).filter(([p]) => probesReturn(p));
    obj.program("nt_life_krp").setAutoload(clones.some(([p]) => p.method === "kprobe"));
    obj.program("nt_life_krpm").setAutoload(clones.some(([p]) => p.method === "kprobe-multi"));
    // the templates target a function of vmlinux where one is planned (libbpf then reads no module BTF)
    const vmlinuxFirst = (xs: FentryPlan["entry"]) =>
      xs.sort((a, b) => Number(a.target.objFd > 0) - Number(b.target.objFd > 0));
    const entry = vmlinuxFirst(fentry?.entry ?? []), exit = vmlinuxFirst(fentry?.exit ?? []);
    obj.program("nt_life_fentry").setAutoload(entry.length > 0);
    if (entry.length) obj.program("nt_life_fentry").setAttachTarget(cfg.points[entry[0].i].symbol!);
    obj.program("nt_life_fexit").setAutoload(exit.length > 0);
    if (exit.length) obj.program("nt_life_fexit").setAttachTarget(cfg.points[exit[0].i].symbol!);
    obj.setReadOnly({
      ...filterReadOnly(cfg.filter),
      rate_limit: new Uint8Array(new Uint32Array([cfg.rateLimit]).buffer),
      point_by_cookie: new Uint8Array([byCookie ? 1 : 0]),
      snaplen: new Uint8Array(new Uint32Array([cfg.snaplen]).buffer),
      func_stats: new Uint8Array([cfg.funcStats ? 1 : 0]),
      pkt_fixed: new Uint8Array([cfg.pktFixed ? 1 : 0]),
      sock_srtt_min_us: u32(cfg.rtt?.srttMinUs ?? 0),
      sock_rtt_min_us: u32(cfg.rtt?.rttMinUs ?? 0),
      sock_minrtt_min_us: u32(cfg.rtt?.minRttMinUs ?? 0),
      rtt_mode: new Uint8Array([cfg.rtt?.mode ?? 0]),
      rtt_points_only: new Uint8Array([cfg.rtt?.pointsOnly ? 1 : 0]),
      rtt_histogram: new Uint8Array([cfg.rtt?.histogram ? 1 : 0]),
      latency_mode: new Uint8Array([cfg.latency?.mode ?? 0]),
      latency_free: new Uint8Array([cfg.latency?.includeFree ? 1 : 0]),
      latency_packets: u32(cfg.points.length),
    });
    obj.map("lat_stats").setMaxEntries(cfg.latency ? cfg.points.length + 1 : 1);
    obj.map("lat_slots").setMaxEntries(cfg.latency ? cfg.points.length * LATENCY_SLOTS : 1);
    if (!cfg.rtt?.mode) obj.map("rtt_conns").setMaxEntries(1);
    obj.map("calls").setMaxEntries(Math.max(1, cfg.points.length));
    // a perf buffer's size is set when it is read (one ring per CPU); the map holds one entry per CPU
    if (cfg.transport === "ringbuf") obj.map("events").setMaxEntries(cfg.ringSize);
    obj.map("points").setMaxEntries(Math.max(1, cfg.points.length));
    if (!cfg.points.some((p) => p.stack)) obj.map("stacks").setMaxEntries(1);
    const t0 = performance.now();
    const prepareMs = t0 - start - resolvedMs;
    obj.load();
    const t1 = performance.now();
    const points = obj.map("points");
    cfg.points.forEach((p, i) => points.update(new Uint8Array(new Uint32Array([i]).buffer), pointBytes(p)));

    const multi: number[] = [];
    if (entry.length) {
      copies.push(new TracingCopies(obj.program("nt_life_fentry"), "fentry"));
      await attachCopies(copies[0], entry, cfg, failed, "fentry");
    }
    if (exit.length) {
      copies.push(new TracingCopies(obj.program("nt_life_fexit"), "fexit"));
      await attachCopies(copies[copies.length - 1], exit, cfg, failed, "return probe (fexit)");
    }
    fentry?.ids.close();
    if (!byCookie) {
      pointCopies.push(...await attachPointCopies(obj, cfg, clones, failed));
      return finished(obj, failed, copies, pointCopies, { resolvedMs, prepareMs, loadMs: t1 - t0, t1 });
    }
    cfg.points.forEach((p, i) => {
      try {
        if (p.method === "tracepoint") {
          obj.program(tpProgram[i]).attachTracepointCookie(p.leaf.category!, p.leaf.event!, BigInt(i));
        } else if (p.method === "kprobe") {
          obj.program("nt_life_kp").attachKprobeCookie(p.symbol!, false, BigInt(i));
        } else if (p.method === "fentry") {
          // done above
        } else if (cfg.traceable && !cfg.traceable.has(p.symbol!)) {
          failed.push({ point: p, why: "not in available_filter_functions (ftrace cannot hook it)" });
        } else {
          multi.push(i);
        }
      } catch (e) {
        failed.push({ point: p, why: (e as Error).message });
      }
    });
    if (multi.length) {
      const prog = obj.program("nt_life_kpm");
      try {
        prog.attachKprobeMulti(multi.map((i) => cfg.points[i].symbol!), false, multi.map((i) => BigInt(i)));
      } catch {
        // one function the kernel refuses fails the whole link: attach them one by one to find it
        for (const i of multi) {
          try {
            prog.attachKprobeMulti([cfg.points[i].symbol!], false, [BigInt(i)]);
          } catch (e) {
            failed.push({ point: cfg.points[i], why: (e as Error).message });
          }
        }
      }
    }
    // clone functions: their return hands the new skb to the parent's context; --ret: the value
    const multiRet = clones.filter(([p]) => p.method === "kprobe-multi");
    for (const [p, i] of clones) {
      try {
        if (p.method === "kprobe") obj.program("nt_life_krp").attachKprobeCookie(p.symbol!, true, BigInt(i));
      } catch (e) {
        failed.push({ point: p, why: `return probe: ${(e as Error).message}` });
      }
    }
    if (multiRet.length) {
      try {
        obj.program("nt_life_krpm").attachKprobeMulti(
          multiRet.map(([p]) => p.symbol!),
          true,
          multiRet.map(([, i]) => BigInt(i)),
        );
      } catch (e) {
        for (const [p] of multiRet) failed.push({ point: p, why: `return probe: ${(e as Error).message}` });
      }
    }
    return finished(obj, failed, copies, pointCopies, { resolvedMs, prepareMs, loadMs: t1 - t0, t1 });
  } catch (e) {
    for (const c of pointCopies) c.close();
    for (const c of copies) c.close();
    fentry?.ids.close();
    obj.close();
    if (e instanceof LibbpfError) {
      throw new HostError(`cannot start lifecycle tracing: ${missingHelper(e.message) ?? e.message}`);
    }
    throw e;
  }
}
