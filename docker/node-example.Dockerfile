# The Node.js example client (examples/node/demo.js) as an image, the application of docker/compose.yaml.
# Build from the repository root:
#   docker build -f docker/node-example.Dockerfile -t dgramd-node-example .
# It drives the daemon at DGRAMD_TARGET (create, bind, send, receive, multicast, an error, close),
# prints one line per step and "demo ok", and exits.
FROM node:20-slim
WORKDIR /dgramd/examples/node
COPY examples/node/package.json examples/node/package-lock.json examples/node/.npmrc ./
RUN npm ci --omit=dev
COPY examples/node/demo.js ./
# demo.js loads the contract from ../../proto/src/main/proto at run time.
COPY proto/src/main/proto /dgramd/proto/src/main/proto
USER node
ENV DGRAMD_TARGET=127.0.0.1:50051
CMD ["node", "demo.js"]
