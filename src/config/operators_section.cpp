#include "config/operators_section.hpp"

#include <algorithm>
#include <charconv>
#include <map>
#include <optional>
#include <set>

#include "config/duration.hpp"

namespace vwr::config {
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

template <std::size_t N>
std::string Names(const std::array<std::string_view, N>& names) {
  std::string out;
  for (std::string_view n : names) {
    if (!out.empty()) out += ", ";
    out += n;
  }
  return out;
}

// A key's value with where it was written.
struct Entry {
  YAML::Mark mark;
  YAML::Node value;
};

// The keys of a mapping, each checked against `allowed` (unknown and repeated keys are errors).
template <std::size_t N>
std::optional<std::map<std::string, Entry>> ReadMap(const YAML::Node& node, const YAML::Mark& mark,
                                                    const std::string& path,
                                                    const std::array<std::string_view, N>& allowed,
                                                    const SectionError& error) {
  std::map<std::string, Entry> entries;
  if (node.IsNull()) return entries;
  if (!node.IsMap()) {
    error(mark, path, "expected a mapping (keys: " + Names(allowed) + ")");
    return std::nullopt;
  }
  for (auto it = node.begin(); it != node.end(); ++it) {
    const YAML::Node key = it->first;
    const YAML::Node value = it->second;
    if (!key.IsScalar()) {
      error(key.Mark(), path, "keys must be plain names");
      continue;
    }
    const std::string& name = key.Scalar();
    const std::string child = path + "." + name;
    if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
      error(key.Mark(), child, "unknown key (allowed: " + Names(allowed) + ")");
      continue;
    }
    if (!entries.emplace(name, Entry{key.Mark(), value}).second) {
      error(key.Mark(), child, "duplicate key");
    }
  }
  return entries;
}

std::optional<std::string> ReadString(const Entry& entry, const std::string& key,
                                      const SectionError& error) {
  if (entry.value.IsScalar()) return entry.value.Scalar();
  error(entry.mark, key, "expected a string");
  return std::nullopt;
}

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

}  // namespace

void ReadOperatorsSection(const YAML::Node& node, const YAML::Mark& mark, const std::string& path,
                          const SectionError& error, std::vector<OperatorConfig>& out) {
  out.clear();
  if (node.IsNull()) return;
  if (!node.IsSequence()) {
    error(mark, path, "expected a list of operators ({name, role, token_file | token_env})");
    return;
  }
  if (node.size() > kMaxOperators) {
    error(mark, path, "lists more than " + std::to_string(kMaxOperators) + " operators");
    return;
  }
  std::map<std::string, int> first_line;
  std::size_t index = 0;
  for (const YAML::Node& item : node) {
    const std::string item_path = path + "[" + std::to_string(index++) + "]";
    const YAML::Mark item_mark = item.IsNull() ? mark : item.Mark();
    const auto fields = ReadMap(item, item_mark, item_path, kOperatorKeys, error);
    if (!fields) continue;
    OperatorConfig op;
    bool ok = true;
    auto field = [&](const char* name) -> const Entry* {
      auto it = fields->find(name);
      return it == fields->end() ? nullptr : &it->second;
    };
    if (const Entry* name = field("name")) {
      std::optional<std::string> value = ReadString(*name, item_path + ".name", error);
      if (!value) {
        ok = false;
      } else if (!IsOperatorName(*value)) {
        // Not quoted back: it may hold control characters that would break the message.
        error(name->mark, item_path + ".name",
              "must be 1 to 64 characters of A-Z a-z 0-9 . _ @ -, starting with a letter or "
              "digit");
        ok = false;
      } else if (*value == "admin") {
        error(name->mark, item_path + ".name",
              "\"admin\" is the admin token's operator (admin.token); choose another name");
        ok = false;
      } else if (auto [seen, inserted] = first_line.emplace(*value, name->mark.line + 1);
                 !inserted) {
        error(name->mark, item_path + ".name",
              "operator \"" + *value + "\" is listed twice (first at line " +
                  std::to_string(seen->second) + ")");
        ok = false;
      } else {
        op.name = std::move(*value);
      }
    } else {
      error(item_mark, item_path, "missing \"name\"");
      ok = false;
    }
    if (const Entry* role = field("role")) {
      std::optional<std::string> value = ReadString(*role, item_path + ".role", error);
      if (value && std::find(kRoles.begin(), kRoles.end(), *value) != kRoles.end()) {
        op.role = std::move(*value);
      } else {
        if (value) error(role->mark, item_path + ".role", "must be one of " + Names(kRoles));
        ok = false;
      }
    } else {
      error(item_mark, item_path, "missing \"role\" (viewer, operator or admin)");
      ok = false;
    }
    const Entry* file = field("token_file");
    const Entry* env = field("token_env");
    if ((file == nullptr) == (env == nullptr)) {
      error(item_mark, item_path,
            "give exactly one of token_file and token_env (the token itself is never written "
            "in the file)");
      ok = false;
    }
    if (file != nullptr) {
      std::optional<std::string> value = ReadString(*file, item_path + ".token_file", error);
      if (!value || value->empty()) {
        if (value) error(file->mark, item_path + ".token_file", "must name a file");
        ok = false;
      } else {
        op.token_file = std::move(*value);
      }
    }
    if (env != nullptr) {
      std::optional<std::string> value = ReadString(*env, item_path + ".token_env", error);
      if (!value || !IsEnvName(*value)) {
        if (value) {
          error(env->mark, item_path + ".token_env",
                "must be an environment variable's name ([A-Za-z_][A-Za-z0-9_]*)");
        }
        ok = false;
      } else {
        op.token_env = std::move(*value);
      }
    }
    if (ok) out.push_back(std::move(op));
  }
}

