/**
 * Loading and attaching bpf/drop.bpf.c with one of its programs, one per
 * attach method: the kfree_skb tracepoint (classic, raw or BTF-typed) or the
 * kernel's drop function (kprobe, kprobe-multi, fentry).
 * @module
 */
import { BpfObject } from "../../lib/ffi/bpf_object.ts";
import { type Btf, BtfKind } from "../../lib/ffi/btf.ts";
import { LibbpfError } from "../../lib/ffi/libbpf.ts";
import { HostError } from "../errors.ts";
import { missingHelper } from "./missing_helper.ts";
import {
  DROP_FUNCTION_CANDIDATES,
  type DropFunction,
  dropFunctionBySymbol,
  findDropFunction,
} from "../kernel/drop_function.ts";
import { forgetKernelSymbols, kernelSymbols } from "../kernel/kallsyms.ts";
import type { AttachMethod } from "./attach_method.ts";
import { filteredObject, filterReadOnly, type PacketFilter } from "./filter.ts";
import { eventObject } from "./objects.ts";
import type { CompatObjects } from "./compat_objects.ts";
import type { EventTransport } from "../../lib/ffi/ring_records.ts";
import { DROP_COUNT_KEY, NF_WHERE } from "../event/layout.ts";
import { releaseAtLeast } from "../kernel/release.ts";
import { effectiveCapabilities, moduleBtfsRefused } from "../kernel/privileges.ts";

/** What the drop object needs to know before load. */
export interface DropProgramConfig {
  method: Exclude<AttachMethod, "auto">;
  filter: PacketFilter;
  wantStack: boolean;
  ringSize: number;
  /** how events leave the kernel: picks the object (ring buffer or perf buffer) */
  transport: EventTransport;
  /** events per second per CPU, 0 = off */
  rateLimit: number;
  /** sends per second of the same drop before its repeats are summarized, 0 = off */
  stormLimit: number;
  /** the storm key holds the flow (addresses, destination port); false: the drop's reason and place only */
  stormByFlow?: boolean;
  /** the kernel's CONFIG_HZ: the storm windows are counted in jiffies; without it, with the costlier precise clock */
  stormHz?: number;
  /** bytes of each dropped packet sent with its event (-w), 0 = none */
  snaplen: number;
  /** --metrics: count every drop by reason, location, device and netns (map drop_counts) */
  countDrops?: boolean;
  /**
   * --monitor: the table, chain and hook of netfilter's drops (bpf/include/netfilter_drop.h), where the kernel can
   * trace nf_tables' and x_tables' table walks (fentry and fexit); without, the drops are seen as before
   */
  netfilterNames?: boolean;
  /** reason value of a normal free (SKB_CONSUMED), skipped in the kernel */
  consumedReason?: number;
  /** whether the kfree_skb tracepoint carries a reason */
  tpHasReason: boolean;
  btfCustomPath?: string;
  /** objects built for this kernel without BTF, instead of the CO-RE ones */
  compat?: CompatObjects;
}

const PROGRAM: Record<DropProgramConfig["method"], string> = {
  tracepoint: "nt_drop_tp",
  raw_tracepoint: "nt_drop_raw",
  tp_btf: "nt_drop_tpbtf",
  kprobe: "nt_drop_kp",
  "kprobe-multi": "nt_drop_kpm",
  fentry: "nt_drop_fentry",
};

const NO_ARG = 0xff;
/** Drops told apart at once by --storm-limit (struct nt_storm_key entries); more are lost, and counted. */
export const STORM_KEYS = 4096;
/** Drops told apart by --metrics (struct nt_drop_count_key entries); more are counted as "other" (the zero key). */
export const DROP_COUNT_KEYS = 4096;

function u32(n: number): Uint8Array {
  return new Uint8Array(new Uint32Array([n >>> 0]).buffer);
}

function u64(n: bigint): Uint8Array {
  return new Uint8Array(new BigUint64Array([n]).buffer);
}

/** Netfilter's table walks whose drops are named (netfilterNames): the function traced, its two programs. */
const NETFILTER_WALKS = [
  { func: "nft_do_chain", module: "nf_tables", enter: "nt_nft_enter", exit: "nt_nft_exit" },
  { func: "ipt_do_table", module: "ip_tables", enter: "nt_ipt_enter", exit: "nt_ipt_exit" },
  { func: "ip6t_do_table", module: "ip6_tables", enter: "nt_ip6t_enter", exit: "nt_ip6t_exit" },
] as const;

