/** ELF bytes (gzip) of bpf/probe_bare.bpf.c (no CO-RE: kernels without BTF). Imported when first needed (src/bpf/objects.ts). @module */
import bytes from "../../../bpf/.output/probe_bare.bpf.o.gz" with { type: "bytes" };
export default bytes;
