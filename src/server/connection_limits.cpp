#include "server/connection_limits.hpp"

#include <utility>

namespace vwr::server {

ConnectionLimits::Slot::Slot(Slot&& other) noexcept
    : limits_(std::exchange(other.limits_, nullptr)), peer_(other.peer_) {}

ConnectionLimits::Slot& ConnectionLimits::Slot::operator=(Slot&& other) noexcept {
  if (this != &other) {
    if (limits_ != nullptr) limits_->Release(peer_);
    limits_ = std::exchange(other.limits_, nullptr);
    peer_ = other.peer_;
  }
  return *this;
}

ConnectionLimits::Slot::~Slot() {
  if (limits_ != nullptr) limits_->Release(peer_);
}

ConnectionLimits::ConnectionLimits(std::size_t max_connections, std::size_t max_per_address)
    : max_connections_(max_connections), max_per_address_(max_per_address) {}

ConnectionLimits::Verdict ConnectionLimits::TryAcquire(const Address& peer, Slot& slot) {
  {
    std::lock_guard lock(mu_);
    if (max_connections_ != 0 && open_ >= max_connections_) return Verdict::kTooManyConnections;
    std::size_t& from_peer = per_address_[peer];  // refused below only when already counted
    if (max_per_address_ != 0 && from_peer >= max_per_address_) {
      return Verdict::kTooManyFromAddress;
    }
    ++from_peer;
    ++open_;
  }
  // Outside the lock: a place `slot` held before is released through it.
  slot = Slot(this, peer);
  return Verdict::kAccepted;
}

void ConnectionLimits::Release(const Address& peer) {
  std::lock_guard lock(mu_);
  --open_;
  if (auto it = per_address_.find(peer); it != per_address_.end() && --it->second == 0) {
    per_address_.erase(it);
  }
}

std::size_t ConnectionLimits::open() const {
  std::lock_guard lock(mu_);
  return open_;
}

std::size_t ConnectionLimits::open_from(const Address& peer) const {
  std::lock_guard lock(mu_);
  const auto it = per_address_.find(peer);
  return it == per_address_.end() ? 0 : it->second;
}

}  // namespace vwr::server
