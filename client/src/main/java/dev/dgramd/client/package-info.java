/**
 * Node.js's {@code dgram.Socket}, in Java, with the sockets hosted by the dgramd daemon.
 *
 * <p>Start with {@link dev.dgramd.client.DgramClient#connect(String)}, then
 * {@link dev.dgramd.client.DgramClient#createSocket(String)}. Names, arguments, events and error
 * codes are Node's; see {@link dev.dgramd.client.Socket} for the few remote differences.
 */
package dev.dgramd.client;
