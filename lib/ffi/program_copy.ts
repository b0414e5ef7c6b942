/**
 * Loading a copy of a loaded program's instructions with bpf_prog_load, as
 * the fentry copies (tracing_copies.ts) and the per-point copies of kernels
 * without attach cookies (point_copies.ts) do. A copy the kernel refuses is
 * loaded once more with the verifier's log, for the reason.
 * @module
 */
import { libbpf, LibbpfError } from "./libbpf.ts";
import { cstr } from "./libc.ts";
import { verifierReason } from "./verifier_log.ts";

/* struct bpf_prog_load_opts (libbpf 1.0/1.1 layout; later versions only append) */
const PROG_LOAD_OPTS_SIZE = 104;
const PLO_EXPECTED_ATTACH_TYPE = 12;
const PLO_ATTACH_BTF_ID = 32;
const PLO_ATTACH_BTF_OBJ_FD = 40;
const PLO_LOG_LEVEL = 88;
const PLO_LOG_SIZE = 92;
const PLO_LOG_BUF = 96;

/** What a copy is loaded for: BTF-typed programs name their function. */
export interface CopyAttach {
  expectedAttachType?: number;
  attachBtfId?: number;
  attachBtfObjFd?: number;
}

function loadOpts(attach: CopyAttach, log?: Uint8Array): Uint8Array<ArrayBuffer> {
  const o = new Uint8Array(PROG_LOAD_OPTS_SIZE);
  const v = new DataView(o.buffer);
  v.setBigUint64(0, BigInt(PROG_LOAD_OPTS_SIZE), true);
  v.setUint32(PLO_EXPECTED_ATTACH_TYPE, attach.expectedAttachType ?? 0, true);
  v.setUint32(PLO_ATTACH_BTF_ID, attach.attachBtfId ?? 0, true);
  v.setUint32(PLO_ATTACH_BTF_OBJ_FD, attach.attachBtfObjFd ?? 0, true);
  if (log) {
    v.setUint32(PLO_LOG_LEVEL, 1, true);
    v.setUint32(PLO_LOG_SIZE, log.length, true);
    v.setBigUint64(PLO_LOG_BUF, BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(log))), true);
  }
  return o;
}

/**
 * Loads one copy (on a worker thread: copies verify side by side): its fd, or the error with the kernel's
 * reason (the verifier log's last lines). insns: a pointer to them, or a buffer holding them; name: at most
 * 15 characters are kept.
 */
export async function loadProgramCopy(
  progType: number,
  name: string,
  insns: Deno.PointerObject | Uint8Array<ArrayBuffer>,
  count: bigint,
  attach: CopyAttach = {},
): Promise<number | LibbpfError> {
  const progName = cstr(name.slice(0, 15));
  const license = cstr("GPL");
  // a buffer stays referenced across the await (the retry below reads it), so it is not collected mid-load
  const at = (i: typeof insns) => i instanceof Uint8Array ? Deno.UnsafePointer.of(i)! : i;
  const fd = await libbpf().bpf_prog_load_nonblocking(progType, progName, license, at(insns), count, loadOpts(attach));
  if (fd >= 0) return fd;
  const log = new Uint8Array(1 << 16);
  const again = libbpf().bpf_prog_load(progType, progName, license, at(insns), count, loadOpts(attach, log));
  if (again >= 0) return again;
  const end = log.indexOf(0);
  return new LibbpfError(
    "bpf_prog_load",
    -fd,
    verifierReason(new TextDecoder().decode(end < 0 ? log : log.subarray(0, end))),
  );
}
