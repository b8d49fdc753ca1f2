#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "control/signal.hpp"
#include "control/time_zone.hpp"
#include "util/clock.hpp"

namespace vwr::control {

// Where a text handed to us is wrong: 1-based line and column within that text (the caller adds
// the position of the text in its file), and what is wrong in the operator's words.
struct SourceError {
  int line = 1;
  int column = 1;
  std::string message;
};

// A calendar window: some days of the week and a time of day range in a zone. A range whose end
// is before its start runs past midnight (`daily 22:00-02:00`): the part after midnight belongs to
// the day it started on.
struct CalendarWindow {
  std::uint8_t days = 0x7f;  // bit d set = weekday d (0 = Sunday ... 6 = Saturday)
  int start_minute = 0;      // 0 .. 1439
  int end_minute = 1440;     // 1 .. 1440; end < start wraps past midnight
  TimeZone zone;

  bool Contains(util::WallTime now) const;
};

// The result of a condition: a comparison with a signal that is not known is itself not known,
// and `and` / `or` follow Kleene's rules (`false and unknown` is false, `true or unknown` true).
enum class Truth : std::uint8_t { kFalse, kTrue, kUnknown };
std::string_view TruthName(Truth truth);

// What a condition is evaluated against.
struct EvalInput {
  const std::vector<SignalReading>* signals = nullptr;  // by SignalTable index
  const RoomFigures* room = nullptr;                    // nullptr: every room.* is unknown
  util::WallTime wall_now{};
};

// Bounds that keep a hostile or careless rule file from costing more than a rule should.
struct ExpressionLimits {
  std::size_t max_text = 4096;  // characters
  std::size_t max_nodes = 256;  // operands and operators
  int max_depth = 32;           // nesting of parentheses and operators
};

// A `when` condition of a rule, parsed and type-checked once at load, evaluated each tick.
//
// Grammar (keywords are lower case; `#` starts a comment to the end of the line):
//
//   condition  := or
//   or         := and ( "or" and )*
//   and        := not ( "and" not )*
//   not        := "not" not | compare
//   compare    := sum ( ( "<" | "<=" | ">" | ">=" | "==" | "!=" ) sum )?
//   sum        := product ( ( "+" | "-" ) product )*
//   product    := unary ( ( "*" | "/" ) unary )*
//   unary      := "-" unary | primary
//   primary    := number [ "%" ] | "true" | "false" | signal | "room." figure
//              | "known(" signal ")" | ( "min" | "max" ) "(" sum "," sum ")" | "abs(" sum ")"
//              | window | "(" or ")"
//   window     := days HH:MM "-" HH:MM [ zone ]
//   days       := "daily" | "weekdays" | "weekends" | day ( ( "," | "-" ) day )*
//   day        := "mon" | "tue" | "wed" | "thu" | "fri" | "sat" | "sun"
//   zone       := "UTC" | "UTC+09:00" | an IANA name such as "Asia/Seoul" (default UTC)
//
// `50%` is 0.5. Numbers and truths are distinct types: `a > 1 and b` with a number `b` is an
// error at load, with its line and column. Division by zero, like an unknown signal, gives
// unknown. Evaluation is a loop over a post-order program on a bounded stack: no recursion, so
// its cost is bounded by max_nodes whatever the input. Immutable once built; thread-safe.
class Expression {
 public:
  // `signals`: the names of the signals, by SignalTable index. Nullopt with `error` set when the
  // text is not a valid condition (a truth), names an unknown signal or figure, or is too large.
  static std::optional<Expression> Parse(std::string_view text,
                                         const std::vector<std::string>& signals,
                                         SourceError* error, const ExpressionLimits& limits = {});

  Truth Evaluate(const EvalInput& input) const;

  // The signals and room figures the condition reads, for the decision record.
  const std::vector<std::size_t>& signals_read() const { return signals_read_; }
  const std::vector<RoomFigureField>& figures_read() const { return figures_read_; }
  const std::string& text() const { return text_; }
  std::size_t size() const { return program_.size(); }

  enum class Op : std::uint8_t {
    kNumber,
    kTrue,
    kFalse,
    kSignal,
    kFigure,
    kKnown,
    kWindow,
    kNeg,
    kAdd,
    kSub,
    kMul,
    kDiv,
    kMin,
    kMax,
    kAbs,
    kLt,
    kLe,
    kGt,
    kGe,
    kEq,
    kNe,
    kAnd,
    kOr,
    kNot,
  };
  struct Instruction {
    Op op;
    std::uint32_t index = 0;  // signal, figure or window
    double number = 0.0;
  };

 private:
  friend class ExpressionParser;
  std::string text_;
  std::vector<Instruction> program_;  // post-order
  std::vector<CalendarWindow> windows_;
  std::vector<std::size_t> signals_read_;
  std::vector<RoomFigureField> figures_read_;
  std::size_t max_stack_ = 0;
};

// Parses a calendar window on its own ("weekdays 09:00-18:00 Asia/Seoul"), for schedules.
std::optional<CalendarWindow> ParseCalendarWindow(std::string_view text, SourceError* error);

}  // namespace vwr::control
