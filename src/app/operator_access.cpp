#include "app/operator_access.hpp"

#include <openssl/crypto.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <set>

#include "util/files.hpp"

namespace vwr::app {
namespace {

constexpr std::size_t kMinTokenLength = 16;
constexpr std::size_t kMaxTokenBytes = 4096;

// Why `token` cannot be an operator's, or empty.
std::string TokenProblem(const std::string& token) {
  if (token.size() < kMinTokenLength) {
    return "is shorter than " + std::to_string(kMinTokenLength) + " characters";
  }
  const bool visible =
      std::all_of(token.begin(), token.end(), [](char c) { return c > ' ' && c < 0x7f; });
  if (!visible) return "must be visible ASCII characters without spaces";
  return {};
}

// The first line of the token file, or nullopt (logged).
std::optional<std::string> ReadTokenFile(const std::string& name, const std::string& path) {
  util::PrivateFile file = util::OpenPrivateFile(path, util::FileSecrecy::kSecret);
  if (!file.refused.empty()) {
    spdlog::error("operator {}: token_file {}", name, file.refused);
    return std::nullopt;
  }
  if (!file.fd.valid()) {
    spdlog::error("operator {}: cannot read token_file {}: {}", name, path,
                  std::strerror(file.error));
    return std::nullopt;
  }
  std::string text(kMaxTokenBytes, '\0');
  std::size_t size = 0;
  while (size < text.size()) {
    const ssize_t n = ::read(file.fd.get(), text.data() + size, text.size() - size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      spdlog::error("operator {}: cannot read token_file {}: {}", name, path, std::strerror(errno));
      OPENSSL_cleanse(text.data(), text.size());
      return std::nullopt;
    }
    if (n == 0) break;
    size += static_cast<std::size_t>(n);
  }
  std::string token = text.substr(0, std::min(size, text.find('\n')));
  if (!token.empty() && token.back() == '\r') token.pop_back();
  OPENSSL_cleanse(text.data(), text.size());
  return token;
}

}  // namespace

std::optional<std::vector<admin::OperatorInfo>> FixedOperators(const config::Config& config,
                                                               const std::string& admin_token) {
  std::vector<admin::OperatorInfo> fixed;
  fixed.push_back(admin::OperatorInfo{.name = std::string(admin::kAdminOperatorName),
                                      .role = admin::Role::kAdmin,
                                      .token_hash = admin::TokenHash(admin_token),
                                      .origin = admin::OperatorOrigin::kAdminToken});
  std::set<std::string> hashes = {fixed.front().token_hash};
  for (const config::OperatorConfig& op : config.operators) {
    std::optional<std::string> token;
    std::string from;
    if (!op.token_file.empty()) {
      token = ReadTokenFile(op.name, op.token_file);
      from = "token_file " + op.token_file;
    } else {
      const char* value = std::getenv(op.token_env.c_str());
      if (value == nullptr || *value == '\0') {
        spdlog::error("operator {}: the environment variable {} (token_env) is not set", op.name,
                      op.token_env);
        return std::nullopt;
      }
      token = std::string(value);
      from = "token_env " + op.token_env;
    }
    if (!token) return std::nullopt;
    if (std::string problem = TokenProblem(*token); !problem.empty()) {
      spdlog::error("operator {}: the token in {} {}", op.name, from, problem);
      return std::nullopt;
    }
    std::string hash = admin::TokenHash(*token);
    OPENSSL_cleanse(token->data(), token->size());
    if (!hashes.insert(hash).second) {
      spdlog::error(
          "operator {}: the token in {} is another operator's too (or the admin "
          "token); every operator needs a token of its own",
          op.name, from);
      return std::nullopt;
    }
    fixed.push_back(admin::OperatorInfo{.name = op.name,
                                        .role = *admin::ParseRole(op.role),  // checked on load
                                        .token_hash = std::move(hash),
                                        .origin = admin::OperatorOrigin::kConfig});
    spdlog::info("operator {} ({}), token from {}", op.name, op.role, from);
  }
  return fixed;
}

admin::ConsoleSettings ConsoleSettingsOf(const config::Config& config) {
  admin::ConsoleSettings settings;
  settings.session_timeout =
      std::chrono::duration_cast<std::chrono::seconds>(config.console.session_timeout);
  settings.cookie_secure = config.console.cookie_secure;
  settings.signin.max_failures = config.console.signin_attempts;
  settings.signin.window =
      std::chrono::duration_cast<std::chrono::seconds>(config.console.signin_window);
  return settings;
}

}  // namespace vwr::app
