#pragma once

#include <boost/asio/ip/address.hpp>
#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <unordered_map>

#include "util/clock.hpp"

namespace vwr::admin {

struct SigninThrottleSettings {
  int max_failures = 5;                // failed sign-ins per window and client address
  std::chrono::seconds window{60};     // ... after which the address may try again
  std::size_t max_addresses = 10'000;  // addresses tracked at once
};

// Limits guessing of tokens at the console's sign-in: a client address (an IPv6 client: its /64)
// that failed `max_failures` times within `window` is refused, whatever it sends, until the
// window that began with its first failure is over. A sign-in that succeeds is not counted.
//
// The table holds at most `max_addresses`; when it is full of addresses whose windows are still
// open, a new address is refused too (sign-in fails closed under a flood from many addresses,
// logged by the caller), rather than forgetting the failures of the ones it holds.
//
// Thread-safe (one mutex; nothing blocks under it).
class SigninThrottle {
 public:
  SigninThrottle(const util::Clock& clock, SigninThrottleSettings settings);

  // Zero when `address` may try now; else how long until it may.
  std::chrono::seconds RetryAfter(const boost::asio::ip::address& address);
  // Counts a failed attempt; returns the failures of the address's current window.
  int Fail(const boost::asio::ip::address& address);

 private:
  struct Window {
    util::TimePoint start;
    int failures = 0;
  };
  static std::string KeyOf(const boost::asio::ip::address& address);
  void PurgeExpired(util::TimePoint now);  // mu_ held

  const util::Clock& clock_;
  const SigninThrottleSettings settings_;
  std::mutex mu_;
  std::unordered_map<std::string, Window> windows_;  // guarded by mu_
};

}  // namespace vwr::admin
