# A static grantd image (docs/OPERATIONS.md, Container image):
#   docker build -t grantd .
#   docker run -p 8080:8080 -v grantd-data:/data -e GRANTD_ISSUER=https://auth.example.com grantd
# CGO_ENABLED=0: the SQLite driver is pure Go, so the binary needs no libc.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
COPY rs/go.mod rs/go.sum* rs/
COPY client/go.mod client/go.sum* client/
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/grantd ./cmd/grantd && mkdir /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/grantd /grantd
# The database, the master key and the bootstrap key live here; mount a
# volume on it. Owned by the image's non-root user (65532).
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
WORKDIR /data
ENV GRANTD_ADDR=0.0.0.0:8080 \
    GRANTD_DATABASE=/data/grantd.db
EXPOSE 8080
VOLUME ["/data"]
ENTRYPOINT ["/grantd"]
CMD ["serve"]
