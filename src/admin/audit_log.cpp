#include "admin/audit_log.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <ctime>

#include "http/errors.hpp"
#include "http/request_parts.hpp"
#include "util/log_escape.hpp"

namespace vwr::admin {
namespace {

char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool ContainsIgnoreCase(std::string_view haystack, std::string_view needle) {
  if (needle.empty()) return true;
  return std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end(),
                     [](char a, char b) { return Lower(a) == Lower(b); }) != haystack.end();
}

std::optional<std::int64_t> ParseInt(std::string_view text) {
  std::int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// Longest filter value taken from a query: names and room ids are at most 64 characters.
constexpr std::size_t kMaxFilterLength = 256;
// Unix seconds that still fit in milliseconds, with room to spare.
constexpr std::int64_t kMaxUnixSeconds = 100'000'000'000;

}  // namespace

bool Matches(const AuditQuery& query, const AuditEntry& entry) {
  if (entry.time_ms < query.from_ms || entry.time_ms >= query.to_ms) return false;
  const AuditRecord& r = entry.record;
  if (!query.operator_name.empty() && r.operator_name != query.operator_name) return false;
  if (!query.room.empty() && r.room != query.room) return false;
  if (query.text.empty()) return true;
  for (std::string_view field :
       {std::string_view(r.operator_name), std::string_view(r.address), std::string_view(r.room),
        std::string_view(r.action), std::string_view(r.before), std::string_view(r.after)}) {
    if (ContainsIgnoreCase(field, query.text)) return true;
  }
  return false;
}

AuditLog::AuditLog(const util::Clock& clock, std::shared_ptr<AuditBackend> backend)
    : clock_(clock), backend_(std::move(backend)) {}

void AuditLog::Record(AuditRecord record, std::function<void(bool recorded)> done) {
  AuditEntry entry;
  entry.time_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(clock_.WallNow().time_since_epoch())
          .count();
  spdlog::info("audit: {} from {}: {}{}{}: {} -> {}", util::LogEscaped(record.operator_name, 64),
               util::LogEscaped(record.address, 64), util::LogEscaped(record.action, 64),
               record.room.empty() ? "" : " in room ", util::LogEscaped(record.room, 64),
               util::LogEscaped(record.before, 300), util::LogEscaped(record.after, 300));
  entry.record = std::move(record);
  backend_->Append(std::move(entry), [done = std::move(done)](bool stored) {
    if (!stored) spdlog::error("audit: an entry could not be stored (see above)");
    if (done) done(stored);
  });
}

void AuditLog::Search(AuditQuery query,
                      std::function<void(bool ok, std::vector<AuditEntry>)> done) {
  backend_->Search(std::move(query), std::move(done));
}

void MemoryAuditBackend::Append(AuditEntry entry, std::function<void(bool stored)> done) {
  {
    std::lock_guard lock(mu_);
    entries_.push_back(std::move(entry));
    while (entries_.size() > capacity_) entries_.pop_front();
  }
  done(true);
}

void MemoryAuditBackend::Search(AuditQuery query,
                                std::function<void(bool ok, std::vector<AuditEntry>)> done) {
  std::vector<AuditEntry> found;
  {
    std::lock_guard lock(mu_);
    for (auto it = entries_.rbegin(); it != entries_.rend() && found.size() < query.limit; ++it) {
      if (Matches(query, *it)) found.push_back(*it);
    }
  }
  done(true, std::move(found));
}

boost::system::result<AuditQuery, std::string> ParseAuditQuery(std::string_view query_string) {
  AuditQuery query;
  auto param = [&](std::string_view name) { return http::QueryParam(query_string, name); };
  auto seconds = [&](std::string_view name, std::int64_t& out_ms) -> std::optional<std::string> {
    const std::optional<std::string> text = param(name);
    if (!text || text->empty()) return std::nullopt;
    const std::optional<std::int64_t> value = ParseInt(*text);
    if (!value || *value < 0 || *value > kMaxUnixSeconds) {
      return fmt::format("{} must be unix seconds (a whole number, 0 or more)", name);
    }
    out_ms = *value * 1000;
    return std::nullopt;
  };
  if (auto error = seconds("from", query.from_ms)) return *error;
  if (auto error = seconds("to", query.to_ms)) return *error;
  if (query.to_ms <= query.from_ms) return std::string("to must be after from");
  for (auto [name, out] :
       {std::pair<std::string_view, std::string*>{"operator", &query.operator_name},
        {"room", &query.room},
        {"q", &query.text}}) {
    std::optional<std::string> value = param(name);
    if (!value) continue;
    if (value->size() > kMaxFilterLength) {
      return fmt::format("{} is longer than {} bytes", name, kMaxFilterLength);
    }
    *out = std::move(*value);
  }
  if (std::optional<std::string> limit = param("limit"); limit && !limit->empty()) {
    const std::optional<std::int64_t> value = ParseInt(*limit);
    if (!value || *value < 1 || *value > static_cast<std::int64_t>(AuditQuery::kMaxLimit)) {
      return fmt::format("limit must be between 1 and {}", AuditQuery::kMaxLimit);
    }
    query.limit = static_cast<std::size_t>(*value);
  }
  if (std::optional<std::string> format = param("format"); format && !format->empty()) {
    if (*format == "csv") {
      query.csv = true;
    } else if (*format != "json") {
      return std::string("format must be json or csv");
    }
  }
  return query;
}

std::string IsoTimeMs(std::int64_t unix_ms) {
  const std::time_t seconds = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, unix_ms % 1000);
}

std::string RenderAuditJson(const std::vector<AuditEntry>& entries) {
  std::string body = R"({"entries":[)";
  bool first = true;
  for (const AuditEntry& e : entries) {
    if (!first) body += ',';
    first = false;
    fmt::format_to(std::back_inserter(body), R"({{"time":"{}","unix_ms":{},"operator":)",
                   IsoTimeMs(e.time_ms), e.time_ms);
    http::AppendJsonString(body, e.record.operator_name);
    body += R"(,"address":)";
    http::AppendJsonString(body, e.record.address);
    body += R"(,"room":)";
    http::AppendJsonString(body, e.record.room);
    body += R"(,"action":)";
    http::AppendJsonString(body, e.record.action);
    body += R"(,"before":)";
    http::AppendJsonString(body, e.record.before);
    body += R"(,"after":)";
    http::AppendJsonString(body, e.record.after);
    body += '}';
  }
  body += "]}";
  return body;
}

std::string CsvCell(std::string_view text) {
  std::string cell;
  const bool formula =
      !text.empty() && (text.front() == '=' || text.front() == '+' || text.front() == '-' ||
                        text.front() == '@' || text.front() == '\t' || text.front() == '\r');
  if (formula) cell += '\'';
  cell += text;
  if (cell.find_first_of(",\"\r\n") == std::string::npos) return cell;
  std::string quoted = "\"";
  for (char c : cell) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  quoted += '"';
  return quoted;
}

std::string RenderAuditCsv(const std::vector<AuditEntry>& entries) {
  std::string body = "time,operator,address,room,action,before,after\n";
  for (const AuditEntry& e : entries) {
    const AuditRecord& r = e.record;
    body += IsoTimeMs(e.time_ms);
    for (std::string_view cell :
         {std::string_view(r.operator_name), std::string_view(r.address), std::string_view(r.room),
          std::string_view(r.action), std::string_view(r.before), std::string_view(r.after)}) {
      body += ',';
      body += CsvCell(cell);
    }
    body += '\n';
  }
  return body;
}

}  // namespace vwr::admin
