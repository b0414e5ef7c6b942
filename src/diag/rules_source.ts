/**
 * The diagnosis rules in force: the user's (--rules FILE) first, then the
 * ones shipped in rules/diagnosis.yaml (embedded as text, so a compiled
 * binary has them too), parsed at run time and checked against the tracer
 * tree.
 * @module
 */
import shippedText from "../../rules/diagnosis.yaml" with { type: "text" };
import { RuleFileError } from "./rule_file_error.ts";
import { checkRuleNames, parseRules, type Rule } from "./rules.ts";

/** Reads and checks the rules; a user file that cannot be read or is malformed throws RuleFileError. */
export function loadRules(userFile: string | undefined, points: Set<string>, groups: Set<string>): Rule[] {
  const rules: Rule[] = [];
  if (userFile) {
    let text: string;
    try {
      text = Deno.readTextFileSync(userFile);
    } catch (e) {
      throw new RuleFileError(userFile, 0, "file", `cannot be read: ${(e as Error).message}`);
    }
    rules.push(...parseRules(text, userFile));
  }
  rules.push(...parseRules(shippedText, "rules/diagnosis.yaml"));
  checkRuleNames(rules, points, groups);
  return rules;
}
