# syntax=docker/dockerfile:1
# fitloop: one binary, built with cgo against Debian's libsqlite3, run as a
# non-root user with its data (SQLite files, media) under the /data volume.
#   docker build -t fitloop .
#   docker run -p 8080:8080 -v fitloop-data:/data fitloop

FROM golang:1.26-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends libsqlite3-dev \
 && rm -rf /var/lib/apt/lists/*
ENV CGO_ENABLED=1 GOTOOLCHAIN=local
WORKDIR /src
# Modules first, so editing the source reuses the downloaded dependencies.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    go build -tags libsqlite3 -trimpath -ldflags "-s -w" -o /out/fitloop .

FROM debian:bookworm-slim
# libsqlite3-0: the binary links it; ca-certificates: TLS to PostgreSQL, Redis
# and others; tzdata: per-user time zones; curl: the health check.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libsqlite3-0 ca-certificates tzdata curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --home-dir /data --no-create-home \
      --shell /usr/sbin/nologin fitloop \
 && mkdir -p /data \
 && chown 10001:10001 /data
COPY --from=build /out/fitloop /usr/local/bin/fitloop
# The working directory is /data, so a config.yaml mounted there is read too.
ENV FITLOOP_DATA_DIR=/data
WORKDIR /data
VOLUME /data
USER 10001:10001
EXPOSE 8080
# Assumes the default listen address (:8080).
HEALTHCHECK --interval=30s --timeout=3s --start-period=15s --retries=3 \
  CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
ENTRYPOINT ["/usr/local/bin/fitloop"]
CMD ["serve"]
