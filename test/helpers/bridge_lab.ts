/**
 * A bridged test network of three namespaces the test creates itself:
 *
 *     a 10.233.0.1 --veth-- [pa  bridge br0  pb] --veth-- 10.233.0.2 b
 *
 * a and b share one subnet; the middle namespace only bridges.
 */
import { must } from "./netns.ts";
import { labNamespace, NamespaceLab, withLab } from "./netns_lab.ts";

/** The three namespaces and the two addresses. */
export class BridgeLab extends NamespaceLab {
  readonly addr = { a: "10.233.0.1", b: "10.233.0.2" };

  private constructor(readonly a: string, readonly bridge: string, readonly b: string) {
    super([a, bridge, b]);
  }

  /** Creates the namespaces, the bridge, its ports and the addresses. */
  static async create(tag: string): Promise<BridgeLab> {
    const l = new BridgeLab(labNamespace(tag, "a"), labNamespace(tag, "br"), labNamespace(tag, "b"));
    try {
      await l.addNamespaces();
      await must(["ip", "-n", l.bridge, "link", "add", "br0", "type", "bridge"]);
      for (const [ns, port, addr] of [[l.a, "pa", l.addr.a], [l.b, "pb", l.addr.b]]) {
        await must(["ip", "-n", ns, "link", "add", "veth0", "type", "veth", "peer", "name", port, "netns", l.bridge]);
        await must(["ip", "-n", l.bridge, "link", "set", port, "master", "br0"]);
        await must(["ip", "-n", l.bridge, "link", "set", port, "up"]);
        await must(["ip", "-n", ns, "addr", "add", `${addr}/24`, "dev", "veth0"]);
        await must(["ip", "-n", ns, "link", "set", "veth0", "up"]);
      }
      await must(["ip", "-n", l.bridge, "link", "set", "br0", "up"]);
    } catch (e) {
      await l.destroy();
      throw e;
    }
    return l;
  }
}

/** Creates the lab, runs body, always removes it. */
export function withBridgeLab(tag: string, body: (lab: BridgeLab) => Promise<void>): Promise<void> {
  return withLab(() => BridgeLab.create(tag), body);
}
