/**
 * Plain-language text for drop reasons (rules/drop_reasons.yaml): what the
 * reason means, which part of the stack drops, what to check. Parsing is
 * pure; a malformed file gives one RuleFileError naming file, line and field.
 * @module
 */
import { isMap, isScalar, LineCounter, parseDocument } from "../runtime/yaml.ts";
import { RuleFileError } from "./rule_file_error.ts";

/** The text of one reason. */
export interface ReasonText {
  /** the part of the kernel that drops: tcp, ip, netfilter, tc, ... */
  area: string;
  meaning: string;
  advice?: string;
}

const FIELDS = new Set(["area", "meaning", "advice"]);

/** Parses the reasons file: NAME -> text. */
export function parseReasonTexts(text: string, file: string): Map<string, ReasonText> {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false });
  if (doc.errors.length) {
    const e = doc.errors[0];
    throw new RuleFileError(file, lc.linePos(e.pos[0]).line, "syntax", e.message.split("\n")[0]);
  }
  if (!isMap(doc.contents)) throw new RuleFileError(file, 1, "top", "must map reason names to their text");
  const out = new Map<string, ReasonText>();
  for (const pair of doc.contents.items) {
    const keyNode = pair.key as { value?: unknown; range?: [number, number, number] };
    const line = keyNode?.range ? lc.linePos(keyNode.range[0]).line : 1;
    const name = String(isScalar(pair.key) ? pair.key.value : pair.key);
    if (!/^[A-Z][A-Z0-9_]*$/.test(name)) throw new RuleFileError(file, line, name, "is not a reason name (NO_SOCKET)");
    if (!isMap(pair.value)) throw new RuleFileError(file, line, name, "needs { area, meaning, advice }");
    const v = pair.value.toJSON() as Record<string, unknown>;
    for (const k of Object.keys(v)) {
      if (!FIELDS.has(k)) throw new RuleFileError(file, line, `${name}.${k}`, "unknown field (area, meaning, advice)");
    }
    for (const k of ["area", "meaning"]) {
      if (typeof v[k] !== "string" || !v[k]) throw new RuleFileError(file, line, `${name}.${k}`, "is required text");
    }
    if (v.advice !== undefined && typeof v.advice !== "string") {
      throw new RuleFileError(file, line, `${name}.advice`, "must be text");
    }
    if (out.has(name)) throw new RuleFileError(file, line, name, "appears twice");
    out.set(name, { area: v.area as string, meaning: v.meaning as string, advice: v.advice as string | undefined });
  }
  return out;
}
