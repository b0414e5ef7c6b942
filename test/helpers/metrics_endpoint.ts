/**
 * What the --metrics tests share: where a run serves its metrics (the line it prints at start), the sum of a
 * family's samples in a scrape, and nettrace's command line with only some capabilities (as the systemd unit and
 * the DaemonSet give them).
 */
import { assert } from "./assert.ts";
import { nettraceCommand, type NettraceRun } from "./nettrace_process.ts";

/** Where a run with --metrics serves them, from its stderr. */
export function metricsUrl(run: NettraceRun): string {
  const m = run.stderr.match(/^nettrace: --metrics: serving (http:\/\/\S+\/metrics)$/m);
  assert(m, `no --metrics line:\n${run.stderr}`);
  return m[1];
}

/** The sum of a family's samples whose labels match, in a /metrics text. */
export function metricSum(text: string, name: string, labels: RegExp = /.*/): number {
  return text.split("\n")
    .filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
    .filter((l) => labels.test(l))
    .reduce((n, l) => n + Number(l.split(" ").at(-1)), 0);
}

/** nettrace with args, with only these capabilities (names as "CAP_BPF" or "BPF"): setpriv's bounding set. */
export function withOnlyCapabilities(caps: string[], args: string[]): string[] {
  const set = caps.map((c) => `+${c.replace(/^CAP_/, "").toLowerCase()}`).join(",");
  return ["setpriv", `--bounding-set=-all,${set}`, "--inh-caps=-all", ...nettraceCommand(args)];
}

/** The capabilities the packages' unit gives nettrace (AmbientCapabilities of deploy/nettrace-monitor.service). */
export function unitCapabilities(): string[] {
  const unit = Deno.readTextFileSync(new URL("../../deploy/nettrace-monitor.service", import.meta.url));
  const line = unit.match(/^AmbientCapabilities=(.*)$/m);
  assert(line, "the unit has no AmbientCapabilities=");
  return line[1].trim().split(/\s+/);
}
