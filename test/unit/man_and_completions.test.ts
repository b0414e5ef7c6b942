/** The man page and the completions are written from the option table: every option is in each, and they work. */
import { assert, assertEquals } from "../helpers/assert.ts";
import { OPTION_TABLE } from "../../src/cli/options.ts";
import { manPage, roffEscape } from "../../src/cli/man_page.ts";
import { bashCompletion, fishCompletion, OPTION_CHOICES } from "../../src/cli/completions.ts";

const man = manPage("9.9.9", OPTION_TABLE, "2026-01-01");
const bash = bashCompletion(OPTION_TABLE, OPTION_CHOICES);
const fish = fishCompletion(OPTION_TABLE, OPTION_CHOICES);

Deno.test("man page and completions: every option of the table, long and short", () => {
  for (const s of OPTION_TABLE) {
    const long = `\\fB\\-\\-${roffEscape(s.long)}\\fR`;
    assert(man.includes(long), `man page lacks --${s.long}`);
    if (s.short) assert(man.includes(`\\fB\\-${s.short}\\fR, ${long}`), `man page lacks -${s.short}`);
    assert(new RegExp(`[' ]--${s.long}[' ]`).test(bash), `bash completion lacks --${s.long}`);
    if (s.short) assert(new RegExp(`[' ]-${s.short}[' |)]`).test(bash), `bash completion lacks -${s.short}`);
    assert(fish.includes(`${s.short ? `-s ${s.short} ` : ""}-l ${s.long} `), `fish completion lacks --${s.long}`);
  }
  assert(man.startsWith('.TH NETTRACE 8 "2026-01-01" "nettrace 9.9.9"'));
});

Deno.test("man page: groff formats it without a warning", async () => {
  const out = await new Deno.Command("groff", {
    args: ["-man", "-ww", "-z"],
    stdin: "piped",
    stderr: "piped",
  }).spawn();
  const w = out.stdin.getWriter();
  await w.write(new TextEncoder().encode(man));
  await w.close();
  const r = await out.output();
  assertEquals(new TextDecoder().decode(r.stderr), "");
  assert(r.success);
});

/** What bash completes for the words typed so far (the last one being completed). */
async function complete(words: string[]): Promise<string[]> {
  const line = ["nettrace", ...words].map((w) => `'${w}'`).join(" ");
  const script =
    `${bash}\nCOMP_WORDS=(${line}); COMP_CWORD=${words.length}; _nettrace; printf '%s\\n' "\${COMPREPLY[@]}"`;
  const r = await new Deno.Command("bash", { args: ["-c", script], stdout: "piped" }).output();
  return new TextDecoder().decode(r.stdout).split("\n").filter(Boolean);
}

Deno.test("bash completion: options, the values of -p and --attach-method, explain", async () => {
  assertEquals(await complete(["--dro"]), ["--drop", "--drop-stack"]);
  assert((await complete(["-p", "ic"])).includes("icmp"));
  assertEquals(await complete(["--attach-method", "fen"]), ["fentry"]);
  assertEquals(await complete(["expl"]), ["explain"]);
  assertEquals(await complete(["--addr", ""]), [], "an address is not guessed");
});

Deno.test("fish completion: fish offers the options and the values of --attach-method", async () => {
  // scripts/setup.sh --test installs fish: its absence is a broken set-up
  const file = await Deno.makeTempFile({ suffix: ".fish" });
  try {
    await Deno.writeTextFile(file, fish);
    const ask = async (line: string) => {
      const r = await new Deno.Command("fish", {
        args: ["--no-config", "-c", `source ${file}; complete -C '${line}'`],
        stdout: "piped",
        stderr: "piped",
      }).output();
      assertEquals(new TextDecoder().decode(r.stderr), "");
      return new TextDecoder().decode(r.stdout).split("\n").filter(Boolean).map((l) => l.split("\t")[0]);
    };
    assertEquals(await ask("nettrace --dro"), ["--drop", "--drop-stack"]);
    assertEquals(await ask("nettrace --attach-method fen"), ["fentry"]);
  } finally {
    await Deno.remove(file);
  }
});
