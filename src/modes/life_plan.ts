/**
 * The lifecycle mode's plan: which of the chosen trace points this run
 * attaches and how (tracepoint, fentry, kprobe-multi, kprobe), and the ones
 * it skips, counted by why. Decided from what this kernel offers, before
 * anything is loaded.
 * @module
 */
import type { Options } from "../cli/options.ts";
import { UsageError } from "../errors.ts";
import type { PlannedPoint } from "../bpf/life_program.ts";
import type { AttachKind } from "../kernel/attach_kind.ts";
import { type KernelView, LIFE_FUNCTION_METHODS, planLeaf } from "../tracer/availability.ts";
import type { TraceLeaf } from "../tracer/tree.ts";

/** The points to attach, and the skipped ones counted by why. */
export interface LifePlan {
  readonly planned: PlannedPoint[];
  readonly skipped: ReadonlyMap<string, number>;
  /** --trace-stack points not traced in this run (not chosen, or not attachable here) */
  readonly stacksMissing: string[];
}

/** Function methods allowed by --attach-method. */
export function functionMethods(opts: Options): AttachKind[] {
  switch (opts.attachMethod) {
    case "auto":
      return LIFE_FUNCTION_METHODS;
    case "kprobe":
    case "kprobe-multi":
    case "fentry":
      return [opts.attachMethod];
    case "tracepoint":
      return [];
    default:
      throw new UsageError(
        `--attach-method ${opts.attachMethod}: lifecycle tracing attaches with tracepoint, fentry, kprobe-multi or kprobe`,
      );
  }
}

/** Leaves for every BTF function taking an skb that the tree does not have (--all-skb-functions). */
export function btfSkbLeaves(view: KernelView, tree: TraceLeaf[]): TraceLeaf[] {
  const known = new Set(tree.flatMap((l) => [l.func ?? l.name, ...l.aliases]));
  return view.skbFunctions()
    .filter((f) => !known.has(f.name) && f.position <= 4)
    .map((f) => ({
      name: f.name,
      kind: "func" as const,
      func: f.name,
      skbArg: f.position,
      end: false,
      clone: false,
      ret: false,
      defaultOn: true,
      sock: false,
      withoutSkb: false,
      sockMode: false,
      aliases: [],
      group: "btf",
      line: 0,
    }));
}

/**
 * --ret, as in the C nettrace: every function that returns a value (its BTF prototype is not void); where BTF does
 * not describe the function (no BTF, a module), the points the tree marks `ret`.
 */
export function showsReturn(leaf: TraceLeaf, view: KernelView): boolean {
  if (leaf.kind !== "func" || leaf.clone) return false;
  const type = [leaf.func ?? leaf.name, ...leaf.aliases].map((n) => view.returnType(n)).find((t) => t !== "no-btf");
  return type === undefined ? leaf.ret : type !== "void";
}

/**
 * Plans each leaf against the kernel: how it attaches, or why it cannot. wantsReturn: whether --diag needs a
 * point's return value (besides --ret).
 */
export function planLife(
  leaves: TraceLeaf[],
  view: KernelView,
  opts: Options,
  wantsReturn: (leaf: TraceLeaf) => boolean,
  matchers?: ReadonlySet<TraceLeaf>,
  frees?: ReadonlySet<TraceLeaf>,
  stacks?: ReadonlySet<TraceLeaf>,
): LifePlan {
  const methods = functionMethods(opts);
  const planned: PlannedPoint[] = [];
  const skipped = new Map<string, number>();
  const skip = (why: string) => skipped.set(why, (skipped.get(why) ?? 0) + 1);
  const noFunctionProbes = !methods.some((m) => view.capabilities.attach[m].available);
  for (const leaf of leaves) {
    if (leaf.kind === "tp" && opts.attachMethod !== "auto" && opts.attachMethod !== "tracepoint") {
      skip(`--attach-method ${opts.attachMethod}`);
      continue;
    }
    const plan = planLeaf(leaf, view, methods);
    if (plan.usable) {
      planned.push({
        // --trace-noclone: a clone function is a point like another, its new skb is not followed;
        // --trace-free: the point ends the skb's life
        leaf: ((opts.traceNoclone || opts.funcStats) && leaf.clone) || (frees?.has(leaf) && !leaf.sock)
          ? {
            ...leaf,
            clone: leaf.clone && !opts.traceNoclone && !opts.funcStats,
            end: leaf.end || (frees?.has(leaf) ?? false),
          }
          : leaf,
        // --func-stats: the points only count their calls, nothing is probed on return
        ret: !opts.funcStats && !leaf.sock && ((opts.ret && showsReturn(leaf, view)) || wantsReturn(leaf)),
        method: plan.method as PlannedPoint["method"],
        symbol: plan.symbol,
        skbArg: plan.skbArg,
        offsets: plan.offsets,
        value: plan.value,
        caStateArg: plan.caStateArg,
        stack: stacks?.has(leaf) || undefined,
        followOnly: (matchers && !leaf.sock && !matchers.has(leaf)) || undefined,
      });
    } else {
      skip(
        leaf.kind === "func" && noFunctionProbes
          ? methods.length ? "no function probes on this kernel" : "--attach-method tracepoint"
          : plan.why.startsWith("not in the running kernel")
          ? "function not in the running kernel"
          : plan.why,
      );
    }
  }
  // (a planned leaf may be a copy, --trace-free or --trace-noclone changed it: compare names)
  const matcherNames = new Set([...matchers ?? []].map((l) => l.name));
  if (matchers && !planned.some((p) => !p.leaf.sock && matcherNames.has(p.leaf.name))) {
    throw new UsageError(
      `--trace-matcher ${
        opts.traceMatcher.join(",")
      }: none of these points is traced in this run (nettrace -t ? says why)`,
    );
  }
  if (frees) {
    const traced = new Set(planned.map((p) => p.leaf.name));
    const missing = [...frees].filter((l) => !traced.has(l.name)).map((l) => l.name);
    if (missing.length) {
      throw new UsageError(`--trace-free: ${missing.join(", ")} not traced in this run (nettrace -t ? says why)`);
    }
  }
  // a point the tree has but this run does not trace (a function on a kernel without function probes) is no bad input
  const traced = new Set(planned.map((p) => p.leaf.name));
  const stacksMissing = [...stacks ?? []].map((l) => l.name).filter((n) => !traced.has(n));
  return { planned, skipped, stacksMissing };
}
