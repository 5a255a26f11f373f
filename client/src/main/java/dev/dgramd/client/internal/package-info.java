/**
 * The machinery under {@link dev.dgramd.client}: gRPC stubs, the per-socket event stream and
 * serial dispatch, the batched send pipeline, and the JVM keep-alive of ref'd sockets. Not API:
 * the public types here exist only because Java has no friend packages, and may change at any
 * time.
 */
package dev.dgramd.client.internal;
