/**
 * nettrace as the benchmarks run it: stdout to a file, as `nettrace > file`
 * would (the bench does not compete for a core reading a pipe), stderr kept
 * to find "begin trace..." and the closing summary.
 */
import { BUNDLE, nettraceCommand } from "../test/helpers/nettrace_process.ts";

/** A running nettrace whose output goes to a file. */
export interface FileRun {
  child: Deno.ChildProcess;
  /** milliseconds from start to "begin trace..." */
  startMs: number;
  /** its stderr so far */
  stderr(): string;
  /** SIGINT, wait for the exit; its stderr (with the summary) */
  stop(): Promise<string>;
}

/** Which nettrace runs: the Deno binary (default: the bench's own) and the bundle (default: this checkout's). */
export interface NettraceBuild {
  readonly runtime?: string;
  readonly script?: string;
}

/**
 * Starts nettrace with args, stdout to outFile; resolves once it began tracing (throws if it exits first). cpus: the
 * CPUs it may run on (taskset's list), where it must not take the measured sender's CPU.
 */
export async function startToFile(
  args: string[],
  outFile: string,
  build: NettraceBuild = {},
  cpus?: string,
): Promise<FileRun> {
  const t0 = performance.now();
  const [deno, ...rest] = nettraceCommand(args);
  const command = [
    ...(cpus ? ["taskset", "-c", cpus] : []),
    build.runtime ?? deno,
    ...rest.map((a) => (a === BUNDLE && build.script ? build.script : a)),
  ];
  const child = new Deno.Command("bash", {
    args: ["-c", 'exec "$@" > "$0"', outFile, ...command],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let stderr = "", began = 0, exited = false;
  const pump = (async () => {
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
      stderr += chunk;
      if (!began && stderr.includes("begin trace...")) began = performance.now();
    }
  })();
  child.status.then(() => (exited = true));
  while (!began) {
    if (exited) throw new Error(`nettrace ${args.join(" ")} ended before tracing: ${stderr}`);
    await new Promise((r) => setTimeout(r, 5));
  }
  return {
    child,
    startMs: began - t0,
    stderr: () => stderr,
    stop: async () => {
      if (exited) throw new Error(`nettrace ${args.join(" ")} ended before it was stopped: ${stderr}`);
      child.kill("SIGINT");
      await child.status;
      await pump;
      return stderr;
    },
  };
}
