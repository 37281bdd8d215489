# syntax=docker/dockerfile:1
# Multi-stage build of the operator image (default target) and of the Stytch sandbox image used
# by the kind end-to-end test (`--target sandbox`). Both run as a non-root user on distroless.
#
#   docker build -t stytch-saml-operator:dev .
#   docker build -t stytch-saml-operator-sandbox:dev --target sandbox .
#
# The version is the one in Cargo.toml, compiled into the binary (`stytch-saml-operator --version`)
# and, when VERSION is passed, checked against it and recorded as the image label.

ARG RUST_VERSION=1.95

FROM rust:${RUST_VERSION}-bookworm AS build
WORKDIR /src
COPY . .
ARG VERSION=""
RUN cargo build --release --locked -p stytch-saml-operator --bin stytch-saml-operator \
 && cargo build --release --locked -p sandbox --bin sandbox \
 && install -D -m 0755 target/release/stytch-saml-operator /out/stytch-saml-operator \
 && install -D -m 0755 target/release/sandbox /out/sandbox \
 && /out/stytch-saml-operator --version \
 && if [ -n "$VERSION" ]; then \
      test "$(/out/stytch-saml-operator --version)" = "stytch-saml-operator $VERSION" \
      || { echo "VERSION=$VERSION does not match Cargo.toml" >&2; exit 1; }; \
    fi

# The Stytch API emulator (tests only; never deploy it next to real credentials).
FROM gcr.io/distroless/cc-debian12:nonroot AS sandbox
ARG VERSION=""
LABEL org.opencontainers.image.title="stytch-saml-operator sandbox" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=build /out/sandbox /usr/local/bin/sandbox
USER 65532:65532
EXPOSE 8787
ENTRYPOINT ["/usr/local/bin/sandbox"]
CMD ["stytch", "--listen", "0.0.0.0:8787"]

# The operator (default target). distroless/cc: glibc, libgcc and CA certificates, no shell.
FROM gcr.io/distroless/cc-debian12:nonroot AS operator
ARG VERSION=""
LABEL org.opencontainers.image.title="stytch-saml-operator" \
      org.opencontainers.image.description="Kubernetes operator that manages Stytch B2B SAML SSO connections declaratively" \
      org.opencontainers.image.source="https://github.com/stytch-saml-operator/stytch-saml-operator" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=build /out/stytch-saml-operator /usr/local/bin/stytch-saml-operator
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/stytch-saml-operator"]
CMD ["run"]
