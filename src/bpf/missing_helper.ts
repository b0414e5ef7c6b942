/**
 * Why a program did not load when the reason is a BPF helper this kernel is
 * too old for: the verifier names such a helper by number only. Pure.
 * @module
 */

/** BPF helpers a probe program calls that older kernels lack: the verifier names them by number there. */
const LATER_HELPERS: ReadonlyMap<number, { name: string; since: string; use: string }> = new Map([
  [174, { name: "bpf_get_attach_cookie", since: "5.15", use: "tells one program which of its points fired" }],
  [183, { name: "bpf_get_func_arg", since: "5.17", use: "reads a traced function's arguments" }],
  [184, { name: "bpf_get_func_ret", since: "5.17", use: "reads a traced function's return value" }],
]);

/** The helper the verifier did not know, in words, when that is why the load failed. */
export function missingHelper(message: string): string | undefined {
  const m = message.match(/(?:invalid|unknown) func (?:\w+)?#(\d+)/);
  if (!m) return undefined;
  const helper = LATER_HELPERS.get(Number(m[1]));
  return helper
    ? `this kernel lacks the BPF helper ${helper.name} (Linux ${helper.since}), which ${helper.use}`
    : `this kernel lacks BPF helper #${m[1]}`;
}
