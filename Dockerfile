# Atlas in a container: a release build, then a slim runtime image that runs as a non-root user.
# The image holds the `atlas` binary, GraphiQL's bundles and the built-in embedding model; the
# configuration comes from the environment, as README.md lists it.
FROM rust:1.95-bookworm AS build
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm python3 curl >/dev/null
WORKDIR /src
COPY . .
RUN scripts/graphiql-assets.sh && scripts/model.sh \
 && CARGO_INCREMENTAL=0 cargo build --release -p api --bin atlas

FROM debian:bookworm-slim
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ca-certificates >/dev/null \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/atlas --create-home atlas
COPY --from=build /src/target/release/atlas /usr/local/bin/atlas
COPY --from=build /src/.local/graphiql /usr/share/atlas/graphiql
COPY --from=build /src/.local/models /usr/share/atlas/models
ENV ATLAS_BIND=0.0.0.0:8080 \
    ATLAS_ASSETS_DIR=/usr/share/atlas/graphiql \
    ATLAS_EMBEDDING_MODEL_DIR=/usr/share/atlas/models/all-MiniLM-L6-v2 \
    ATLAS_STORAGE_URL=/var/lib/atlas/objects
USER atlas
# Readiness for a load balancer: GET /health/ready (database, storage, listener).
EXPOSE 8080
ENTRYPOINT ["atlas"]
CMD ["serve"]
