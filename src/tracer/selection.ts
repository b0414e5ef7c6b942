/**
 * Which leaves of the tracer tree a run traces: -t/--trace names groups or
 * leaves (or all of them), --trace-matcher keeps names matching a regular expression,
 * --trace-exclude removes groups or leaves. Pure.
 * @module
 */
import { UsageError } from "../errors.ts";
import { allLeaves, type TraceGroup, type TraceLeaf } from "./tree.ts";

/** What the user asked for. */
export interface TraceSelection {
  /** -t names; empty: every leaf that is on by default */
  trace: string[];
  matcher?: RegExp;
  exclude: string[];
  /** --sock: socket points only (by default every one that is on); otherwise the points for --sock (groups with
   * `mode: sock`) only where -t names them */
  sock?: boolean;
}

function findGroup(groups: TraceGroup[], name: string): TraceGroup | undefined {
  for (const g of groups) {
    if (g.name === name) return g;
    const sub = findGroup(g.groups, name);
    if (sub) return sub;
  }
  return undefined;
}

/**
 * Leaves named by one -t/--trace-exclude item: a group (its default-on leaves), a leaf, or (as in the C nettrace)
 * "all": every leaf of the tree, also those off by default.
 */
function resolveName(groups: TraceGroup[], byName: Map<string, TraceLeaf>, name: string, option: string): TraceLeaf[] {
  const g = findGroup(groups, name);
  if (g) return allLeaves([g]).filter((l) => l.defaultOn);
  if (name === "all") return allLeaves(groups);
  const leaf = byName.get(name);
  if (leaf) return [leaf];
  throw new UsageError(`${option}: no group or trace point '${name}' (nettrace -t ? lists them)`);
}

/** The leaves a list of names stands for (--trace-matcher): groups (their default-on leaves), leaves, or all. */
export function namedLeaves(groups: TraceGroup[], names: string[], option: string): Set<TraceLeaf> {
  const byName = new Map(allLeaves(groups).map((l) => [l.name, l]));
  return new Set(names.flatMap((n) => resolveName(groups, byName, n, option)));
}

/** The leaves to trace, in tree order. */
export function selectLeaves(groups: TraceGroup[], sel: TraceSelection): TraceLeaf[] {
  const leaves = allLeaves(groups);
  const byName = new Map(leaves.map((l) => [l.name, l]));
  const named = sel.trace.flatMap((n) => resolveName(groups, byName, n, "-t"));
  if (sel.sock && named.length && !named.some((l) => l.sock)) {
    throw new UsageError(
      `-t ${sel.trace.join(",")}: no socket point there (--sock traces sockets; nettrace -t ? lists them)`,
    );
  }
  const chosen = new Set<TraceLeaf>(
    sel.trace.length
      ? named.filter((l) => !sel.sock || l.sock)
      : leaves.filter((l) => l.defaultOn && (sel.sock ? l.sock : !l.sockMode)),
  );
  for (const n of sel.exclude) for (const l of resolveName(groups, byName, n, "--trace-exclude")) chosen.delete(l);
  return leaves.filter((l) => chosen.has(l) && (!sel.matcher || sel.matcher.test(l.name)));
}
