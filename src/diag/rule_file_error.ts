/**
 * A malformed file of rules/ (diagnosis rules, drop reason texts, or the
 * user's --rules FILE): it names the file, the line and the field.
 * @module
 */

/** A malformed rule or reason file: exit status 2. */
export class RuleFileError extends Error {
  constructor(readonly file: string, readonly line: number, readonly field: string, detail: string) {
    super(`${file}:${line}: ${field}: ${detail}`);
  }
}
