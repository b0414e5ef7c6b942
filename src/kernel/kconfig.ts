/**
 * The running kernel's build configuration, when the kernel exposes it
 * (/proc/config.gz) or the distribution ships it (/boot/config-RELEASE).
 * Used to explain why something does not work, and for CONFIG_HZ (kernelHz),
 * never to decide what runs: without it, nettrace does the same a costlier way.
 * @module
 */

/** Parsed `CONFIG_X=value` lines; "n" for `# CONFIG_X is not set`. */
export type KernelConfig = Map<string, string>;

/** Parses kernel config text. */
export function parseKernelConfig(text: string): KernelConfig {
  const cfg: KernelConfig = new Map();
  for (const line of text.split("\n")) {
    const set = line.match(/^(CONFIG_[A-Z0-9_]+)=(.*)$/);
    if (set) cfg.set(set[1], set[2]);
    const unset = line.match(/^# (CONFIG_[A-Z0-9_]+) is not set/);
    if (unset) cfg.set(unset[1], "n");
  }
  return cfg;
}

/**
 * Reads the config, undefined when the kernel does not expose one. The distribution's file for this release first:
 * it is the same text, and gunzipping /proc/config.gz starts Deno's web streams (28 ms here).
 */
export async function readKernelConfig(): Promise<{ config: KernelConfig; path: string } | undefined> {
  const read = await readConfigText();
  return read && { config: parseKernelConfig(read.text), path: read.path };
}

async function readConfigText(): Promise<{ text: string; path: string } | undefined> {
  const path = `/boot/config-${Deno.osRelease()}`;
  try {
    return { text: await Deno.readTextFile(path), path };
  } catch { /* not shipped, or not for this kernel */ }
  try {
    const gz = await Deno.readFile("/proc/config.gz");
    const stream = new Blob([gz]).stream().pipeThrough(new DecompressionStream("gzip"));
    return { text: await new Response(stream).text(), path: "/proc/config.gz" };
  } catch {
    return undefined; // not built with IKCONFIG_PROC either
  }
}

/** CONFIG_HZ in a config's text: how many jiffies make a second. */
export function hzOf(text: string): number | undefined {
  const hz = Number(text.match(/^CONFIG_HZ=(\d+)$/m)?.[1]);
  return hz > 0 ? hz : undefined;
}

/** The kernel's CONFIG_HZ, undefined when its config cannot be read. */
export async function kernelHz(): Promise<number | undefined> {
  const read = await readConfigText();
  return read && hzOf(read.text);
}
