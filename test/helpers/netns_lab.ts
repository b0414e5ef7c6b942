/**
 * Namespaces a test creates for one topology (a routed lab, a bridged lab):
 * their names carry the test prefix (ntt-) and the test's pid, so a crashed
 * run's leftovers are removed by removeStaleNamespaces(); commands run inside
 * them; destroy() removes them with every link and rule in them.
 */
import { type CmdResult, must, sh } from "./netns.ts";

/** The name of a lab namespace: ntt-TAG-PID-ROLE. */
export function labNamespace(tag: string, role: string): string {
  return `ntt-${tag}-${Deno.pid % 100000}-${role}`;
}

/** A set of test namespaces. */
export abstract class NamespaceLab {
  constructor(readonly namespaces: string[]) {}

  /** Removes leftovers of the same names, then adds the namespaces with loopback up. */
  protected async addNamespaces(): Promise<void> {
    await this.destroy();
    for (const ns of this.namespaces) {
      await must(["ip", "netns", "add", ns]);
      await must(["ip", "-n", ns, "link", "set", "lo", "up"]);
    }
  }

  /** Runs a command inside a namespace. */
  exec(ns: string, cmd: string[], opts: { input?: string } = {}): Promise<CmdResult> {
    return sh(["ip", "netns", "exec", ns, ...cmd], opts);
  }

  /** Runs a command inside a namespace; throws when it fails. */
  must(ns: string, cmd: string[], opts: { input?: string } = {}): Promise<string> {
    return must(["ip", "netns", "exec", ns, ...cmd], opts);
  }

  /** Deletes the namespaces (links and rules go with them). */
  async destroy(): Promise<void> {
    for (const ns of this.namespaces) await sh(["ip", "netns", "del", ns]);
  }
}

/** Creates a lab, runs body, always removes the lab. */
export async function withLab<L extends NamespaceLab>(
  create: () => Promise<L>,
  body: (lab: L) => Promise<void>,
): Promise<void> {
  const lab = await create();
  try {
    await body(lab);
  } finally {
    await lab.destroy();
  }
}
