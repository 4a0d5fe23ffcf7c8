#pragma once
// Result<T>: a value or an error. Modules return these at their boundaries;
// only the CLI turns errors into messages and exit codes (DESIGN.md "Errors").
#include <ftsync/util/errc.hpp>

#include <string>
#include <utility>
#include <variant>

namespace ftsync {

struct error {
  errc code = errc::internal;
  std::string message;
  // True when the error happened on the other node and travelled back to us;
  // the CLI reports those with the "remote error" exit code.
  bool remote = false;
};

inline error make_error(errc code, std::string message) { return error{code, std::move(message), false}; }

template <class T>
class [[nodiscard]] result {
 public:
  result(T value) : m_state(std::in_place_index<0>, std::move(value)) {}
  result(error err) : m_state(std::in_place_index<1>, std::move(err)) {}

  bool ok() const noexcept { return m_state.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }

  T& value() & { return std::get<0>(m_state); }
  const T& value() const& { return std::get<0>(m_state); }
  T&& value() && { return std::get<0>(std::move(m_state)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const error& err() const& { return std::get<1>(m_state); }
  error&& err() && { return std::get<1>(std::move(m_state)); }
  errc code() const noexcept { return ok() ? errc::ok : std::get<1>(m_state).code; }

 private:
  std::variant<T, error> m_state;
};

template <>
class [[nodiscard]] result<void> {
 public:
  result() = default;
  result(error err) : m_error(std::move(err)), m_failed(true) {}

  bool ok() const noexcept { return !m_failed; }
  explicit operator bool() const noexcept { return ok(); }
  const error& err() const& { return m_error; }
  error&& err() && { return std::move(m_error); }
  errc code() const noexcept { return m_failed ? m_error.code : errc::ok; }

 private:
  error m_error;
  bool m_failed = false;
};

using status = result<void>;

}  // namespace ftsync

// Propagates a failed result out of the enclosing function.
#define FTSYNC_TRY(expr)                                   \
  do {                                                     \
    auto&& ftsync_try_r_ = (expr);                         \
    if (!ftsync_try_r_.ok()) return std::move(ftsync_try_r_).err(); \
  } while (0)
