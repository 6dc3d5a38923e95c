# syntax=docker/dockerfile:1
# One image, three roles: the container's command picks bot, worker or poller
# (docker-compose.yml). Build: docker build -t marketingbot .
#
# The image carries configs/config.example.yaml as /etc/marketingbot/config.yaml
# together with the default texts (messages.ru.yaml, system_prompt.txt), so
# relative paths in a config resolve there. The example is NOT a working
# configuration: mount the real one over it (read-only) and pass secrets as
# environment (env_file: .env) and the Google service-account JSON as a
# read-only file, as docker-compose.yml does.

ARG GO_VERSION=1.26

FROM golang:${GO_VERSION}-alpine AS build
WORKDIR /src
# Modules first: this layer is rebuilt only when go.mod/go.sum change.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/ ./cmd/bot ./cmd/worker ./cmd/poller

# Alpine rather than distroless: its busybox wget is the healthcheck probe
# (the roles have no probe mode of their own), and tzdata gives app.timezone.
FROM alpine:3.22 AS runtime
RUN apk add --no-cache ca-certificates tzdata \
    && addgroup -S -g 10001 marketing \
    && adduser -S -D -H -u 10001 -G marketing -s /sbin/nologin marketing
COPY --from=build /out/bot /out/worker /out/poller /usr/local/bin/
COPY configs/config.example.yaml /etc/marketingbot/config.yaml
COPY configs/messages.ru.yaml configs/system_prompt.txt /etc/marketingbot/
USER 10001:10001
WORKDIR /etc/marketingbot
# bot 8081, worker 9101, poller 9102 (bind them to 0.0.0.0 inside the container:
# MARKETINGBOT_HTTP_<ROLE>_ADDR, see docker-compose.yml).
EXPOSE 8081 9101 9102
STOPSIGNAL SIGTERM
CMD ["bot", "--config", "/etc/marketingbot/config.yaml"]
