#include "admin/roles.hpp"

#include <openssl/sha.h>

#include <array>
#include <cstdint>

#include "util/base64.hpp"
#include "util/random.hpp"

namespace vwr::admin {

std::string_view RoleName(Role role) {
  switch (role) {
    case Role::kViewer:
      return "viewer";
    case Role::kOperator:
      return "operator";
    case Role::kAdmin:
      return "admin";
  }
  return "viewer";
}

std::optional<Role> ParseRole(std::string_view name) {
  if (name == "viewer") return Role::kViewer;
  if (name == "operator") return Role::kOperator;
  if (name == "admin") return Role::kAdmin;
  return std::nullopt;
}

Role RequiredRole(http::verb method, const http::PathSegments& parts) {
  // parts: admin api v1 <what> ...
  const std::string_view what = parts.size() >= 4 ? parts[3] : std::string_view{};
  if (what == "operators") return Role::kAdmin;
  if (what == "session") return Role::kViewer;  // everyone may see who they are and sign out
  if (method == http::verb::get || method == http::verb::head) return Role::kViewer;
  // control/{room}: turning a room's automatic control on or off, and its bounds, is running
  // an event like its limits are. (Rules and signals stay admin's.)
  if (what == "control" && parts.size() == 5) return Role::kOperator;
  // rooms/{room}/<part>[/...]: what an operator runs an event with.
  if (what == "rooms" && parts.size() >= 6) {
    const std::string_view part = parts[5];
    if (part == "policy" || part == "message" || part == "lists" || part == "sessions" ||
        part == "control") {
      return Role::kOperator;
    }
  }
  return Role::kAdmin;
}

bool IsOperatorName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  auto alnum = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  };
  if (!alnum(name.front())) return false;
  for (char c : name) {
    if (!alnum(c) && c != '.' && c != '_' && c != '@' && c != '-') return false;
  }
  return true;
}

std::string TokenHash(std::string_view token) {
  std::array<std::uint8_t, SHA256_DIGEST_LENGTH> digest{};
  SHA256(reinterpret_cast<const unsigned char*>(token.data()), token.size(), digest.data());
  return util::HexEncode(digest);
}

std::string NewOperatorToken() {
  std::array<std::uint8_t, 32> bytes{};
  util::SecureRandom(bytes);
  return "vwr_" + util::Base64UrlEncode(bytes);
}

}  // namespace vwr::admin
