/** What identifies one packet through its life (the kernel's nt_identify says the same). */
import { assert, assertEquals } from "../helpers/assert.ts";
import { differentPackets, packetIdentity } from "../../src/packet/identity.ts";

const tcp = (seq: number, ack: number, l3Proto = 0x0800) => {
  const l4 = new Uint8Array(20);
  const v = new DataView(l4.buffer);
  v.setUint32(4, seq);
  v.setUint32(8, ack);
  return { l3Proto, l3: new Uint8Array(20), l4Proto: 6, l4 };
};

Deno.test("identity: TCP seq and ack, ICMP echo id and sequence, ARP against IP", () => {
  assertEquals(packetIdentity(tcp(1, 2)), "ip tcp 1 2");
  assertEquals(packetIdentity(tcp(1, 2, 0x86dd)), "ip tcp 1 2");
  const echo = { l3Proto: 0x0800, l3: new Uint8Array(20), l4Proto: 1, l4: new Uint8Array([8, 0, 0, 0, 0, 7, 0, 3]) };
  assertEquals(packetIdentity(echo), "ip icmp 8 7 3");
  assertEquals(packetIdentity({ ...echo, l4Proto: 17 }), "ip");
  assertEquals(packetIdentity({ ...echo, l3Proto: 0x0806 }), "arp");
  assertEquals(packetIdentity({ ...echo, l3Proto: 0 }), undefined);
  assert(differentPackets("ip tcp 1 2", "ip tcp 3 2"));
  assert(differentPackets("arp", "ip"));
  assert(!differentPackets("ip tcp 1 2", "ip tcp 1 2"), "NAT leaves seq and ack");
  assert(!differentPackets("ip tcp 1 2", "ip"), "encapsulated: the outer header is another protocol");
  assert(!differentPackets("ip icmp 8 7 3", "ip tcp 1 2"));
});
