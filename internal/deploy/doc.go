// Package deploy holds taxflow's production deployment: the images' Dockerfile, the
// scripts and configuration that docker-compose.yml (at the repository root) mounts into
// PostgreSQL's and Temporal's one-shot setup services, an overlay for Temporal Cloud, and
// install-compose.sh, which builds the Docker Compose plugin from source. It has no Go API:
// its test validates the compose files with `docker compose config` and checks that they
// cannot drift from internal/config, go.mod and the workflows' search attributes.
// README.md ("Running in production") describes how to run it.
package deploy
