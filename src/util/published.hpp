#pragma once

#include <atomic>
#include <deque>
#include <memory>
#include <mutex>
#include <utility>

namespace vwr::util {

// A value that many threads read without a lock and that changes rarely (an operator reloading
// the configuration, say): readers get a reference to an immutable version; a writer publishes a
// whole new version.
//
// Every version ever published is kept until the Published itself is destroyed, so a reference a
// reader holds never dangles, however long it keeps it. That costs one copy of T per change, which
// is why this is only for values changed by hand, never for per-request state.
//
// Thread-safety: Get() from any thread, wait-free; Publish() from any thread (writers are
// serialised by an internal mutex).
template <typename T>
class Published {
 public:
  explicit Published(T initial = T{}) { Publish(std::move(initial)); }
  Published(const Published&) = delete;
  Published& operator=(const Published&) = delete;

  const T& Get() const { return *current_.load(std::memory_order_acquire); }

  // Makes `next` the version readers see from now on, and returns it.
  const T& Publish(T next) {
    std::lock_guard lock(mu_);
    versions_.push_back(std::make_unique<const T>(std::move(next)));
    current_.store(versions_.back().get(), std::memory_order_release);
    return *versions_.back();
  }

 private:
  std::mutex mu_;
  std::deque<std::unique_ptr<const T>> versions_;  // guarded by mu_
  std::atomic<const T*> current_{nullptr};
};

}  // namespace vwr::util
