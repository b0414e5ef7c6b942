/**
 * Debian's real Prometheus server for the --metrics tests: started on a free
 * loopback port with a scrape config of one job (every second), its data in
 * a temporary directory, queried through its HTTP API, stopped and removed
 * whatever happens.
 */
import { commandExists } from "./kernel_env.ts";

/** Why no Prometheus server can run here, or undefined. */
export function prometheusMissing(): string | undefined {
  return commandExists("prometheus") ? undefined : "Debian's prometheus is not installed (scripts/setup.sh --test)";
}

/** A free TCP port on loopback (taken and given back: another process could take it meanwhile; rare). */
function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

export class PrometheusServer {
  private constructor(
    private readonly child: Deno.ChildProcess,
    private readonly dir: string,
    readonly url: string,
    private readonly log: string,
  ) {}

  /** Starts a server that scrapes `target` (host:port) every second as job `job`; waits until it answers. */
  static async start(job: string, target: string): Promise<PrometheusServer> {
    const dir = await Deno.makeTempDir({ prefix: "nettrace-prom-" });
    const port = freePort();
    await Deno.writeTextFile(
      `${dir}/prometheus.yml`,
      `global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n` +
        `  - job_name: ${job}\n    static_configs:\n      - targets: ["${target}"]\n`,
    );
    const log = `${dir}/prometheus.log`;
    const file = await Deno.open(log, { write: true, create: true });
    const child = new Deno.Command("prometheus", {
      args: [
        `--config.file=${dir}/prometheus.yml`,
        `--storage.tsdb.path=${dir}/data`,
        `--web.listen-address=127.0.0.1:${port}`,
      ],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    child.stderr.pipeTo(file.writable).catch(() => {});
    const server = new PrometheusServer(child, dir, `http://127.0.0.1:${port}`, log);
    const end = Date.now() + 30000;
    while (Date.now() < end) {
      try {
        const r = await fetch(`${server.url}/-/ready`);
        await r.body?.cancel();
        if (r.ok) return server;
      } catch { /* not listening yet */ }
      await new Promise((r) => setTimeout(r, 200));
    }
    const why = await server.logTail();
    await server.stop();
    throw new Error(`prometheus did not become ready in 30 s:\n${why}`);
  }

  /** The value of an instant query whose result is one series (or a scalar); undefined when it has none. */
  async query(promql: string): Promise<number | undefined> {
    const r = await fetch(`${this.url}/api/v1/query?query=${encodeURIComponent(promql)}`);
    const body = await r.json();
    if (body.status !== "success") throw new Error(`query ${promql}: ${JSON.stringify(body)}`);
    const result = body.data.result;
    if (body.data.resultType === "scalar") return Number(result[1]);
    if (!result.length) return undefined;
    return Number(result[0].value[1]);
  }

  /** Polls a query until want(value) holds or timeoutMs passes; returns the last value. */
  async waitFor(promql: string, want: (v: number | undefined) => boolean, timeoutMs: number) {
    const end = Date.now() + timeoutMs;
    let v = await this.query(promql);
    while (!want(v) && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 250));
      v = await this.query(promql);
    }
    return v;
  }

  async logTail(): Promise<string> {
    try {
      return (await Deno.readTextFile(this.log)).split("\n").slice(-20).join("\n");
    } catch {
      return "";
    }
  }

  async stop(): Promise<void> {
    try {
      this.child.kill("SIGTERM");
    } catch { /* gone */ }
    await this.child.status;
    await Deno.remove(this.dir, { recursive: true }).catch(() => {});
  }
}
