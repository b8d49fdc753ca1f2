#pragma once

#include <boost/system/result.hpp>
#include <cstdint>
#include <deque>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "util/clock.hpp"

namespace vwr::admin {

// One change, as the audit log keeps it: who (the operator's name and the client's address, or a
// rule's name and "rule"), which room (empty: none, e.g. a key rotation), what ("policy",
// "message", "lists.deny.add", "operators.add"...), and the values before and after (short
// texts, usually JSON; empty where there is none).
struct AuditRecord {
  std::string operator_name{};
  std::string address{};
  std::string room{};
  std::string action{};
  std::string before{};
  std::string after{};
};

// A kept record with when it was made (unix milliseconds, the node's wall clock).
struct AuditEntry {
  std::int64_t time_ms = 0;
  AuditRecord record;
};

// A search: [from_ms, to_ms), and optionally an operator, a room (exact) and a text found
// anywhere in the entry (ASCII letters compared without case). Newest first, at most `limit`.
struct AuditQuery {
  std::int64_t from_ms = 0;
  std::int64_t to_ms = std::numeric_limits<std::int64_t>::max();
  std::string operator_name;
  std::string room;
  std::string text;
  std::size_t limit = 500;
  bool csv = false;

  static constexpr std::size_t kMaxLimit = 10'000;
};

// Whether `entry` is one the query asks for (time, operator, room, text).
bool Matches(const AuditQuery& query, const AuditEntry& entry);

// Where entries are kept: SQLite in data_dir (one node), a bounded Redis stream (a cluster), or
// memory (tests). Append and Search may block on their own thread, never the caller's; `done`
// runs exactly once, on any thread.
class AuditBackend {
 public:
  virtual ~AuditBackend() = default;
  virtual void Append(AuditEntry entry, std::function<void(bool stored)> done) = 0;
  virtual void Search(AuditQuery query,
                      std::function<void(bool ok, std::vector<AuditEntry>)> done) = 0;
};

// The audit log: every change made through the console, the admin API or a rule, kept durably
// and searchable. The one call the rest of the node makes:
//
//   audit.Record({.operator_name = "alice", .address = "10.0.0.7", .room = "shop",
//                 .action = "policy", .before = R"({"max_active":100})",
//                 .after = R"({"max_active":50})"},
//                [](bool recorded) { ... answer ... });
//
// Record stamps the time, writes one log line (every client-supplied text escaped) and hands the
// entry to the backend; `done` (optional) runs once it is stored, or could not be (logged).
// Thread-safe.
class AuditLog {
 public:
  AuditLog(const util::Clock& clock, std::shared_ptr<AuditBackend> backend);

  void Record(AuditRecord record, std::function<void(bool recorded)> done = {});
  void Search(AuditQuery query, std::function<void(bool ok, std::vector<AuditEntry>)> done);

 private:
  const util::Clock& clock_;
  std::shared_ptr<AuditBackend> backend_;
};

// Entries in memory, newest kept up to `capacity` (tests; a node without a durable place).
class MemoryAuditBackend final : public AuditBackend {
 public:
  explicit MemoryAuditBackend(std::size_t capacity = 10'000) : capacity_(capacity) {}
  void Append(AuditEntry entry, std::function<void(bool stored)> done) override;
  void Search(AuditQuery query,
              std::function<void(bool ok, std::vector<AuditEntry>)> done) override;

 private:
  const std::size_t capacity_;
  std::mutex mu_;
  std::deque<AuditEntry> entries_;  // oldest first; guarded by mu_
};

// GET /admin/api/v1/audit's query: from and to (unix seconds; to exclusive), operator, room, q,
// limit (1..10000, default 500), format (json|csv). The query or a message for a 400.
boost::system::result<AuditQuery, std::string> ParseAuditQuery(std::string_view query_string);

// {"entries":[{"time":"2026-01-02T03:04:05.678Z","unix_ms":...,"operator":...,"address":...,
// "room":...,"action":...,"before":...,"after":...}]}
std::string RenderAuditJson(const std::vector<AuditEntry>& entries);
// The same as CSV with a header row: time,operator,address,room,action,before,after.
std::string RenderAuditCsv(const std::vector<AuditEntry>& entries);

// One CSV cell: quoted when it holds a comma, a quote or a line break; and a cell that a
// spreadsheet would take for a formula (starting with = + - @, a tab or a carriage return) is
// prefixed with a single quote, so that opening the export runs nothing.
std::string CsvCell(std::string_view text);

// "2026-01-02T03:04:05.678Z".
std::string IsoTimeMs(std::int64_t unix_ms);

}  // namespace vwr::admin
