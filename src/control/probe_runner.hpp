#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "control/signal.hpp"
#include "control/signal_spec.hpp"
#include "util/clock.hpp"

namespace vwr::control {

// Runs the signals' probes on a small pool of threads of its own and writes what they measure
// into a SignalTable. Nothing here runs on a worker thread, and nothing waits for a probe: the
// control loop reads the table, where a probe that stopped answering shows as kError (it
// failed or timed out) or kUnknown (it has not finished within stale_after: its value aged out).
//
// Each probe is due every `interval` after its last run ended, and never runs twice at once,
// so one dead target occupies at most one thread for at most its timeout (each probe bounds its
// own sockets by it). Failures are logged at most once a minute per signal, without secrets.
//
// Thread-safe: Start/Stop from the owner's thread; Status from any.
class ProbeRunner {
 public:
  struct Entry {
    std::size_t signal = 0;  // index in the table
    std::string name;
    std::unique_ptr<Probe> probe;
    util::Duration interval = std::chrono::seconds(5);
  };

  ProbeRunner(SignalTable& table, const util::Clock& clock, std::vector<Entry> entries,
              int threads = 2);
  ~ProbeRunner();
  ProbeRunner(const ProbeRunner&) = delete;
  ProbeRunner& operator=(const ProbeRunner&) = delete;

  void Start();
  // Stops taking new runs and joins the threads; a run in progress finishes within its timeout.
  void Stop();

  struct ProbeStatus {
    std::string name;
    std::uint64_t runs = 0;
    std::uint64_t failures = 0;
    util::Duration last_duration{};
    std::string last_error;
    bool running = false;
  };
  std::vector<ProbeStatus> Status() const;

 private:
  struct Slot {
    Entry entry;
    util::TimePoint due{};
    bool running = false;
    ProbeStatus status;
    util::TimePoint last_logged{};
    bool logged = false;
  };
  void Work();

  SignalTable& table_;
  const util::Clock& clock_;
  const int thread_count_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::vector<Slot> slots_;  // guarded by mu_ (a slot's probe only by the thread running it)
  bool stopping_ = false;    // guarded by mu_
  std::vector<std::thread> threads_;
};

}  // namespace vwr::control
