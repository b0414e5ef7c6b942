/**
 * What the running kernel can do (src/kernel/capability_report.ts), found by trying: each attach kind is a tiny
 * program (bpf/probe.bpf.c) loaded and attached on its own; for --check and -t ?, a UDP datagram sent over loopback
 * shows whether it really fires; then it is removed. A tracing mode asks less (ProbeScope): the kinds it can use,
 * attached and removed, and of its function kinds only until one attaches.
 * Kernel version numbers are never used to decide.
 * @module
 */
import { type BpfLink, BpfObject, type BpfProgram } from "../../lib/ffi/bpf_object.ts";
import { Btf, BtfKind } from "../../lib/ffi/btf.ts";
import { kernelHasRingBuffer } from "../../lib/ffi/ring_reader.ts";
import { kernelHasAttachCookies } from "../../lib/ffi/libbpf.ts";
import { embeddedObject } from "./objects.ts";
import { KERNEL_BTF } from "../kernel/btf_source.ts";
import { type KernelConfig, readKernelConfig } from "../kernel/kconfig.ts";
import { ensureTracefs } from "../kernel/tracefs.ts";
import { loadDropReasons } from "../kernel/drop_reason_loader.ts";
import type { AttachKind } from "../kernel/attach_kind.ts";
import type { Capability, CapabilityReport } from "../kernel/capability_report.ts";
import { closedLoopbackPort, sendLoopbackDatagram } from "./loopback_datagram.ts";
import { encodeFilter } from "./filter.ts";
import { missingHelper } from "./missing_helper.ts";

const ETH_P_IP = 0x0800;
const IPPROTO_UDP = 17;

interface AttachProbe {
  kind: AttachKind;
  program: string;
  /** before load: set the target of BTF-typed programs */
  prepare?: (prog: BpfProgram, target: string) => void;
  attach: (prog: BpfProgram, target: string) => BpfLink;
  /** config options that explain a failure, most likely first */
  needs: string[];
  /** has no skb to look at (a return probe): counts calls instead */
  countsCalls?: boolean;
  /** the same without CO-RE, counting calls: for kernels without BTF */
  bare?: string;
}

const PROBES: AttachProbe[] = [
  {
    kind: "tracepoint",
    program: "nt_probe_tp",
    bare: "nt_bare_tp",
    attach: (p) => p.attachTracepoint("skb", "kfree_skb"),
    needs: ["CONFIG_BPF_EVENTS"],
  },
  {
    kind: "raw_tracepoint",
    program: "nt_probe_raw",
    bare: "nt_bare_raw",
    attach: (p) => p.attachRawTracepoint("kfree_skb"),
    needs: ["CONFIG_BPF_EVENTS"],
  },
  { kind: "tp_btf", program: "nt_probe_tpbtf", attach: (p) => p.attachTrace(), needs: ["CONFIG_DEBUG_INFO_BTF"] },
  {
    kind: "kprobe",
    program: "nt_probe_kp",
    bare: "nt_bare_kp",
    attach: (p, t) => p.attachKprobe(t, false),
    needs: ["CONFIG_KPROBES", "CONFIG_KPROBE_EVENTS"],
  },
  {
    kind: "kretprobe",
    program: "nt_probe_krp",
    bare: "nt_bare_krp",
    attach: (p, t) => p.attachKprobe(t, true),
    needs: ["CONFIG_KPROBES", "CONFIG_KRETPROBES"],
    countsCalls: true,
  },
  {
    kind: "kprobe-multi",
    program: "nt_probe_kpm",
    bare: "nt_bare_kpm",
    attach: (p, t) => p.attachKprobeMulti([t], false),
    needs: ["CONFIG_KPROBES", "CONFIG_FPROBE"],
  },
  {
    kind: "fentry",
    program: "nt_probe_fentry",
    prepare: (p, t) => p.setAttachTarget(t),
    attach: (p) => p.attachTrace(),
    needs: ["CONFIG_DYNAMIC_FTRACE_WITH_DIRECT_CALLS", "CONFIG_FUNCTION_TRACER"],
  },
  {
    kind: "fexit",
    program: "nt_probe_fexit",
    prepare: (p, t) => p.setAttachTarget(t),
    attach: (p) => p.attachTrace(),
    needs: ["CONFIG_DYNAMIC_FTRACE_WITH_DIRECT_CALLS", "CONFIG_FUNCTION_TRACER"],
  },
];

/** Kernel functions a probe attaches to, the first that the kernel's BTF has:
 * each is on the IPv4 receive path and takes the skb as its first argument. */
const TARGET_CANDIDATES = ["ip_rcv", "ip_rcv_core", "ip_local_deliver"];

