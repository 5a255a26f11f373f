#!/usr/bin/env python3
"""Drives a dgramd daemon end to end from Python, knowing nothing but dgramd.proto.

Two udp4 sockets exchange a datagram, then a multicast one, then an error is decoded from its
google.rpc.ErrorInfo, then both close.

  usage: python3 client.py HOST:PORT        (the address the daemon logged: "dgramd listening on ...")
         DGRAMD_TARGET=HOST:PORT python3 client.py

The client code is generated from the .proto files by grpc_tools.protoc into ./generated (or the
directory DGRAMD_GENERATED names); README.md has the command. Every step is checked; the script
prints one line per step and "client ok", or the reason it failed (exit code 1). Every wait is
bounded by TIMEOUT seconds.
"""
import os
import queue
import sys
import threading

import grpc

sys.path.insert(0, os.environ.get("DGRAMD_GENERATED") or os.path.join(os.path.dirname(__file__), "generated"))
from dgramd.v1 import dgramd_pb2 as pb  # noqa: E402  (generated: after the path is set)
from dgramd.v1 import dgramd_pb2_grpc  # noqa: E402
import rpc_details_pb2  # noqa: E402

TIMEOUT = 5.0
LOOPBACK = "127.0.0.1"
GROUP = "239.255.0.77"  # an administratively scoped multicast group, used on the loopback interface only
ERROR_INFO_TYPE = "type.googleapis.com/google.rpc.ErrorInfo"


class Failure(Exception):
    """A step did not go as expected."""


# ---- Error details ---------------------------------------------------------------------------------
def error_info(err):
    """The ErrorInfo of a failed call (reason = the Node.js error code, domain "dgramd"), or None.

    A failed call carries a google.rpc.Status in its grpc-status-details-bin trailer, whose details
    hold one google.protobuf.Any with the ErrorInfo.
    """
    for key, value in err.trailing_metadata() or ():
        if key == "grpc-status-details-bin":
            status = rpc_details_pb2.Status.FromString(value)
            for any_ in status.details:
                if any_.type_url == ERROR_INFO_TYPE:
                    return rpc_details_pb2.ErrorInfo.FromString(any_.value)
    return None


# ---- Events: one reader thread per stream ----------------------------------------------------------
class Events:
    """A socket's Events stream; its events queue up until a step takes them."""

    END = object()  # the stream completed OK, after 'close'

    def __init__(self, stub, name, socket_id):
        self.name = name
        self.queue = queue.Queue()
        self.call = stub.Events(pb.EventsRequest(socket_id=socket_id))
        threading.Thread(target=self._read, name=f"events {name}", daemon=True).start()

    def _read(self):
        try:
            for response in self.call:
                for event in response.events:
                    self.queue.put(event)
            self.queue.put(Events.END)
        except grpc.RpcError as err:  # a non-OK end of the stream (or our cancel)
            self.queue.put(err)

    def next(self, kind):
        """Takes the next event, which must be of this kind ('listening', 'message', ...); returns its payload."""
        item = self._take(f"'{kind}' event")
        if item is Events.END:
            raise Failure(f"{self.name}: Events stream ended before '{kind}'")
        if isinstance(item, grpc.RpcError):
            raise Failure(f"{self.name}: Events stream failed: {item.code().name} {item.details()}")
        if item.WhichOneof("event") != kind:
            raise Failure(f"{self.name}: expected '{kind}', got {item}")
        return getattr(item, kind)

    def end(self):
        """Waits for the stream to complete OK, with no event left over."""
        item = self._take("end of the Events stream")
        if item is not Events.END:
            raise Failure(f"{self.name}: expected the end of the Events stream, got {item}")

    def _take(self, what):
        try:
            return self.queue.get(timeout=TIMEOUT)
        except queue.Empty:
            raise Failure(f"{self.name}: no {what} within {TIMEOUT} s") from None


# ---- Small helpers -----------------------------------------------------------------------------------
def expect(what, actual, **expected):
    """Raises unless every named field of `actual` equals the expected value."""
    got = {k: getattr(actual, k) for k in expected}
    if got != expected:
        raise Failure(f"{what}: expected {expected}, got {got}")


def step(text):
    print(f"ok  {text}", flush=True)


def host_port(a):
    return f"{a.address}:{a.port}"


