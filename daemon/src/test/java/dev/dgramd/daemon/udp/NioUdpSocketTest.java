package dev.dgramd.daemon.udp;

/** {@link UdpSocketBehaviour} on the NIO transport ({@code --transport nio}, and where epoll is missing). */
class NioUdpSocketTest extends UdpSocketBehaviour {
    @Override
    boolean epoll() {
        return false;
    }
}