function explain(probe: AttachProbe, message: string, config: KernelConfig | undefined, tracefs?: string): string {
  const helper = missingHelper(message);
  // the verifier's whole log says no more than that
  if (helper) return `${helper} (${message.split(" | ")[0]})`;
  const hints: string[] = [];
  if (config) {
    const missing = probe.needs.filter((n) => (config.get(n) ?? "n") === "n");
    if (missing.length) hints.push(`kernel built without ${missing.join(", ")}`);
  }
  if (tracefs && (probe.kind.startsWith("kprobe") || probe.kind === "kretprobe")) {
    try {
      Deno.statSync(`${tracefs}/kprobe_events`);
    } catch {
      hints.push(`no kprobe_events in ${tracefs}`);
    }
  }
  return hints.length ? `${hints.join("; ")} (${message})` : message;
}

/** How an attach attempt went; calls -1: not shown to fire (no loopback, or not asked to). */
type AttachOutcome =
  | { attached: false; error: string }
  | { attached: true; sawDatagram: boolean; calls: number; countsCalls?: boolean; fireTried: boolean };

/** Which attach kinds a probe tries, and how far. */
export interface ProbeScope {
  /** kinds tried, in this order; the others are reported as not tried */
  readonly kinds: readonly AttachKind[];
  /** of the kinds, these are alternatives: the first that attaches ends the trying of the rest */
  readonly oneOf: readonly AttachKind[];
  /** whether each kind attached must also be seen to fire for a loopback datagram (--check, -t ?) */
  readonly fire: boolean;
}

/** --check's and -t ?'s probe: every kind, each seen to fire. */
export const FULL_PROBE: ProbeScope = { kinds: PROBES.map((p) => p.kind), oneOf: [], fire: true };

const FIRE_WAIT_MS = 500;

/** Loads and attaches one probe program; with fire, sends the loopback datagram and reads what it saw. */
async function tryAttach(
  probe: AttachProbe,
  target: string,
  bare: boolean,
  btfPath: string | undefined,
  fire: boolean,
): Promise<AttachOutcome> {
  // not seen to fire, a kind needs no filter: the bare program, whose load reads no kernel BTF (a parse that cost each
  // try 40 ms here)
  const useBare = (bare || !fire) && probe.bare !== undefined;
  const obj = useBare
    ? BpfObject.open(await embeddedObject("probe_bare"), { name: "nt_probe_bare" })
    : BpfObject.open(await embeddedObject("probe"), { name: "nt_probe", btfCustomPath: btfPath });
  const name = useBare ? probe.bare! : probe.program;
  const countsCalls = probe.countsCalls || useBare;
  try {
    for (const p of PROBES) {
      const n = useBare ? p.bare : p.program;
      if (n) obj.program(n).setAutoload(p === probe);
    }
    const prog = obj.program(name);
    probe.prepare?.(prog, target);
    const port = fire ? await closedLoopbackPort() : 0;
    if (!useBare) obj.setReadOnly({ filter: encodeFilter({ l3Proto: ETH_P_IP, l4Proto: IPPROTO_UDP, dport: port }) });
    obj.load();
    const link = probe.attach(prog, target);
    if (!fire) {
      link.destroy();
      return { attached: true, sawDatagram: false, calls: -1, countsCalls, fireTried: false };
    }
    const hits = obj.map("hits");
    const read = (i: number) => {
      const v = new BigUint64Array(1);
      hits.lookup(new Uint8Array(new Uint32Array([i]).buffer), new Uint8Array(v.buffer));
      return Number(v[0]);
    };
    try {
      await sendLoopbackDatagram(port);
    } catch {
      link.destroy();
      return { attached: true, sawDatagram: false, calls: -1, countsCalls, fireTried: true }; // loopback down
    }
    const until = performance.now() + FIRE_WAIT_MS;
    while ((countsCalls ? read(1) : read(0)) === 0 && performance.now() < until) {
      await new Promise((r) => setTimeout(r, 10));
    }
    const outcome = {
      attached: true as const,
      sawDatagram: !countsCalls && read(0) > 0,
      calls: read(1),
      countsCalls,
      fireTried: true,
    };
    link.destroy();
    return outcome;
  } catch (e) {
    return { attached: false, error: (e as Error).message };
  } finally {
    obj.close();
  }
}

function attachCapability(
  probe: AttachProbe,
  where: string,
  r: AttachOutcome,
  config: KernelConfig | undefined,
  tracefsPath: string | undefined,
): Capability {
  const name = probe.kind;
  if (!r.attached) return { name, available: false, detail: explain(probe, r.error, config, tracefsPath) };
  if (!r.fireTried) return { name, available: true, detail: `attached to ${where}` };
  if (r.calls < 0) {
    return { name, available: true, detail: `attached to ${where}; not shown to fire: no IPv4 loopback here` };
  }
  if (r.countsCalls) {
    return r.calls > 0
      ? { name, available: true, detail: `attached to ${where}, fired ${r.calls}x around a loopback datagram` }
      : { name, available: false, detail: `attached to ${where} but never fired for a loopback datagram` };
  }
  return r.sawDatagram
    ? { name, available: true, detail: `attached to ${where}, saw a loopback datagram` }
    : { name, available: false, detail: `attached to ${where} but did not see a loopback datagram` };
}

