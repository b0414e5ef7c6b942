/**
 * Plain-language text for drop reasons (rules/drop_reasons.yaml): what the
 * reason means, which part of the stack drops, what to check. Parsing is
 * pure; a malformed file gives one RuleFileError naming file, line and field.
 * @module
 */
import { isMapping } from "../runtime/yaml.ts";
import { parseRuleYaml, RuleFileError } from "./rule_file_error.ts";

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
  const doc = parseRuleYaml(text, file);
  const top = doc.value;
  if (!isMapping(top)) throw new RuleFileError(file, 1, "top", "must map reason names to their text");
  const out = new Map<string, ReasonText>();
  for (const [name, value] of Object.entries(top)) {
    const line = doc.keyLine(top, name) ?? 1;
    if (!/^[A-Z][A-Z0-9_]*$/.test(name)) throw new RuleFileError(file, line, name, "is not a reason name (NO_SOCKET)");
    if (!isMapping(value)) throw new RuleFileError(file, line, name, "needs { area, meaning, advice }");
    const v = value;
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
