# syntax=docker/dockerfile:1.7
#
# One Dockerfile, two images: static (musl) binaries on distroless/static,
# running as the distroless `nonroot` user (65532). No shell in the image.
#
#   docker build --build-arg BIN=kube-mcp-server   -t ghcr.io/kube-mcp/kube-mcp-server:0.1.0 .
#   docker build --build-arg BIN=kube-mcp-operator -t ghcr.io/kube-mcp/kube-mcp-operator:0.1.0 .
#
# (or `--target kube-mcp-server` / `--target kube-mcp-operator`). The builder
# stage does not depend on BIN, so the second build reuses its cache: both
# binaries are compiled once. The operator's default server image is
# ghcr.io/kube-mcp/kube-mcp-server:<crate version> (operator/src/config.rs):
# tag both images with the workspace version.
#
# The musl target is the builder's own architecture (x86_64 or aarch64): build
# each architecture on a native builder (e.g. a `docker buildx` node per
# platform). The build fails if a binary is not fully static.

ARG RUST_VERSION=1.95
ARG BIN=kube-mcp-server

FROM docker.io/library/rust:${RUST_VERSION}-bookworm AS builder
# musl-tools: a musl C compiler for the C/assembly parts of ring (rustls).
RUN apt-get update \
 && apt-get install -y --no-install-recommends musl-tools \
 && rm -rf /var/lib/apt/lists/*
RUN rustup target add "$(uname -m)-unknown-linux-musl"
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,target=/usr/local/cargo/git,sharing=locked \
    --mount=type=cache,target=/src/target,sharing=locked \
    set -eux; \
    target="$(uname -m)-unknown-linux-musl"; \
    cargo build --release --locked --target "$target" \
        -p kube-mcp-server --bin kube-mcp-server \
        -p kube-mcp-operator --bin kube-mcp-operator; \
    mkdir -p /out; \
    for b in kube-mcp-server kube-mcp-operator; do \
        cp "target/$target/release/$b" /out/; \
        if ldd "/out/$b" 2>/dev/null | grep -q '=>'; then echo "$b is not static" >&2; exit 1; fi; \
    done

FROM gcr.io/distroless/static-debian12:nonroot AS runtime
LABEL org.opencontainers.image.source="https://github.com/kube-mcp/kube-mcp" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.vendor="kube-mcp"
USER 65532:65532

FROM runtime AS kube-mcp-server
LABEL org.opencontainers.image.title="kube-mcp-server" \
      org.opencontainers.image.description="Kubernetes MCP server (stdio, streamable HTTP, SSE)"
COPY --from=builder --chown=0:0 --chmod=0555 /out/kube-mcp-server /usr/local/bin/kube-mcp-server
# Streamable HTTP / SSE port when run by the operator (PORT=8080).
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/kube-mcp-server"]

FROM runtime AS kube-mcp-operator
LABEL org.opencontainers.image.title="kube-mcp-operator" \
      org.opencontainers.image.description="Reconciles McpEndpoint resources into scoped kube-mcp-server deployments"
COPY --from=builder --chown=0:0 --chmod=0555 /out/kube-mcp-operator /usr/local/bin/kube-mcp-operator
# /metrics, /healthz, /readyz
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/kube-mcp-operator"]
CMD ["run"]

# The image `docker build` produces without --target: the one BIN names.
FROM ${BIN}
