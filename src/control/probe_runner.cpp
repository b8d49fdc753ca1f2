#include "control/probe_runner.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "util/log_escape.hpp"

namespace vwr::control {

ProbeRunner::ProbeRunner(SignalTable& table, const util::Clock& clock, std::vector<Entry> entries,
                         int threads)
    : table_(table), clock_(clock), thread_count_(std::max(1, threads)) {
  const util::TimePoint now = clock_.Now();
  for (auto& entry : entries) {
    Slot slot;
    slot.status.name = entry.name;
    slot.entry = std::move(entry);
    slot.due = now;  // everything is measured once at start
    slots_.push_back(std::move(slot));
  }
}

ProbeRunner::~ProbeRunner() { Stop(); }

void ProbeRunner::Start() {
  if (!threads_.empty() || slots_.empty()) return;
  const int count = std::min<int>(thread_count_, static_cast<int>(slots_.size()));
  for (int i = 0; i < count; ++i) threads_.emplace_back([this] { Work(); });
}

void ProbeRunner::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto& t : threads_) t.join();
  threads_.clear();
}

void ProbeRunner::Work() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    // The earliest due probe that is not running.
    Slot* next = nullptr;
    for (Slot& slot : slots_) {
      if (!slot.running && (next == nullptr || slot.due < next->due)) next = &slot;
    }
    if (next == nullptr) {
      wake_.wait(lock);
      continue;
    }
    const util::TimePoint now = clock_.Now();
    if (next->due > now) {
      wake_.wait_for(lock, std::min<util::Duration>(next->due - now, std::chrono::seconds(1)));
      continue;
    }
    next->running = true;
    next->status.running = true;
    Probe* probe = next->entry.probe.get();
    lock.unlock();
    const util::TimePoint start = clock_.Now();
    ProbeOutcome outcome = probe->Run();
    const util::TimePoint end = clock_.Now();
    lock.lock();
    next->running = false;
    next->status.running = false;
    next->status.runs++;
    next->status.last_duration = end - start;
    next->due = end + next->entry.interval;
    if (outcome.value) {
      table_.Set(next->entry.signal, *outcome.value, end);
      next->status.last_error.clear();
    } else if (!outcome.no_value_yet) {
      if (outcome.error.empty()) outcome.error = "the probe gave no value";
      next->status.failures++;
      next->status.last_error = outcome.error;
      table_.SetError(next->entry.signal, outcome.error, end);
      if (!next->logged || end - next->last_logged >= std::chrono::minutes(1)) {
        next->logged = true;
        next->last_logged = end;
        spdlog::warn("signal {}: probe failed: {}", util::LogEscaped(next->entry.name),
                     util::LogEscaped(outcome.error));
      }
    }
    wake_.notify_all();
  }
}

std::vector<ProbeRunner::ProbeStatus> ProbeRunner::Status() const {
  std::lock_guard lock(mu_);
  std::vector<ProbeStatus> out;
  for (const Slot& slot : slots_) out.push_back(slot.status);
  return out;
}

}  // namespace vwr::control