/** Whether fentry can find the walk's function: in the kernel's BTF (built in), or its module's, loaded. */
function walkHere(w: (typeof NETFILTER_WALKS)[number], btf: Btf, modulesListed: boolean): boolean {
  if (btf.find(w.func, BtfKind.FUNC) >= 0) return true;
  if (!modulesListed) return false;
  try {
    Deno.statSync(`/sys/kernel/btf/${w.module}`);
    return true;
  } catch {
    return false;
  }
}
/** Netfilter places told apart by --metrics (struct nt_nf_where entries); more are counted as "other". */
export const NETFILTER_COUNT_KEYS = 1024;
/** Drops a walk said and the kernel has not freed yet (nf_walks), and netfilter drops not yet read (nf_drops): LRU. */
const NETFILTER_PENDING = 4096;

/** A loaded and attached drop object; the caller closes it. */
export interface DropProgram {
  object: BpfObject;
  /** the point hooked, for messages: "tracepoint skb:kfree_skb", "kprobe kfree_skb_reason" */
  point: string;
  /**
   * with netfilterNames: the table walks traced ("fentry nft_do_chain, ..."), or why none is: the kernel's word, or
   * that no netfilter module is loaded
   */
  netfilter?: { traced: string } | { missing: string };
}

/** The drop function for function-hooking methods (from BTF, else by its symbol), or a clear error. */
function dropFunctionFor(method: string, btf: Btf | undefined): DropFunction {
  if (!btf) {
    const f = dropFunctionBySymbol((n) => kernelSymbols().has(n));
    if (!f) {
      throw new HostError(
        `--attach-method ${method}: none of ${DROP_FUNCTION_CANDIDATES.join(", ")} in /proc/kallsyms`,
      );
    }
    return f;
  }
  const f = findDropFunction(btf);
  if (!f) throw new HostError(`--attach-method ${method}: no drop function with an skb argument in this kernel's BTF`);
  return f;
}

/**
 * Opens, configures, loads and attaches the drop object. btf: the kernel's, when it has one. With netfilterNames,
 * the table walks' programs are loaded with it where the kernel has the functions; when the kernel refuses them (no
 * fentry, no module BTF), the drop object is loaded again without them, and the result says why.
 */
export async function loadDropProgram(cfg: DropProgramConfig, btf: Btf | undefined): Promise<DropProgram> {
  if (cfg.compat && (cfg.method === "tp_btf" || cfg.method === "fentry")) {
    throw new HostError(`--attach-method ${cfg.method} needs BTF, which this kernel does not have`);
  }
  if (!cfg.netfilterNames) return await loadDropObject(cfg, btf, []);
  if (cfg.compat || !btf) {
    return { ...await loadDropObject(cfg, btf, []), netfilter: { missing: "tracing them needs BTF (fentry)" } };
  }
  const modulesRefused = moduleBtfsRefused(effectiveCapabilities());
  const walks = NETFILTER_WALKS.filter((w) => walkHere(w, btf, !modulesRefused));
  if (!walks.length) {
    return {
      ...await loadDropObject(cfg, btf, []),
      netfilter: {
        missing: modulesRefused
          ? `their table walks are in modules, and ${modulesRefused}`
          : "no netfilter table module with BTF is loaded (nf_tables, ip_tables, ip6_tables: /sys/kernel/btf/MODULE)",
      },
    };
  }
  try {
    const prog = await loadDropObject(cfg, btf, walks);
    return { ...prog, netfilter: { traced: walks.map((w) => `fentry/fexit ${w.func}`).join(", ") } };
  } catch (e) {
    // the kernel's refusal, of the walks' programs or of the drop program: then without the walks, which fails on
    // its own if the drop program was the cause
    if (!(e instanceof LibbpfError)) throw e;
    const why = missingHelper(e.message) ?? e.message;
    const funcs = walks.map((w) => w.func).join(", ");
    return { ...await loadDropObject(cfg, btf, []), netfilter: { missing: `fentry on ${funcs} refused: ${why}` } };
  }
}

