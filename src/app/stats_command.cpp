#include "app/stats_command.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <optional>
#include <vector>

#include "app/http_get.hpp"

namespace vwr::app {
namespace {

namespace json = boost::json;

// A text, or why there is none (both are strings: the two must be told apart by hand).
using TextOrError = boost::system::result<std::string, std::string>;
TextOrError Ok(std::string text) {
  return TextOrError(boost::system::in_place_value, std::move(text));
}
TextOrError Fail(std::string why) {
  return TextOrError(boost::system::in_place_error, std::move(why));
}

constexpr std::size_t kMaxKeyChars = 60;                   // a key's column in a top table
constexpr std::size_t kMaxAnswerBytes = 64 * 1024 * 1024;  // 100,000 points of a few metrics

// Percent-encodes a query parameter's value (RFC 3986 unreserved characters stay).
std::string Encode(std::string_view value) {
  std::string out;
  for (const char c : value) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) != 0 || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(c);
    } else {
      out += fmt::format("%{:02X}", u);
    }
  }
  return out;
}

std::optional<std::int64_t> ParseSeconds(std::string_view text) {
  std::int64_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || v < 0) {
    return std::nullopt;
  }
  return v;
}

// "90s", "15m", "6h", "7d" in seconds.
std::optional<std::int64_t> ParseDuration(std::string_view text) {
  if (text.size() < 2) return std::nullopt;
  const char unit = text.back();
  const std::int64_t scale = unit == 's'   ? 1
                             : unit == 'm' ? 60
                             : unit == 'h' ? 3600
                             : unit == 'd' ? 86400
                                           : 0;
  const std::optional<std::int64_t> n = ParseSeconds(text.substr(0, text.size() - 1));
  if (scale == 0 || !n || *n == 0 || *n > 100LL * 365 * 86400 / scale) return std::nullopt;
  return *n * scale;
}

std::string UtcTime(std::int64_t unix_seconds) {
  const auto t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  if (::gmtime_r(&t, &tm) == nullptr) return std::to_string(unix_seconds);
  char text[32];
  const std::size_t n = std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S", &tm);
  return std::string(text, n);
}

// A key a client chose, safe on a terminal: C0 and C1 control characters and DEL escaped,
// at most kMaxKeyChars characters (UTF-8 sequences are never cut).
std::string TerminalSafe(std::string_view key) {
  std::string out;
  std::size_t chars = 0;
  for (std::size_t i = 0; i < key.size();) {
    if (chars == kMaxKeyChars) {
      out += "…";
      break;
    }
    const auto c = static_cast<unsigned char>(key[i]);
    if (c < 0x20 || c == 0x7f) {
      out += fmt::format("\\x{:02x}", c);
      ++i;
    } else if (c == 0xc2 && i + 1 < key.size() && static_cast<unsigned char>(key[i + 1]) >= 0x80 &&
               static_cast<unsigned char>(key[i + 1]) <= 0x9f) {
      out += fmt::format("\\u{:04x}", static_cast<unsigned char>(key[i + 1]));
      i += 2;
    } else {
      std::size_t len = c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
      len = std::min(len, key.size() - i);
      out.append(key.substr(i, len));
      i += len;
    }
    ++chars;
  }
  return out;
}

// Characters shown (UTF-8 continuation bytes take no column).
std::size_t Width(std::string_view text) {
  return static_cast<std::size_t>(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xc0) != 0x80;
  }));
}

std::string Number(const json::value& v) {
  if (v.is_int64()) return std::to_string(v.get_int64());
  if (v.is_uint64()) return std::to_string(v.get_uint64());
  if (v.is_double()) {
    const double d = v.get_double();
    if (std::isfinite(d) && d == std::floor(d) && std::abs(d) < 1e15) {
      return std::to_string(static_cast<std::int64_t>(d));
    }
    return fmt::format("{}", std::round(d * 1000.0) / 1000.0);
  }
  if (v.is_bool()) return v.get_bool() ? "true" : "false";
  if (v.is_string()) return TerminalSafe(v.get_string());
  return "";
}

