/**
 * nettrace -t ?: the tracer tree with, for each leaf, whether this kernel
 * can trace it, how, and why not.
 * @module
 */
import { Btf } from "../../lib/ffi/btf.ts";
import type { Options } from "../cli/options.ts";
import { HostError } from "../errors.ts";
import { FULL_PROBE, probeCapabilities, type ProbeScope } from "../bpf/capabilities.ts";
import { kernelSymbols } from "../kernel/kallsyms.ts";
import { ensureTracefs } from "../kernel/tracefs.ts";
import { readTracepointFields, readTracepointOffsets } from "../kernel/tracepoint_format.ts";
import { loadDropReasons } from "../kernel/drop_reason_loader.ts";
import type { DropReasons } from "../event/drop_reasons.ts";
import { loadResetReasons } from "../kernel/reset_reason_loader.ts";
import {
  functionMethod,
  type KernelView,
  type LeafPlan,
  LIFE_FUNCTION_METHODS,
  planLeaf,
} from "../tracer/availability.ts";
import { loadTree } from "../tracer/tree_source.ts";
import type { TraceGroup, TraceLeaf } from "../tracer/tree.ts";

/** The view of the running kernel the planner needs; scope: the attach kinds to try (-t ?: all, each seen to fire). */
export async function kernelView(
  btfPath: string | undefined,
  scope: ProbeScope = FULL_PROBE,
): Promise<
  { view: KernelView; dropReasons: () => DropReasons; resetReasons: () => Map<number, string>; close: () => void }
> {
  let btf: Btf | undefined;
  try {
    btf = Btf.kernel(btfPath);
  } catch { /* no BTF: functions cannot be planned */ }
  const capabilities = await probeCapabilities(btfPath, scope, btf);
  const tf = ensureTracefs();
  if ("error" in tf) {
    btf?.close();
    throw new HostError(`tracefs is not available: ${tf.error}`);
  }
  const view: KernelView = {
    capabilities,
    tracepointOffsets: (c, e) => readTracepointOffsets(tf.path, c, e),
    tracepointField: (c, e, f) => {
      const fields = readTracepointFields(tf.path, c, e);
      return fields === "no-event" ? undefined : fields.get(f);
    },
    symbol: (n) => kernelSymbols().functionSymbol(n),
    paramPosition: (n, types) => {
      const p = btf?.funcParams(n);
      if (!p) return "no-btf";
      const i = p.findIndex((a) => types.includes(a.typeName));
      return i >= 0 && i <= 4 ? i : "no-param";
    },
    skbFunctions: () => btf?.functionsTaking("struct sk_buff *") ?? [],
    returnType: (n) => btf?.funcReturnType(n) ?? "no-btf",
  };
  return {
    view,
    dropReasons: () => loadDropReasons(btf, tf.path),
    resetReasons: () => loadResetReasons(btf, tf.path),
    close: () => btf?.close(),
  };
}

function describe(leaf: TraceLeaf, plan: LeafPlan, noFunctions: boolean): string {
  const what = leaf.kind === "tp" ? `tracepoint ${leaf.category}:${leaf.event}` : `function ${leaf.func}`;
  const flags = [
    leaf.end ? "ends life" : "",
    leaf.clone ? "clones" : "",
    leaf.ret ? "ret" : "",
    leaf.sock ? "socket" : "",
    leaf.defaultOn ? "" : "off by default",
  ]
    .filter((f) => f).join(", ");
  const how = plan.usable
    ? `${plan.method}${plan.symbol && plan.symbol !== leaf.func ? ` (${plan.symbol})` : ""}`
    : noFunctions && leaf.kind === "func"
    ? "no function probes here"
    : plan.why;
  return `    ${plan.usable ? "+" : "-"} ${leaf.name.padEnd(32)} ${what}${flags ? ` [${flags}]` : ""}: ${how}`;
}

/** Prints the tree with what is usable; exit status 0. */
export async function runTraceList(opts: Options): Promise<number> {
  const tree = loadTree();
  const { view, close } = await kernelView(opts.btf);
  const lines: string[] = [];
  let usable = 0, total = 0, funcsSkipped = 0;
  const fm = functionMethod(view.capabilities, LIFE_FUNCTION_METHODS);
  const walk = (g: TraceGroup, depth: number) => {
    lines.push(`${"  ".repeat(depth)}${g.name}: ${g.desc}`);
    for (const leaf of g.leaves) {
      const plan = planLeaf(leaf, view, LIFE_FUNCTION_METHODS);
      total++;
      if (plan.usable) usable++;
      else if (leaf.kind === "func" && !fm.method) funcsSkipped++;
      lines.push(describe(leaf, plan, !fm.method));
    }
    for (const sub of g.groups) walk(sub, depth + 1);
  };
  try {
    tree.forEach((g) => walk(g, 0));
  } finally {
    close();
  }
  lines.push("");
  lines.push(`${usable} of ${total} trace points usable on this kernel (+ usable, - not)`);
  if (funcsSkipped) lines.push(`${funcsSkipped} function points skipped: ${fm.why}`);
  else if (fm.method) lines.push(`functions are attached with ${fm.method}`);
  await Deno.stdout.write(new TextEncoder().encode(lines.join("\n") + "\n"));
  return 0;
}
