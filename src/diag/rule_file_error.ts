/**
 * A malformed file of rules/ (diagnosis rules, drop reason texts, or the
 * user's --rules FILE): it names the file, the line and the field.
 * @module
 */
import { type LinedYaml, parseYaml, YamlSyntaxError } from "../runtime/yaml.ts";

/** A malformed rule or reason file: exit status 2. */
export class RuleFileError extends Error {
  constructor(readonly file: string, readonly line: number, readonly field: string, detail: string) {
    super(`${file}:${line}: ${field}: ${detail}`);
  }
}

/** The YAML of a rule or reason file; a syntax error is a RuleFileError (field "syntax") at its line. */
export function parseRuleYaml(text: string, file: string): LinedYaml {
  try {
    return parseYaml(text);
  } catch (e) {
    if (e instanceof YamlSyntaxError) throw new RuleFileError(file, e.line, "syntax", e.message.split("\n")[0]);
    throw e;
  }
}
