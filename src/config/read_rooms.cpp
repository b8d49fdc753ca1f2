// rooms: each room's id, name, match rules, policy, page, tokens, entry pass and proof of work,
// and the checks across rooms.

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <system_error>
#include <variant>

#include "config/address.hpp"
#include "config/duration.hpp"
#include "config/reader.hpp"
#include "config/sections.hpp"
#include "core/policy.hpp"
#include "util/text_template.hpp"
#include "util/utf8.hpp"

namespace vwr::config::detail {
namespace {

using std::chrono::milliseconds;

// rooms[].token_lifetime: how long an admission token may live.
constexpr milliseconds kMinTokenLifetime{1'000};
constexpr milliseconds kMaxTokenLifetime{7LL * 86'400'000};
// rooms[].entry_pass: from a minute (a quick way back) to a day (an event's whole day).
constexpr milliseconds kMinEntryPass{60'000};
constexpr milliseconds kMaxEntryPass{86'400'000};
// rooms[].pow_difficulty: 32 bits is ~4e9 hashes, minutes in a browser; more is no queue.
constexpr std::int64_t kMaxPowDifficulty = 32;
constexpr milliseconds kMinPowChallengeLifetime{1'000};
constexpr milliseconds kMaxPowChallengeLifetime{3'600'000};
constexpr std::size_t kMaxRoomIdLength = 64;
constexpr std::array<std::string_view, 21> kRoomKeys = {"id",
                                                        "name",
                                                        "match",
                                                        "max_active",
                                                        "admit_rate",
                                                        "burst",
                                                        "session_timeout",
                                                        "session_max",
                                                        "claim_grace",
                                                        "mode",
                                                        "queue_limit",
                                                        "poll",
                                                        "failure_policy",
                                                        "page",
                                                        "token_lifetime",
                                                        "entry_pass",
                                                        "pow_difficulty",
                                                        "pow_challenge_lifetime",
                                                        "protection",
                                                        "control",
                                                        "abandon_after_polls"};
constexpr std::array<std::string_view, 2> kPageKeys = {"template_file", "message"};
// A waiting page is a few kilobytes; the cap catches a wrong path (a log, an image).
constexpr std::size_t kMaxTemplateBytes = 256 * 1024;
// The operator's message is one line on a phone screen, not an article.
constexpr std::size_t kMaxPageMessageBytes = 1000;
constexpr std::array<std::string_view, 2> kMatchKeys = {"host", "path_prefix"};
constexpr std::array<std::string_view, 2> kPollKeys = {"min", "max"};
constexpr std::array<std::string_view, 2> kFailurePolicies = {"fail_closed", "fail_open"};

// One room as read, with the positions needed for the checks that span rooms.
struct RoomSource {
  RoomConfig room;
  std::string path;    // "rooms[2]"
  YAML::Mark mark;     // of the list item
  bool id_ok = false;  // room.id was given and valid
  YAML::Mark id_mark;
};

bool IsRoomId(std::string_view id) {
  if (id.empty() || id.size() > kMaxRoomIdLength) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  });
}

std::string ToLower(std::string text) {
  for (char& c : text) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return text;
}

bool IsMatchHost(std::string_view host) {
  if (host == "*") return true;
  if (host.starts_with("*.")) host.remove_prefix(2);
  return IsHostName(host);
}

bool IsPathPrefix(std::string_view path) {
  if (!path.starts_with('/')) return false;
  return std::none_of(path.begin(), path.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u <= ' ' || u == 0x7f || c == '?' || c == '#';
  });
}

void ReadMatchEntry(Reader& reader, const Field& field, RoomSource& source) {
  if (!field.node.IsMap()) {
    reader.Error(field.mark, field.path,
                 "expected a mapping with host and/or path_prefix, got " + Describe(field.node));
    return;
  }
  const std::optional<Fields> fields = reader.ReadMap(field, kMatchKeys);
  if (!fields) return;
  RoomMatch match;
  bool ok = true;
  if (const Field* host = fields->Find("host")) {
    std::optional<std::string> value = reader.ReadString(*host);
    if (value && IsMatchHost(*value)) {
      match.host = ToLower(*value);
    } else {
      if (value) {
        reader.Error(host->mark, host->path,
                     "must be \"*\" (any host), a host name such as \"shop.example.com\", or "
                     "\"*.example.com\" (any host under example.com), without a port; got " +
                         Quote(*value));
      }
      ok = false;
    }
  }
  if (const Field* path_prefix = fields->Find("path_prefix")) {
    std::optional<std::string> value = reader.ReadString(*path_prefix);
    if (value && IsPathPrefix(*value)) {
      match.path_prefix = *value;
    } else {
      if (value && !value->starts_with('/')) {
        reader.Error(path_prefix->mark, path_prefix->path,
                     "must start with \"/\"; got " + Quote(*value));
      } else if (value) {
        reader.Error(path_prefix->mark, path_prefix->path,
                     "must be a plain path without spaces, \"?\" or \"#\"; got " + Quote(*value));
      }
      ok = false;
    }
  }
  if (!ok) return;
  source.room.match.push_back(std::move(match));
}

void ReadMatches(Reader& reader, const Field* field, RoomSource& source) {
  if (field == nullptr) {
    source.room.match.push_back(RoomMatch{});
    return;
  }
  const YAML::Node& node = field->node;
  if (node.IsNull() || (node.IsSequence() && node.size() == 0)) {
    reader.Error(field->mark, field->path,
                 "must list at least one {host, path_prefix} entry (leave it out to match every "
                 "request)");
    return;
  }
  if (!node.IsSequence()) {
    reader.Error(field->mark, field->path,
                 "expected a list of {host, path_prefix} entries, got " + Describe(node));
    return;
  }
  std::size_t index = 0;
  for (const YAML::Node& entry : node) {
    const YAML::Mark mark = entry.IsNull() ? field->mark : entry.Mark();
    ReadMatchEntry(reader, Field{Item(field->path, index), mark, entry}, source);
    ++index;
  }
}

// Reads the policy keys of one room into `policy`, then reports what core::ValidatePolicy
// rejects, at the key's line, or the room's when the key was left out.
void ReadPolicy(Reader& reader, const Fields& fields, const RoomSource& source,
                core::Policy& policy) {
  std::map<std::string, YAML::Mark, std::less<>> written;  // policy key -> where
  std::set<std::string, std::less<>> bad;                  // already reported
  auto read = [&](std::string_view key, auto&& read_value, auto&& store) {
    const Field* field = fields.Find(key);
    if (field == nullptr) return;
    written.emplace(key, field->mark);
    if (auto value = read_value(*field)) {
      store(*value);
    } else {
      bad.emplace(key);
    }
  };
  auto int_reader = [&](const Field& f) { return reader.ReadInt(f); };
  auto number_reader = [&](const Field& f) { return reader.ReadNumber(f); };
  auto duration_reader = [&](const Field& f) { return reader.ReadDuration(f); };
  auto mode_reader = [&](const Field& f) -> std::optional<core::Mode> {
    std::optional<std::string> text = reader.ReadString(f);
    if (!text) return std::nullopt;
    if (std::optional<core::Mode> mode = core::ParseMode(*text)) return mode;
    reader.Error(f.mark, f.path,
                 "must be one of fifo, passthrough, reject, pause; got " + Quote(*text));
    return std::nullopt;
  };

  read("max_active", int_reader, [&](std::int64_t v) { policy.max_active = v; });
  read("admit_rate", number_reader, [&](double v) { policy.admit_rate = v; });
  read("burst", int_reader, [&](std::int64_t v) { policy.burst = v; });
  read("session_timeout", duration_reader, [&](milliseconds v) { policy.session_timeout = v; });
  read("session_max", duration_reader, [&](milliseconds v) { policy.session_max = v; });
  read("claim_grace", duration_reader, [&](milliseconds v) { policy.claim_grace = v; });
  read("mode", mode_reader, [&](core::Mode v) { policy.mode = v; });
  read("queue_limit", int_reader, [&](std::int64_t v) { policy.queue_limit = v; });
  if (const Field* poll = fields.Find("poll")) {
    written.emplace("poll", poll->mark);
    if (std::optional<Fields> poll_fields = reader.ReadMap(*poll, kPollKeys)) {
      auto read_poll = [&](std::string_view name, milliseconds& out) {
        const std::string key = "poll." + std::string(name);
        const Field* field = poll_fields->Find(name);
        if (field == nullptr) return;
        written.emplace(key, field->mark);
        if (std::optional<milliseconds> value = reader.ReadDuration(*field)) {
          out = *value;
        } else {
          bad.insert(key);
        }
      };
      read_poll("min", policy.poll_min);
      read_poll("max", policy.poll_max);
    } else {
      bad.insert("poll.min");
      bad.insert("poll.max");
    }
  }

  for (const core::PolicyProblem& problem : core::ValidatePolicy(policy)) {
    if (bad.contains(problem.key)) continue;
    YAML::Mark mark = source.mark;
    if (auto it = written.find(problem.key); it != written.end()) {
      mark = it->second;
    } else if (auto poll_it = written.find("poll");
               problem.key.starts_with("poll.") && poll_it != written.end()) {
      mark = poll_it->second;
    }
    reader.Error(mark, Child(source.path, problem.key), problem.message);
  }
}

// A placeholder a page template may use: one of kPageVariables, or "t.<key>" (a built-in text;
// which keys exist is the web pages' business, and an unknown one renders as nothing).
bool IsPageVariable(std::string_view name) {
  if (name.starts_with("t.")) return name.size() > 2;
  return std::find(kPageVariables.begin(), kPageVariables.end(), name) != kPageVariables.end();
}

// Reads a page template file and checks it the way the server will use it; the problem, or
// nullopt with `html` filled.
std::optional<std::string> ReadTemplateFile(const std::string& path, std::string& html) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return "\"" + path + "\" is a directory";
  // A pipe or a device would block the load or never end: only plain files are templates.
  if (std::filesystem::exists(path, ec) && !std::filesystem::is_regular_file(path, ec)) {
    return "\"" + path + "\" is not a regular file";
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return "cannot read \"" + path + "\": " + std::generic_category().message(errno);
  }
  std::string text;
  std::array<char, 16 * 1024> buffer;
  while (in.read(buffer.data(), buffer.size()) || in.gcount() > 0) {
    text.append(buffer.data(), static_cast<std::size_t>(in.gcount()));
    if (text.size() > kMaxTemplateBytes) {
      return "\"" + path + "\" is larger than " + std::to_string(kMaxTemplateBytes / 1024) + " KiB";
    }
  }
  if (in.bad()) return "cannot read \"" + path + "\": read error";
  if (!util::IsValidUtf8(text)) return "\"" + path + "\" is not UTF-8 text";
  auto parsed = util::TextTemplate::Parse(text);
  if (const auto* error = std::get_if<util::TextTemplate::Error>(&parsed)) {
    return "\"" + path + "\" line " + std::to_string(error->line) + ", column " +
           std::to_string(error->column) + ": " + error->message;
  }
  for (std::string_view name : std::get<util::TextTemplate>(parsed).Names()) {
    if (!IsPageVariable(name)) {
      std::string known;
      for (std::string_view v : kPageVariables)
        known += (known.empty() ? "" : ", ") + std::string(v);
      return "\"" + path + "\": unknown placeholder {{" + std::string(name) +
             "}} (known: " + known + ", t.<text>)";
    }
  }
  html = std::move(text);
  return std::nullopt;
}

void ReadPage(Reader& reader, const Field& field, PageConfig& out) {
  const std::optional<Fields> fields = reader.ReadMap(field, kPageKeys);
  if (!fields) return;
  if (const Field* file = fields->Find("template_file")) {
    if (std::optional<std::string> path = reader.ReadString(*file); path && !path->empty()) {
      std::string html;
      if (std::optional<std::string> problem = ReadTemplateFile(*path, html)) {
        reader.Error(file->mark, file->path, *problem);
      } else {
        out.template_file = *path;
        out.template_html = std::move(html);
      }
    }
  }
  if (const Field* message = fields->Find("message")) {
    if (std::optional<std::string> text = reader.ReadString(*message)) {
      const bool control = std::any_of(text->begin(), text->end(), [](char c) {
        return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
      });
      if (text->size() > kMaxPageMessageBytes) {
        reader.Error(message->mark, message->path,
                     "must be at most " + std::to_string(kMaxPageMessageBytes) + " bytes");
      } else if (control || !util::IsValidUtf8(*text)) {
        reader.Error(message->mark, message->path,
                     "must be one line of UTF-8 text (no line breaks or control characters)");
      } else {
        out.message = std::move(*text);
      }
    }
  }
}

std::optional<RoomSource> ReadRoom(Reader& reader, const Field& field) {
  if (!field.node.IsMap()) {
    reader.Error(field.mark, field.path,
                 "expected a room (a mapping with at least an id), got " + Describe(field.node));
    return std::nullopt;
  }
  const std::optional<Fields> fields = reader.ReadMap(field, kRoomKeys);
  if (!fields) return std::nullopt;
  RoomSource source;
  source.path = field.path;
  source.mark = field.mark;

  if (const Field* id = fields->Find("id")) {
    source.id_mark = id->mark;
    if (std::optional<std::string> value = reader.ReadString(*id)) {
      if (IsRoomId(*value)) {
        source.room.id = *value;
        source.id_ok = true;
      } else {
        reader.Error(
            id->mark, id->path,
            "must be 1 to 64 characters from A-Z, a-z, 0-9, \"_\" and \"-\"; got " + Quote(*value));
      }
    }
  } else {
    reader.Error(field.mark, Child(field.path, "id"), "missing: every room needs an id");
  }

  source.room.name = source.room.id;
  if (const Field* name = fields->Find("name")) {
    if (std::optional<std::string> value = reader.ReadString(*name)) {
      if (value->empty()) {
        reader.Error(name->mark, name->path, "must not be empty (leave it out to use the id)");
      } else {
        source.room.name = *value;
      }
    }
  }

  ReadMatches(reader, fields->Find("match"), source);
  ReadPolicy(reader, *fields, source, source.room.policy);
  if (const Field* page = fields->Find("page")) ReadPage(reader, *page, source.room.page);
  if (const Field* failure = fields->Find("failure_policy")) {
    if (std::optional<std::string> value = reader.ReadChoice(*failure, kFailurePolicies)) {
      source.room.failure_policy =
          *value == "fail_open" ? FailurePolicy::kFailOpen : FailurePolicy::kFailClosed;
    }
  }
  if (const Field* lifetime = fields->Find("token_lifetime")) {
    if (auto value = ReadDurationInRange(reader, *lifetime, kMinTokenLifetime, kMaxTokenLifetime)) {
      if (value->count() % 1000 != 0) {
        // Token times (iat, exp) are whole unix seconds.
        reader.Error(lifetime->mark, lifetime->path,
                     "must be a whole number of seconds; got " + FormatDuration(*value));
      } else {
        source.room.token_lifetime = *value;
      }
    }
  }
  if (const Field* protection = fields->Find("protection")) {
    ReadProtection(reader, *protection, source.room.protection);
  }
  if (const Field* control = fields->Find("control")) {
    ReadRoomControl(reader, *control, source.room.control);
  }
  if (const Field* pass = fields->Find("entry_pass")) {
    if (auto value = ReadDurationInRange(reader, *pass, kMinEntryPass, kMaxEntryPass)) {
      if (value->count() % 1000 != 0) {
        // A pass's times (iat, exp) are whole unix seconds, as a token's.
        reader.Error(pass->mark, pass->path,
                     "must be a whole number of seconds; got " + FormatDuration(*value));
      } else {
        source.room.entry_pass = *value;
      }
    }
  }
  if (const Field* abandon = fields->Find("abandon_after_polls")) {
    if (auto value = ReadIntInRange(reader, *abandon, 0, core::kMaxAbandonAfterPolls)) {
      source.room.policy.abandon_after_polls = static_cast<std::uint32_t>(*value);
    }
  }
  if (const Field* pow = fields->Find("pow_difficulty")) {
    if (auto value = ReadIntInRange(reader, *pow, 0, kMaxPowDifficulty)) {
      source.room.pow_difficulty = static_cast<int>(*value);
    }
  }
  if (const Field* lifetime = fields->Find("pow_challenge_lifetime")) {
    if (auto value = ReadDurationInRange(reader, *lifetime, kMinPowChallengeLifetime,
                                         kMaxPowChallengeLifetime)) {
      source.room.pow_challenge_lifetime = *value;
    }
  }
  return source;
}

// Room ids must be unique: the API addresses rooms by id (/api/v1/rooms/{id}/...).
void CheckRoomIds(Reader& reader, const std::vector<RoomSource>& rooms) {
  std::map<std::string, const RoomSource*, std::less<>> by_id;
  for (const RoomSource& source : rooms) {
    if (!source.id_ok) continue;
    if (auto [first, inserted] = by_id.emplace(source.room.id, &source); !inserted) {
      reader.Error(source.id_mark, Child(source.path, "id"),
                   "duplicate room id " + Quote(source.room.id) + " (also " + first->second->path +
                       ", line " + std::to_string(LineOf(first->second->id_mark)) + ")");
    }
  }
  // Room X's entry pass cookie is vwr_pass_X, which is also the admission cookie of a room with
  // id "pass_X": the two rooms would overwrite each other's cookies.
  constexpr std::string_view kPassPrefix = "pass_";
  for (const RoomSource& source : rooms) {
    if (!source.id_ok || !source.room.id.starts_with(kPassPrefix)) continue;
    const auto other = by_id.find(std::string_view(source.room.id).substr(kPassPrefix.size()));
    if (other != by_id.end()) {
      reader.Error(source.id_mark, Child(source.path, "id"),
                   "room id " + Quote(source.room.id) + " clashes with room " +
                       Quote(other->second->room.id) + " (" + other->second->path +
                       "): its admission cookie vwr_" + source.room.id +
                       " is that room's entry pass cookie; choose another id");
    }
  }
}

}  // namespace

void ReadRooms(Reader& reader, const Field& field, std::vector<RoomConfig>& out) {
  out.clear();
  const YAML::Node& node = field.node;
  if (node.IsNull() || (node.IsSequence() && node.size() == 0)) {
    reader.Error(field.mark, field.path,
                 "must list at least one room (leave \"rooms\" out to get the default room)");
    return;
  }
  if (!node.IsSequence()) {
    reader.Error(field.mark, field.path, "expected a list of rooms, got " + Describe(node));
    return;
  }
  std::vector<RoomSource> rooms;
  std::size_t index = 0;
  for (const YAML::Node& item : node) {
    // An empty item's mark points at whatever follows it; the list's key is less misleading.
    const YAML::Mark mark = item.IsNull() ? field.mark : item.Mark();
    if (std::optional<RoomSource> room =
            ReadRoom(reader, Field{Item(field.path, index), mark, item})) {
      rooms.push_back(std::move(*room));
    }
    ++index;
  }
  CheckRoomIds(reader, rooms);
  for (RoomSource& source : rooms) out.push_back(std::move(source.room));
}

}  // namespace vwr::config::detail
