/**
 * Runs nettrace as users run it (the single-file bundle that the packages
 * ship, made from this checkout) and watches its output: waits for "begin
 * trace...", for lines, for its exit.
 */

import { scaled } from "./time_scale.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
/** The Deno running the tests runs nettrace too. */
export const DENO = Deno.execPath();
/** main.ts of this checkout. */
export const MAIN = `${ROOT}main.ts`;
/** The launcher of this checkout. */
export const LAUNCHER = `${ROOT}nettrace`;

/** The bundle of this checkout (scripts/package.sh --bundle-only); bundle() makes it again when a source is newer. */
export const BUNDLE = `${ROOT}dist/nettrace.js`;

/** The newest modification time of what goes into the bundle. */
function newestSourceMs(): number {
  let newest = 0;
  const walk = (path: string) => {
    const info = Deno.statSync(path);
    if (info.isDirectory) { for (const e of Deno.readDirSync(path)) walk(`${path}/${e.name}`); }
    else newest = Math.max(newest, info.mtime?.getTime() ?? 0);
  };
  for (
    const p of ["main.ts", "deno.json", "package-lock.json", "src", "lib", "rules", "bpf/.output", "scripts/bundle.sh"]
  ) {
    walk(`${ROOT}${p}`);
  }
  return newest;
}

let bundleChecked = false;

/** The bundle, made again first when it is missing or older than a source (0.2 s here). */
export function bundle(): string {
  if (bundleChecked) return BUNDLE;
  let made = 0;
  try {
    made = Deno.statSync(BUNDLE).mtime?.getTime() ?? 0;
  } catch { /* not made yet */ }
  if (made < newestSourceMs()) {
    Deno.mkdirSync(`${ROOT}dist`, { recursive: true });
    const r = new Deno.Command(`${ROOT}scripts/bundle.sh`, {
      args: [DENO, BUNDLE],
      stdout: "null",
      stderr: "piped",
    }).outputSync();
    if (!r.success) throw new Error(`deno bundle failed: ${new TextDecoder().decode(r.stderr)}`);
  }
  bundleChecked = true;
  return BUNDLE;
}

/** Command line that runs nettrace with args, with the V8 flags every launcher of nettrace passes. */
export function nettraceCommand(args: string[]): string[] {
  return [
    DENO,
    "run",
    "--quiet",
    "--no-config",
    "-A",
    "--v8-flags=--max-semi-space-size=2,--expose-gc",
    bundle(),
    ...args,
  ];
}

/** Prefix of a command line that runs it with the kernel's BTF hidden (an empty tmpfs over /sys/kernel/btf in a private mount namespace). */
export const HIDE_BTF = [
  "unshare",
  "--mount",
  "--propagation",
  "private",
  "sh",
  "-c",
  'mount -t tmpfs -o ro nobtf /sys/kernel/btf && exec "$@"',
  "sh",
];

/** How a finished run ended. */
export interface RunResult {
  code: number;
  signal: Deno.Signal | null;
  stdout: string;
  stderr: string;
}

