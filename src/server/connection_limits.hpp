#pragma once

#include <boost/asio/ip/address.hpp>
#include <cstddef>
#include <mutex>
#include <unordered_map>

namespace vwr::server {

// Counts the open connections of one listener, in total and per client address, and says whether
// one more may be opened. A connection that gets in holds a Slot, which gives its place back when
// destroyed (when the connection ends, on whichever worker that is).
//
// Thread-safe: one mutex, taken once when a connection is accepted and once when it ends, never
// per request. A limit of 0 means no limit.
class ConnectionLimits {
 public:
  using Address = boost::asio::ip::address;

  enum class Verdict { kAccepted, kTooManyConnections, kTooManyFromAddress };

  // One open connection's place. Movable; an empty Slot (default, or moved from) holds nothing.
  class Slot {
   public:
    Slot() = default;
    Slot(Slot&& other) noexcept;
    Slot& operator=(Slot&& other) noexcept;
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;
    ~Slot();

    bool held() const { return limits_ != nullptr; }

   private:
    friend class ConnectionLimits;
    Slot(ConnectionLimits* limits, const Address& peer) : limits_(limits), peer_(peer) {}

    ConnectionLimits* limits_ = nullptr;
    Address peer_;
  };

  ConnectionLimits(std::size_t max_connections, std::size_t max_per_address);
  ConnectionLimits(const ConnectionLimits&) = delete;
  ConnectionLimits& operator=(const ConnectionLimits&) = delete;

  // kAccepted and a held `slot` when both limits allow one more connection from `peer`; otherwise
  // the limit that refused it, and `slot` is left as it was. Every Slot must be destroyed before
  // the ConnectionLimits it came from.
  Verdict TryAcquire(const Address& peer, Slot& slot);

  std::size_t open() const;
  std::size_t open_from(const Address& peer) const;
  std::size_t max_connections() const { return max_connections_; }
  std::size_t max_per_address() const { return max_per_address_; }

 private:
  void Release(const Address& peer);

  const std::size_t max_connections_;
  const std::size_t max_per_address_;
  mutable std::mutex mu_;
  std::size_t open_ = 0;                                  // guarded by mu_
  std::unordered_map<Address, std::size_t> per_address_;  // guarded by mu_; no zero counts
};

}  // namespace vwr::server