// Rows of cells as aligned text: column `c` to the left when left[c], else to the right.
std::string Table(const std::vector<std::vector<std::string>>& rows,
                  const std::vector<bool>& left) {
  std::vector<std::size_t> widths;
  for (const auto& row : rows) {
    widths.resize(std::max(widths.size(), row.size()), 0);
    for (std::size_t c = 0; c < row.size(); ++c) widths[c] = std::max(widths[c], Width(row[c]));
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (std::size_t c = 0; c < row.size(); ++c) {
      const std::string pad(widths[c] - Width(row[c]), ' ');
      if (c != 0) line += "  ";
      const bool to_left = c < left.size() && left[c];
      line += to_left ? row[c] + pad : pad + row[c];
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line;
    out += '\n';
  }
  return out;
}

std::int64_t Int(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr) return 0;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64()) return static_cast<std::int64_t>(v->get_uint64());
  if (v->is_double()) return static_cast<std::int64_t>(v->get_double());
  return 0;
}

std::string Text(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? TerminalSafe(v->get_string()) : std::string();
}

std::string Range(const json::object& o) {
  return UtcTime(Int(o, "from")) + " to " + UtcTime(Int(o, "to")) + " UTC";
}

using Formatted = TextOrError;

Formatted SeriesTable(const json::object& o) {
  const json::value* series = o.if_contains("series");
  if (series == nullptr || !series->is_object()) return Fail("the answer has no series");
  std::vector<std::vector<std::string>> rows(1);
  rows[0].push_back("time (UTC)");
  std::vector<const json::array*> columns;
  for (const auto& [name, points] : series->get_object()) {
    if (!points.is_array()) return Fail("a series is not a list of points");
    rows[0].push_back(TerminalSafe(name));
    columns.push_back(&points.get_array());
  }
  const std::size_t n = columns.empty() ? 0 : columns.front()->size();
  for (std::size_t i = 0; i < n; ++i) {
    std::vector<std::string> row;
    for (std::size_t c = 0; c < columns.size(); ++c) {
      if (i >= columns[c]->size() || !(*columns[c])[i].is_array() ||
          (*columns[c])[i].get_array().size() != 2) {
        return Fail("the series' points do not line up");
      }
      const json::array& point = (*columns[c])[i].get_array();
      if (c == 0) {
        json::object t;
        t["t"] = point[0];
        row.push_back(UtcTime(Int(t, "t")));
      }
      row.push_back(Number(point[1]));
    }
    rows.push_back(std::move(row));
  }
  std::string out =
      fmt::format("room {}, step {}, {}\n", Text(o, "room"), Text(o, "step"), Range(o));
  return Ok(out + Table(rows, {true}));
}

Formatted TopTable(const json::object& o) {
  const json::value* top = o.if_contains("top");
  if (top == nullptr || !top->is_array()) return Fail("the answer has no top list");
  std::vector<std::vector<std::string>> rows = {{"#", "key", "count", "share"}};
  bool classes = false;
  for (const json::value& entry : top->get_array()) {
    classes = classes || (entry.is_object() && entry.get_object().contains("class"));
  }
  if (classes) rows[0].push_back("class");
  std::size_t rank = 0;
  for (const json::value& entry : top->get_array()) {
    if (!entry.is_object()) return Fail("a top entry is not an object");
    const json::object& e = entry.get_object();
    const json::value* share = e.if_contains("share");
    const double s = share != nullptr && share->is_number() ? share->to_number<double>() : 0.0;
    std::vector<std::string> row = {std::to_string(++rank), Text(e, "key"),
                                    std::to_string(Int(e, "count")),
                                    fmt::format("{:.1f} %", s * 100.0)};
    if (classes) row.push_back(Text(e, "class"));
    rows.push_back(std::move(row));
  }
  std::string out = fmt::format("room {}, top {} by count, {}, total {}\n", Text(o, "room"),
                                Text(o, "dim"), Range(o), Int(o, "total"));
  if (rank == 0) return Ok(out + "(nothing recorded in this range)\n");
  return Ok(out + Table(rows, {false, true, false, false, true}));
}

Formatted PeaksTable(const json::object& o) {
  const json::value* peaks = o.if_contains("peaks");
  if (peaks == nullptr || !peaks->is_array()) return Fail("the answer has no peaks");
  const std::string metric = Text(o, "metric");
  std::vector<std::vector<std::string>> rows = {{"#", "start (UTC)", metric}};
  std::size_t rank = 0;
  for (const json::value& entry : peaks->get_array()) {
    if (!entry.is_object()) return Fail("a peak is not an object");
    const json::object& p = entry.get_object();
    std::vector<std::string> row = {std::to_string(++rank), UtcTime(Int(p, "start"))};
    const json::value* value = p.if_contains("value");
    row.push_back(value != nullptr ? Number(*value) : "");
    // The other figures of the period, in the order the node gives them.
    for (const auto& [name, v] : p) {
      if (name == "start" || name == "end" || name == "value" || name == metric) continue;
      if (rank == 1) rows[0].push_back(TerminalSafe(name));
      row.push_back(Number(v));
    }
    rows.push_back(std::move(row));
  }
  std::string out = fmt::format("room {}, busiest {}s by {}, {}\n", Text(o, "room"),
                                Text(o, "period"), metric, Range(o));
  if (rank == 0) return Ok(out + "(nothing recorded in this range)\n");
  return Ok(out + Table(rows, {false, true}));
}

