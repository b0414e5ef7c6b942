/**
 * Checks that this host can run BPF modes at all, before anything is loaded.
 * @module
 */
import { HostError } from "../errors.ts";
import { libbpf, LibbpfMissingError } from "../../lib/ffi/libbpf.ts";
import { canLoadBpf, effectiveCapabilities } from "./privileges.ts";

/** Throws HostError when not privileged or when libbpf is missing. */
export function requireBpfHost(): void {
  if (!canLoadBpf(effectiveCapabilities())) {
    throw new HostError("nettrace needs root (or CAP_BPF and CAP_PERFMON) to load BPF programs");
  }
  try {
    libbpf();
  } catch (e) {
    if (e instanceof LibbpfMissingError) throw new HostError(e.message);
    throw e;
  }
}
