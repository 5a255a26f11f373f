// The ESM entry: `import dgram from 'dgramd'` or `import { createSocket } from 'dgramd'`, as node:dgram.
import dgram from './index.js';

export const { createSocket, Socket, connect } = dgram;
export default dgram;
