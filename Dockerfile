# The worker and scheduler image (ECS Fargate, ARM64). It holds only the bundles that `npm run build:containers`
# writes to dist/containers: the same esbuild options and plugins as the Lambda functions, no node_modules.
#   npm ci && npm run build:containers
#   docker buildx build --platform linux/arm64 -t <account>.dkr.ecr.<region>.amazonaws.com/atlas-automations:<tag> --push .
# The task definitions choose the entry: `node --enable-source-maps worker/main.mjs` or `scheduler/main.mjs`.
FROM public.ecr.aws/docker/library/node:22-bookworm-slim

ENV NODE_ENV=production
WORKDIR /app
COPY --chown=root:root dist/containers/ ./

# The root filesystem is read-only in the task definitions; the engine writes only to stdout.
USER node
STOPSIGNAL SIGTERM
CMD ["node", "--enable-source-maps", "worker/main.mjs"]
