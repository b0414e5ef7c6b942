/** ELF bytes (gzip) of bpf/probe.bpf.c (CO-RE). Imported when first needed (src/bpf/objects.ts). @module */
import bytes from "../../../bpf/.output/probe.bpf.o.gz" with { type: "bytes" };
export default bytes;
