#include "admin/redis_admin_store.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>

namespace vwr::admin {
namespace {

constexpr std::size_t kScanBatch = 1000;
// How far Redis's clock (the stream ids) may be from the nodes' (the entries' own times).
constexpr std::int64_t kClockMarginMs = 5 * 60'000;

std::optional<std::int64_t> ToInt(std::string_view text) {
  std::int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::string Describe(const boost::system::result<redis::Reply>& r) {
  return r ? redis::ToString(*r) : r.error().message();
}

// "<role> <token hash> <created>" -> the operator, or nullopt.
std::optional<OperatorInfo> DecodeOperator(const std::string& name, std::string_view value) {
  const std::size_t first = value.find(' ');
  const std::size_t second = first == std::string_view::npos ? first : value.find(' ', first + 1);
  if (second == std::string_view::npos) return std::nullopt;
  const std::optional<Role> role = ParseRole(value.substr(0, first));
  const std::optional<std::int64_t> created = ToInt(value.substr(second + 1));
  if (!role || !created || !IsOperatorName(name)) return std::nullopt;
  return OperatorInfo{.name = name,
                      .role = *role,
                      .token_hash = std::string(value.substr(first + 1, second - first - 1)),
                      .origin = OperatorOrigin::kApi,
                      .created_unix = *created};
}

}  // namespace

struct RedisAdminStore::Scan {
  AuditQuery query;
  std::string end;    // XREVRANGE's end (the newest id to read)
  std::string start;  // ... and its start (the oldest)
  std::vector<AuditEntry> found;
  std::function<void(bool ok, std::vector<AuditEntry>)> done;
};

RedisAdminStore::RedisAdminStore(redis::Client& client, std::string key_prefix,
                                 std::size_t max_entries)
    : client_(client),
      operators_key_(key_prefix + ":operators"),
      audit_key_(key_prefix + ":audit"),
      control_key_(key_prefix + ":control"),
      max_entries_(max_entries) {}

void RedisAdminStore::Append(AuditEntry entry, std::function<void(bool stored)> done) {
  const AuditRecord& rec = entry.record;
  std::vector<std::string> args = {"XADD",
                                   audit_key_,
                                   "MAXLEN",
                                   "~",
                                   std::to_string(max_entries_),
                                   "*",
                                   "t",
                                   std::to_string(entry.time_ms),
                                   "o",
                                   rec.operator_name,
                                   "a",
                                   rec.address,
                                   "r",
                                   rec.room,
                                   "w",
                                   rec.action,
                                   "b",
                                   rec.before,
                                   "f",
                                   rec.after};
  client_.Command(
      std::move(args), audit_key_,
      [done = std::move(done), key = audit_key_](boost::system::result<redis::Reply> r) {
        const bool ok = r && r->type == redis::Reply::Type::kString;
        if (!ok) spdlog::error("audit: cannot add to {}: {}", key, Describe(r));
        done(ok);
      });
}

void RedisAdminStore::Search(AuditQuery query,
                             std::function<void(bool ok, std::vector<AuditEntry>)> done) {
  auto scan = std::make_shared<Scan>();
  scan->end = query.to_ms >= std::numeric_limits<std::int64_t>::max() - kClockMarginMs
                  ? "+"
                  : std::to_string(query.to_ms + kClockMarginMs);
  scan->start = std::to_string(std::max<std::int64_t>(0, query.from_ms - kClockMarginMs));
  scan->query = std::move(query);
  scan->done = std::move(done);
  ScanFrom(std::move(scan));
}

void RedisAdminStore::ScanFrom(std::shared_ptr<Scan> scan) {
  std::vector<std::string> args = {"XREVRANGE", audit_key_, scan->end,
                                   scan->start, "COUNT",    std::to_string(kScanBatch)};
  client_.Command(std::move(args), audit_key_,
                  [self = shared_from_this(), scan](boost::system::result<redis::Reply> r) {
                    if (!r || r->type != redis::Reply::Type::kArray) {
                      spdlog::error("audit: cannot read {}: {}", self->audit_key_, Describe(r));
                      return scan->done(false, {});
                    }
                    std::string last_id;
                    for (const redis::Reply& item : r->elements) {
                      if (item.elements.size() != 2) continue;
                      last_id = item.elements[0].str;
                      AuditEntry entry;
                      const std::vector<redis::Reply>& fields = item.elements[1].elements;
                      for (std::size_t i = 0; i + 1 < fields.size(); i += 2) {
                        const std::string& name = fields[i].str;
                        const std::string& value = fields[i + 1].str;
                        AuditRecord& rec = entry.record;
                        if (name == "t") {
                          entry.time_ms = ToInt(value).value_or(0);
                        } else if (name == "o") {
                          rec.operator_name = value;
                        } else if (name == "a") {
                          rec.address = value;
                        } else if (name == "r") {
                          rec.room = value;
                        } else if (name == "w") {
                          rec.action = value;
                        } else if (name == "b") {
                          rec.before = value;
                        } else if (name == "f") {
                          rec.after = value;
                        }
                      }
                      if (Matches(scan->query, entry)) {
                        scan->found.push_back(std::move(entry));
                        if (scan->found.size() >= scan->query.limit) break;
                      }
                    }
                    const bool more =
                        r->elements.size() == kScanBatch && scan->found.size() < scan->query.limit;
                    if (!more || last_id.empty()) {
                      // Entries of one millisecond may come from nodes whose clocks differ: newest
                      // first by their own times.
                      std::stable_sort(scan->found.begin(), scan->found.end(),
                                       [](const AuditEntry& a, const AuditEntry& b) {
                                         return a.time_ms > b.time_ms;
                                       });
                      return scan->done(true, std::move(scan->found));
                    }
                    scan->end = "(" + last_id;  // below the last one read
                    self->ScanFrom(scan);
                  });
}

void RedisAdminStore::LoadOperators(std::function<void(bool ok, std::vector<OperatorInfo>)> done) {
  client_.Command(
      {"HGETALL", operators_key_}, operators_key_,
      [done = std::move(done), key = operators_key_](boost::system::result<redis::Reply> r) {
        if (!r || r->type != redis::Reply::Type::kArray || r->elements.size() % 2 != 0) {
          return done(false, {});
        }
        std::vector<OperatorInfo> found;
        for (std::size_t i = 0; i + 1 < r->elements.size(); i += 2) {
          const std::string& name = r->elements[i].str;
          std::optional<OperatorInfo> info = DecodeOperator(name, r->elements[i + 1].str);
          if (info) {
            found.push_back(std::move(*info));
          } else {
            spdlog::warn("operators: an entry of {} is not an operator; left out", key);
          }
        }
        done(true, std::move(found));
      });
}

void RedisAdminStore::AddOperator(OperatorInfo info,
                                  std::function<void(bool ok, bool created)> done) {
  std::string value =
      fmt::format("{} {} {}", RoleName(info.role), info.token_hash, info.created_unix);
  client_.Command(
      {"HSETNX", operators_key_, info.name, std::move(value)}, operators_key_,
      [done = std::move(done), key = operators_key_](boost::system::result<redis::Reply> r) {
        if (!r || r->type != redis::Reply::Type::kInteger) {
          spdlog::error("operators: cannot write {}: {}", key, Describe(r));
          return done(false, false);
        }
        done(true, r->integer == 1);
      });
}

void RedisAdminStore::RemoveOperator(std::string name,
                                     std::function<void(bool ok, bool existed)> done) {
  client_.Command(
      {"HDEL", operators_key_, std::move(name)}, operators_key_,
      [done = std::move(done), key = operators_key_](boost::system::result<redis::Reply> r) {
        if (!r || r->type != redis::Reply::Type::kInteger) {
          spdlog::error("operators: cannot write {}: {}", key, Describe(r));
          return done(false, false);
        }
        done(true, r->integer == 1);
      });
}

void RedisAdminStore::LoadControl(std::function<void(bool ok, Entries)> done) {
  client_.Command(
      {"HGETALL", control_key_}, control_key_,
      [done = std::move(done)](boost::system::result<redis::Reply> r) {
        if (!r || r->type != redis::Reply::Type::kArray || r->elements.size() % 2 != 0) {
          return done(false, {});
        }
        Entries found;
        for (std::size_t i = 0; i + 1 < r->elements.size(); i += 2) {
          found.emplace_back(r->elements[i].str, r->elements[i + 1].str);
        }
        done(true, std::move(found));
      });
}

void RedisAdminStore::PutControl(std::string key, std::string value,
                                 std::function<void(bool ok)> done) {
  client_.Command(
      {"HSET", control_key_, std::move(key), std::move(value)}, control_key_,
      [done = std::move(done), key = control_key_](boost::system::result<redis::Reply> r) {
        const bool ok = r && r->type == redis::Reply::Type::kInteger;
        if (!ok) spdlog::error("control: cannot write {}: {}", key, Describe(r));
        done(ok);
      });
}

void RedisAdminStore::RemoveControl(std::string key, std::function<void(bool ok)> done) {
  client_.Command(
      {"HDEL", control_key_, std::move(key)}, control_key_,
      [done = std::move(done), key = control_key_](boost::system::result<redis::Reply> r) {
        const bool ok = r && r->type == redis::Reply::Type::kInteger;
        if (!ok) spdlog::error("control: cannot write {}: {}", key, Describe(r));
        done(ok);
      });
}

}  // namespace vwr::admin
