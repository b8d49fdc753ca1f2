#pragma once

#include <CLI/CLI.hpp>
#include <boost/system/result.hpp>
#include <cstdint>
#include <string>
#include <string_view>

#include "util/clock.hpp"

namespace vwr::app {

// Which of the admin API's statistics queries `vwr stats` asks (docs/analysis.md#queries).
enum class StatsQuery : std::uint8_t { kSeries, kTop, kPeaks };

// `vwr stats series|top|peaks`: the statistics queries of a running node's admin listener,
// for an operator on a terminal. Every field is as typed on the command line (checked by
// StatsTarget), so that the node, not the command, is the one judge of what a query may ask.
struct StatsOptions {
  StatsQuery query = StatsQuery::kSeries;
  std::string admin = "http://127.0.0.1:8081";  // the node's admin listener
  std::string token_file;                       // else VWR_ADMIN_TOKEN
  std::string room = "default";
  std::string from;  // unix seconds
  std::string to;    // unix seconds, exclusive
  std::string last;  // a duration back from `to` (90s, 15m, 6h, 7d), instead of `from`
  std::string step = "1m";
  std::string metrics = "requests";
  std::string dim = "ip";
  std::string k;  // empty: the node's default
  std::string period = "hour";
  std::string metric;            // peaks: rank by (empty: requests)
  std::string format = "table";  // table, csv or json
  int timeout_seconds = 30;
};

// Adds `stats` with its three subcommands to `app`, filling `options`; returns `stats`.
CLI::App* AddStatsCommand(CLI::App& app, StatsOptions& options);

// The admin API target (path and query) the options ask for; `now_unix` places --last when
// --to is not given. The error says which option is wrong.
boost::system::result<std::string, std::string> StatsTarget(const StatsOptions& options,
                                                            std::int64_t now_unix);

// An answer of the admin API (JSON) as a table for a terminal: a title line, a header row,
// columns aligned (numbers to the right), times in UTC. Keys that clients chose (pages, user
// agents) have their control characters escaped and are cut at 60 characters, so that no
// visitor can write to an operator's terminal. The error says what is wrong with the answer.
boost::system::result<std::string, std::string> FormatStatsTable(StatsQuery query,
                                                                 std::string_view json);

// Runs the command: asks the node and prints the answer (table, or the node's CSV or JSON as
// it sent it) on stdout; 0, or 1 with the reason on stderr (node unreachable, token refused,
// query refused).
int RunStats(const StatsOptions& options, const util::Clock& clock);

}  // namespace vwr::app
