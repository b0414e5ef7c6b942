/**
 * README.md's compatibility table against the C nettrace's option list (test/fixtures/c_nettrace_options.txt):
 * every C option has a row; what the table says is accepted here is, and what it says is missing is refused.
 */
import { assert, assertEquals, assertThrows } from "../helpers/assert.ts";
import { parseArgs } from "../../src/cli/options.ts";
import { UsageError } from "../../src/errors.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

interface COption {
  /** "-s, --saddr" */
  names: string;
  /** the long name, else the short one: "--saddr", "-v" */
  name: string;
  /** an example value, when it takes one */
  value?: string;
}

/** The C options: names, then an optional example value, then two spaces and C's words. */
function cOptions(): COption[] {
  return Deno.readTextFileSync(`${ROOT}test/fixtures/c_nettrace_options.txt`).split("\n")
    .filter((l) => l.startsWith("-"))
    .map((l) => {
      const head = l.split(/ {2,}/)[0];
      const m = head.match(/^((?:-\w, )?--?[\w-]+)(?: (\S+))?$/);
      if (!m) throw new Error(`c_nettrace_options.txt: cannot read '${l}'`);
      const name = m[1].split(", ").at(-1)!;
      return { names: m[1], name, value: m[2] };
    });
}

/** README's table rows: option names -> status. */
function readmeTable(): Map<string, string> {
  const text = Deno.readTextFileSync(`${ROOT}README.md`);
  const table = text.split("<!-- c-options -->")[1]?.split("<!-- /c-options -->")[0] ?? "";
  const rows = new Map<string, string>();
  for (const m of table.matchAll(/^\| `([^`]+)` +\| (\w+) +\|/gm)) rows.set(m[1], m[2]);
  return rows;
}

Deno.test("C options: the fixture lists C's options; README's table has one row for each, and no other", () => {
  const c = cOptions();
  assert(c.length >= 50, `only ${c.length} C options read`);
  const rows = readmeTable();
  assertEquals([...rows.keys()].sort(), c.map((o) => o.names).sort());
  for (const [names, status] of rows) {
    assert(["yes", "partial", "different", "no"].includes(status), `${names}: status '${status}'`);
  }
});

Deno.test("C options: what the table says works is accepted, what it says is missing is refused as unknown", () => {
  const rows = readmeTable();
  // a mode the option belongs to, where one alone would be refused for another reason
  const context: Record<string, string[]> = {
    "--diag-quiet": ["--diag"],
    "--diag-keep": ["--diag"],
    "--hooks": ["--diag"],
    "--drop-stack": ["--drop"],
    "--latency-free": ["--latency-show"],
    "--latency-summary": ["-p", "icmp"],
    "--tcp-rtt": ["--sock"],
    "--tcp-srtt": ["--sock"],
    "--filter-srtt": ["--rtt"],
    "--filter-minrtt": ["--rtt"],
  };
  for (const o of cOptions()) {
    const status = rows.get(o.names)!;
    const argv = [...(context[o.name] ?? []), o.name, ...(o.value ? [o.value] : [])];
    if (status === "no") {
      const e = assertThrows(() => parseArgs(argv), UsageError);
      assert(e.message.startsWith(`unknown option '${o.name}'`), `${o.name}: ${e.message}`);
    } else {
      try {
        parseArgs(argv);
      } catch (e) {
        throw new Error(`${o.name} is '${status}' in README's table, but ${argv.join(" ")}: ${(e as Error).message}`);
      }
    }
  }
});

Deno.test("C command lines from its documentation: each parses here, or names an option the table says is missing", () => {
  const rows = readmeTable();
  const longToStatus = new Map([...rows].map(([names, status]) => [names.split(", ").at(-1)!, status]));
  const lines = Deno.readTextFileSync(`${ROOT}test/fixtures/c_command_lines.txt`).split("\n")
    .filter((l) => l && !l.startsWith("#"));
  assert(lines.length >= 15, `only ${lines.length} command lines read`);
  const missing: string[] = [];
  for (const line of lines) {
    const argv = line.split(" ");
    const absent = argv.filter((a) => longToStatus.get(a) === "no");
    if (absent.length) {
      assertThrows(() => parseArgs(argv), UsageError);
      missing.push(`${line}  (needs ${absent.join(", ")})`);
      continue;
    }
    try {
      parseArgs(argv);
    } catch (e) {
      throw new Error(`'${line}' does not parse: ${(e as Error).message}`);
    }
  }
  if (missing.length) console.log(`  not yet here:\n    ${missing.join("\n    ")}`);
});
