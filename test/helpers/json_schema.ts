/**
 * nettrace's JSON output checked against docs/nettrace.schema.json with ajv
 * (JSON Schema 2020-12, strict mode).
 */
import { createRequire } from "node:module";
import type { Ajv2020 as Ajv, ValidateFunction } from "ajv/dist/2020.js";

/**
 * The validator, made at its first use: ajv is loaded then (with require, so the functions stay synchronous), not
 * when a test file is imported: under TCG its hundreds of CommonJS modules cost 2 minutes to load, which every file
 * importing this one paid, even where no JSON test ran.
 */
let made: { ajv: Ajv; validate: ValidateFunction } | undefined;

function validator(): { ajv: Ajv; validate: ValidateFunction } {
  if (made) return made;
  const { Ajv2020 } = createRequire(import.meta.url)("ajv/dist/2020.js") as typeof import("ajv/dist/2020.js");
  const schema = JSON.parse(Deno.readTextFileSync(new URL("../../docs/nettrace.schema.json", import.meta.url)));
  const ajv = new Ajv2020({ strict: true, allErrors: true, allowUnionTypes: true });
  return made = { ajv, validate: ajv.compile(schema) };
}

/** Why the object does not follow the schema, or undefined when it does. */
export function schemaProblem(record: unknown): string | undefined {
  const { ajv, validate } = validator();
  if (validate(record)) return undefined;
  return ajv.errorsText(validate.errors, { separator: "; " });
}

/** Parses JSON lines, each checked against the schema; throws naming the first bad line. */
export function parseJsonLines(text: string): Record<string, unknown>[] {
  return text.split("\n").filter((l) => l.trim()).map((line, i) => {
    let record: unknown;
    try {
      record = JSON.parse(line);
    } catch (e) {
      throw new Error(`line ${i + 1} is not JSON (${(e as Error).message}): ${line}`);
    }
    const why = schemaProblem(record);
    if (why) throw new Error(`line ${i + 1} does not follow docs/nettrace.schema.json: ${why}\n${line}`);
    return record as Record<string, unknown>;
  });
}
