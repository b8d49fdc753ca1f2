#include "loadgen/loadgen.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <random>
#include <thread>

#include "loadgen/crowd.hpp"
#include "loadgen/report.hpp"
#include "loadgen/scenario.hpp"

namespace vwr::loadgen {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// Reads every option into the plan; prints what is wrong and returns nullopt otherwise.
std::optional<Plan> MakePlan(const Command& c, FailOn& fail_on) {
  Plan plan;
  std::vector<std::string> errors;
  auto take = [&errors](auto parsed, auto& into) {
    if (parsed) {
      into = std::move(*parsed.value);
    } else {
      errors.push_back(parsed.error);
    }
  };
  for (const std::string& url : c.targets) {
    auto target = ResolveTarget(url);
    if (target) {
      plan.targets.push_back(std::move(*target.value));
    } else {
      errors.push_back(target.error);
    }
  }
  if (plan.targets.size() > 65535) errors.push_back("at most 65535 targets");
  plan.room = c.room;
  std::string hold = c.hold, abandon = c.abandon, protocol = c.protocol,
              session_end = c.session_end;
  if (!c.scenario.empty()) {
    const auto scenario = FindScenario(c.scenario);
    if (!scenario) {
      errors.push_back(fmt::format("--scenario {}: unknown (known: {})", c.scenario,
                                   fmt::join(ScenarioNames(), ", ")));
    } else {
      plan.scenario = scenario->name;
      plan.arrivals.kind = ArrivalSpec::Kind::kReplay;
      plan.arrivals.per_second = scenario->arrivals_per_second;
      plan.arrivals.text = "scenario:" + scenario->name;
      // The preset's behaviour, unless the command line says otherwise.
      if (c.hold.empty()) hold = scenario->hold;
      if (c.abandon.empty()) abandon = scenario->abandon;
      if (c.protocol.empty()) protocol = scenario->protocol;
      if (c.session_end.empty()) session_end = scenario->session_end;
    }
    if (!c.arrivals.empty()) errors.push_back("--arrivals and --scenario exclude each other");
  } else if (c.arrivals.empty()) {
    errors.push_back("--arrivals (or --scenario) is required");
  } else {
    take(ParseArrivals(c.arrivals), plan.arrivals);
  }
  if (hold.empty()) hold = "5s";
  if (protocol.empty()) protocol = "native";
  if (session_end.empty()) session_end = "leave";
  plan.scale = c.scale;
  plan.speed = c.speed;
  if (c.scale < 0) errors.push_back("--scale must be >= 0");
  if (c.speed <= 0) errors.push_back("--speed must be > 0");
  if (!c.duration.empty()) {
    take(ParseDuration(c.duration), plan.duration);
  } else if (plan.arrivals.kind == ArrivalSpec::Kind::kReplay) {
    // A replay lasts as long as its rows.
    plan.duration = std::chrono::duration_cast<Duration>(std::chrono::duration<double>(
        static_cast<double>(plan.arrivals.per_second.size()) / std::max(c.speed, 1e-9)));
  } else {
    plan.duration = seconds(30);
  }
  take(ParseDurationDistribution(hold), plan.hold);
  if (!abandon.empty()) take(ParseAbandon(abandon), plan.abandon);
  take(ParseSessionEnd(session_end), plan.leave_share);
  take(ParseProtocol(protocol), plan.protocol);
  take(ParseUserIds(c.user_ids), plan.user_ids);
  if (c.reload < 0 || c.reload > 1) errors.push_back("--reload is a share between 0 and 1");
  plan.reload_share = c.reload;
  if (!c.heartbeat.empty()) {
    Duration every{};
    take(ParseDuration(c.heartbeat), every);
    plan.heartbeat = every;
  }
  take(ParseDuration(c.tracer_poll), plan.tracer_poll);
  if (plan.tracer_poll.count() <= 0) errors.push_back("--tracer-poll must be above 0");
  plan.max_people = c.people;
  plan.tracer_host = c.tracer_host;
  plan.tracer_page_url = c.tracer_page_url;
  plan.connections = std::max<std::size_t>(1, c.connections);
  plan.threads = c.threads != 0 ? c.threads : std::max(1u, std::thread::hardware_concurrency());
  take(ParseDuration(c.timeout), plan.timeout);
  take(ParseDuration(c.drain), plan.drain);
  take(ParseDuration(c.fifo_slack), plan.fifo_slack);
  if (!c.fail_on.empty()) take(ParseFailOn(c.fail_on), fail_on);
  plan.seed = c.seed != 0 ? c.seed : std::random_device{}();
  plan.run_id = fmt::format("{:06x}", plan.seed & 0xffffff);
  if (c.room.empty()) errors.push_back("--room is required");
  if (c.targets.empty()) errors.push_back("--target is required");
  for (const std::string& e : errors) std::fprintf(stderr, "vwr loadgen: %s\n", e.c_str());
  if (!errors.empty()) return std::nullopt;
  return plan;
}

// GET /api/v1/rooms/{room} once before the run, for max_active and the mode. Returns whether
// the request went out (the server counts it), and the room when it answered.
bool ReadRoom(const Plan& plan, std::optional<RoomInfo>& room) {
  const Target& t = plan.targets.front();
  asio::io_context io;
  asio::ip::tcp::socket socket(io);
  boost::system::error_code ec;
  socket.connect(t.endpoint, ec);
  if (ec) return false;
  const std::string request = fmt::format(
      "GET {}/api/v1/rooms/{} HTTP/1.1\r\nHost: {}\r\nUser-Agent: vwr-loadgen\r\n"
      "Connection: close\r\n\r\n",
      t.prefix, plan.room, t.host_header);
  asio::write(socket, asio::buffer(request), ec);
  if (ec) return false;
  std::string answer;
  char buffer[4096];
  // A deadline for a server that never answers: the socket's receive timeout.
  struct timeval tv {
    5, 0
  };
  ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  while (answer.size() < 1 << 20) {
    const std::size_t n = socket.read_some(asio::buffer(buffer), ec);
    answer.append(buffer, n);
    if (ec) break;
  }
  const std::size_t body = answer.find("\r\n\r\n");
  if (answer.starts_with("HTTP/1.1 200") && body != std::string::npos) {
    room = ParseRoomInfo(std::string_view(answer).substr(body + 4));
  }
  return true;
}

bool WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) {
    std::fprintf(stderr, "vwr loadgen: cannot write %s\n", path.c_str());
    return false;
  }
  return true;
}

}  // namespace

