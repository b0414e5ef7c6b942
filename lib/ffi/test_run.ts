/**
 * BPF_PROG_TEST_RUN through libbpf's bpf_prog_test_run_opts: runs a loaded
 * program (XDP, socket filter, ...) once on a packet given here and returns
 * what the program returned.
 * @module
 */
import { libbpf, LibbpfError } from "./libbpf.ts";
import { errno } from "./libc.ts";

/* struct bpf_test_run_opts (libbpf 1.x): sz, data_in, data_out, data_size_in, data_size_out, ctx_in, ctx_out,
 * ctx_size_in, ctx_size_out, retval, repeat, duration, flags, cpu, batch_size */
const OPTS_SIZE = 80;
const DATA_IN = 8;
const DATA_SIZE_IN = 24;
const RETVAL = 56;
const REPEAT = 60;

/** The program's return value for one run on packet. */
export function testRunPacket(progFd: number, packet: Uint8Array): number {
  const data = new Uint8Array(packet);
  const opts = new Uint8Array(OPTS_SIZE);
  const v = new DataView(opts.buffer);
  v.setBigUint64(0, BigInt(OPTS_SIZE), true);
  v.setBigUint64(DATA_IN, BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(data))), true);
  v.setUint32(DATA_SIZE_IN, data.length, true);
  v.setInt32(REPEAT, 1, true);
  const ret = libbpf().bpf_prog_test_run_opts(progFd, opts);
  if (ret < 0) throw new LibbpfError("bpf_prog_test_run_opts", -ret || errno());
  return v.getUint32(RETVAL, true);
}
