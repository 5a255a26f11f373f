package dev.dgramd.daemon.udp;

/** {@link UdpSocketBehaviour} on the native epoll transport (the daemon's transport on Linux). */
class EpollUdpSocketTest extends UdpSocketBehaviour {
    @Override
    boolean epoll() {
        return true;
    }
}
