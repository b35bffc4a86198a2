# brickdesk as an OCI image: the static binary on an empty base, run as a non-root user, its data
# in a volume. Build the binaries first with `make dist`; scripts/image.sh builds this for amd64
# and arm64 (podman or buildah), e.g. `scripts/image.sh brickdesk:latest`.
FROM scratch
ARG TARGETARCH
COPY target/dist/image/${TARGETARCH}/brickdesk /brickdesk
# An empty folder owned by the user brickdesk runs as: the volume starts out writable.
COPY --chown=10001:10001 target/dist/image/data /data
USER 10001:10001
ENV BRICKDESK_LISTEN=0.0.0.0:8080 \
    BRICKDESK_DATA_DIR=/data
VOLUME /data
EXPOSE 8080
# The image has no curl: the binary asks itself.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 CMD ["/brickdesk", "healthcheck"]
ENTRYPOINT ["/brickdesk"]
CMD ["serve"]
