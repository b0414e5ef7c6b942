/**
 * A routed test network of three namespaces the test creates itself:
 *
 *     client 10.232.1.1 --veth-- 10.232.1.254 router 10.232.2.254 --veth-- 10.232.2.1 server
 *
 * The router forwards; client and server route through it. Everything goes
 * with destroy(), and the namespaces carry the test prefix (ntt-) so a
 * crashed run's leftovers are removed by removeStaleNamespaces().
 */
import { type CmdResult, must, sh } from "./netns.ts";

/** The three namespaces and their addresses. */
export class RoutedLab {
  readonly client: string;
  readonly router: string;
  readonly server: string;
  readonly addr = { client: "10.232.1.1", routerC: "10.232.1.254", routerS: "10.232.2.254", server: "10.232.2.1" };

  private constructor(tag: string) {
    const id = `${tag}-${Deno.pid % 100000}`;
    this.client = `ntt-${id}-c`;
    this.router = `ntt-${id}-r`;
    this.server = `ntt-${id}-s`;
  }

  /** Creates the namespaces, links, addresses and routes. */
  static async create(tag: string): Promise<RoutedLab> {
    const l = new RoutedLab(tag);
    await l.destroy();
    try {
      for (const ns of [l.client, l.router, l.server]) {
        await must(["ip", "netns", "add", ns]);
        await must(["ip", "-n", ns, "link", "set", "lo", "up"]);
      }
      await must([
        "ip",
        "-n",
        l.client,
        "link",
        "add",
        "veth0",
        "type",
        "veth",
        "peer",
        "name",
        "vc",
        "netns",
        l.router,
      ]);
      await must([
        "ip",
        "-n",
        l.server,
        "link",
        "add",
        "veth0",
        "type",
        "veth",
        "peer",
        "name",
        "vs",
        "netns",
        l.router,
      ]);
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

  /** Runs a command inside a namespace. */
  exec(ns: string, cmd: string[], opts: { input?: string } = {}): Promise<CmdResult> {
    return sh(["ip", "netns", "exec", ns, ...cmd], opts);
  }

  /** Runs a command inside a namespace; throws when it fails. */
  must(ns: string, cmd: string[], opts: { input?: string } = {}): Promise<string> {
    return must(["ip", "netns", "exec", ns, ...cmd], opts);
  }

  /** Opens a TCP connection from the client (a SYN: refused, dropped or answered). */
  async tcpConnect(addr: string, port: number, timeoutS = 1): Promise<void> {
    await this.exec(this.client, ["timeout", String(timeoutS), "bash", "-c", `exec 3<>/dev/tcp/${addr}/${port}`]);
  }

  /** Sends one UDP datagram from the client. */
  async udpSend(addr: string, port: number): Promise<void> {
    await this.exec(this.client, ["bash", "-c", `echo nettrace-test > /dev/udp/${addr}/${port}`]);
  }

  /** Deletes the namespaces (links and rules go with them). */
  async destroy(): Promise<void> {
    for (const ns of [this.client, this.router, this.server]) await sh(["ip", "netns", "del", ns]);
  }
}

/** Creates the lab, runs body, always removes it. */
export async function withRoutedLab(tag: string, body: (lab: RoutedLab) => Promise<void>): Promise<void> {
  const lab = await RoutedLab.create(tag);
  try {
    await body(lab);
  } finally {
    await lab.destroy();
  }
}
