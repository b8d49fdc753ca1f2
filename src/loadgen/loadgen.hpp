#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "util/clock.hpp"

// `vwr loadgen`: rehearses the big day against running nodes. A crowd of simulated people
// arrives on a schedule (open loop), waits, polls, is admitted, holds a session and leaves,
// over shared keep-alive connections; the report says what the server did to them: requests
// and latency per endpoint, admissions, waits, FIFO order, positions, ETA honesty, sessions held
// against max_active. docs/capacity.md tells how to use it.
namespace vwr::loadgen {

// The command line, as given.
struct Command {
  std::vector<std::string> targets;
  std::string room;
  std::string arrivals;
  std::string scenario;
  double scale = 1.0;
  double speed = 1.0;
  std::string duration;
  // Empty when not given: the scenario's choice, else the default (5s, leave, native).
  std::string hold;
  std::string abandon;
  std::string session_end;
  double reload = 0.0;
  std::string user_ids = "distinct";
  std::string protocol;
  std::string heartbeat;
  std::string tracer_poll = "1s";
  std::string tracer_host;
  std::string tracer_page_url;
  std::uint64_t people = 0;
  std::size_t connections = 64;
  unsigned threads = 0;
  std::string timeout = "10s";
  std::string drain = "10s";
  std::string fifo_slack = "0s";
  std::string fail_on;
  std::string json_file;
  std::string html_file;
  std::uint64_t seed = 0;
  bool quiet = false;
};

// Adds the `loadgen` subcommand to `app`, filling `command`.
CLI::App* AddCommand(CLI::App& app, Command& command);

// Runs it, on `clock` (the crowd's schedule, latencies and waits). 0: the run completed
// (whatever it measured); 1: a --fail-on check failed; 2: the command line or an output file
// was wrong.
int Run(const Command& command, const util::Clock& clock);

}  // namespace vwr::loadgen
