/**
 * Runs nettrace as the user would (a child process of main.ts) and watches
 * its output: waits for "begin trace...", for lines, for its exit.
 */

const ROOT = new URL("../../", import.meta.url).pathname;
/** The Deno running the tests runs nettrace too. */
export const DENO = Deno.execPath();
/** main.ts of this checkout. */
export const MAIN = `${ROOT}main.ts`;
/** The launcher of this checkout. */
export const LAUNCHER = `${ROOT}nettrace`;

/** Command line that runs nettrace with args. */
export function nettraceCommand(args: string[]): string[] {
  return [DENO, "run", "--quiet", "--config", `${ROOT}deno.json`, "-A", MAIN, ...args];
}

/** How a finished run ended. */
export interface RunResult {
  code: number;
  signal: Deno.Signal | null;
  stdout: string;
  stderr: string;
}

/** Runs nettrace to completion (for bad-input tests). */
export async function runNettrace(args: string[], env?: Record<string, string>): Promise<RunResult> {
  const [cmd, ...rest] = nettraceCommand(args);
  const out = await new Deno.Command(cmd, { args: rest, stdin: "null", stdout: "piped", stderr: "piped", env })
    .output();
  const dec = new TextDecoder();
  return { code: out.code, signal: out.signal, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

async function collect(stream: ReadableStream<Uint8Array>, sink: { text: string }): Promise<void> {
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) sink.text += chunk;
}

/** A nettrace process running in the background. */
export class NettraceRun {
  readonly #child: Deno.ChildProcess;
  readonly #out = { text: "" };
  readonly #err = { text: "" };
  readonly #pumps: Promise<void>[];
  #status: Promise<Deno.CommandStatus>;

  private constructor(child: Deno.ChildProcess) {
    this.#child = child;
    this.#pumps = [collect(child.stdout, this.#out), collect(child.stderr, this.#err)];
    this.#status = child.status;
  }

  /**
   * Starts nettrace and waits for "begin trace..." (throws with its stderr if it never comes).
   * command: the whole command line, when not main.ts under this Deno (e.g. the launcher).
   */
  static async start(args: string[], timeoutMs = 20000, command = nettraceCommand(args)): Promise<NettraceRun> {
    const [cmd, ...rest] = command;
    const run = new NettraceRun(
      new Deno.Command(cmd, { args: rest, stdin: "null", stdout: "piped", stderr: "piped" }).spawn(),
    );
    const ok = await run.waitFor(() => run.stderr.includes("begin trace..."), timeoutMs);
    if (!ok) {
      const r = await run.stop();
      throw new Error(`nettrace ${args.join(" ")} did not begin tracing (exit ${r.code}): ${r.stderr}`);
    }
    return run;
  }

  /** Process id. */
  get pid(): number {
    return this.#child.pid;
  }

  /** What it printed on stdout so far. */
  get stdout(): string {
    return this.#out.text;
  }

  /** What it printed on stderr so far. */
  get stderr(): string {
    return this.#err.text;
  }

  /** Complete stdout lines so far. */
  get lines(): string[] {
    return this.stdout.split("\n").filter((l) => l.length > 0);
  }

  /** Polls cond until it holds or timeoutMs passes. */
  async waitFor(cond: () => boolean, timeoutMs: number): Promise<boolean> {
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
      if (cond()) return true;
      await new Promise((r) => setTimeout(r, 25));
    }
    return cond();
  }

  /** Waits for a line matching re. */
  waitForLine(re: RegExp, timeoutMs = 5000): Promise<boolean> {
    return this.waitFor(() => this.lines.some((l) => re.test(l)), timeoutMs);
  }

  /** Waits for the process to exit on its own (e.g. -c). */
  async exited(timeoutMs = 10000): Promise<RunResult | undefined> {
    const timer = new Promise<undefined>((r) => setTimeout(r, timeoutMs, undefined));
    const s = await Promise.race([this.#status, timer]);
    if (!s) return undefined;
    await Promise.all(this.#pumps);
    return { code: s.code, signal: s.signal, stdout: this.stdout, stderr: this.stderr };
  }

  /** Sends a signal (SIGINT by default), waits for exit, returns the result. */
  async stop(signal: Deno.Signal = "SIGINT"): Promise<RunResult> {
    try {
      this.#child.kill(signal);
    } catch { /* already gone */ }
    const r = await this.exited(15000);
    if (r) return r;
    this.#child.kill("SIGKILL");
    const s = await this.#status;
    await Promise.all(this.#pumps);
    return { code: s.code, signal: s.signal, stdout: this.stdout, stderr: this.stderr };
  }
}
