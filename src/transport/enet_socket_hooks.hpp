#pragma once
// Private to transport/: whether libenet calls ftsync's enet_socket_*
// (transport/enet_socket_hooks.cpp). Calling it also makes the linker keep
// that file, which nothing else refers to by name.

namespace ftsync::transport::detail {

// True when the process-wide definition of enet_socket_send is ours, i.e.
// the executable exports the hooks and libenet's PLT resolves to them.
bool enet_socket_hooks_active() noexcept;

}  // namespace ftsync::transport::detail
