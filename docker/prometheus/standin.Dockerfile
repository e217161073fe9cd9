# TEST STAND-IN for prom/prometheus (docker/compose-check, on machines without Docker Hub): Debian's prometheus
# binary (the .deb compose-check downloads with apt-get on the host) on the same Debian base as the other stand-ins.
# The Debian package's web UI assets come from other packages and are left out: the HTTP API is what the check uses.
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
COPY prometheus.deb /tmp/prometheus.deb
RUN dpkg-deb -x /tmp/prometheus.deb /tmp/prometheus \
    && cp /tmp/prometheus/usr/bin/prometheus /tmp/prometheus/usr/bin/promtool /usr/bin/ \
    && rm -rf /tmp/prometheus /tmp/prometheus.deb \
    && mkdir -p /prometheus
WORKDIR /prometheus
