# vendorscope as a container image: one statically linked binary on an empty base.
#
#   docker build -t vendorscope .            (or: podman build / buildah build)
#   docker run --rm -v "$PWD/dist:/scan:ro" vendorscope scan /scan
#
# The image holds nothing but the binary, a CA bundle and an empty home directory, and it
# needs nothing else at run time:
# - TLS: rustls with the ring provider (no OpenSSL). Its trust roots are the system's
#   (reqwest's rustls-platform-verifier reads them with rustls-native-certs), so the builder's
#   Debian CA bundle is copied in and named by SSL_CERT_FILE. Without it every HTTPS client
#   fails with "No CA certificates were loaded from the system".
# - Name resolution: the binary is glibc linked statically (crt-static). Since glibc 2.34 the
#   `files` and `dns` NSS modules are part of libc itself, so the static binary's getaddrinfo
#   loads no libnss_*.so: with no /etc/nsswitch.conf it uses glibc's default order (DNS, then
#   /etc/hosts) and reads /etc/resolv.conf and /etc/hosts, which Docker, Podman and Kubernetes
#   mount into every container, this one included.
# - The fingerprint key: pass VENDORSCOPE_FINGERPRINT_KEY (from a secret), or it is created
#   once in $HOME/.config/vendorscope/ (the image's home is writable by its user; mount a
#   volume there to keep it between runs).

# Builder: the pinned toolchain, dependencies exactly as locked.
FROM rust:1.95 AS builder
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
WORKDIR /src
COPY . .
# crt-static links glibc into the binary; an explicit --target keeps the flag off build
# scripts and proc-macros (which must stay dynamic).
ENV RUSTFLAGS="-C target-feature=+crt-static"
RUN target="$(rustc -vV | sed -n 's/^host: //p')" \
    && cargo build --locked --release --target "$target" --bin vendorscope \
    && cp "target/$target/release/vendorscope" /vendorscope \
    && mkdir -p /rootfs/home/vendorscope

# The image: the binary only, run as an unprivileged user.
FROM scratch
COPY --from=builder /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=builder /vendorscope /usr/local/bin/vendorscope
COPY --from=builder --chown=65532:65532 /rootfs/home/vendorscope /home/vendorscope
ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
    HOME=/home/vendorscope
USER 65532:65532
WORKDIR /home/vendorscope
ENTRYPOINT ["/usr/local/bin/vendorscope"]
CMD ["--help"]
