/**
 * The running kernel's build configuration, when the kernel exposes it
 * (/proc/config.gz) or the distribution ships it (/boot/config-RELEASE).
 * Used only to explain why something does not work, never to decide.
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
  const path = `/boot/config-${Deno.osRelease()}`;
  try {
    return { config: parseKernelConfig(await Deno.readTextFile(path)), path };
  } catch { /* not shipped, or not for this kernel */ }
  try {
    const gz = await Deno.readFile("/proc/config.gz");
    const stream = new Blob([gz]).stream().pipeThrough(new DecompressionStream("gzip"));
    return { config: parseKernelConfig(await new Response(stream).text()), path: "/proc/config.gz" };
  } catch {
    return undefined; // not built with IKCONFIG_PROC either
  }
}