// The message of the API's error body ({"error":{"code","message"}}), or the body itself.
std::string ErrorMessage(const std::string& body) {
  boost::system::error_code ec;
  const json::value v = json::parse(body, ec);
  if (!ec && v.is_object()) {
    if (const json::value* error = v.get_object().if_contains("error");
        error != nullptr && error->is_object()) {
      const std::string message = Text(error->get_object(), "message");
      if (!message.empty()) return message;
    }
  }
  return TerminalSafe(body.substr(0, 200));
}

// The admin token: the first line of --token-file, else VWR_ADMIN_TOKEN.
boost::system::result<std::string, std::string> Token(const StatsOptions& options) {
  if (!options.token_file.empty()) {
    std::ifstream in(options.token_file);
    std::string line;
    if (!in || !std::getline(in, line)) {
      return Fail("cannot read the admin token file " + options.token_file);
    }
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (line.empty()) return Fail("the admin token file " + options.token_file + " is empty");
    return Ok(line);
  }
  if (const char* env = std::getenv("VWR_ADMIN_TOKEN"); env != nullptr && *env != '\0') {
    return Ok(std::string(env));
  }
  return Fail(
      "no admin token: give --token-file (a node that generated its token keeps it in "
      "<data_dir>/admin.token) or set VWR_ADMIN_TOKEN");
}

}  // namespace

CLI::App* AddStatsCommand(CLI::App& app, StatsOptions& o) {
  auto* stats = app.add_subcommand(
      "stats", "Traffic statistics of a running node, from its admin listener (docs/analysis.md)");
  stats->require_subcommand(1);
  auto* series = stats->add_subcommand("series", "A room's figures per second, minute or hour");
  auto* top = stats->add_subcommand("top", "The top keys of a breakdown (pageUrl, ip, ...)");
  auto* peaks = stats->add_subcommand("peaks", "The busiest hours or minutes");
  series->callback([&o] { o.query = StatsQuery::kSeries; });
  top->callback([&o] { o.query = StatsQuery::kTop; });
  peaks->callback([&o] { o.query = StatsQuery::kPeaks; });
  for (CLI::App* command : {series, top, peaks}) {
    command->add_option("--admin", o.admin, "The node's admin listener URL")
        ->envname("VWR_ADMIN_URL")
        ->capture_default_str();
    command->add_option("--token-file", o.token_file,
                        "A file holding the admin token (default: VWR_ADMIN_TOKEN)");
    command->add_option("--room", o.room, "The room")->capture_default_str();
    command->add_option("--from", o.from, "Start, unix seconds");
    command->add_option("--to", o.to, "End (exclusive), unix seconds (default: now)");
    command->add_option("--last", o.last, "The range ending at --to: 90s, 15m, 6h, 7d");
    command->add_option("--format", o.format, "table, csv or json")
        ->check(CLI::IsMember({"table", "csv", "json"}))
        ->capture_default_str();
    command->add_option("--timeout", o.timeout_seconds, "Seconds to wait for the answer")
        ->check(CLI::Range(1, 3600))
        ->capture_default_str();
  }
  series->add_option("--step", o.step, "1s, 1m or 1h")->capture_default_str();
  series->add_option("--metrics", o.metrics, "Comma-separated metric names")->capture_default_str();
  top->add_option("--dim", o.dim, "pageUrl, ip, ipPrefix, userAgent, user or host")
      ->capture_default_str();
  for (CLI::App* command : {top, peaks}) {
    command->add_option("-k", o.k, "How many (default 10)");
  }
  peaks->add_option("--period", o.period, "hour or minute")->capture_default_str();
  peaks->add_option("--metric", o.metric, "Rank by this metric (default requests)");
  return stats;
}

