#include "admin/signin_throttle.hpp"

#include <algorithm>

namespace vwr::admin {

SigninThrottle::SigninThrottle(const util::Clock& clock, SigninThrottleSettings settings)
    : clock_(clock), settings_(settings) {}

std::string SigninThrottle::KeyOf(const boost::asio::ip::address& address) {
  if (address.is_v6() && !address.to_v6().is_v4_mapped()) {
    // A client usually holds a whole /64: count it as one.
    boost::asio::ip::address_v6::bytes_type bytes = address.to_v6().to_bytes();
    std::fill(bytes.begin() + 8, bytes.end(), 0);
    return boost::asio::ip::address_v6(bytes).to_string() + "/64";
  }
  if (address.is_v6()) {
    return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, address.to_v6())
        .to_string();
  }
  return address.to_string();
}

void SigninThrottle::PurgeExpired(util::TimePoint now) {
  std::erase_if(windows_,
                [&](const auto& entry) { return now - entry.second.start >= settings_.window; });
}

std::chrono::seconds SigninThrottle::RetryAfter(const boost::asio::ip::address& address) {
  const util::TimePoint now = clock_.Now();
  std::lock_guard lock(mu_);
  const auto it = windows_.find(KeyOf(address));
  if (it == windows_.end()) {
    if (windows_.size() < settings_.max_addresses) return std::chrono::seconds(0);
    PurgeExpired(now);
    return windows_.size() < settings_.max_addresses ? std::chrono::seconds(0) : settings_.window;
  }
  const util::Duration passed = now - it->second.start;
  if (passed >= settings_.window) {
    windows_.erase(it);
    return std::chrono::seconds(0);
  }
  if (it->second.failures < settings_.max_failures) return std::chrono::seconds(0);
  const auto left = std::chrono::ceil<std::chrono::seconds>(settings_.window - passed);
  return std::max(left, std::chrono::seconds(1));
}

int SigninThrottle::Fail(const boost::asio::ip::address& address) {
  const util::TimePoint now = clock_.Now();
  std::lock_guard lock(mu_);
  std::string key = KeyOf(address);
  auto it = windows_.find(key);
  if (it != windows_.end() && now - it->second.start >= settings_.window) {
    it->second = Window{now, 0};
  }
  if (it == windows_.end()) {
    if (windows_.size() >= settings_.max_addresses) PurgeExpired(now);
    if (windows_.size() >= settings_.max_addresses) return settings_.max_failures;
    it = windows_.emplace(std::move(key), Window{now, 0}).first;
  }
  return ++it->second.failures;
}

}  // namespace vwr::admin
