/**
 * Test topologies in network namespaces the test creates itself: two hosts
 * joined by a veth pair, with addresses that exist only inside them.
 * Everything is removed by destroy(), and stale leftovers of an earlier
 * crashed run (same name prefix) are removed on create.
 */

/** Result of a command. */
export interface CmdResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command; never throws for a non-zero exit. */
export async function sh(cmd: string[], opts: { input?: string } = {}): Promise<CmdResult> {
  const child = new Deno.Command(cmd[0], {
    args: cmd.slice(1),
    stdin: opts.input !== undefined ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (opts.input !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(opts.input));
    await w.close();
  }
  const out = await child.output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** Runs a command and throws with its stderr when it fails. */
export async function must(cmd: string[], opts: { input?: string } = {}): Promise<string> {
  const r = await sh(cmd, opts);
  if (r.code !== 0) throw new Error(`${cmd.join(" ")} failed (${r.code}): ${r.stderr.trim()}`);
  return r.stdout;
}

const PREFIX = "ntt";

/**
 * Reads a counter of a namespace's /proc/net/FILE: "snmp" ("Udp", "NoPorts")
 * or "netstat" ("TcpExt", "TCPLossUndo").
 */
export async function netCounter(ns: string, file: "snmp" | "netstat", proto: string, field: string): Promise<number> {
  const text = await must(["ip", "netns", "exec", ns, "cat", `/proc/net/${file}`]);
  const lines = text.split("\n").filter((l) => l.startsWith(`${proto}:`));
  if (lines.length < 2) throw new Error(`no ${proto} counters in /proc/net/${file}`);
  const names = lines[0].split(/\s+/), values = lines[1].split(/\s+/);
  const at = names.indexOf(field);
  if (at < 0) throw new Error(`no ${proto} ${field} in /proc/net/${file}`);
  return Number(values[at]);
}

/** Removes namespaces left by an earlier run of the tests. */
export async function removeStaleNamespaces(): Promise<void> {
  const list = await sh(["ip", "netns", "list"]);
  for (const line of list.stdout.split("\n")) {
    const name = line.split(" ")[0];
    if (name.startsWith(`${PREFIX}-`)) await sh(["ip", "netns", "del", name]);
  }
}

/** Two namespaces, a and b, joined by veth: a = .1 / ::1, b = .2 / ::2. */
export class VethPair {
  readonly a: string;
  readonly b: string;
  readonly v4 = { a: "10.231.0.1", b: "10.231.0.2" };
  readonly v6 = { a: "fd00:231::1", b: "fd00:231::2" };

  private constructor(tag: string) {
    const id = `${tag}-${Deno.pid % 100000}`;
    this.a = `${PREFIX}-${id}-a`;
    this.b = `${PREFIX}-${id}-b`;
  }

  /** Creates the namespaces, the veth pair and the addresses. */
  static async create(tag: string): Promise<VethPair> {
    const t = new VethPair(tag);
    await sh(["ip", "netns", "del", t.a]);
    await sh(["ip", "netns", "del", t.b]);
    try {
      await must(["ip", "netns", "add", t.a]);
      await must(["ip", "netns", "add", t.b]);
      await must(["ip", "-n", t.a, "link", "add", "veth0", "type", "veth", "peer", "name", "veth0", "netns", t.b]);
      for (const [ns, v4, v6] of [[t.a, t.v4.a, t.v6.a], [t.b, t.v4.b, t.v6.b]]) {
        await must(["ip", "-n", ns, "link", "set", "lo", "up"]);
        await must(["ip", "-n", ns, "addr", "add", `${v4}/24`, "dev", "veth0"]);
        await must(["ip", "-n", ns, "addr", "add", `${v6}/64`, "dev", "veth0", "nodad"]);
        await must(["ip", "-n", ns, "link", "set", "veth0", "up"]);
      }
      // a packet sent before the carrier is up is lost: wait for both ends
      for (const ns of [t.a, t.b]) await waitCarrier(ns, "veth0");
    } catch (e) {
      await t.destroy();
      throw e;
    }
    return t;
  }

  /** Runs a command inside a namespace. */
  exec(ns: string, cmd: string[], opts: { input?: string } = {}): Promise<CmdResult> {
    return sh(["ip", "netns", "exec", ns, ...cmd], opts);
  }

  /** Inode of a namespace (what --netns takes). */
  netnsInode(ns: string): number {
    return Deno.statSync(`/run/netns/${ns}`).ino ?? 0;
  }

  /** Opens a TCP connection from a to b's addr:port (a SYN; refused or dropped). */
  async tcpConnect(from: string, addr: string, port: number, timeoutS = 1): Promise<void> {
    const target = `/dev/tcp/${addr}/${port}`;
    await this.exec(from, ["timeout", String(timeoutS), "bash", "-c", `exec 3<>${target}`]);
  }

  /** Sends one UDP datagram: payload and a newline. */
  async udpSend(from: string, addr: string, port: number, payload = "nettrace-test"): Promise<void> {
    await this.exec(from, ["bash", "-c", `echo ${payload} > /dev/udp/${addr}/${port}`]);
  }

  /** Reads a counter of /proc/net/snmp ("Udp", "NoPorts") inside a namespace. */
  snmpCounter(ns: string, proto: string, field: string): Promise<number> {
    return netCounter(ns, "snmp", proto, field);
  }

  /** Deletes both namespaces (the veth pair goes with them). */
  async destroy(): Promise<void> {
    await sh(["ip", "netns", "del", this.a]);
    await sh(["ip", "netns", "del", this.b]);
  }
}

/**
 * An nft table (in net's second namespace, gone with it) that drops the TCP data segments (IP length over 500) sent
 * to port: the handshake passes, the data is lost until TCP times out.
 */
export async function dropTcpData(net: VethPair, table: string, port: number): Promise<void> {
  await must(["ip", "netns", "exec", net.b, "nft", "-f", "-"], {
    input: `table inet ${table} {\n chain in {\n type filter hook input priority 0;\n` +
      `tcp dport ${port} ip length > 500 drop\n }\n}\n`,
  });
}

/** Waits (up to 5 s) until a device in a namespace has its carrier (LOWER_UP); throws if it never comes. */
async function waitCarrier(ns: string, dev: string): Promise<void> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const r = await sh(["ip", "-n", ns, "-o", "link", "show", dev]);
    if (/[<,]LOWER_UP[,>]/.test(r.stdout)) return;
    if (Date.now() > deadline) throw new Error(`${ns}: ${dev} has no carrier after 5 s: ${r.stdout.trim()}`);
    await new Promise((res) => setTimeout(res, 20));
  }
}

/** Creates a veth pair, runs body, always removes the namespaces. */
export async function withNet(tag: string, body: (net: VethPair) => Promise<void>): Promise<void> {
  const net = await VethPair.create(tag);
  try {
    await body(net);
  } finally {
    await net.destroy();
  }
}
