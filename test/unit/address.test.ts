import { assertEquals } from "../helpers/assert.ts";
import { formatIPv6, parseIpAddress, parseIPv4, parseIPv6 } from "../../src/packet/address.ts";

Deno.test("address: IPv4 parsing accepts dotted quads only", () => {
  assertEquals(parseIPv4("10.231.0.2"), new Uint8Array([10, 231, 0, 2]));
  for (const bad of ["10.0.0", "10.0.0.256", "10.0.0.01", "a.b.c.d", "1.2.3.4.5", "", " 1.2.3.4"]) {
    assertEquals(parseIPv4(bad), undefined, bad);
  }
});

Deno.test("address: IPv6 parsing handles ::, embedded IPv4 and brackets", () => {
  assertEquals(parseIPv6("::1"), new Uint8Array([...new Array(15).fill(0), 1]));
  assertEquals(parseIPv6("fd00:231::2")!.slice(0, 4), new Uint8Array([0xfd, 0, 0x02, 0x31]));
  assertEquals(parseIPv6("[::ffff:10.0.0.1]")!.slice(10), new Uint8Array([0xff, 0xff, 10, 0, 0, 1]));
  assertEquals(parseIPv6("1:2:3:4:5:6:7:8")![15], 8);
  for (const bad of ["1::2::3", "1:2:3:4:5:6:7:8:9", "12345::", "g::1", "1:2:3:4:5:6:7", "fe80::1%eth0", ":::"]) {
    assertEquals(parseIPv6(bad), undefined, bad);
  }
});

Deno.test("address: parseIpAddress tells the family", () => {
  assertEquals(parseIpAddress("127.0.0.1")?.family, 4);
  assertEquals(parseIpAddress("::1")?.family, 6);
  assertEquals(parseIpAddress("localhost"), undefined);
});

Deno.test("address: IPv6 printing follows RFC 5952", () => {
  const f = (s: string) => formatIPv6(parseIPv6(s)!);
  assertEquals(f("0:0:0:0:0:0:0:1"), "::1");
  assertEquals(f("fd00:231:0:0:0:0:0:2"), "fd00:231::2");
  assertEquals(f("2001:db8:0:1:1:1:1:1"), "2001:db8:0:1:1:1:1:1"); // a single zero group is not shortened
  assertEquals(f("2001:0:0:1:0:0:0:1"), "2001:0:0:1::1"); // the longest run
  assertEquals(f("::ffff:192.0.2.1"), "::ffff:192.0.2.1");
  assertEquals(f("::"), "::");
});
