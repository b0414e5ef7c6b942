/**
 * Writes the man page and the shell completions from the option table:
 *   deno run --allow-all scripts/write_docs.ts OUTDIR
 * -> OUTDIR/nettrace.8, OUTDIR/nettrace.bash, OUTDIR/nettrace.fish
 */
import { OPTION_TABLE } from "../src/cli/options.ts";
import { manPage } from "../src/cli/man_page.ts";
import { bashCompletion, fishCompletion, OPTION_CHOICES } from "../src/cli/completions.ts";
import { VERSION } from "../src/version.ts";

const out = Deno.args[0];
if (!out) {
  console.error("usage: write_docs.ts OUTDIR");
  Deno.exit(2);
}
// the page's date: the last commit's (reproducible), else today
const epoch = Number(Deno.env.get("SOURCE_DATE_EPOCH") ?? Date.now() / 1000);
const date = new Date(epoch * 1000).toISOString().slice(0, 10);
Deno.mkdirSync(out, { recursive: true });
Deno.writeTextFileSync(`${out}/nettrace.8`, manPage(VERSION, OPTION_TABLE, date));
Deno.writeTextFileSync(`${out}/nettrace.bash`, bashCompletion(OPTION_TABLE, OPTION_CHOICES));
Deno.writeTextFileSync(`${out}/nettrace.fish`, fishCompletion(OPTION_TABLE, OPTION_CHOICES));
