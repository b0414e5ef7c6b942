/**
 * The tracer tree (src/tracer/tree.yaml): groups of trace points by layer,
 * each leaf a kernel function or a tracepoint. Parsing and validation are
 * pure: a malformed file gives one TreeError naming its line.
 * @module
 */
import { isMapping, parseYaml, YamlSyntaxError } from "../runtime/yaml.ts";

/** One point of the tree. */
export interface TraceLeaf {
  /** the name -t takes: the function, or the tracepoint's event */
  name: string;
  kind: "func" | "tp";
  /** kernel function (kind func) */
  func?: string;
  /** tracepoint category and event (kind tp) */
  category?: string;
  event?: string;
  /** usual position of the skb argument (kind func), checked against BTF */
  skbArg?: number;
  /** the skb's life ends here */
  end: boolean;
  /** returns a new skb that joins the context */
  clone: boolean;
  /** the return value is worth showing */
  ret: boolean;
  /** on unless off by default */
  defaultOn: boolean;
  /** a netfilter function whose details are read: hook (nf_hook_slow), chain (nft), table (x_tables) */
  nf?: "hook" | "chain" | "table";
  /**
   * a point about a socket, not an skb: the function's struct sock * argument
   * or the tracepoint record's skaddr (a record that also has an skb counts
   * only without one); its events are shown per socket
   */
  sock: boolean;
  /** usual position of the struct sock * argument (kind func, sock), checked against BTF */
  skArg?: number;
  /** a socket point's value: a field of the tracepoint's record or a function's argument, and what it is */
  value?: SockValue;
  /** a socket tracepoint whose record also carries an skb counts only records without one (the skb's point has
   * the others): tcp_send_reset is the active reset only without an skb */
  withoutSkb: boolean;
  /** in a group for --sock (`mode: sock`): lifecycle tracing takes it only when -t names it */
  sockMode: boolean;
  /** a socket tracepoint's function (the one it fires in), hooked in its place where tracepoints cannot be attached */
  behind?: BehindFunction;
  /** other names of the function on some kernels */
  aliases: string[];
  desc?: string;
  /** the group it belongs to (innermost) */
  group: string;
  /** line in the tree file */
  line: number;
}

/** What a socket point's value is: the state entered, or bytes sent or received (negative: an error). */
export interface SockValue {
  /** the record's field (tracepoints) */
  field?: string;
  /** the argument's position (functions) */
  arg?: number;
  is: "state" | "bytes";
}

/**
 * The function a socket tracepoint fires in, and where its arguments hold what the record would: hooked instead of
 * the tracepoint where tracepoints cannot be attached (a classic tracepoint is a perf event, which Debian's
 * kernels refuse a process without CAP_SYS_ADMIN, as the packages' service runs) and functions can (fentry).
 */
export interface BehindFunction {
  func: string;
  /** position of the struct sock * argument, checked against BTF */
  skArg: number;
  /** position of the congestion state entered (tcp_set_ca_state), when the point has one */
  caStateArg?: number;
}

/** A group of leaves and subgroups. */
export interface TraceGroup {
  name: string;
  desc: string;
  leaves: TraceLeaf[];
  groups: TraceGroup[];
  line: number;
}

/** A malformed tree file. */
export class TreeError extends Error {
  constructor(readonly file: string, readonly line: number, detail: string) {
    super(`${file}:${line}: ${detail}`);
  }
}

const LEAF_KEYS = new Set([
  "name",
  "func",
  "tp",
  "skb",
  "sk",
  "sock",
  "end",
  "clone",
  "ret",
  "default",
  "alias",
  "desc",
  "nf",
  "value",
  "without_skb",
  "behind",
]);
const NF_KINDS = new Set(["hook", "chain", "table"]);
const GROUP_KEYS = new Set(["group", "desc", "leaves", "groups", "mode"]);
const VALUE_KINDS = new Set(["state", "bytes"]);
const NAME = /^[A-Za-z_][A-Za-z0-9_.]*$/;