CLI::App* AddCommand(CLI::App& app, Command& c) {
  auto* cmd = app.add_subcommand(
      "loadgen",
      "Rehearse the big day: a crowd of simulated people against running nodes, and what the "
      "waiting room did to them (docs/capacity.md)");
  cmd->add_option("--target", c.targets,
                  "Base URL of a node (http://host:port); repeat for a "
                  "cluster: people are spread over them in turn")
      ->required();
  cmd->add_option("--room", c.room, "The room to load")->required();
  cmd->add_option("--arrivals", c.arrivals,
                  "burst:N | ramp:A:B:T | poisson:RATE | replay:FILE (a CSV of arrivals per "
                  "second)");
  cmd->add_option("--scenario", c.scenario, "A preset instead of --arrivals: incident-2025-01");
  cmd->add_option("--people", c.people,
                  "Stop the arrivals after this many people (default: no limit)");
  cmd->add_option("--scale", c.scale, "Multiply every arrival count (default 1)");
  cmd->add_option("--speed", c.speed, "Play a replay or ramp this many times faster (default 1)");
  cmd->add_option("--duration", c.duration,
                  "How long people arrive and act (default 30s; a replay: its length)");
  cmd->add_option("--hold", c.hold,
                  "Session length once admitted: 5s | uniform:2s:8s | exp:5s (default 5s; a "
                  "--scenario: its own)");
  cmd->add_option("--abandon", c.abandon,
                  "SHARE:AFTER[:leave|:silent]: that share of waiters give up after AFTER; with "
                  "leave they give their place back");
  cmd->add_option(
      "--session-end", c.session_end,
      "How sessions end: leave | idle | mix:SHARE (the share who leave; default leave)");
  cmd->add_option("--reload", c.reload,
                  "Share of waiters who reload once (join again with the ticket they kept)");
  cmd->add_option("--user-ids", c.user_ids, "userId / loginId sent: distinct | none | pool:N");
  cmd->add_option("--protocol", c.protocol,
                  "native | tracer | mix:SHARE (the TRACER share; default native)");
  cmd->add_option("--heartbeat", c.heartbeat,
                  "Heartbeat interval while admitted (default: a third of the session timeout)");
  cmd->add_option("--tracer-poll", c.tracer_poll,
                  "How often the legacy TRACER client polls (default 1s)");
  cmd->add_option("--tracer-host", c.tracer_host, "TRACER `host` field (default: the target's)");
  cmd->add_option("--tracer-page-url", c.tracer_page_url, "TRACER `pageUrl` field");
  cmd->add_option("--connections", c.connections,
                  "Keep-alive connections per target, shared by everyone (default 64)");
  cmd->add_option("--threads", c.threads, "Worker threads (default: one per core)");
  cmd->add_option("--timeout", c.timeout, "A request without an answer this long fails (10s)");
  cmd->add_option("--drain", c.drain, "After the run, wait this long for answers out (10s)");
  cmd->add_option("--fifo-slack", c.fifo_slack,
                  "Excuse a waiting answer this soon after someone behind got in (0s; several "
                  "nodes answer from a frontier up to a tick old)");
  cmd->add_option("--fail-on", c.fail_on,
                  "Exit 1 when seen: fifo, positions (or fairness: both), active, errors");
  cmd->add_option("--json", c.json_file, "Write the report as JSON to FILE");
  cmd->add_option("--html", c.html_file, "Write the report as one self-contained HTML page");
  cmd->add_option("--seed", c.seed, "Random seed (default: random)");
  cmd->add_flag("--quiet", c.quiet, "No progress line");
  return cmd;
}