boost::system::result<std::string, std::string> StatsTarget(const StatsOptions& o,
                                                            std::int64_t now_unix) {
  std::vector<std::pair<std::string_view, std::string>> params = {{"room", o.room}};
  std::optional<std::int64_t> to;
  if (!o.to.empty()) {
    to = ParseSeconds(o.to);
    if (!to) return Fail("--to: unix seconds expected");
    params.emplace_back("to", o.to);
  }
  if (!o.from.empty() && !o.last.empty()) return Fail("give --from or --last, not both");
  if (!o.from.empty()) {
    if (!ParseSeconds(o.from)) return Fail("--from: unix seconds expected");
    params.emplace_back("from", o.from);
  } else if (!o.last.empty()) {
    const std::optional<std::int64_t> span = ParseDuration(o.last);
    if (!span) return Fail("--last: a duration expected, like 90s, 15m, 6h or 7d");
    params.emplace_back("from",
                        std::to_string(std::max<std::int64_t>(0, to.value_or(now_unix) - *span)));
  }
  std::string path;
  switch (o.query) {
    case StatsQuery::kSeries:
      path = "/admin/api/v1/stats";
      params.emplace_back("step", o.step);
      params.emplace_back("metrics", o.metrics);
      if (o.format == "csv") params.emplace_back("format", "csv");
      break;
    case StatsQuery::kTop:
      path = "/admin/api/v1/stats/top";
      params.emplace_back("dim", o.dim);
      break;
    case StatsQuery::kPeaks:
      path = "/admin/api/v1/stats/peaks";
      params.emplace_back("period", o.period);
      if (!o.metric.empty()) params.emplace_back("metric", o.metric);
      break;
  }
  if (o.query != StatsQuery::kSeries && !o.k.empty()) params.emplace_back("k", o.k);
  char separator = '?';
  for (const auto& [name, value] : params) {
    path += separator;
    path += name;
    path += '=';
    path += Encode(value);
    separator = '&';
  }
  return Ok(path);
}

boost::system::result<std::string, std::string> FormatStatsTable(StatsQuery query,
                                                                 std::string_view text) {
  boost::system::error_code ec;
  const json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return Fail("the answer is not a JSON object");
  switch (query) {
    case StatsQuery::kSeries:
      return SeriesTable(v.get_object());
    case StatsQuery::kTop:
      return TopTable(v.get_object());
    case StatsQuery::kPeaks:
      return PeaksTable(v.get_object());
  }
  return Fail("unknown query");
}

int RunStats(const StatsOptions& options, const util::Clock& clock) {
  const auto fail = [](const std::string& message) {
    std::fprintf(stderr, "vwr stats: %s\n", message.c_str());
    return 1;
  };
  const std::int64_t now =
      std::chrono::duration_cast<std::chrono::seconds>(clock.WallNow().time_since_epoch()).count();
  auto target = StatsTarget(options, now);
  if (!target) return fail(target.error());
  auto token = Token(options);
  if (!token) return fail(token.error());
  std::string base = options.admin;
  while (!base.empty() && base.back() == '/') base.pop_back();
  if (auto url = ParseHttpUrl(base); !url) {
    return fail("--admin " + TerminalSafe(base) + ": " + url.error());
  }
  auto got = HttpGet(base + *target, std::chrono::seconds(options.timeout_seconds), kMaxAnswerBytes,
                     *token);
  if (!got) {
    return fail("cannot reach the admin listener at " + TerminalSafe(base) + ": " + got.error() +
                " (is the node running, and is --admin its server.admin_listen?)");
  }
  if (got->status == 401 || got->status == 403) {
    return fail(fmt::format(
        "the node refused the admin token ({}: {}); check --token-file or VWR_ADMIN_TOKEN",
        got->status, ErrorMessage(got->body)));
  }
  if (got->status == 404 && got->body.find("\"error\"") == std::string::npos) {
    return fail("no statistics at " + TerminalSafe(base) +
                " (is analytics.enabled off, or is this not a vwr admin listener?)");
  }
  if (got->status != 200) {
    return fail(
        fmt::format("the node refused the query ({}): {}", got->status, ErrorMessage(got->body)));
  }
  if (options.format != "table") {
    std::fwrite(got->body.data(), 1, got->body.size(), stdout);
    if (!got->body.empty() && got->body.back() != '\n') std::fputc('\n', stdout);
    return 0;
  }
  auto table = FormatStatsTable(options.query, got->body);
  if (!table) return fail(table.error());
  std::fwrite(table->data(), 1, table->size(), stdout);
  return 0;
}

}  // namespace vwr::app