/** Parses and validates the text of a tree file. */
export function parseTree(text: string, file = "tree.yaml"): TraceGroup[] {
  let doc;
  try {
    doc = parseYaml(text);
  } catch (e) {
    if (e instanceof YamlSyntaxError) throw new TreeError(file, e.line, e.message.split("\n")[0]);
    throw e;
  }
  const lineOf = (node: unknown): number => doc.lineOf(node) ?? 1;
  const seen = new Map<string, number>();

  /** An argument position (0 to 4) under key k of a mapping, or undefined when it has none. */
  const argPosition = (v: Record<string, unknown>, k: string, what: string, line: number): number | undefined => {
    const n = v[k];
    if (n === undefined) return undefined;
    if (typeof n !== "number" || !Number.isInteger(n) || n < 0 || n > 4) {
      throw new TreeError(file, line, `${what} must be an argument position from 0 to 4`);
    }
    return n;
  };

  const readLeaf = (node: unknown, group: string, sockMode: boolean): TraceLeaf => {
    if (!isMapping(node)) throw new TreeError(file, lineOf(node), "a leaf must be a mapping ({ func: ... })");
    const line = lineOf(node);
    const v = node;
    for (const k of Object.keys(v)) {
      if (!LEAF_KEYS.has(k)) throw new TreeError(file, line, `unknown leaf field '${k}'`);
    }
    const flag = (k: string, dflt: boolean): boolean => {
      if (v[k] === undefined) return dflt;
      if (typeof v[k] !== "boolean") throw new TreeError(file, line, `'${k}' must be true or false`);
      return v[k] as boolean;
    };
    let leaf: TraceLeaf;
    const position = (k: string) => argPosition(v, k, `'${k}'`, line);
    const common = {
      end: flag("end", false),
      clone: flag("clone", false),
      ret: flag("ret", false),
      defaultOn: flag("default", true),
      sock: flag("sock", false),
      withoutSkb: flag("without_skb", false),
      sockMode,
      desc: typeof v.desc === "string" ? v.desc : undefined,
      group,
      line,
    };
    if (v.func !== undefined && v.tp !== undefined) {
      throw new TreeError(file, line, "a leaf has 'func' or 'tp', not both");
    }
    if (typeof v.func === "string") {
      if (!NAME.test(v.func)) throw new TreeError(file, line, `'${v.func}' is not a function name`);
      const skb = position("skb") ?? 0;
      const alias = v.alias ?? [];
      if (!Array.isArray(alias) || alias.some((a) => typeof a !== "string" || !NAME.test(a))) {
        throw new TreeError(file, line, "'alias' must be a list of function names");
      }
      if (v.nf !== undefined && (typeof v.nf !== "string" || !NF_KINDS.has(v.nf))) {
        throw new TreeError(file, line, "'nf' must be hook, chain or table");
      }
      leaf = { name: v.func, kind: "func", func: v.func, skbArg: skb, aliases: alias as string[], ...common };
      if (v.nf !== undefined) leaf.nf = v.nf as TraceLeaf["nf"];
      if (common.sock) {
        if (v.skb !== undefined) throw new TreeError(file, line, "a socket point ('sock: true') takes 'sk', not 'skb'");
        leaf.skArg = position("sk") ?? 0;
      } else if (v.sk !== undefined) throw new TreeError(file, line, "'sk' is for socket points ('sock: true')");
    } else if (typeof v.tp === "string") {
      const m = v.tp.match(/^([a-z0-9_]+):([a-z0-9_]+)$/);
      if (!m) throw new TreeError(file, line, `'${v.tp}' is not CATEGORY:EVENT`);
      if (v.skb !== undefined || v.sk !== undefined || v.alias !== undefined || v.nf !== undefined) {
        throw new TreeError(file, line, "'skb', 'sk', 'alias' and 'nf' apply to functions, not tracepoints");
      }
      leaf = { name: m[2], kind: "tp", category: m[1], event: m[2], aliases: [], ...common };
    } else {
      throw new TreeError(file, line, "a leaf needs 'func: NAME' or 'tp: CATEGORY:EVENT'");
    }
    if (v.name !== undefined) {
      if (typeof v.name !== "string" || !NAME.test(v.name)) throw new TreeError(file, line, "'name' must be a name");
      leaf.name = v.name;
    }
    if (v.value !== undefined) leaf.value = readValue(v.value, leaf, line);
    if (v.behind !== undefined) leaf.behind = readBehind(v.behind, leaf, line);
    if (leaf.withoutSkb && !(leaf.sock && leaf.kind === "tp")) {
      throw new TreeError(file, line, "'without_skb' is for socket tracepoints");
    }
    if (sockMode && !leaf.sock) {
      throw new TreeError(file, line, "a group for --sock (mode: sock) holds socket points only");
    }
    if (leaf.end && leaf.clone) throw new TreeError(file, line, "a leaf cannot both end and clone an skb");
    if (leaf.sock && (leaf.end || leaf.clone || leaf.ret || leaf.nf)) {
      throw new TreeError(file, line, "a socket point ('sock: true') has no skb to end, clone, return or filter");
    }
    const prev = seen.get(leaf.name);
    if (prev !== undefined) throw new TreeError(file, line, `'${leaf.name}' is already a leaf (line ${prev})`);
    seen.set(leaf.name, line);
    return leaf;
  };

  const readBehind = (raw: unknown, leaf: TraceLeaf, line: number): BehindFunction => {
    if (leaf.kind !== "tp" || !leaf.sock || leaf.value) {
      throw new TreeError(file, line, "'behind' is for socket tracepoints without a value");
    }
    const v = (isMapping(raw) ? raw : {}) as Record<string, unknown>;
    const unknown = Object.keys(v).find((k) => !["func", "sk", "ca_state"].includes(k));
    if (unknown) throw new TreeError(file, line, `unknown field '${unknown}' in 'behind'`);
    if (typeof v.func !== "string" || !NAME.test(v.func)) {
      throw new TreeError(file, line, "'behind' needs { func: NAME, sk: N }: the function the tracepoint fires in");
    }
    const at = (k: string) => argPosition(v, k, `'behind: ${k}'`, line);
    const caStateArg = at("ca_state");
    return { func: v.func, skArg: at("sk") ?? 0, ...(caStateArg !== undefined ? { caStateArg } : {}) };
  };

  const readValue = (raw: unknown, leaf: TraceLeaf, line: number): SockValue => {
    if (!leaf.sock) throw new TreeError(file, line, "'value' is for socket points ('sock: true')");
    const v = (raw ?? {}) as Record<string, unknown>;
    const keys = Object.keys(v).filter((k) => !["field", "arg", "is"].includes(k));
    if (typeof raw !== "object" || keys.length) {
      throw new TreeError(file, line, "'value' is { field: NAME, is: KIND } (tracepoints) or { arg: N, is: KIND }");
    }
    if (typeof v.is !== "string" || !VALUE_KINDS.has(v.is)) {
      throw new TreeError(file, line, "'value.is' must be state or bytes");
    }
    const is = v.is as SockValue["is"];
    if (leaf.kind === "tp") {
      if (typeof v.field !== "string" || !NAME.test(v.field) || v.arg !== undefined) {
        throw new TreeError(file, line, "a tracepoint's 'value' names a field of its record: { field: NAME }");
      }
      return { field: v.field, is };
    }
    const arg = v.arg;
    if (typeof arg !== "number" || !Number.isInteger(arg) || arg < 0 || arg > 4 || v.field !== undefined) {
      throw new TreeError(file, line, "a function's 'value' is an argument position from 0 to 4: { arg: N }");
    }
    return { arg, is };
  };

  const readGroup = (node: unknown, parentSockMode: boolean): TraceGroup => {
    if (!isMapping(node)) throw new TreeError(file, lineOf(node), "a group must be a mapping (group: NAME)");
    const line = lineOf(node);
    for (const key of Object.keys(node)) {
      if (!GROUP_KEYS.has(key)) {
        throw new TreeError(file, doc.keyLine(node, key) ?? line, `unknown group field '${key}'`);
      }
    }
    const name = node.group;
    if (typeof name !== "string" || !/^[a-z][a-z0-9-]*$/.test(name)) {
      throw new TreeError(file, line, "a group needs 'group: NAME' (lowercase letters, digits, '-')");
    }
    if (seen.has(name)) throw new TreeError(file, line, `'${name}' is already used (line ${seen.get(name)})`);
    seen.set(name, line);
    const desc = node.desc;
    const mode = node.mode;
    if (mode !== undefined && mode !== "sock") throw new TreeError(file, line, "'mode' can only be sock");
    const sockMode = parentSockMode || mode === "sock";
    const leavesNode = node.leaves;
    const groupsNode = node.groups;
    if (leavesNode !== undefined && !Array.isArray(leavesNode)) {
      throw new TreeError(file, line, "'leaves' must be a list");
    }
    if (groupsNode !== undefined && !Array.isArray(groupsNode)) {
      throw new TreeError(file, line, "'groups' must be a list");
    }
    const group: TraceGroup = {
      name,
      desc: typeof desc === "string" ? desc : "",
      leaves: leavesNode ? leavesNode.map((l) => readLeaf(l, name, sockMode)) : [],
      groups: groupsNode ? groupsNode.map((g) => readGroup(g, sockMode)) : [],
      line,
    };
    if (!group.leaves.length && !group.groups.length) throw new TreeError(file, line, `group '${name}' is empty`);
    return group;
  };

  if (!Array.isArray(doc.value)) throw new TreeError(file, 1, "the tree must be a list of groups");
  return doc.value.map((g) => readGroup(g, false));
}

/** Every leaf of groups, depth first, in file order. */
export function allLeaves(groups: TraceGroup[]): TraceLeaf[] {
  const out: TraceLeaf[] = [];
  const walk = (g: TraceGroup) => {
    out.push(...g.leaves);
    g.groups.forEach(walk);
  };
  groups.forEach(walk);
  return out;
}

/** Names of every point and every group of a tree. */
export function treeNames(groups: TraceGroup[]): { points: Set<string>; groups: Set<string> } {
  const points = new Set<string>(), names = new Set<string>();
  const walk = (g: TraceGroup) => {
    names.add(g.name);
    for (const l of g.leaves) points.add(l.name);
    g.groups.forEach(walk);
  };
  groups.forEach(walk);
  return { points, groups: names };
}
