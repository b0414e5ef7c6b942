/**
 * nettrace explain REASON | --list: drop reasons of the running kernel in
 * plain language. Needs no privileges: BTF and the tracepoint format are
 * world-readable.
 * @module
 */
import { Btf } from "../../lib/ffi/btf.ts";
import type { Options } from "../cli/options.ts";
import { explainReason, listReasons } from "../diag/explain.ts";
import { loadReasonTexts } from "../diag/reason_texts_source.ts";
import { loadDropReasons } from "../kernel/drop_reason_loader.ts";

const TRACEFS = ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"];

/** Prints the explanation; exit status 0. */
export async function runExplain(opts: Options): Promise<number> {
  let btf: Btf | undefined;
  try {
    btf = Btf.kernel(opts.btf);
  } catch { /* no BTF: the tracepoint format, if readable */ }
  const tracefs = TRACEFS.find((p) => {
    try {
      return Deno.statSync(`${p}/events/skb/kfree_skb/format`).isFile;
    } catch {
      return false;
    }
  });
  const kernel = loadDropReasons(btf, tracefs);
  btf?.close();
  const texts = loadReasonTexts();
  const text = opts.explain?.list ? listReasons(kernel, texts) : explainReason(opts.explain!.name!, kernel, texts);
  await Deno.stdout.write(new TextEncoder().encode(text));
  return 0;
}
