# cleanreg in a container: deletes old images from a Docker/OCI registry under per-repository retention policies.
#
#   docker build -t cleanreg --build-arg VERSION="$(node -p 'require("./package.json").version')" .
#   docker run --rm cleanreg --help
#
#   # plan only; repos.conf from the current folder, credentials from the environment
#   docker run --rm --init -e CLEANREG_USERNAME -e CLEANREG_PASSWORD \
#     -v "$PWD/repos.conf:/work/repos.conf:ro" \
#     cleanreg -r https://registry.example.com -f repos.conf --dry-run
#
#   # private CA, and a plan file written back to the current folder (run as your own uid so you can write there)
#   docker run --rm --init --user "$(id -u):$(id -g)" -e CLEANREG_USERNAME -e CLEANREG_PASSWORD \
#     -v "$PWD:/work" -v "$PWD/ca.pem:/certs/ca.pem:ro" \
#     cleanreg -r https://registry.example.com -c /certs/ca.pem -f repos.conf --dry-run --plan-out plan.json
#
#   # delete: without a terminal cleanreg refuses to delete unless given -y (use `docker run -it` to be asked)
#   docker run --rm --init ... cleanreg -r https://registry.example.com -f repos.conf -y
#
# Credentials: CLEANREG_USERNAME / CLEANREG_PASSWORD, or docker's config.json mounted read-only with
# `-e DOCKER_CONFIG=/docker -v "$HOME/.docker/config.json:/docker/config.json:ro"` (only "auths" entries work
# in here: the image has no docker-credential-* helpers, so credsStore/credHelpers entries are skipped with a
# warning). The digest cache lives in /cache (XDG_CACHE_HOME); keep it between runs with
# `-v cleanreg-cache:/cache`.
# Inside the image `cleanreg` is also on the PATH (for CI jobs that override the entrypoint).

# One Node LTS major (the code supports Node 20 and later). Not 24 yet: node:24 ships npm 11, whose `npm ci`
# rejects the current package-lock.json (it lacks the other platforms' optional @unrs/resolver-binding-*
# entries of a jest dependency); regenerate the lock with full registry access before moving to 24.
ARG NODE_MAJOR=22

FROM node:${NODE_MAJOR}-alpine AS build
WORKDIR /app
COPY package.json package-lock.json ./
# No install scripts are needed to build (tsc, then esbuild, whose binary comes as an optional package), so none
# are run.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/bundle.mjs ./scripts/
COPY src ./src
RUN npm run build

FROM node:${NODE_MAJOR}-alpine
ARG VERSION=dev
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="cleanreg" \
      org.opencontainers.image.description="Deletes old images from Docker/OCI registries (Registry v2 API) under per-repository retention policies" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}"

ENV NODE_ENV=production \
    XDG_CACHE_HOME=/cache

WORKDIR /app
# dist/cli.js is bundled with its dependencies: no node_modules here. package.json gives --version.
COPY package.json ./
COPY --from=build /app/dist/cli.js ./dist/cli.js
# /work (plans, repos.conf) and /cache are writable by any uid, like /tmp: the image runs as uid 1000 by default,
# but `docker run --user`, OpenShift and Kubernetes may choose another one.
RUN chmod 0755 /app/dist/cli.js \
 && ln -s /app/dist/cli.js /usr/local/bin/cleanreg \
 && mkdir -p /work /cache \
 && chmod 1777 /work /cache

# The node image's unprivileged user, by number so that Kubernetes' runAsNonRoot can check it.
USER 1000:1000
WORKDIR /work
ENTRYPOINT ["node", "/app/dist/cli.js"]
CMD ["--help"]