/** Runs nettrace to completion (for bad-input tests). */
export async function runNettrace(
  args: string[],
  env?: Record<string, string>,
  command = nettraceCommand(args),
): Promise<RunResult> {
  const [cmd, ...rest] = command;
  const child = new Deno.Command(cmd, { args: rest, stdin: "null", stdout: "piped", stderr: "piped", env }).spawn();
  // a run expected to end by itself that does not (a tracer left running) fails the test instead of hanging it
  let overran = false;
  const timer = setTimeout(() => {
    overran = true;
    try {
      child.kill("SIGINT");
    } catch { /* ended meanwhile */ }
  }, scaled(60000));
  const out = await child.output();
  clearTimeout(timer);
  const dec = new TextDecoder();
  const result = { code: out.code, signal: out.signal, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
  if (overran) {
    throw new Error(`nettrace ${args.join(" ")} did not end by itself in ${scaled(60000)} ms: ${result.stderr}`);
  }
  return result;
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
  #ended = false;

  private constructor(child: Deno.ChildProcess) {
    this.#child = child;
    this.#pumps = [collect(child.stdout, this.#out), collect(child.stderr, this.#err)];
    this.#status = child.status;
    this.#status.finally(() => this.#ended = true);
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
    const t0 = Date.now();
    // (a process that ended without beginning, e.g. on bad input, is not waited for)
    const ok = await run.waitFor(() => run.stderr.includes("begin trace...") || run.#ended, timeoutMs) &&
      run.stderr.includes("begin trace...");
    if (!ok) {
      const r = await run.stop();
      throw new Error(`nettrace ${args.join(" ")} did not begin tracing (exit ${r.code}): ${r.stderr}`);
    }
    // a start that uses over half its limit is not well inside it: say so in the log
    const took = Date.now() - t0, limit = scaled(timeoutMs);
    if (took > limit / 2) console.log(`warning: nettrace ${args.join(" ")} began tracing after ${took} ms of ${limit}`);
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

  /** Polls cond until it holds or timeoutMs (stretched for this machine, see time_scale.ts) passes. */
  async waitFor(cond: () => boolean, timeoutMs: number): Promise<boolean> {
    const end = Date.now() + scaled(timeoutMs);
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

  /** Waits for the process to exit on its own (e.g. -c); timeoutMs is stretched for this machine. */
  async exited(timeoutMs = 10000): Promise<RunResult | undefined> {
    let timerId: ReturnType<typeof setTimeout> | undefined;
    const timer = new Promise<undefined>((r) => timerId = setTimeout(r, scaled(timeoutMs), undefined));
    const s = await Promise.race([this.#status, timer]);
    clearTimeout(timerId);
    if (!s) return undefined;
    await Promise.all(this.#pumps);
    return { code: s.code, signal: s.signal, stdout: this.stdout, stderr: this.stderr };
  }

  /** Sends a signal (SIGINT by default), waits for exit, returns the result. */
  async stop(signal: Deno.Signal = "SIGINT"): Promise<RunResult> {
    try {
      this.#child.kill(signal);
    } catch { /* already gone */ }
    // detaching many points takes a while under TCG (one grace period per fentry link)
    const r = await this.exited(60000);
    if (r) return r;
    this.#child.kill("SIGKILL");
    const s = await this.#status;
    await Promise.all(this.#pumps);
    return { code: s.code, signal: s.signal, stdout: this.stdout, stderr: this.stderr };
  }
}

/** Starts nettrace, runs traffic, waits for a line matching re, stops it. */
export async function traceUntil(
  args: string[],
  traffic: () => Promise<void>,
  re: RegExp,
  command?: string[],
): Promise<RunResult> {
  const run = await NettraceRun.start(args, undefined, command);
  try {
    await traffic();
    const seen = await run.waitForLine(re, 5000);
    const result = await run.stop();
    if (!seen) throw new Error(`no line matching ${re} in:\n${result.stdout}\nstderr:\n${result.stderr}`);
    return result;
  } finally {
    await run.stop();
  }
}

/** Fails when setpriv (util-linux) is missing: its absence is a broken set-up, never a reason to skip. */
async function requireSetpriv(): Promise<void> {
  const found = await new Deno.Command("sh", { args: ["-c", "command -v setpriv"], stdout: "null" }).output();
  if (!found.success) throw new Error("setpriv (util-linux) is not installed: scripts/setup.sh --test installs it");
}

/**
 * Runs nettrace as user nobody with no capabilities (setpriv), its Deno cache
 * in a throw-away home. Fails when setpriv is missing.
 */
export async function runNettraceUnprivileged(args: string[]): Promise<RunResult> {
  await requireSetpriv();
  const home = await Deno.makeTempDir();
  try {
    await Deno.chmod(home, 0o777);
    const command = [
      "env",
      `DENO_DIR=${home}/deno`,
      `HOME=${home}`,
      "setpriv",
      "--reuid=65534",
      "--regid=65534",
      "--clear-groups",
      "--inh-caps=-all",
      ...nettraceCommand(args),
    ];
    return await runNettrace(args, undefined, command);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
}

/**
 * Runs nettrace as root without the capabilities that override file
 * permissions (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH): a file whose mode
 * forbids reading is then unreadable to it, as to any user.
 */
export async function runNettraceHonouringFileModes(args: string[]): Promise<RunResult> {
  await requireSetpriv();
  const drop = "-dac_override,-dac_read_search";
  return await runNettrace(args, undefined, [
    "setpriv",
    `--inh-caps=${drop}`,
    `--bounding-set=${drop}`,
    ...nettraceCommand(args),
  ]);
}
