# syntax=docker/dockerfile:1
# The release image: the binary is built from xcaddy.json by cmd/release
# (xcaddy with the pinned Caddy version), then copied into a slim runtime
# that runs as an unprivileged user with its data on a volume.
#
#   docker build -t strongroom .
#   docker run -p 8080:8080 -v strongroom:/data -e STRONGROOM_MASTER_KEY=... strongroom
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN go run ./cmd/release -manifest xcaddy.json -o /out/strongroom

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
	&& rm -rf /var/lib/apt/lists/* \
	&& useradd --system --home-dir /data --shell /usr/sbin/nologin strongroom \
	&& mkdir -p /data && chown strongroom:strongroom /data && chmod 0700 /data
COPY --from=build /out/strongroom /usr/bin/strongroom
COPY Caddyfile /etc/strongroom/Caddyfile
# Inside a container "localhost only" would be unreachable: listen on every
# interface of the container; the admin API stays on its loopback.
ENV STRONGROOM_BIND=0.0.0.0 \
	STRONGROOM_DATA_DIR=/data/vault \
	HOME=/data XDG_DATA_HOME=/data XDG_CONFIG_HOME=/data
VOLUME /data
USER strongroom
EXPOSE 8080
ENTRYPOINT ["/usr/bin/strongroom"]
CMD ["run", "--config", "/etc/strongroom/Caddyfile", "--adapter", "caddyfile"]
