# Production image of portal-api: a static binary on distroless, non-root.
# Build from the repository root:
#   docker build -f deploy/portal-api.Dockerfile -t resayil/portal-api .
# pkg/deploy/deploy_test.go runs the `CGO_ENABLED=0 go build` line below
# verbatim (output folder swapped), since no Docker engine runs in CI.

# The web app, built once here and served by portal-api from the same
# origin (RESAYIL_STATIC_DIR). The generated API types are committed
# (frontend/src/types/api.gen.ts; make test fails when they are stale), so
# the build needs only the frontend folder.
FROM node:20-bookworm-slim AS web
WORKDIR /src/frontend
COPY frontend/package.json frontend/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY frontend/ ./
RUN npm run build

FROM golang:1.26 AS build
WORKDIR /src
ENV GOTOOLCHAIN=local
# Module files first: the download layer stays cached until a go.mod/go.sum
# changes. Every module of go.work is listed, because workspace mode needs all
# of them to resolve the build list.
COPY go.work go.work.sum ./
COPY pkg/go.mod pkg/go.sum pkg/
COPY migrations/go.mod migrations/go.sum migrations/
COPY gateway/go.mod gateway/go.sum gateway/
COPY portal-api/go.mod portal-api/go.sum portal-api/
RUN for m in pkg migrations gateway portal-api; do (cd "$m" && go mod download) || exit 1; done
COPY pkg/ pkg/
COPY migrations/ migrations/
COPY portal-api/ portal-api/
# Static (no cgo: SQLite is the pure-Go driver); time/tzdata is imported by
# main, so Asia/Kuwait resolves without /usr/share/zoneinfo.
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/ ./portal-api/cmd/portal-api ./pkg/cmd/healthcheck

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/portal-api /portal-api
COPY --from=build /out/healthcheck /healthcheck
COPY --from=web /src/frontend/dist /srv/web
COPY config/models.yaml /etc/resayil/models.yaml
USER 65532:65532
EXPOSE 8081
ENV RESAYIL_ENV=production RESAYIL_PORTAL_ADDR=:8081 RESAYIL_MODELS_FILE=/etc/resayil/models.yaml RESAYIL_STATIC_DIR=/srv/web
# No shell in this image: docker-compose.yml probes with
# ["CMD", "/healthcheck", "http://127.0.0.1:8081/readyz"].
ENTRYPOINT ["/portal-api"]
CMD ["serve"]
