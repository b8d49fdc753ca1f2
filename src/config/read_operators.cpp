// The console's sections: operators (named tokens with a role) and console (its sessions).

#include <algorithm>
#include <array>
#include <chrono>
#include <map>
#include <optional>
#include <string>

#include "config/reader.hpp"
#include "config/sections.hpp"

namespace vwr::config::detail {
namespace {

using std::chrono::milliseconds;

constexpr std::array<std::string_view, 4> kOperatorKeys = {"name", "role", "token_file",
                                                           "token_env"};
constexpr std::array<std::string_view, 3> kRoles = {"viewer", "operator", "admin"};
constexpr std::array<std::string_view, 4> kConsoleKeys = {"session_timeout", "cookie_secure",
                                                          "signin_attempts", "signin_window"};
constexpr std::size_t kMaxOperators = 1000;
constexpr milliseconds kMinSessionTimeout{5 * 60'000};
constexpr milliseconds kMaxSessionTimeout{7LL * 86'400'000};
constexpr milliseconds kMinSigninWindow{1'000};
constexpr milliseconds kMaxSigninWindow{86'400'000};
constexpr std::int64_t kMaxSigninAttempts = 1000;

// The same rule as admin::IsOperatorName (the config library does not depend on admin).
bool IsOperatorName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  auto alnum = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  };
  if (!alnum(name.front())) return false;
  return std::all_of(name.begin(), name.end(), [&](char c) {
    return alnum(c) || c == '.' || c == '_' || c == '@' || c == '-';
  });
}

bool IsEnvName(std::string_view name) {
  if (name.empty() || name.size() > 128 || (name.front() >= '0' && name.front() <= '9')) {
    return false;
  }
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

// A plain string, or nullopt after recording why not. Never quotes the value back: a name with
// a control character, or a token pasted by mistake, stays out of the message.
std::optional<std::string> ReadScalar(Reader& reader, const Field& field) {
  if (field.node.IsScalar()) return field.node.Scalar();
  reader.Error(field.mark, field.path, "expected a string, got " + Describe(field.node));
  return std::nullopt;
}

// One {name, role, token_file | token_env}; nullopt after recording its problems. `first_line`
// holds the names read so far, with their lines, to report a name listed twice.
std::optional<OperatorConfig> ReadOperator(Reader& reader, const Field& item,
                                           std::map<std::string, int>& first_line) {
  const std::optional<Fields> fields = reader.ReadMap(item, kOperatorKeys);
  if (!fields) return std::nullopt;
  OperatorConfig op;
  bool ok = true;
  if (const Field* name = fields->Find("name")) {
    std::optional<std::string> value = ReadScalar(reader, *name);
    if (!value) {
      ok = false;
    } else if (!IsOperatorName(*value)) {
      reader.Error(name->mark, name->path,
                   "must be 1 to 64 characters of A-Z a-z 0-9 . _ @ -, starting with a letter or "
                   "digit");
      ok = false;
    } else if (*value == "admin") {
      reader.Error(name->mark, name->path,
                   "\"admin\" is the admin token's operator (admin.token); choose another name");
      ok = false;
    } else if (auto [seen, inserted] = first_line.emplace(*value, LineOf(name->mark)); !inserted) {
      reader.Error(name->mark, name->path,
                   "operator \"" + *value + "\" is listed twice (first at line " +
                       std::to_string(seen->second) + ")");
      ok = false;
    } else {
      op.name = std::move(*value);
    }
  } else {
    reader.Error(item.mark, item.path, "missing \"name\"");
    ok = false;
  }
  if (const Field* role = fields->Find("role")) {
    std::optional<std::string> value = reader.ReadChoice(*role, kRoles);
    if (value) {
      op.role = std::move(*value);
    } else {
      ok = false;
    }
  } else {
    reader.Error(item.mark, item.path, "missing \"role\" (viewer, operator or admin)");
    ok = false;
  }
  const Field* file = fields->Find("token_file");
  const Field* env = fields->Find("token_env");
  if ((file == nullptr) == (env == nullptr)) {
    reader.Error(item.mark, item.path,
                 "give exactly one of token_file and token_env (the token itself is never "
                 "written in the file)");
    ok = false;
  }
  if (file != nullptr) {
    std::optional<std::string> value = ReadScalar(reader, *file);
    if (value && !value->empty()) {
      op.token_file = std::move(*value);
    } else {
      if (value) reader.Error(file->mark, file->path, "must name a file");
      ok = false;
    }
  }
  if (env != nullptr) {
    std::optional<std::string> value = ReadScalar(reader, *env);
    if (value && IsEnvName(*value)) {
      op.token_env = std::move(*value);
    } else {
      if (value) {
        reader.Error(env->mark, env->path,
                     "must be an environment variable's name ([A-Za-z_][A-Za-z0-9_]*)");
      }
      ok = false;
    }
  }
  if (!ok) return std::nullopt;
  return op;
}

}  // namespace

void ReadOperators(Reader& reader, const Field& field, std::vector<OperatorConfig>& out) {
  out.clear();
  const YAML::Node& node = field.node;
  if (node.IsNull()) return;
  if (!node.IsSequence()) {
    reader.Error(field.mark, field.path,
                 "expected a list of operators ({name, role, token_file | token_env}), got " +
                     Describe(node));
    return;
  }
  if (node.size() > kMaxOperators) {
    reader.Error(field.mark, field.path,
                 "lists more than " + std::to_string(kMaxOperators) + " operators");
    return;
  }
  std::map<std::string, int> first_line;
  std::size_t index = 0;
  for (const YAML::Node& item : node) {
    const YAML::Mark mark = item.IsNull() ? field.mark : item.Mark();
    std::optional<OperatorConfig> op =
        ReadOperator(reader, Field{Item(field.path, index++), mark, item}, first_line);
    if (op) out.push_back(std::move(*op));
  }
}

void ReadConsole(Reader& reader, const Field& field, ConsoleConfig& out) {
  const std::optional<Fields> fields = reader.ReadMap(field, kConsoleKeys);
  if (!fields) return;
  if (const Field* f = fields->Find("session_timeout")) {
    if (auto v = ReadDurationInRange(reader, *f, kMinSessionTimeout, kMaxSessionTimeout)) {
      out.session_timeout = *v;
    }
  }
  if (const Field* f = fields->Find("signin_window")) {
    if (auto v = ReadDurationInRange(reader, *f, kMinSigninWindow, kMaxSigninWindow)) {
      out.signin_window = *v;
    }
  }
  if (const Field* f = fields->Find("cookie_secure")) {
    if (auto v = reader.ReadChoice(*f, kBooleans)) out.cookie_secure = *v == "true";
  }
  if (const Field* f = fields->Find("signin_attempts")) {
    if (auto v = ReadIntInRange(reader, *f, 1, kMaxSigninAttempts)) {
      out.signin_attempts = static_cast<int>(*v);
    }
  }
}

}  // namespace vwr::config::detail
