# The three services and the operator CLI (`ops`) in one image; docker-compose.yml picks the
# binary per container.
#
# Not built on the project's machines (they have no Docker engine): written to the same
# facts as the local stack (`cargo xtask stack`), untested here.
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
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --no-create-home --shell /usr/sbin/nologin service
COPY --from=build /src/target/release/person-service \
                  /src/target/release/accounting-service \
                  /src/target/release/planning-service \
                  /src/target/release/ops \
                  /usr/local/bin/
USER service
ENV RUST_LOG=info LOG_FORMAT=json
# docker-compose.yml sets the command (which service) and the environment:
# DATABASE_URL, KAFKA_BOOTSTRAP_SERVERS, SCHEMA_REGISTRY_URL, HTTP_ADDR.
CMD ["person-service"]
