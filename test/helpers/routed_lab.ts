/**
 * A routed test network of three namespaces the test creates itself:
 *
 *     client 10.232.1.1 --veth-- 10.232.1.254 router 10.232.2.254 --veth-- 10.232.2.1 server
 *
 * The router forwards; client and server route through it.
 */
import { must } from "./netns.ts";
import { labNamespace, NamespaceLab, withLab } from "./netns_lab.ts";

/** The three namespaces and their addresses. */
export class RoutedLab extends NamespaceLab {
  readonly addr = { client: "10.232.1.1", routerC: "10.232.1.254", routerS: "10.232.2.254", server: "10.232.2.1" };

  private constructor(readonly client: string, readonly router: string, readonly server: string) {
    super([client, router, server]);
  }

  /** Creates the namespaces, links, addresses and routes. */
  static async create(tag: string): Promise<RoutedLab> {
    const l = new RoutedLab(labNamespace(tag, "c"), labNamespace(tag, "r"), labNamespace(tag, "s"));
    try {
      await l.addNamespaces();
      for (const [ns, peer] of [[l.client, "vc"], [l.server, "vs"]]) {
        await must(["ip", "-n", ns, "link", "add", "veth0", "type", "veth", "peer", "name", peer, "netns", l.router]);
      }
      const links: Array<[string, string, string]> = [
        [l.client, "veth0", `${l.addr.client}/24`],
        [l.router, "vc", `${l.addr.routerC}/24`],
        [l.router, "vs", `${l.addr.routerS}/24`],
        [l.server, "veth0", `${l.addr.server}/24`],
      ];
      for (const [ns, dev, cidr] of links) {
        await must(["ip", "-n", ns, "addr", "add", cidr, "dev", dev]);
        await must(["ip", "-n", ns, "link", "set", dev, "up"]);
      }
      await must(["ip", "-n", l.client, "route", "add", "default", "via", l.addr.routerC]);
      await must(["ip", "-n", l.server, "route", "add", "default", "via", l.addr.routerS]);
      await l.exec(l.router, ["sysctl", "-qw", "net.ipv4.ip_forward=1"]);
    } catch (e) {
      await l.destroy();
      throw e;
    }
    return l;
  }

  /** Opens a TCP connection from the client (a SYN: refused, dropped or answered). */
  async tcpConnect(addr: string, port: number, timeoutS = 1): Promise<void> {
    await this.exec(this.client, ["timeout", String(timeoutS), "bash", "-c", `exec 3<>/dev/tcp/${addr}/${port}`]);
  }

  /** Sends one UDP datagram from the client. */
  async udpSend(addr: string, port: number): Promise<void> {
    await this.exec(this.client, ["bash", "-c", `echo nettrace-test > /dev/udp/${addr}/${port}`]);
  }
}

/** Creates the lab, runs body, always removes it. */
export function withRoutedLab(tag: string, body: (lab: RoutedLab) => Promise<void>): Promise<void> {
  return withLab(() => RoutedLab.create(tag), body);
}
