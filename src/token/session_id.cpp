#include "token/session_id.hpp"

#include <fmt/format.h>

#include <charconv>

namespace vwr::token {

std::string SessionId(std::uint64_t incarnation, std::uint64_t ticket) {
  return fmt::format("{:016x}.{}", incarnation, ticket);
}

bool ParseSessionId(std::string_view jti, std::uint64_t& incarnation, std::uint64_t& ticket) {
  const auto dot = jti.find('.');
  if (dot != 16 || jti.size() > 40) return false;
  const char* begin = jti.data();
  auto [p1, e1] = std::from_chars(begin, begin + dot, incarnation, 16);
  if (e1 != std::errc{} || p1 != begin + dot) return false;
  const char* end = jti.data() + jti.size();
  if (begin + dot + 1 == end) return false;
  auto [p2, e2] = std::from_chars(begin + dot + 1, end, ticket, 10);
  return e2 == std::errc{} && p2 == end;
}

}  // namespace vwr::token
