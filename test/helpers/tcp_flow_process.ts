/**
 * A TCP end of test/helpers/tcp_flow.ts running in a test namespace, for
 * the tests that drive connections: ready once it printed its first line,
 * stopped (killed if it still runs) by stop().
 */
import { assert } from "./assert.ts";

const TCP_FLOW = new URL("./tcp_flow.ts", import.meta.url).pathname;

/** A TCP end of tcp_flow.ts in a namespace; ready once it printed its first line. */
export class FlowProcess {
  readonly #child: Deno.ChildProcess;
  readonly #lines: ReadableStreamDefaultReader<string>;

  constructor(ns: string, args: string[]) {
    this.#child = new Deno.Command("ip", {
      args: ["netns", "exec", ns, Deno.execPath(), "run", "-A", TCP_FLOW, ...args],
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    this.#lines = this.#child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  }

  /** Waits for its first line ("listening", "connected"). */
  async ready(want: string): Promise<void> {
    const first = await this.#lines.read();
    assert(first.value?.includes(want), `tcp_flow.ts ${want}: got ${JSON.stringify(first.value)}`);
  }

  /** Waits for it to end by itself. */
  async done(): Promise<void> {
    const st = await this.#child.status;
    assert(st.success, `tcp_flow.ts ended with ${st.code}`);
  }

  async stop(): Promise<void> {
    this.#lines.releaseLock();
    await this.#child.stdout.cancel().catch(() => {});
    try {
      this.#child.kill("SIGKILL");
    } catch { /* already ended */ }
    await this.#child.status;
  }
}

/** Runs body with a maker of FlowProcesses, and stops every one it started, whatever happens. */
export async function withFlows(body: (flow: (ns: string, ...args: string[]) => FlowProcess) => Promise<void>) {
  const flows: FlowProcess[] = [];
  try {
    await body((ns, ...args) => {
      const f = new FlowProcess(ns, args);
      flows.push(f);
      return f;
    });
  } finally {
    for (const f of flows) await f.stop();
  }
}
