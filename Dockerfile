# The three services and the operator CLI (`ops`) in one image, with the connector
# declarations `ops connectors apply` reads; docker-compose.yml picks the binary per container.
# The services embed their SQL migrations at compile time (sqlx::migrate!), so the image
# carries no other source file.
#
# Not built on the project's machines (they have no Docker engine): written to the same
# facts as the local stack (`cargo xtask stack`) and checked statically against
# docker-compose.yml by `cargo test -p xtask --test compose`, not run here.
#
# .dockerignore keeps target/ and .stack/ out of the build context.

FROM rust:1-bookworm AS build
WORKDIR /src
# rdkafka's default features build the bundled librdkafka with gcc and make (already in the
# rust image); cmake is only needed by some -sys crates' fallbacks.
RUN apt-get update \
 && apt-get install -y --no-install-recommends cmake \
 && rm -rf /var/lib/apt/lists/*
COPY . .
RUN cargo build --release --locked \
      --bin person-service --bin accounting-service --bin planning-service --bin ops

FROM debian:bookworm-slim
# curl: the compose file's health checks call each service's /health/.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --no-create-home --shell /usr/sbin/nologin service
COPY --from=build /src/target/release/person-service \
                  /src/target/release/accounting-service \
                  /src/target/release/planning-service \
                  /src/target/release/ops \
                  /usr/local/bin/
# CONNECTOR_DECLARATIONS of the compose file's `connectors` service.
COPY ksqldb/migrations /usr/local/share/contract-first/ksqldb/migrations
USER service
ENV RUST_LOG=info LOG_FORMAT=json
# docker-compose.yml sets the command (which service) and the environment:
# DATABASE_URL, KAFKA_BOOTSTRAP_SERVERS, SCHEMA_REGISTRY_URL, HTTP_ADDR (and for
# `ops connectors apply`: KAFKA_CONNECT_URL, CONNECTOR_DECLARATIONS and the declarations'
# ${env:...} placeholders).
CMD ["person-service"]