# ---- The client --------------------------------------------------------------------------------------
def run(stub, created):
    opts = {"timeout": TIMEOUT}

    # 1. dgram.createSocket('udp4') twice; attach each socket's Events stream right away.
    a = stub.CreateSocket(pb.CreateSocketRequest(type=pb.SOCKET_TYPE_UDP4), **opts).socket_id
    b = stub.CreateSocket(pb.CreateSocketRequest(type=pb.SOCKET_TYPE_UDP4), **opts).socket_id
    created += [a, b]
    a_events, b_events = Events(stub, "A", a), Events(stub, "B", b)
    step(f"CreateSocket x2: A={a} B={b}, Events attached")

    # 2. A.bind(0) on all interfaces (empty address), as Node's socket.bind(0): on Linux a socket bound
    #    to 127.0.0.1 would not receive the multicast datagrams of step 4. All traffic stays on lo.
    bound = stub.Bind(pb.BindRequest(socket_id=a, port=0), **opts).address
    expect("Bind answer", bound, address="0.0.0.0", family="IPv4")
    expect("A's 'listening'", a_events.next("listening").address, address=bound.address, port=bound.port)
    step(f"Bind A -> {host_port(bound)}, 'listening' agrees")

    # 3. B.send('hello', A's port, '127.0.0.1'): B is unbound, so the daemon binds it first (like Node).
    sent = stub.Send(pb.SendRequest(socket_id=b, data=b"hello", port=bound.port, address=LOOPBACK), **opts)
    expect("Send answer", sent, bytes=5)
    b_address = b_events.next("listening").address  # B's first event
    expect("B's implicit 'listening'", b_address, address="0.0.0.0", family="IPv4")
    step(f"Send \"hello\" B -> A: {sent.bytes} bytes; B bound implicitly to {host_port(b_address)}")

    hello = a_events.next("message")
    expect("message", hello, data=b"hello")
    expect("rinfo", hello.rinfo, address=LOOPBACK, family="IPv4", port=b_address.port, size=5)
    step(f"A 'message' \"hello\" from {host_port(hello.rinfo)} ({hello.rinfo.family}, {hello.rinfo.size} bytes)")

    # 4. Multicast over the loopback interface: A joins the group on 127.0.0.1; B sends out of
    #    127.0.0.1 with multicast loopback on, so the datagram comes back to this host's members.
    stub.AddMembership(pb.AddMembershipRequest(socket_id=a, multicast_address=GROUP, interface_address=LOOPBACK),
                       **opts)
    stub.SetMulticastInterface(pb.SetMulticastInterfaceRequest(socket_id=b, interface_address=LOOPBACK), **opts)
    expect("SetMulticastLoopback answer",
           stub.SetMulticastLoopback(pb.SetMulticastLoopbackRequest(socket_id=b, flag=True), **opts), flag=True)
    step(f"AddMembership A {GROUP} on {LOOPBACK}; B SetMulticastInterface {LOOPBACK}, SetMulticastLoopback true")

    stub.Send(pb.SendRequest(socket_id=b, data=b"hello group", port=bound.port, address=GROUP), **opts)
    group = a_events.next("message")
    expect("multicast message", group, data=b"hello group")
    expect("multicast rinfo", group.rinfo, address=LOOPBACK, port=b_address.port, size=11)
    step(f"A 'message' \"hello group\" sent to {GROUP}:{bound.port}")

    # DropMembership, then prove it: each Send answers once the kernel took the datagram, so had A still
    # been a member, the group datagram would arrive before the unicast marker sent after it.
    stub.DropMembership(pb.DropMembershipRequest(socket_id=a, multicast_address=GROUP, interface_address=LOOPBACK),
                        **opts)
    stub.Send(pb.SendRequest(socket_id=b, data=b"after drop", port=bound.port, address=GROUP), **opts)
    stub.Send(pb.SendRequest(socket_id=b, data=b"marker", port=bound.port, address=LOOPBACK), **opts)
    expect("message after DropMembership", a_events.next("message"), data=b"marker")
    step(f"DropMembership A {GROUP}: group traffic no longer arrives")

    # 5. An error: binding A again. Branch on ErrorInfo.reason (the Node error code), not the status code.
    try:
        stub.Bind(pb.BindRequest(socket_id=a, port=0), **opts)
        raise Failure("second Bind of A succeeded; expected ERR_SOCKET_ALREADY_BOUND")
    except grpc.RpcError as err:
        info = error_info(err)
        if info is None:
            raise Failure(f"Bind: {err.code().name} {err.details()}: no ErrorInfo in grpc-status-details-bin")
        expect("ErrorInfo", info, reason="ERR_SOCKET_ALREADY_BOUND", domain="dgramd")
        step(f"Bind A again -> {err.code().name}, reason {info.reason}: {err.details()}")

    # 6. Close both: each Events stream delivers 'close', then completes.
    for socket_id, events in ((a, a_events), (b, b_events)):
        expect(f"Close {events.name}", stub.Close(pb.CloseRequest(socket_id=socket_id), **opts), already_closed=False)
        events.next("close")
        events.end()
        step(f"Close {events.name}: 'close' event, Events stream completed")


def main(argv):
    target = argv[1] if len(argv) == 2 else os.environ.get("DGRAMD_TARGET") if len(argv) == 1 else None
    if not target:
        print("usage: python3 client.py HOST:PORT   (or set DGRAMD_TARGET)", file=sys.stderr)
        return 2
    created = []  # socket ids, closed if a step fails: a socket lives in the daemon until Close
    with grpc.insecure_channel(target) as channel:
        stub = dgramd_pb2_grpc.DgramStub(channel)
        try:
            run(stub, created)
        except (Failure, grpc.RpcError) as err:
            reason = f"{err.code().name} {err.details()}" if isinstance(err, grpc.RpcError) else str(err)
            print(f"client FAILED: {reason}", file=sys.stderr)
            for socket_id in created:
                try:
                    stub.Close(pb.CloseRequest(socket_id=socket_id), timeout=TIMEOUT)
                except grpc.RpcError:
                    pass
            return 1
    print("client ok")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
