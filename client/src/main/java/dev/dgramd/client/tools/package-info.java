/**
 * For tools that speak the {@code dgramd.v1} gRPC contract themselves (dgramctl, scripts, monitors)
 * rather than through {@link dev.dgramd.client.Socket}: the gRPC channel to a daemon, built exactly
 * as the client library builds its own from {@link dev.dgramd.client.ClientOptions}. A separate
 * package so that {@code dev.dgramd.client} itself stays Node's API, with no gRPC type in it; the
 * {@code dgramd.v1} stubs come from the {@code dgramd-proto} artifact.
 */
package dev.dgramd.client.tools;
