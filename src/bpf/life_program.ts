/**
 * Loading bpf/life.bpf.c and attaching it to every planned trace point:
 * tracepoints one link each, functions through one kprobe-multi link or one
 * kprobe each. The link's cookie is the point's index in the points map.
 * @module
 */
import { BpfObject } from "../../lib/ffi/bpf_object.ts";
import { LibbpfError } from "../../lib/ffi/libbpf.ts";
import { HostError } from "../errors.ts";
import { POINT, POINT_FLAG } from "../event/layout.ts";
import type { TracepointOffsets } from "../kernel/tracepoint_format.ts";
import type { TraceLeaf } from "../tracer/tree.ts";
import { encodeFilter, type PacketFilter } from "./filter.ts";
import { LIFE_OBJECT } from "./objects.ts";

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
  /** --trace-stack: record the kernel stack here */
  stack?: boolean;
  /** --ret: send the function's return value */
  ret?: boolean;
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
  /** events per second per CPU, 0 = off */
  rateLimit: number;
  btfCustomPath?: string;
  /** functions ftrace can hook; fentry and kprobe-multi points outside it are not tried */
  traceable?: Set<string>;
}

/** The loaded object, and the points that could not be attached (with why). */
export interface LifeProgram {
  /** the object that owns the maps */
  object: BpfObject;
  failed: Array<{ point: PlannedPoint; why: string }>;
  /** detaches every point at once (faster than close() alone with many points) */
  detach(): Promise<void>;
  /** detaches and frees everything (the fentry copies too) */
  close(): void;
}

/**
 * Maps every copy of the object shares with the first: all but its own .rodata and the per-CPU scratch maps
 * (sock_scratch, sock_packet), which stay each copy's own: one copy's fentry program can run nested in another
 * program on the same CPU (a timer's softirq), and must not write over its record.
 */
const SHARED_MAPS = [
  "points",
  "contexts",
  "clone_parents",
  "entries",
  "events",
  "stats",
  "stacks",
  "rate",
];

