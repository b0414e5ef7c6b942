/**
 * nettrace: follows network packets through the Linux kernel, says why they
 * were dropped. Entry point: parses the command line, runs one mode, maps
 * failures to exit status 2 (bad input) or 1 (host cannot run it).
 * @module
 */
import { helpText, parseArgs } from "./src/cli/options.ts";
import { HostError, UsageError } from "./src/errors.ts";
import { configureLog, writeErr } from "./src/runtime/log.ts";
import { requireBpfHost } from "./src/kernel/host.ts";
import { VERSION } from "./src/version.ts";

async function run(argv: string[]): Promise<number> {
  const opts = parseArgs(argv);
  switch (opts.mode) {
    case "help":
      console.log(helpText());
      return 0;
    case "version":
      console.log(`nettrace ${VERSION}`);
      return 0;
  }
  // a --btf file that is not BTF is bad input in every mode, before anything is loaded
  if (opts.btf) {
    configureLog(opts);
    (await import("./src/kernel/btf_source.ts")).locateBtf(opts.btf);
  }
  // a bad expression is bad input in every mode, before anything is loaded
  if (opts.filterExpr !== undefined) {
    const { compileFilterExpression } = await import("./src/filter/expression.ts");
    opts.filter.expression = compileFilterExpression(opts.filterExpr);
  }
  if (opts.mode === "explain") {
    const { runExplain } = await import("./src/modes/explain.ts");
    return await runExplain(opts);
  }
  requireBpfHost();
  configureLog(opts);
  if (opts.mode === "trace-list") {
    const { runTraceList } = await import("./src/modes/trace_list.ts");
    return await runTraceList(opts);
  }
  if (opts.mode === "check") {
    const { runCheck } = await import("./src/modes/check.ts");
    return await runCheck(opts);
  }
  if (opts.mode === "monitor") {
    const { runMonitor } = await import("./src/modes/monitor.ts");
    return await runMonitor(opts);
  }
  if (opts.mode === "drop") {
    const { runDrop } = await import("./src/modes/drop.ts");
    return await runDrop(opts);
  }
  const { runLife } = await import("./src/modes/life.ts");
  return await runLife(opts);
}

if (import.meta.main) {
  let code: number;
  try {
    code = await run(Deno.args);
  } catch (e) {
    if (e instanceof UsageError || e instanceof HostError) {
      writeErr(`nettrace: ${e.message}`);
      code = e.exitCode;
    } else {
      writeErr(`nettrace: internal error: ${(e as Error).stack ?? e}`);
      code = 1;
    }
  }
  Deno.exit(code);
}
