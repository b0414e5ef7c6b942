/**
 * What the running kernel can do, found by trying: each attach kind is a tiny
 * program (bpf/probe.bpf.c) loaded and attached on its own, then removed.
 * Kernel version numbers are never used to decide.
 * @module
 */
import { type BpfLink, BpfObject, type BpfProgram } from "../../lib/ffi/bpf_object.ts";
import { Btf, BtfKind } from "../../lib/ffi/btf.ts";
import { PROBE_OBJECT } from "../bpf/objects.ts";
import { KERNEL_BTF } from "./btf_source.ts";
import { type KernelConfig, readKernelConfig } from "./kconfig.ts";
import { ensureTracefs } from "./tracefs.ts";
import { loadDropReasons } from "./drop_reason_loader.ts";

/** Ways of attaching a BPF program to a point of the kernel. */
export type AttachKind =
  | "tracepoint"
  | "raw_tracepoint"
  | "tp_btf"
  | "kprobe"
  | "kretprobe"
  | "kprobe-multi"
  | "fentry"
  | "fexit";

/** One line of the report. */
export interface Capability {
  name: string;
  available: boolean;
  /** where/what when available, why not when unavailable */
  detail: string;
}

/** The whole report. */
export interface CapabilityReport {
  kernelRelease: string;
  btf: Capability;
  tracefs: Capability;
  attach: Record<AttachKind, Capability>;
  dropReasons: Capability;
}

interface AttachProbe {
  kind: AttachKind;
  program: string;
  /** before load: set the target of BTF-typed programs */
  prepare?: (prog: BpfProgram, target: string) => void;
  attach: (prog: BpfProgram, target: string) => BpfLink;
  /** config options that explain a failure, most likely first */
  needs: string[];
}

const PROBES: AttachProbe[] = [
  {
    kind: "tracepoint",
    program: "nt_probe_tp",
    attach: (p) => p.attachTracepoint("skb", "kfree_skb"),
    needs: ["CONFIG_BPF_EVENTS"],
  },
  {
    kind: "raw_tracepoint",
    program: "nt_probe_raw",
    attach: (p) => p.attachRawTracepoint("kfree_skb"),
    needs: ["CONFIG_BPF_EVENTS"],
  },
  { kind: "tp_btf", program: "nt_probe_tpbtf", attach: (p) => p.attachTrace(), needs: ["CONFIG_DEBUG_INFO_BTF"] },
  {
    kind: "kprobe",
    program: "nt_probe_kp",
    attach: (p, t) => p.attachKprobe(t, false),
    needs: ["CONFIG_KPROBES", "CONFIG_KPROBE_EVENTS"],
  },
  {
    kind: "kretprobe",
    program: "nt_probe_krp",
    attach: (p, t) => p.attachKprobe(t, true),
    needs: ["CONFIG_KPROBES", "CONFIG_KRETPROBES"],
  },
  {
    kind: "kprobe-multi",
    program: "nt_probe_kpm",
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

/** Kernel functions a probe attaches to: the first that the kernel's BTF has. */
const TARGET_CANDIDATES = ["ip_rcv", "__netif_receive_skb", "netif_receive_skb", "kfree_skb_reason"];

function explain(probe: AttachProbe, message: string, config: KernelConfig | undefined, tracefs?: string): string {
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

function tryAttach(probe: AttachProbe, target: string, btfPath: string | undefined): string | undefined {
  const obj = BpfObject.open(PROBE_OBJECT, { name: "nt_probe", btfCustomPath: btfPath });
  try {
    for (const p of PROBES) obj.program(p.program).setAutoload(p === probe);
    const prog = obj.program(probe.program);
    probe.prepare?.(prog, target);
    obj.load();
    probe.attach(prog, target).destroy();
    return undefined;
  } catch (e) {
    return (e as Error).message;
  } finally {
    obj.close();
  }
}

/** Probes the kernel. btfPath: a BTF file for kernels without their own. */
export async function probeCapabilities(btfPath?: string): Promise<CapabilityReport> {
  const cfg = await readKernelConfig();
  const config = cfg?.config;

  let btf: Capability;
  let kernelBtf: Btf | undefined;
  try {
    kernelBtf = Btf.kernel(btfPath);
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
    const needsBtf = probe.kind === "tp_btf" || probe.kind === "fentry" || probe.kind === "fexit";
    if (needsBtf && !btf.available) {
      attach[probe.kind] = { name: probe.kind, available: false, detail: "needs BTF, which this kernel does not have" };
      continue;
    }
    const err = tryAttach(probe, target, btf.available ? btfPath : undefined);
    const where = probe.kind.includes("tracepoint") || probe.kind === "tp_btf" ? "skb:kfree_skb" : target;
    attach[probe.kind] = err === undefined
      ? { name: probe.kind, available: true, detail: `attached to ${where}` }
      : { name: probe.kind, available: false, detail: explain(probe, err, config, tracefsPath) };
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
  kernelBtf?.close();
  return { kernelRelease: Deno.osRelease(), btf, tracefs, attach, dropReasons };
}

/** The report as text: one line per capability. */
export function formatCapabilityReport(r: CapabilityReport): string {
  const rows = [r.btf, r.tracefs, ...Object.values(r.attach), r.dropReasons];
  const lines = rows.map((c) => `  ${c.name.padEnd(15)} ${(c.available ? "yes" : "no").padEnd(4)} ${c.detail}`);
  return [`kernel ${r.kernelRelease}`, ...lines, ""].join("\n");
}
