/**
 * nettrace's own messages on stderr: warnings always, info with -v, debug
 * (libbpf's log included) with --debug.
 * @module
 */
import { routeLibbpfLog } from "../../lib/ffi/print.ts";

/** Message levels. */
export type LogLevel = "warn" | "info" | "debug";

let verbose = false;
let debug = false;
const encoder = new TextEncoder();

/** Sets what is shown, and routes libbpf's log through the same switch. */
export function configureLog(opts: { verbose: boolean; debug: boolean }): void {
  verbose = opts.verbose;
  debug = opts.debug;
  routeLibbpfLog((level, msg) => {
    if (debug || (level === "warn" && verbose)) writeErr(`libbpf: ${msg.trimEnd()}`);
  }, debug);
}

/** Writes one line to stderr. */
export function writeErr(line: string): void {
  Deno.stderr.writeSync(encoder.encode(line.endsWith("\n") ? line : line + "\n"));
}

/** Logs at a level. */
export function log(level: LogLevel, msg: string): void {
  if (level === "warn" || (level === "info" && verbose) || (level === "debug" && debug)) {
    writeErr(level === "warn" ? `nettrace: ${msg}` : msg);
  }
}
