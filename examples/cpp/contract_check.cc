// Compiles and links against the C++ code protoc generates from dgramd.proto and admin.proto, and
// runs without a daemon: it builds requests, reads a serialized one back, and makes the stubs.
// The build runs it (CppContractIT in daemon/); README.md here has the commands.
#include <cerrno>
#include <iostream>
#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

#include "dgramd/v1/admin.grpc.pb.h"
#include "dgramd/v1/dgramd.grpc.pb.h"

int main() {
  // errno is a macro in C and C++: the contract's field is error_number (JSON name "errno").
  dgramd::v1::Error error;
  error.set_code("EADDRINUSE");
  error.set_error_number(-EADDRINUSE);

  dgramd::v1::EventsRequest events;
  events.mutable_create()->set_type(dgramd::v1::SOCKET_TYPE_UDP4);
  events.mutable_bind()->set_port(0);
  dgramd::v1::EventsRequest parsed;
  if (!parsed.ParseFromString(events.SerializeAsString()) || !parsed.has_create() ||
      parsed.create().type() != dgramd::v1::SOCKET_TYPE_UDP4) {
    std::cerr << "EventsRequest did not survive serialization" << std::endl;
    return 1;
  }

  dgramd::v1::SendStreamRequest batch;
  batch.set_socket_id("s");
  dgramd::v1::OutboundDatagram* datagram = batch.add_datagrams();
  datagram->set_id(1);
  datagram->set_data(std::string("hello"));
  datagram->set_port(41234);

  // A channel is lazy: nothing connects until a call is made.
  std::shared_ptr<grpc::Channel> channel =
      grpc::CreateChannel("127.0.0.1:50051", grpc::InsecureChannelCredentials());
  std::unique_ptr<dgramd::v1::Dgram::Stub> dgram = dgramd::v1::Dgram::NewStub(channel);
  std::unique_ptr<dgramd::v1::Admin::Stub> admin = dgramd::v1::Admin::NewStub(channel);
  if (!dgram || !admin) {
    std::cerr << "no stub" << std::endl;
    return 1;
  }
  std::cout << "contract ok: " << error.code() << " " << error.error_number() << ", "
            << batch.datagrams_size() << " datagram(s)" << std::endl;
  return 0;
}
