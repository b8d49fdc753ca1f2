// control::Expression (a rule's `when`) on arbitrary text, with the default limits and with
// small ones so that every limit is met often. What it promises: Parse returns a condition or an
// error with a line and column inside the text, never both and never an exception; a condition
// stays within its limits; Evaluate gives the same truth twice over the same inputs, whatever
// the signals' states and values (NaN, infinities, unknown); a condition that reads no signal and
// no room figure does not depend on them. ParseCalendarWindow is run on the same text.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "control/expression.hpp"

namespace {

using vwr::control::EvalInput;
using vwr::control::Expression;
using vwr::control::ExpressionLimits;
using vwr::control::RoomFigures;
using vwr::control::SignalReading;
using vwr::control::SignalState;
using vwr::control::SourceError;
using vwr::control::Truth;

[[noreturn]] void Fail(const char* what, std::string_view detail) {
  std::fprintf(stderr, "rule_expr_fuzz: %s: %.*s\n", what, static_cast<int>(detail.size()),
               detail.data());
  std::abort();
}

const std::vector<std::string> kSignals = {"origin_latency_ms", "db_connections_used", "errors",
                                           "cpu"};

void CheckErrorPosition(std::string_view text, const SourceError& error) {
  int lines = 1;
  for (char c : text) lines += c == '\n';
  if (error.line < 1 || error.line > lines || error.column < 1 ||
      error.column > static_cast<int>(text.size()) + 1) {
    Fail("error position outside the text", text);
  }
  if (error.message.empty()) Fail("error without a message", text);
}

void Check(std::string_view text, const ExpressionLimits& limits, std::uint64_t seed) {
  SourceError error;
  error.line = -7;
  auto expr = Expression::Parse(text, kSignals, &error, limits);
  if (!expr) {
    CheckErrorPosition(text.size() > limits.max_text ? std::string_view() : text, error);
    return;
  }
  if (error.line != -7) Fail("a condition and an error", text);
  if (expr->size() == 0 || expr->size() > limits.max_nodes) Fail("condition size", text);
  // Readings chosen by the seed: every state, ordinary values and the awkward ones.
  static constexpr double kValues[] = {0.0, -1.0, 0.5, 1e308, -1e308,
                                       std::numeric_limits<double>::infinity(),
                                       std::numeric_limits<double>::quiet_NaN(), 250.0};
  std::vector<SignalReading> signals(kSignals.size());
  for (std::size_t i = 0; i < signals.size(); ++i) {
    signals[i].value = kValues[(seed >> (i * 3)) & 7];
    signals[i].state = static_cast<SignalState>((seed >> (12 + i * 2)) % 3);
  }
  RoomFigures room;
  room.waiting = kValues[(seed >> 20) & 7];
  room.active = kValues[(seed >> 23) & 7];
  const vwr::util::WallTime wall(std::chrono::seconds(1'700'000'000 + (seed >> 26) % 604'800));
  const EvalInput input{&signals, (seed & 1) ? &room : nullptr, wall};
  const Truth first = expr->Evaluate(input);
  if (expr->Evaluate(input) != first) Fail("not deterministic", text);
  if (first != Truth::kFalse && first != Truth::kTrue && first != Truth::kUnknown) {
    Fail("not a truth", text);
  }
  if (expr->signals_read().empty() && expr->figures_read().empty()) {
    const EvalInput none{nullptr, nullptr, wall};
    if (expr->Evaluate(none) != first) Fail("depends on inputs it does not read", text);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::uint64_t seed = 0;
  for (std::size_t i = 0; i < size && i < 8; ++i) seed = seed * 131 + data[i];
  Check(text, ExpressionLimits{}, seed);
  ExpressionLimits small;
  small.max_text = 64;
  small.max_nodes = 8;
  small.max_depth = 4;
  Check(text, small, ~seed);
  SourceError error;
  (void)vwr::control::ParseCalendarWindow(text, &error);
  return 0;
}
