/**
 * Whether each leaf of the tracer tree can be traced on the running kernel,
 * how, and why not: a tracepoint needs its event with an skb field (a socket
 * point: a socket field) in tracefs; a function needs a function attach
 * method (fentry, kprobe-multi, kprobe, in that order of preference), its
 * symbol, and an skb (socket) argument in BTF.
 * @module
 */
import type { AttachKind } from "../kernel/attach_kind.ts";
import type { CapabilityReport } from "../kernel/capability_report.ts";
import type { TracepointField, TracepointOffsets } from "../kernel/tracepoint_format.ts";
import type { TraceLeaf } from "./tree.ts";

/** How a leaf is attached, or why it cannot be. */
export type LeafPlan =
  | {
    usable: true;
    method: AttachKind;
    symbol?: string;
    /** position of the skb argument (functions), or of the socket argument (socket points) */
    skbArg?: number;
    offsets?: TracepointOffsets;
    /** a socket point's value: the record's field (tracepoints), or the argument (functions: offset is its
     * position, size 8) */
    value?: TracepointField;
    /** a socket point hooked at the function behind its tracepoint: the position of the congestion state entered */
    caStateArg?: number;
  }
  | { usable: false; why: string };

/** What the kernel offers, as the pure planner needs it. */
export interface KernelView {
  capabilities: CapabilityReport;
  /** where a tracepoint's record holds what the program reads, "no-event" when there is no such event */
  tracepointOffsets(category: string, event: string): TracepointOffsets | "no-event";
  /** a field of a tracepoint's record (a socket point's value), undefined when the record has none */
  tracepointField(category: string, event: string, field: string): TracepointField | undefined;
  /** the kallsyms name of a function: itself, or with a compiler suffix (.isra.0 ...) */
  symbol(name: string): string | undefined;
  /** position of the first parameter of one of these C types in BTF ("struct sk_buff *"); "no-btf"
   * when BTF does not describe the function (module functions), "no-param" when it has none */
  paramPosition(name: string, types: string[]): number | "no-btf" | "no-param";
  /** every function of the kernel's BTF that takes a struct sk_buff *, with its position */
  skbFunctions(): Array<{ name: string; position: number }>;
  /** the C return type of a function in BTF ("void" when it returns nothing), "no-btf" when BTF lacks it */
  returnType(name: string): string | "no-btf";
}

/** C types of an skb argument, and of a socket argument, as BTF spells them. */
export const SKB_TYPES = ["struct sk_buff *"];
export const SOCK_TYPES = ["struct sock *", "const struct sock *"];

/** Ways to attach kernel functions, best first. */
export const FUNCTION_METHODS: AttachKind[] = ["fentry", "kprobe-multi", "kprobe"];

/**
 * The ways the lifecycle mode attaches functions, best first: fentry costs
 * least per event (one program load per function at start), kprobe-multi
 * attaches all functions with one link, kprobes one by one.
 */
export const LIFE_FUNCTION_METHODS: AttachKind[] = FUNCTION_METHODS;

/** The best way to attach functions on this kernel among methods, or why there is none. */
export function functionMethod(
  caps: CapabilityReport,
  methods: AttachKind[] = FUNCTION_METHODS,
): { method?: AttachKind; why: string } {
  for (const m of methods) if (caps.attach[m].available) return { method: m, why: "" };
  return {
    why: `no function probes on this kernel (kprobe: ${caps.attach.kprobe.detail.split(" (")[0]}; fentry: ${
      caps.attach.fentry.detail.split(" (")[0]
    })`,
  };
}

/** Plans one leaf. */
export function planLeaf(leaf: TraceLeaf, k: KernelView, methods: AttachKind[] = FUNCTION_METHODS): LeafPlan {
  if (leaf.kind === "tp") {
    if (!k.capabilities.attach.tracepoint.available) {
      const why = "tracepoints cannot be attached";
      if (!leaf.behind) return { usable: false, why };
      // the function the tracepoint fires in, its socket where the record has skaddr
      const { func, skArg, caStateArg } = leaf.behind;
      const plan = planLeaf({ ...leaf, kind: "func", func, skArg, aliases: [], behind: undefined }, k, methods);
      if (!plan.usable) return { usable: false, why: `${why}, nor ${func} behind it: ${plan.why}` };
      return caStateArg === undefined ? plan : { ...plan, caStateArg };
    }
    const off = k.tracepointOffsets(leaf.category!, leaf.event!);
    if (off === "no-event") {
      return { usable: false, why: `no tracepoint ${leaf.category}:${leaf.event} in this kernel` };
    }
    const addr = leaf.sock ? "sk" : "skb";
    if (off[addr] === undefined) {
      return { usable: false, why: `${leaf.category}:${leaf.event} has no ${addr}addr field here` };
    }
    const field = leaf.value?.field;
    if (field === undefined) return { usable: true, method: "tracepoint", offsets: off };
    const value = k.tracepointField(leaf.category!, leaf.event!, field);
    if (!value || value.size > 8) {
      return { usable: false, why: `${leaf.category}:${leaf.event} has no ${field} field here` };
    }
    return { usable: true, method: "tracepoint", offsets: off, value };
  }
  const fm = functionMethod(k.capabilities, methods);
  if (!fm.method) return { usable: false, why: fm.why };
  for (const name of [leaf.func!, ...leaf.aliases]) {
    const symbol = k.symbol(name);
    if (!symbol) continue;
    const types = leaf.sock ? SOCK_TYPES : SKB_TYPES;
    const arg = k.paramPosition(name, types);
    if (arg === "no-param") return { usable: false, why: `${name} takes no ${types[0]} here (BTF)` };
    // not in the kernel's own BTF (a module's function): the tree's position
    const usual = (leaf.sock ? leaf.skArg : leaf.skbArg) ?? 0;
    const skbArg = arg === "no-btf" ? usual : arg;
    const value = leaf.value?.arg !== undefined ? { offset: leaf.value.arg, size: 8, signed: true } : undefined;
    return { usable: true, method: fm.method, symbol, skbArg, ...(value ? { value } : {}) };
  }
  return { usable: false, why: `not in the running kernel (inlined, renamed, or its module is not loaded)` };
}
