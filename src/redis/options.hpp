#pragma once

#include <boost/system/result.hpp>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace vwr::redis {

struct Endpoint {
  std::string host;
  std::uint16_t port = 6379;

  std::string ToString() const;  // "host:port" ("[::1]:port" for IPv6)
  friend bool operator==(const Endpoint&, const Endpoint&) = default;
};

struct ClientOptions {
  std::vector<Endpoint> seeds;  // one for a single Redis; any masters for a cluster
  bool cluster = false;
  std::string username, password;  // AUTH (username empty = AUTH password only)
  int db = 0;                      // SELECT (single Redis only)
  std::chrono::milliseconds connect_timeout{1000}, command_timeout{1000};
  // Reconnect back-off: starts at reconnect_min, doubles per failed attempt up to reconnect_max,
  // each delay jittered down by up to half so that many nodes do not reconnect in step.
  std::chrono::milliseconds reconnect_min{50}, reconnect_max{2000};
  // Cluster only: how often the slot map is refreshed when nothing prompts it.
  std::chrono::milliseconds slots_refresh_interval{5000};
};

// A Redis URL: redis://[[user]:password@]host[:port][/db] (port 6379 and db 0 by default). The
// user and password may be percent-encoded; an IPv6 host is written in brackets. The result is a
// single-Redis ClientOptions with default timeouts; errors are messages fit for a config error,
// and never repeat any part of the URL (it may hold a password). The configuration validates
// store.redis.url with this same function, so that what it accepts is what the client reads.
boost::system::result<ClientOptions, std::string> ParseRedisUrl(std::string_view url);

}  // namespace vwr::redis
