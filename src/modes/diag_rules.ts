/**
 * The rules a --diag run uses: the built-in ones, after those of --rules
 * FILE. A file that is missing, not text, empty or malformed is bad input,
 * found before anything is loaded.
 * @module
 */
import type { Options } from "../cli/options.ts";
import { UsageError } from "../errors.ts";
import { RuleFileError } from "../diag/rule_file_error.ts";
import { loadRules } from "../diag/rules_source.ts";
import type { Rule } from "../diag/rules.ts";
import { inputFileProblem } from "../runtime/input_file.ts";
import { type TraceGroup, treeNames } from "../tracer/tree.ts";

/** Why a --rules file cannot be read as one, before its text is parsed; undefined when it can. */
function ruleFileProblem(path: string): string | undefined {
  const problem = inputFileProblem(path, "rule file");
  if (problem) return problem;
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(Deno.readFileSync(path));
  } catch (e) {
    return e instanceof TypeError ? "not a text file (not UTF-8)" : `cannot read it: ${(e as Error).message}`;
  }
  if (!text.replace(/#.*$/gm, "").trim()) return "has no rules (only comments or blank lines)";
  return undefined;
}

/** The rules of --diag (--rules FILE first), their points and groups checked against the tree. */
export function diagnosisRules(opts: Options, tree: TraceGroup[]): Rule[] {
  if (opts.rulesFile) {
    const why = ruleFileProblem(opts.rulesFile);
    if (why) throw new UsageError(`--rules '${opts.rulesFile}': ${why}`);
  }
  const { points, groups } = treeNames(tree);
  try {
    return loadRules(opts.rulesFile, points, groups);
  } catch (e) {
    if (e instanceof RuleFileError) throw new UsageError(`bad rule file: ${e.message}`);
    throw e;
  }
}
