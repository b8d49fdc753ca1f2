#pragma once

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cstddef>
#include <new>
#include <type_traits>
#include <utility>

#include "util/recycling_allocator.hpp"

namespace vwr::http {

// The header fields of requests and answers. Their memory (a node per field, the request line's
// target) is recycled by the thread that frees it (util::RecyclingAllocator): a keep-alive poll
// makes and drops six of them, which then cost no call to the heap once a worker is warm.
using Fields = boost::beast::http::basic_fields<util::RecyclingAllocator<char>>;
using Response = boost::beast::http::response<boost::beast::http::string_body, Fields>;

// Receives the answer to one request: called exactly once, on any thread.
//
// A std::function would do, but it puts every callable that is not trivially copyable on the
// heap, and the server's callable (the session's shared_ptr) is not: one allocation per request,
// polls included. Respond keeps a callable of up to kInlineBytes in place (the session's, the
// tests' and Handler::Handle's all fit) and only a larger one on the heap. Copyable, as
// std::function is, so that a continuation holding it can go into the store's std::function
// callbacks; only one copy may ever be called.
class Respond {
 public:
  static constexpr std::size_t kInlineBytes = 4 * sizeof(void*);

  Respond() noexcept = default;
  template <class F, class D = std::decay_t<F>>
  requires(!std::is_same_v<D, Respond> && std::is_invocable_v<D&, Response> &&
           std::is_copy_constructible_v<D>)
      Respond(F&& callable) {  // NOLINT(google-explicit-constructor): a lambda is a Respond
    if constexpr (kFitsInline<D>) {
      ::new (static_cast<void*>(storage_)) D(std::forward<F>(callable));
      ops_ = &kInlineOps<D>;
    } else {
      *reinterpret_cast<D**>(storage_) = new D(std::forward<F>(callable));
      ops_ = &kHeapOps<D>;
    }
  }
  Respond(const Respond& other) {
    if (other.ops_ == nullptr) return;
    other.ops_->copy(storage_, other.storage_);
    ops_ = other.ops_;
  }
  Respond(Respond&& other) noexcept : ops_(std::exchange(other.ops_, nullptr)) {
    if (ops_ != nullptr) ops_->move(storage_, other.storage_);
  }
  Respond& operator=(const Respond& other) {
    if (this != &other) *this = Respond(other);
    return *this;
  }
  Respond& operator=(Respond&& other) noexcept {
    if (this == &other) return *this;
    Reset();
    ops_ = std::exchange(other.ops_, nullptr);
    if (ops_ != nullptr) ops_->move(storage_, other.storage_);
    return *this;
  }
  ~Respond() { Reset(); }

  explicit operator bool() const noexcept { return ops_ != nullptr; }

  // Hands over the answer. Must hold a callable.
  void operator()(Response response) const { ops_->call(storage_, std::move(response)); }

 private:
  struct Ops {
    void (*call)(void* self, Response&& response);
    void (*copy)(void* to, const void* from);
    void (*move)(void* to, void* from) noexcept;  // leaves `from` destroyed
    void (*destroy)(void* self) noexcept;
  };

  template <class D>
  static constexpr bool kFitsInline =
      sizeof(D) <= kInlineBytes &&
      alignof(D) <= alignof(std::max_align_t) && std::is_nothrow_move_constructible_v<D>;

  template <class D>
  static constexpr Ops kInlineOps = {
      [](void* self, Response&& response) { (*static_cast<D*>(self))(std::move(response)); },
      [](void* to, const void* from) { ::new (to) D(*static_cast<const D*>(from)); },
      [](void* to, void* from) noexcept {
        ::new (to) D(std::move(*static_cast<D*>(from)));
        static_cast<D*>(from)->~D();
      },
      [](void* self) noexcept { static_cast<D*>(self)->~D(); },
  };

  template <class D>
  static constexpr Ops kHeapOps = {
      [](void* self, Response&& response) { (**static_cast<D**>(self))(std::move(response)); },
      [](void* to, const void* from) {
        *static_cast<D**>(to) = new D(**static_cast<D* const*>(from));
      },
      [](void* to, void* from) noexcept { *static_cast<D**>(to) = *static_cast<D**>(from); },
      [](void* self) noexcept { delete *static_cast<D**>(self); },
  };

  void Reset() noexcept {
    if (ops_ != nullptr) std::exchange(ops_, nullptr)->destroy(storage_);
  }

  alignas(std::max_align_t) mutable unsigned char storage_[kInlineBytes];
  const Ops* ops_ = nullptr;
};

}  // namespace vwr::http
