# syntax=docker/dockerfile:1
#
# Dockerfile - the healer worker image.
#
# Two stages: "build" compiles build/healer on Debian 12 with the -dev
# packages; the runtime stage is debian:bookworm-slim with only the shared
# libraries the binary loads (docker/runtime-packages.txt, generated from
# `ldd build/healer` by scripts/runtime-packages.sh and checked by make
# test) plus ca-certificates for TLS verification.
#
# Signals: healer runs as PID 1 and needs no init. It blocks SIGTERM/SIGINT
# in every thread and takes them with sigtimedwait() on its main thread, so
# the kernel's PID-1 rule (no default action for unhandled signals) never
# applies: ECS's SIGTERM starts the drain (HEALER_DRAIN_DEADLINE_S), a
# second one stops at once, and nothing is left unanswered before ECS's
# SIGKILL at stopTimeout (120 s). Keep ENTRYPOINT in exec form so healer,
# not a shell, is PID 1.
#
#   docker build -t healer:0.1.0 --build-arg VERSION=0.1.0 .

ARG DEBIAN_RELEASE=bookworm

FROM debian:${DEBIAN_RELEASE} AS build
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
RUN export DEBIAN_FRONTEND=noninteractive \
 && apt-get update \
 && apt-get install -y --no-install-recommends \
      build-essential pkg-config libcurl4-openssl-dev libjson-c-dev libssl-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Makefile ./
COPY include/ include/
COPY worker/ worker/
COPY activities/ activities/
ARG VERSION=0.1.0
RUN make -j"$(nproc)" CI=1 VERSION="${VERSION}" build/healer \
 && ./build/healer --version

FROM debian:${DEBIAN_RELEASE}-slim
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
COPY docker/runtime-packages.txt /tmp/runtime-packages.txt
RUN export DEBIAN_FRONTEND=noninteractive \
 && apt-get update \
 && sed -e 's/#.*//' -e '/^[[:space:]]*$/d' /tmp/runtime-packages.txt \
    | xargs apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* /tmp/runtime-packages.txt \
 && groupadd --system --gid 10001 healer \
 && useradd --system --uid 10001 --gid 10001 --no-create-home \
      --home-dir /nonexistent --shell /usr/sbin/nologin healer
COPY --from=build /src/build/healer /usr/local/bin/healer
# The ECS task definition runs the same uid:gid (terraform/ecs.tf).
USER 10001:10001
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 CMD ["/usr/local/bin/healer", "health"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/healer"]
CMD ["run"]
