// ESM resolve hook of redirect.js: 'dgram' and 'node:dgram' resolve to the package's ESM entry.
let target;

export function initialize(data) {
  target = data.url;
}

export function resolve(specifier, context, nextResolve) {
  if (specifier === 'dgram' || specifier === 'node:dgram') return { url: target, shortCircuit: true };
  return nextResolve(specifier, context);
}
