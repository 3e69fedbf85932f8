// Package deploy holds no code: its tests check the production files at the
// repository root, which no Docker engine builds in CI.
//
//   - deploy/*.Dockerfile: the exact `CGO_ENABLED=0 go build` line of each
//     image is run here; the binaries must be static, answer `help`, and be
//     the files the final stage copies.
//   - docker-compose.yml: `docker-compose config -q` accepts it with the
//     required secrets set and refuses it when any one is missing.
//   - .env.example: documents every RESAYIL_ variable of the config structs,
//     with the struct's default, and every variable compose interpolates.
package deploy