int Run(const Command& command, const util::Clock& clock) {
  Results results;
  auto plan = MakePlan(command, results.fail_on);
  if (!plan) return 2;
  results.plan = &*plan;
  results.room_request_sent = ReadRoom(*plan, results.room);

  Shared shared;
  shared.start = clock.Now() + milliseconds(20);
  std::vector<std::unique_ptr<Worker>> workers;
  for (unsigned i = 0; i < plan->threads; ++i) {
    workers.push_back(std::make_unique<Worker>(i, plan->threads, *plan, shared, clock));
  }
  // The workers say when they are done; this thread waits for that, waking at each sample.
  std::mutex mutex;
  std::condition_variable finished;
  unsigned running = plan->threads;
  std::vector<std::thread> threads;
  for (auto& w : workers) {
    threads.emplace_back([&w, &mutex, &finished, &running] {
      w->Run();
      {
        std::lock_guard lock(mutex);
        --running;
      }
      finished.notify_all();
    });
  }

  // Each second: sample who waits and who holds a session; show progress (every second on a
  // terminal, every 5 s into a log).
  const bool tty = ::isatty(STDOUT_FILENO) != 0;
  const auto progress_every = tty ? seconds(1) : seconds(5);
  auto next_sample = shared.start;
  auto next_progress = shared.start + progress_every;
  std::uint64_t last_answered = 0;
  auto last_progress = shared.start;
  std::unique_lock lock(mutex);
  while (running > 0) {
    lock.unlock();
    const auto now = clock.Now();
    if (now >= next_sample) {
      results.waiting_series.push_back(shared.live.waiting.load());
      results.active_series.push_back(shared.live.active.load());
      next_sample += seconds(1);
    }
    if (!command.quiet && now >= next_progress) {
      const std::uint64_t answered = shared.live.answered.load();
      const double rate = static_cast<double>(answered - last_answered) /
                          std::chrono::duration<double>(now - last_progress).count();
      last_answered = answered;
      last_progress = now;
      const std::string line = fmt::format(
          "{:6.0f}s  {:8.0f} req/s  arrived {}  waiting {}  admitted {}  active {}  errors {}",
          std::chrono::duration<double>(now - shared.start).count(), rate,
          shared.live.arrived.load(), shared.live.waiting.load(), shared.live.admitted.load(),
          shared.live.active.load(), shared.live.errors.load());
      if (tty) {
        std::fprintf(stdout, "\r%s\033[K", line.c_str());
      } else {
        std::fprintf(stdout, "%s\n", line.c_str());
      }
      std::fflush(stdout);
      next_progress += progress_every;
    }
    lock.lock();
    finished.wait_until(lock, std::min(next_sample, next_progress), [&] { return running == 0; });
  }
  lock.unlock();
  for (auto& t : threads) t.join();
  if (tty && !command.quiet) std::fprintf(stdout, "\n");
  results.elapsed_s = std::chrono::duration<double>(clock.Now() - shared.start).count();

  for (const auto& w : workers) results.stats.Merge(w->stats());
  results.peak_active = shared.live.peak_active.load();
  results.peak_waiting = shared.live.peak_waiting.load();
  results.waiting_at_end = shared.live.waiting.load();
  results.active_at_end = shared.live.active.load();
  ApplyFailOn(results);

  std::fputs(RenderText(results).c_str(), stdout);
  std::fflush(stdout);
  bool written = true;
  if (!command.json_file.empty()) written = WriteFile(command.json_file, RenderJson(results));
  if (!command.html_file.empty()) {
    written = WriteFile(command.html_file, RenderHtml(results)) && written;
  }
  if (!written) return 2;
  return results.failed_checks.empty() ? 0 : 1;
}

}  // namespace vwr::loadgen
