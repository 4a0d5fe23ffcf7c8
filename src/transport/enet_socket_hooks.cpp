// ENet's socket functions, replaced. ENet 1.3.17 sends and receives one
// datagram per system call and has no hook for its socket layer, but libenet
// calls these through its PLT, so the executable's definitions win when the
// executable exports them (CMakeLists.txt). Each hands the real work to
// ENet's original (found with dlsym RTLD_NEXT) unless batching applies:
// transport/send_batch.hpp and transport/receive_batch.hpp say when and why.
#include "transport/enet_socket_hooks.hpp"
#include "transport/receive_batch.hpp"
#include "transport/send_batch.hpp"

#include <ftsync/util/assert.hpp>

#include <enet/enet.h>

#include <dlfcn.h>

#include <cstring>

namespace {

template <class F>
F original(const char* name) {
  static_assert(sizeof(F) == sizeof(void*));
  void* sym = dlsym(RTLD_NEXT, name);  // the definition after ours: libenet's
  FTSYNC_ASSERT(sym != nullptr);
  F f;
  std::memcpy(&f, &sym, sizeof f);
  return f;
}

using wait_fn = int (*)(ENetSocket, enet_uint32*, enet_uint32);
using destroy_fn = void (*)(ENetSocket);

}  // namespace

extern "C" int enet_socket_send(ENetSocket socket, const ENetAddress* address, const ENetBuffer* buffers,
                                size_t buffer_count) {
  using namespace ftsync::transport::detail;
  static const auto enet_send = original<enet_send_fn>("enet_socket_send");
  return batched_send(socket, address, buffers, buffer_count, enet_send);
}

extern "C" int enet_socket_receive(ENetSocket socket, ENetAddress* address, ENetBuffer* buffers,
                                   size_t buffer_count) {
  using namespace ftsync::transport::detail;
  static const auto enet_receive = original<enet_receive_fn>("enet_socket_receive");
  return batched_receive(socket, address, buffers, buffer_count, enet_receive);
}

extern "C" int enet_socket_wait(ENetSocket socket, enet_uint32* condition, enet_uint32 timeout) {
  using namespace ftsync::transport::detail;
  static const auto enet_wait = original<wait_fn>("enet_socket_wait");
  flush_send_batch(socket);
  if ((*condition & ENET_SOCKET_WAIT_RECEIVE) != 0 && receive_pending(socket)) {
    *condition = ENET_SOCKET_WAIT_RECEIVE;
    return 0;
  }
  return enet_wait(socket, condition, timeout);
}

extern "C" void enet_socket_destroy(ENetSocket socket) {
  using namespace ftsync::transport::detail;
  static const auto enet_destroy = original<destroy_fn>("enet_socket_destroy");
  forget_receive_state(socket);
  enet_destroy(socket);
}

bool ftsync::transport::detail::enet_socket_hooks_active() noexcept {
  // Symbol binding does not change while the process runs: look once.
  static const bool active = dlsym(RTLD_DEFAULT, "enet_socket_send") == reinterpret_cast<void*>(&enet_socket_send);
  return active;
}
