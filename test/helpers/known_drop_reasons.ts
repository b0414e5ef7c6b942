/**
 * The project's own list of drop reasons: test/fixtures/kernel_drop_reasons.txt,
 * the reasons of each kernel nettrace is tested on and of the newest known,
 * as section title -> names.
 */
export function knownDropReasons(): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let cur: string[] | undefined;
  const text = Deno.readTextFileSync(new URL("../fixtures/kernel_drop_reasons.txt", import.meta.url));
  for (const line of text.split("\n")) {
    const t = line.trim();
    if (!t || t.startsWith("#")) continue;
    const head = t.match(/^\[(.+)\]$/);
    if (head) out.set(head[1], cur = []);
    else if (cur) cur.push(t);
    else throw new Error(`kernel_drop_reasons.txt: '${t}' comes before any [kernel] section`);
  }
  return out;
}
