/** The --detail columns, one order for drop, lifecycle and socket lines. */
import { assertEquals } from "../helpers/assert.ts";
import { detailColumns } from "../../src/output/detail_columns.ts";

const common = { address: 0xffff888104a1c800n, cpu: 1, netns: 4026531840, pid: 4242, comm: "curl" };

Deno.test("detail columns: a drop line (no point), a lifecycle line, a socket line (no interface)", () => {
  assertEquals(
    detailColumns({ ...common, ifname: "eth0" }),
    "[ffff888104a1c800][cpu:1  ][eth0][ns:4026531840][pid:4242   ][curl] ",
  );
  assertEquals(
    detailColumns({ ...common, point: "ip_rcv      ", ifname: "" }),
    "[ffff888104a1c800][ip_rcv      ][cpu:1  ][-][ns:4026531840][pid:4242   ][curl] ",
  );
  assertEquals(
    detailColumns({ ...common, point: "tcp_retransmit_timer" }),
    "[ffff888104a1c800][tcp_retransmit_timer][cpu:1  ][ns:4026531840][pid:4242   ][curl] ",
  );
});
