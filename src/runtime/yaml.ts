/**
 * YAML as nettrace reads its data files (the tracer tree, the rules, the drop
 * reasons' texts) and a user's --rules file: plain values (YAML 1.2's core
 * schema, as the `yaml` package read them), with the line where each mapping
 * and list begins and where each key is written, for error messages.
 *
 * Parsed with js-yaml: it read the tree and the rules in 17 ms of a cold start
 * here, the `yaml` package in 75, and in the test guests that parse was the
 * largest part of a lifecycle start after attaching. js-yaml reports each node
 * it composes (its listener); a node's line is where its first key or item
 * is, else where it was opened.
 * @module
 */
import { CORE_SCHEMA, load, YAMLException } from "js-yaml";

/** A text that is not YAML: the line (from 1) and js-yaml's reason. */
export class YamlSyntaxError extends Error {
  constructor(readonly line: number, reason: string) {
    super(reason);
    this.name = "YamlSyntaxError";
  }
}

/** A parsed document: its value, and where its mappings, lists and keys are written. */
export interface LinedYaml {
  readonly value: unknown;
  /** the line (from 1) where a mapping or list of the value begins; undefined for anything else */
  lineOf(node: unknown): number | undefined;
  /** the line where a mapping of the value writes key */
  keyLine(map: unknown, key: string): number | undefined;
}

interface Frame {
  /** where the node was opened (from 1): before its leading blank lines, for a mapping's value */
  readonly line: number;
  /** the nodes composed inside it, in order (a mapping's: key, value, key, value, ...) */
  readonly children: { readonly value: unknown; readonly line: number }[];
}

const isObject = (v: unknown): v is object => typeof v === "object" && v !== null;

/** Whether a parsed value is a mapping (not a list, not a scalar). */
export function isMapping(v: unknown): v is Record<string, unknown> {
  return isObject(v) && !Array.isArray(v);
}

/** Parses text; a syntax error is a YamlSyntaxError with its line. */
export function parseYaml(text: string): LinedYaml {
  const starts = new WeakMap<object, number>();
  const keyLines = new WeakMap<object, Map<string, number>>();
  const stack: Frame[] = [];
  let value: unknown;
  try {
    value = load(text, {
      schema: CORE_SCHEMA,
      listener(event, state) {
        if (event === "open") {
          stack.push({ line: state.line + 1, children: [] });
          return;
        }
        const frame = stack.pop();
        if (!frame) return;
        const result: unknown = state.result;
        const line = frame.children[0]?.line ?? frame.line;
        if (isObject(result) && !starts.has(result)) {
          starts.set(result, line);
          if (!Array.isArray(result)) {
            const keys = new Map<string, number>();
            for (let i = 0; i + 1 < frame.children.length; i += 2) {
              const key = String(frame.children[i].value);
              if (!keys.has(key)) keys.set(key, frame.children[i].line);
            }
            keyLines.set(result, keys);
          }
        }
        stack.at(-1)?.children.push({ value: result, line });
      },
    });
  } catch (e) {
    if (e instanceof YAMLException) throw new YamlSyntaxError((e.mark?.line ?? 0) + 1, e.reason);
    throw e;
  }
  return {
    value,
    lineOf: (node) => (isObject(node) ? starts.get(node) : undefined),
    keyLine: (map, key) => (isObject(map) ? keyLines.get(map)?.get(key) : undefined),
  };
}