/**
 * Probes the kernel. btfPath: a BTF file for kernels without their own; openBtf: that BTF (or the kernel's) when the
 * caller has it open already (parsing it again cost a start 50 ms here); scope: what to try.
 */
export async function probeCapabilities(
  btfPath?: string,
  scope: ProbeScope = FULL_PROBE,
  openBtf?: Btf,
): Promise<CapabilityReport> {
  const cfg = await readKernelConfig();
  const config = cfg?.config;

  let btf: Capability;
  let kernelBtf: Btf | undefined = openBtf;
  try {
    kernelBtf ??= Btf.kernel(btfPath);
    btf = { name: "BTF", available: true, detail: btfPath ? `${btfPath} (given with --btf)` : KERNEL_BTF };
  } catch (e) {
    const why = btfPath
      ? (e as Error).message
      : `${KERNEL_BTF} is missing (kernel built without CONFIG_DEBUG_INFO_BTF?)`;
    btf = { name: "BTF", available: false, detail: `${why}; give a BTF file with --btf` };
  }

  const tf = ensureTracefs();
  const tracefs: Capability = "path" in tf
    ? { name: "tracefs", available: true, detail: tf.mounted ? `${tf.path} (mounted by nettrace)` : tf.path }
    : { name: "tracefs", available: false, detail: tf.error };
  const tracefsPath = "path" in tf ? tf.path : undefined;

  const target = kernelBtf
    ? TARGET_CANDIDATES.find((f) => kernelBtf!.find(f, BtfKind.FUNC) > 0) ?? TARGET_CANDIDATES[0]
    : TARGET_CANDIDATES[0];

  const attach = {} as Record<AttachKind, Capability>;
  for (const probe of PROBES) {
    attach[probe.kind] = { name: probe.kind, available: false, detail: "not tried: this mode does not use it" };
  }
  let chosen: AttachKind | undefined;
  for (const kind of scope.kinds) {
    const probe = PROBES.find((p) => p.kind === kind)!;
    if (chosen && scope.oneOf.includes(kind)) {
      attach[kind] = { name: kind, available: false, detail: `not tried: ${chosen} is used` };
      continue;
    }
    const needsBtf = kind === "tp_btf" || kind === "fentry" || kind === "fexit";
    if (needsBtf && !btf.available) {
      attach[kind] = { name: kind, available: false, detail: "needs BTF, which this kernel does not have" };
      continue;
    }
    const r = await tryAttach(probe, target, !btf.available, btf.available ? btfPath : undefined, scope.fire);
    const where = kind.includes("tracepoint") || kind === "tp_btf" ? "skb:kfree_skb" : target;
    attach[kind] = attachCapability(probe, where, r, config, tracefsPath);
    if (attach[kind].available && scope.oneOf.includes(kind)) chosen = kind;
  }

  const reasons = loadDropReasons(kernelBtf, tracefsPath);
  const dropReasons: Capability = reasons.source === "none"
    ? {
      name: "drop reasons",
      available: false,
      detail: "this kernel reports no drop reasons (kfree_skb has no reason field)",
    }
    : {
      name: "drop reasons",
      available: true,
      detail: `${reasons.names.size} reasons (${
        reasons.source === "btf" ? "enum skb_drop_reason in BTF" : "kfree_skb tracepoint format"
      })`,
    };
  const ringBuffer: Capability = kernelHasRingBuffer()
    ? { name: "ring buffer", available: true, detail: "BPF_MAP_TYPE_RINGBUF: events go through it" }
    : {
      name: "ring buffer",
      available: false,
      detail: "no BPF_MAP_TYPE_RINGBUF (Linux 5.8): events go through a perf buffer",
    };
  const attachCookie: Capability = kernelHasAttachCookies()
    ? {
      name: "attach cookie",
      available: true,
      detail: "bpf_get_attach_cookie: one lifecycle program serves every point",
    }
    : {
      name: "attach cookie",
      available: false,
      detail:
        "bpf_get_attach_cookie is missing (Linux 5.15): lifecycle tracing loads a program per point (a slower start)",
    };
  if (!openBtf) kernelBtf?.close();
  const hz = Number(config?.get("CONFIG_HZ")) || undefined;
  return { kernelRelease: Deno.osRelease(), btf, tracefs, attach, ringBuffer, attachCookie, dropReasons, hz };
}
