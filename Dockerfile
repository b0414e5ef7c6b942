# nettrace in a container:
#   docker build -t nettrace .
#   docker run --rm -it --privileged --pid=host --network=host \
#     -v /sys/kernel/btf:/sys/kernel/btf:ro -v /sys/kernel/tracing:/sys/kernel/tracing \
#     -v /sys/fs/bpf:/sys/fs/bpf nettrace --drop
#
# The base images can be named (--build-arg BUILD_BASE=... RUNTIME_BASE=...),
# for a machine with its own mirror of Debian's images.
ARG BUILD_BASE=debian:bookworm
ARG RUNTIME_BASE=debian:bookworm-slim

# Build stage: the CO-RE BPF objects, the single-file bundle and the .deb
# (scripts/package.sh). Nothing in it is compiled against the build host's
# kernel: the kernel types come from the committed bpf/vmlinux/ARCH/vmlinux.h,
# or from a BTF file in the context: --build-arg BTF=path/inside/context
FROM ${BUILD_BASE} AS build
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      clang llvm libbpf-dev bpftool nodejs npm ca-certificates git >/dev/null
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
ARG BTF=
RUN scripts/package.sh --deb-only ${BTF:+--btf "$BTF"}

# Runtime stage: the libbpf runtime and the packaged program, nothing else
# (no compiler, no bpftool, no npm): apt installs the .deb and its dependencies.
FROM ${RUNTIME_BASE}
COPY --from=build /src/dist/nettrace_*_amd64.deb /tmp/
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      /tmp/nettrace_*_amd64.deb >/dev/null \
 && rm -rf /var/lib/apt/lists/* /tmp/nettrace_*_amd64.deb
ENTRYPOINT ["/usr/bin/nettrace"]
CMD ["--drop"]
