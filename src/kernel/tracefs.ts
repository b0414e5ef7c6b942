/**
 * Finding tracefs, and mounting it when it is not mounted.
 * @module
 */
import { mount } from "../../lib/ffi/libc.ts";

const CANDIDATES = ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"];

function hasEvents(dir: string): boolean {
  try {
    return Deno.statSync(`${dir}/events`).isDirectory;
  } catch {
    return false;
  }
}

/** Result of looking for tracefs. */
export type TracefsResult = { path: string; mounted: boolean } | { error: string };

/** Returns tracefs's path, mounting it at /sys/kernel/tracing when absent. */
export function ensureTracefs(): TracefsResult {
  for (const dir of CANDIDATES) if (hasEvents(dir)) return { path: dir, mounted: false };
  try {
    mount("nodev", CANDIDATES[0], "tracefs");
  } catch (e) {
    return { error: (e as Error).message };
  }
  return hasEvents(CANDIDATES[0])
    ? { path: CANDIDATES[0], mounted: true }
    : { error: `tracefs mounted at ${CANDIDATES[0]} but has no events/ directory` };
}

/**
 * Functions ftrace can hook (available_filter_functions): kprobe-multi and
 * fentry refuse the others, and one refused name fails a whole multi link.
 * undefined when the file cannot be read.
 */
export function availableFilterFunctions(tracefs: string): Set<string> | undefined {
  let text: string;
  try {
    text = Deno.readTextFileSync(`${tracefs}/available_filter_functions`);
  } catch {
    return undefined;
  }
  const names = new Set<string>();
  for (const line of text.split("\n")) {
    const name = line.split(/\s/, 1)[0];
    if (name) names.add(name);
  }
  return names;
}
