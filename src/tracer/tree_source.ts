/**
 * The tracer tree shipped with nettrace: src/tracer/tree.yaml, embedded as
 * text (so a compiled binary has it too) and parsed at run time.
 * @module
 */
import treeText from "./tree.yaml" with { type: "text" };
import { parseTree, type TraceGroup } from "./tree.ts";

/** Parses the shipped tree. */
export function loadTree(): TraceGroup[] {
  return parseTree(treeText, "src/tracer/tree.yaml");
}