function pointBytes(p: PlannedPoint): Uint8Array {
  const b = new Uint8Array(POINT.size);
  const v = new DataView(b.buffer);
  const o = p.offsets ?? {};
  v.setUint16(POINT.skb_offset, o.skb ?? 0, true);
  v.setUint16(POINT.reason_offset, o.reason ?? 0, true);
  v.setUint16(POINT.location_offset, o.location ?? 0, true);
  b[POINT.skb_arg] = p.skbArg ?? 0;
  if (p.leaf.sock) {
    v.setUint16(POINT.sk_offset, o.sk ?? 0, true);
    v.setUint16(POINT.rst_reason_offset, o.rstReason ?? 0, true);
    v.setUint16(POINT.ca_state_offset, o.caState ?? 0, true);
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

/**
 * One copy of the object for one fentry point: its programs target that
 * function (fixed at load), its .rodata holds the point index, its maps are
 * the first object's. Attached fentry (and fexit for clone and --ret points).
 */
function fentryCopy(
  first: BpfObject,
  p: PlannedPoint,
  readOnly: Record<string, Uint8Array>,
  btfCustomPath: string | undefined,
): BpfObject {
  const copy = BpfObject.open(LIFE_OBJECT, { name: "nettrace_life", btfCustomPath });
  try {
    const exit = probesReturn(p);
    for (const name of ["nt_life_tp", "nt_life_tp2", "nt_life_kp", "nt_life_kpm", "nt_life_krp", "nt_life_krpm"]) {
      copy.program(name).setAutoload(false);
    }
    copy.program("nt_life_fentry").setAttachTarget(p.symbol!);
    copy.program("nt_life_fexit").setAutoload(exit);
    if (exit) copy.program("nt_life_fexit").setAttachTarget(p.symbol!);
    for (const m of SHARED_MAPS) copy.map(m).reuseFd(first.map(m).fd);
    copy.setReadOnly(readOnly);
    copy.load();
    copy.program("nt_life_fentry").attachTrace();
    if (exit) copy.program("nt_life_fexit").attachTrace();
    return copy;
  } catch (e) {
    copy.close();
    throw e;
  }
}

/** Loads the object, fills the points map, attaches every point (index = cookie). */
export function loadLifeProgram(cfg: LifeProgramConfig): LifeProgram {
  const methods = new Set(cfg.points.map((p) => p.method));
  const obj = BpfObject.open(LIFE_OBJECT, { name: "nettrace_life", btfCustomPath: cfg.btfCustomPath });
  const failed: LifeProgram["failed"] = [];
  try {
    // a second point on one tracepoint takes the second program (the kernel takes a program once per tracepoint)
    const tpName = (p: PlannedPoint) => `${p.leaf.category}:${p.leaf.event}`;
    const tpSeen = new Set<string>();
    const tpProgram = cfg.points.map((p) => {
      if (p.method !== "tracepoint") return "";
      const again = tpSeen.has(tpName(p));
      tpSeen.add(tpName(p));
      return again ? "nt_life_tp2" : "nt_life_tp";
    });
    obj.program("nt_life_tp").setAutoload(methods.has("tracepoint"));
    obj.program("nt_life_tp2").setAutoload(tpProgram.includes("nt_life_tp2"));
    obj.program("nt_life_kp").setAutoload(methods.has("kprobe"));
    obj.program("nt_life_kpm").setAutoload(methods.has("kprobe-multi"));
    const clones = cfg.points.map((p, i) => [p, i] as const).filter(([p]) => probesReturn(p));
    obj.program("nt_life_krp").setAutoload(clones.some(([p]) => p.method === "kprobe"));
    obj.program("nt_life_krpm").setAutoload(clones.some(([p]) => p.method === "kprobe-multi"));
    obj.program("nt_life_fentry").setAutoload(false);
    obj.program("nt_life_fexit").setAutoload(false);
    const readOnly = (point: number) => ({
      filter: encodeFilter(cfg.filter),
      rate_limit: new Uint8Array(new Uint32Array([cfg.rateLimit]).buffer),
      fentry_point: new Uint8Array(new Uint32Array([point]).buffer),
    });
    obj.setReadOnly(readOnly(0));
    obj.map("events").setMaxEntries(cfg.ringSize);
    obj.map("points").setMaxEntries(Math.max(1, cfg.points.length));
    if (!cfg.points.some((p) => p.stack)) obj.map("stacks").setMaxEntries(1);
    obj.load();
    const points = obj.map("points");
    cfg.points.forEach((p, i) => points.update(new Uint8Array(new Uint32Array([i]).buffer), pointBytes(p)));

    const multi: number[] = [];
    const copies: BpfObject[] = [];
    cfg.points.forEach((p, i) => {
      try {
        if (p.method === "tracepoint") {
          obj.program(tpProgram[i]).attachTracepointCookie(p.leaf.category!, p.leaf.event!, BigInt(i));
        } else if (p.method === "kprobe") {
          obj.program("nt_life_kp").attachKprobeCookie(p.symbol!, false, BigInt(i));
        } else if (cfg.traceable && !cfg.traceable.has(p.symbol!)) {
          failed.push({ point: p, why: "not in available_filter_functions (ftrace cannot hook it)" });
        } else if (p.method === "fentry") {
          copies.push(fentryCopy(obj, p, readOnly(i), cfg.btfCustomPath));
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
    return {
      object: obj,
      failed,
      detach: async () => {
        await Promise.all([obj, ...copies].map((o) => o.detachAll()));
      },
      close: () => {
        for (const c of copies) c.close();
        obj.close();
      },
    };
  } catch (e) {
    obj.close();
    if (e instanceof LibbpfError) throw new HostError(`cannot start lifecycle tracing: ${e.message}`);
    throw e;
  }
}
