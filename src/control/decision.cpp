#include "control/decision.hpp"

#include <cmath>
#include <cstdio>
#include <utility>

namespace vwr::control {

core::Policy PolicyChange::AppliedTo(core::Policy policy) const {
  if (max_active) policy.max_active = *max_active;
  if (admit_rate) policy.admit_rate = *admit_rate;
  if (mode) policy.mode = *mode;
  return policy;
}

std::string_view DecisionSourceName(DecisionSource source) {
  switch (source) {
    case DecisionSource::kController:
      return "controller";
    case DecisionSource::kRule:
      return "rule";
    case DecisionSource::kSchedule:
      return "schedule";
    case DecisionSource::kOperator:
      return "operator";
  }
  return "controller";
}

namespace {
std::string Number(double v) {
  char buf[32];
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
  } else {
    std::snprintf(buf, sizeof buf, "%.4g", v);
  }
  return buf;
}
}  // namespace

std::string Decision::Describe() const {
  std::string out =
      "room=" + room + " source=" + std::string(DecisionSourceName(source)) + "/" + source_name;
  if (shadow) out += " shadow";
  if (change.max_active) {
    out += " max_active " + Number(static_cast<double>(before.max_active)) + "->" +
           Number(static_cast<double>(after.max_active));
  }
  if (change.admit_rate) {
    out += " admit_rate " + Number(before.admit_rate) + "->" + Number(after.admit_rate);
  }
  if (change.mode) {
    out += " mode " + std::string(core::ModeName(before.mode)) + "->" +
           std::string(core::ModeName(after.mode));
  }
  if (change.empty()) out += " no change";
  for (const auto& s : seen) {
    out += " " + s.name + "=";
    out += s.state == SignalState::kOk ? Number(s.value) : std::string(SignalStateName(s.state));
  }
  out += " reason=\"" + reason + "\"";
  return out;
}

void DecisionLog::Add(Decision decision) {
  std::lock_guard lock(mu_);
  decisions_.push_back(std::move(decision));
  ++total_;
  while (decisions_.size() > capacity_) decisions_.pop_front();
}

std::vector<Decision> DecisionLog::Recent(std::size_t limit, std::string_view room) const {
  std::lock_guard lock(mu_);
  std::vector<Decision> out;
  for (auto it = decisions_.rbegin(); it != decisions_.rend() && out.size() < limit; ++it) {
    if (room.empty() || it->room == room) out.push_back(*it);
  }
  return out;
}

std::uint64_t DecisionLog::total() const {
  std::lock_guard lock(mu_);
  return total_;
}

}  // namespace vwr::control