void ReadConsoleSection(const YAML::Node& node, const YAML::Mark& mark, const std::string& path,
                        const SectionError& error, ConsoleConfig& out) {
  const auto fields = ReadMap(node, mark, path, kConsoleKeys, error);
  if (!fields) return;
  auto duration = [&](const char* name, milliseconds min, milliseconds max, milliseconds& target) {
    auto it = fields->find(name);
    if (it == fields->end()) return;
    const std::string key = path + "." + name;
    std::optional<milliseconds> value;
    if (it->second.value.IsScalar()) value = ParseDuration(it->second.value.Scalar());
    if (!value) {
      error(it->second.mark, key, "expected a duration such as \"8h\" or \"30m\"");
    } else if (*value < min || *value > max) {
      error(it->second.mark, key,
            "must be between " + FormatDuration(min) + " and " + FormatDuration(max));
    } else {
      target = *value;
    }
  };
  duration("session_timeout", kMinSessionTimeout, kMaxSessionTimeout, out.session_timeout);
  duration("signin_window", kMinSigninWindow, kMaxSigninWindow, out.signin_window);
  if (auto it = fields->find("cookie_secure"); it != fields->end()) {
    const YAML::Node& v = it->second.value;
    if (v.IsScalar() && (v.Scalar() == "true" || v.Scalar() == "false")) {
      out.cookie_secure = v.Scalar() == "true";
    } else {
      error(it->second.mark, path + ".cookie_secure", "must be true or false");
    }
  }
  if (auto it = fields->find("signin_attempts"); it != fields->end()) {
    const YAML::Node& v = it->second.value;
    int value = 0;
    bool ok = false;
    if (v.IsScalar()) {
      const std::string& text = v.Scalar();
      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
      ok = ec == std::errc{} && end == text.data() + text.size() && value >= 1 && value <= 1000;
    }
    if (ok) {
      out.signin_attempts = value;
    } else {
      error(it->second.mark, path + ".signin_attempts", "must be a whole number from 1 to 1000");
    }
  }
}

}  // namespace vwr::config