/** The drop object with the given table walks' programs (none: netfilter's drops are not named). */
async function loadDropObject(
  cfg: DropProgramConfig,
  btf: Btf | undefined,
  walks: ReadonlyArray<(typeof NETFILTER_WALKS)[number]>,
): Promise<DropProgram> {
  const fn = cfg.method === "kprobe" || cfg.method === "kprobe-multi" || cfg.method === "fentry"
    ? dropFunctionFor(cfg.method, btf)
    : undefined;
  // fentry finds the caller on the stack by the drop function's address range
  const range = cfg.method === "fentry" ? kernelSymbols().range(fn!.name) : undefined;
  const obj = BpfObject.open(
    filteredObject(await eventObject("drop", cfg.transport, cfg.compat), cfg.filter, "nettrace_drop"),
    {
      name: "nettrace_drop",
      btfCustomPath: cfg.btfCustomPath,
    },
  );
  try {
    for (const name of Object.values(PROGRAM)) obj.program(name).setAutoload(name === PROGRAM[cfg.method]);
    // the compat objects (no BTF, no fentry) are built without the walks' programs
    for (const w of cfg.compat ? [] : NETFILTER_WALKS) {
      for (const name of [w.enter, w.exit]) obj.program(name).setAutoload(walks.includes(w));
    }
    const prog = obj.program(PROGRAM[cfg.method]);
    obj.setReadOnly({
      ...filterReadOnly(cfg.filter),
      want_stack: new Uint8Array([cfg.wantStack ? 1 : 0]),
      rate_limit: u32(cfg.rateLimit),
      storm_limit: u32(cfg.stormLimit),
      storm_by_flow: new Uint8Array([cfg.stormByFlow === false ? 0 : 1]),
      // bpf_jiffies64 came in 5.5
      storm_hz: u32(releaseAtLeast(Deno.osRelease(), 5, 5) ? cfg.stormHz ?? 0 : 0),
      snaplen: u32(cfg.snaplen),
      count_drops: new Uint8Array([cfg.countDrops ? 1 : 0]),
      skip_reason: u32(cfg.consumedReason ?? 0xffffffff),
      tp_has_reason: new Uint8Array([cfg.tpHasReason ? 1 : 0]),
      skb_arg: u32(fn?.skbArg ?? 0),
      reason_arg: u32(fn?.reasonArg ?? NO_ARG),
      drop_func_lo: u64(range?.start ?? 0n),
      drop_func_hi: u64(range?.end ?? 0n),
      nf_names: new Uint8Array([walks.length ? 1 : 0]),
      xt_table_first: new Uint8Array([releaseAtLeast(Deno.osRelease(), 5, 16) ? 1 : 0]),
    });
    // a perf buffer's size is set when it is read (one ring per CPU); the map holds one entry per CPU
    if (cfg.transport === "ringbuf") obj.map("events").setMaxEntries(cfg.ringSize);
    if (!cfg.wantStack) obj.map("stacks").setMaxEntries(1);
    obj.map("storms").setMaxEntries(cfg.stormLimit ? STORM_KEYS : 1);
    obj.map("drop_counts").setMaxEntries(cfg.countDrops ? DROP_COUNT_KEYS : 1);
    obj.map("nf_walks").setMaxEntries(walks.length ? NETFILTER_PENDING : 1);
    obj.map("nf_drops").setMaxEntries(walks.length ? NETFILTER_PENDING : 1);
    obj.map("nf_drop_counts").setMaxEntries(walks.length && cfg.countDrops ? NETFILTER_COUNT_KEYS : 1);
    if (cfg.method === "fentry") prog.setAttachTarget(fn!.name);
    obj.load();
    // the key the drops of a full map are added to ("other"), there before the first drop
    if (cfg.countDrops) {
      const counts = obj.map("drop_counts");
      if (counts.keySize !== DROP_COUNT_KEY.size) {
        throw new Error(`drop_counts: keys of ${counts.keySize} bytes, nettrace reads ${DROP_COUNT_KEY.size}`);
      }
      counts.update(new Uint8Array(DROP_COUNT_KEY.size), new Uint8Array(8));
      if (walks.length) obj.map("nf_drop_counts").update(new Uint8Array(NF_WHERE.size), new Uint8Array(8));
    }
    for (const w of walks) {
      obj.program(w.enter).attachTrace();
      obj.program(w.exit).attachTrace();
    }
    let point: string;
    switch (cfg.method) {
      case "tracepoint":
        prog.attachTracepoint("skb", "kfree_skb");
        point = "tracepoint skb:kfree_skb";
        break;
      case "raw_tracepoint":
        prog.attachRawTracepoint("kfree_skb");
        point = "raw_tracepoint kfree_skb";
        break;
      case "tp_btf":
        prog.attachTrace();
        point = "tp_btf kfree_skb";
        break;
      case "kprobe":
        prog.attachKprobe(fn!.name, false);
        point = `kprobe ${fn!.name}`;
        break;
      case "kprobe-multi":
        prog.attachKprobeMulti([fn!.name], false);
        point = `kprobe-multi ${fn!.name}`;
        break;
      case "fentry":
        prog.attachTrace();
        point = `fentry ${fn!.name}`;
        break;
    }
    if (range) forgetKernelSymbols(); // read before load: without this program's own symbols
    return { object: obj, point };
  } catch (e) {
    obj.close();
    if (e instanceof LibbpfError && walks.length) throw e; // loadDropProgram tries again without the walks
    if (e instanceof LibbpfError) {
      throw new HostError(
        `cannot start the drop monitor with --attach-method ${cfg.method} (nettrace --check tells what this kernel has): ${
          missingHelper(e.message) ?? e.message
        }`,
      );
    }
    throw e;
  }
}
