#include "control/expression.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>

namespace vwr::control {

std::string_view TruthName(Truth truth) {
  switch (truth) {
    case Truth::kFalse:
      return "false";
    case Truth::kTrue:
      return "true";
    case Truth::kUnknown:
      return "unknown";
  }
  return "unknown";
}

bool CalendarWindow::Contains(util::WallTime now) const {
  const std::int64_t unix_seconds =
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  const std::int64_t local = unix_seconds + zone.UtcOffsetSeconds(unix_seconds);
  std::int64_t day = local / 86400;
  std::int64_t second_of_day = local % 86400;
  if (second_of_day < 0) {
    second_of_day += 86400;
    --day;
  }
  const int minute = static_cast<int>(second_of_day / 60);
  const auto weekday = [](std::int64_t d) { return static_cast<int>(((d % 7) + 11) % 7); };
  auto on = [&](std::int64_t d) { return (days >> weekday(d)) & 1; };
  if (start_minute < end_minute) return on(day) && minute >= start_minute && minute < end_minute;
  // Past midnight: the evening part on a listed day, or the morning part after one.
  return (on(day) && minute >= start_minute) || (on(day - 1) && minute < end_minute);
}

namespace {

enum class Tok : std::uint8_t { kEnd, kNumber, kIdent, kClock, kOp, kBad };

struct Token {
  Tok kind = Tok::kEnd;
  std::string_view text;
  double number = 0.0;
  int clock_minute = 0;
  int line = 1;
  int column = 1;
};

class Lexer {
 public:
  explicit Lexer(std::string_view text) : text_(text) {}

  Token Next() {
    SkipSpace();
    Token t;
    t.line = line_;
    t.column = Column();
    if (pos_ >= text_.size()) return t;
    const std::size_t start = pos_;
    const char c = text_[pos_];
    if (std::isdigit(static_cast<unsigned char>(c))) {
      // A clock (9:00, 09:00) or a number.
      std::size_t p = pos_;
      while (p < text_.size() && std::isdigit(static_cast<unsigned char>(text_[p]))) ++p;
      if (p < text_.size() && text_[p] == ':' && p - pos_ <= 2) {
        const std::size_t colon = p;
        std::size_t q = colon + 1;
        while (q < text_.size() && std::isdigit(static_cast<unsigned char>(text_[q]))) ++q;
        t.kind = Tok::kBad;
        if (q - colon == 3) {
          const int hours = std::stoi(std::string(text_.substr(pos_, colon - pos_)));
          const int minutes = std::stoi(std::string(text_.substr(colon + 1, 2)));
          if (hours <= 24 && minutes <= 59 && (hours < 24 || minutes == 0)) {
            t.kind = Tok::kClock;
            t.clock_minute = hours * 60 + minutes;
          }
        }
        Advance(q - pos_);
        t.text = text_.substr(start, pos_ - start);
        return t;
      }
      while (p < text_.size() &&
             (std::isdigit(static_cast<unsigned char>(text_[p])) || text_[p] == '.')) {
        ++p;
      }
      if (p < text_.size() && (text_[p] == 'e' || text_[p] == 'E')) {
        std::size_t q = p + 1;
        if (q < text_.size() && (text_[q] == '+' || text_[q] == '-')) ++q;
        if (q < text_.size() && std::isdigit(static_cast<unsigned char>(text_[q]))) {
          p = q;
          while (p < text_.size() && std::isdigit(static_cast<unsigned char>(text_[p]))) ++p;
        }
      }
      t.text = text_.substr(start, p - start);
      const auto [end, ec] =
          std::from_chars(t.text.data(), t.text.data() + t.text.size(), t.number);
      t.kind =
          (ec == std::errc() && end == t.text.data() + t.text.size() && std::isfinite(t.number))
              ? Tok::kNumber
              : Tok::kBad;
      Advance(p - pos_);
      return t;
    }
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      std::size_t p = pos_;
      while (p < text_.size() && (std::isalnum(static_cast<unsigned char>(text_[p])) ||
                                  text_[p] == '_' || text_[p] == '.')) {
        ++p;
      }
      t.kind = Tok::kIdent;
      t.text = text_.substr(start, p - start);
      Advance(p - pos_);
      return t;
    }
    static constexpr std::string_view kTwo[] = {"<=", ">=", "==", "!="};
    for (auto op : kTwo) {
      if (text_.substr(pos_, 2) == op) {
        t.kind = Tok::kOp;
        t.text = text_.substr(start, 2);
        Advance(2);
        return t;
      }
    }
    t.kind =
        std::string_view("<>+-*/(),%").find(c) != std::string_view::npos ? Tok::kOp : Tok::kBad;
    t.text = text_.substr(start, 1);
    Advance(1);
    return t;
  }

  // A zone name right after a window ("Asia/Seoul", "UTC+09:00"), or empty. It is read as raw
  // characters because '/' and '+' are operators elsewhere.
  std::string_view ScanZone(int& line, int& column) {
    SkipSpace();
    line = line_;
    column = Column();
    if (pos_ >= text_.size() || !std::isupper(static_cast<unsigned char>(text_[pos_]))) return {};
    std::size_t p = pos_;
    while (p < text_.size() &&
           (std::isalnum(static_cast<unsigned char>(text_[p])) ||
            std::string_view("_/+-:.").find(text_[p]) != std::string_view::npos)) {
      ++p;
    }
    const std::string_view zone = text_.substr(pos_, p - pos_);
    Advance(p - pos_);
    return zone;
  }

  std::size_t pos() const { return pos_; }
  void Reset(std::size_t pos, int line, std::size_t line_start) {
    pos_ = pos;
    line_ = line;
    line_start_ = line_start;
  }
  int line() const { return line_; }
  std::size_t line_start() const { return line_start_; }

 private:
  int Column() const { return static_cast<int>(pos_ - line_start_) + 1; }
  void Advance(std::size_t n) {
    for (std::size_t i = 0; i < n && pos_ < text_.size(); ++i) {
      if (text_[pos_] == '\n') {
        ++line_;
        line_start_ = pos_ + 1;
      }
      ++pos_;
    }
  }
  void SkipSpace() {
    while (pos_ < text_.size()) {
      const char c = text_[pos_];
      if (c == '#') {
        while (pos_ < text_.size() && text_[pos_] != '\n') ++pos_;
      } else if (std::isspace(static_cast<unsigned char>(c))) {
        Advance(1);
      } else {
        break;
      }
    }
  }

  std::string_view text_;
  std::size_t pos_ = 0;
  int line_ = 1;
  std::size_t line_start_ = 0;
};

enum class Type : std::uint8_t { kNumber, kTruth };

constexpr std::string_view kDayNames[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

std::optional<int> DayIndex(std::string_view word) {
  for (int i = 0; i < 7; ++i) {
    if (kDayNames[i] == word) return i;
  }
  return std::nullopt;
}

bool IsWindowStart(std::string_view word) {
  return word == "daily" || word == "weekdays" || word == "weekends" || DayIndex(word).has_value();
}

bool IsReserved(std::string_view word) {
  return word == "and" || word == "or" || word == "not" || word == "true" || word == "false" ||
         word == "known" || word == "min" || word == "max" || word == "abs" || IsWindowStart(word);
}

}  // namespace

// Recursive descent over the grammar in expression.hpp, emitting the post-order program as it
// goes and checking types on the way. Depth is counted on every recursive step, so that no input
// can run the parser's stack out.
class ExpressionParser {
 public:
  ExpressionParser(std::string_view text, const std::vector<std::string>& signals,
                   const ExpressionLimits& limits, Expression& out)
      : lexer_(text), signals_(signals), limits_(limits), out_(out) {
    Advance();
  }

  std::optional<SourceError> ParseCondition() {
    auto type = Or();
    if (error_) return error_;
    if (current_.kind != Tok::kEnd) return Fail(current_, "unexpected '" + Shown(current_) + "'");
    if (type && *type != Type::kTruth) {
      return SourceError{1, 1, "the condition is a number, not a truth: compare it (e.g. '> 100')"};
    }
    return std::nullopt;
  }

  std::optional<SourceError> ParseWindowOnly(CalendarWindow& window) {
    if (current_.kind != Tok::kIdent || !IsWindowStart(current_.text)) {
      return Fail(current_,
                  "a window starts with daily, weekdays, weekends or a day (mon ... sun)");
    }
    if (!Window(window)) return error_;
    if (current_.kind != Tok::kEnd) return Fail(current_, "unexpected '" + Shown(current_) + "'");
    return std::nullopt;
  }

 private:
  using Op = Expression::Op;

  static std::string Shown(const Token& t) {
    if (t.kind == Tok::kEnd) return "end of text";
    std::string s(t.text.substr(0, 24));
    for (char& c : s) {
      if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) c = '?';
    }
    return s;
  }

  std::optional<SourceError> Fail(const Token& at, std::string message) {
    if (!error_) error_ = SourceError{at.line, at.column, std::move(message)};
    return error_;
  }

  void Advance() { current_ = lexer_.Next(); }

  bool IsOp(std::string_view op) const { return current_.kind == Tok::kOp && current_.text == op; }
  bool IsWord(std::string_view word) const {
    return current_.kind == Tok::kIdent && current_.text == word;
  }

  bool Emit(Op op, std::uint32_t index = 0, double number = 0.0) {
    if (out_.program_.size() >= limits_.max_nodes) {
      Fail(current_, "the condition is too large (at most " + std::to_string(limits_.max_nodes) +
                         " operands and operators)");
      return false;
    }
    out_.program_.push_back(Expression::Instruction{op, index, number});
    return true;
  }

  // Depth guard for one recursive step.
  struct Deeper {
    explicit Deeper(ExpressionParser& p) : parser(p) { ++parser.depth_; }
    ~Deeper() { --parser.depth_; }
    ExpressionParser& parser;
  };
  bool TooDeep() {
    if (depth_ <= limits_.max_depth) return false;
    Fail(current_, "the condition is nested too deeply (at most " +
                       std::to_string(limits_.max_depth) + " levels)");
    return true;
  }

  bool Expect(const Token& at, Type got, Type want, std::string_view what) {
    if (got == want) return true;
    Fail(at, std::string(what) + (want == Type::kNumber
                                      ? " needs a number, not a truth"
                                      : " needs a truth (a comparison), not a number"));
    return false;
  }

  std::optional<Type> Or() {
    Deeper d(*this);
    if (TooDeep()) return std::nullopt;
    const Token first = current_;
    auto left = And();
    if (!left) return std::nullopt;
    while (IsWord("or")) {
      const Token op = current_;
      Advance();
      const Token right_at = current_;
      auto right = And();
      if (!right) return std::nullopt;
      if (!Expect(first, *left, Type::kTruth, "'or'") ||
          !Expect(right_at, *right, Type::kTruth, "'or'") || !Emit(Op::kOr)) {
        return std::nullopt;
      }
      (void)op;
    }
    return left;
  }

  std::optional<Type> And() {
    const Token first = current_;
    auto left = Not();
    if (!left) return std::nullopt;
    while (IsWord("and")) {
      Advance();
      const Token right_at = current_;
      auto right = Not();
      if (!right) return std::nullopt;
      if (!Expect(first, *left, Type::kTruth, "'and'") ||
          !Expect(right_at, *right, Type::kTruth, "'and'") || !Emit(Op::kAnd)) {
        return std::nullopt;
      }
    }
    return left;
  }

  std::optional<Type> Not() {
    Deeper d(*this);
    if (TooDeep()) return std::nullopt;
    if (IsWord("not")) {
      Advance();
      const Token at = current_;
      auto operand = Not();
      if (!operand) return std::nullopt;
      if (!Expect(at, *operand, Type::kTruth, "'not'") || !Emit(Op::kNot)) return std::nullopt;
      return Type::kTruth;
    }
    return Compare();
  }

  std::optional<Type> Compare() {
    const Token first = current_;
    auto left = Sum();
    if (!left) return std::nullopt;
    static constexpr std::pair<std::string_view, Op> kOps[] = {{"<", Op::kLt},  {"<=", Op::kLe},
                                                               {">", Op::kGt},  {">=", Op::kGe},
                                                               {"==", Op::kEq}, {"!=", Op::kNe}};
    for (const auto& [text, op] : kOps) {
      if (!IsOp(text)) continue;
      const Token op_at = current_;
      Advance();
      const Token right_at = current_;
      auto right = Sum();
      if (!right) return std::nullopt;
      const std::string what = "'" + std::string(text) + "'";
      if (!Expect(first, *left, Type::kNumber, what) ||
          !Expect(right_at, *right, Type::kNumber, what) || !Emit(op)) {
        return std::nullopt;
      }
      for (const auto& [again, unused] : kOps) {
        if (IsOp(again)) {
          Fail(current_, "comparisons do not chain: write 'a < b and b < c'");
          return std::nullopt;
        }
      }
      (void)op_at;
      return Type::kTruth;
    }
    return left;
  }

  std::optional<Type> Sum() {
    const Token first = current_;
    auto left = Product();
    if (!left) return std::nullopt;
    while (IsOp("+") || IsOp("-")) {
      const Op op = IsOp("+") ? Op::kAdd : Op::kSub;
      const std::string what = "'" + std::string(current_.text) + "'";
      Advance();
      const Token right_at = current_;
      auto right = Product();
      if (!right) return std::nullopt;
      if (!Expect(first, *left, Type::kNumber, what) ||
          !Expect(right_at, *right, Type::kNumber, what) || !Emit(op)) {
        return std::nullopt;
      }
    }
    return left;
  }

  std::optional<Type> Product() {
    const Token first = current_;
    auto left = Unary();
    if (!left) return std::nullopt;
    while (IsOp("*") || IsOp("/")) {
      const Op op = IsOp("*") ? Op::kMul : Op::kDiv;
      const std::string what = "'" + std::string(current_.text) + "'";
      Advance();
      const Token right_at = current_;
      auto right = Unary();
      if (!right) return std::nullopt;
      if (!Expect(first, *left, Type::kNumber, what) ||
          !Expect(right_at, *right, Type::kNumber, what) || !Emit(op)) {
        return std::nullopt;
      }
    }
    return left;
  }

  std::optional<Type> Unary() {
    Deeper d(*this);
    if (TooDeep()) return std::nullopt;
    if (IsOp("-")) {
      Advance();
      const Token at = current_;
      auto operand = Unary();
      if (!operand) return std::nullopt;
      if (!Expect(at, *operand, Type::kNumber, "'-'") || !Emit(Op::kNeg)) return std::nullopt;
      return Type::kNumber;
    }
    return Primary();
  }

  std::optional<std::size_t> SignalNamed(const Token& t) {
    for (std::size_t i = 0; i < signals_.size(); ++i) {
      if (signals_[i] == t.text) return i;
    }
    Fail(t, "unknown signal '" + Shown(t) + "'");
    return std::nullopt;
  }

  void NoteSignal(std::size_t index) {
    auto& read = out_.signals_read_;
    if (std::find(read.begin(), read.end(), index) == read.end()) read.push_back(index);
  }

  bool ExpectOp(std::string_view op) {
    if (!IsOp(op)) {
      Fail(current_, "expected '" + std::string(op) + "' but found '" + Shown(current_) + "'");
      return false;
    }
    Advance();
    return true;
  }

  std::optional<Type> Primary() {
    const Token t = current_;
    if (t.kind == Tok::kNumber) {
      Advance();
      double value = t.number;
      if (IsOp("%")) {
        value /= 100.0;
        Advance();
      }
      if (!Emit(Op::kNumber, 0, value)) return std::nullopt;
      return Type::kNumber;
    }
    if (t.kind == Tok::kOp && t.text == "(") {
      Advance();
      auto inner = Or();
      if (!inner || !ExpectOp(")")) return std::nullopt;
      return inner;
    }
    if (t.kind != Tok::kIdent) {
      if (t.kind == Tok::kBad)
        Fail(t, "not understood: '" + Shown(t) + "'");
      else
        Fail(t, t.kind == Tok::kEnd ? "the condition ends too early"
                                    : "unexpected '" + Shown(t) + "'");
      return std::nullopt;
    }
    if (t.text == "true" || t.text == "false") {
      Advance();
      if (!Emit(t.text == "true" ? Op::kTrue : Op::kFalse)) return std::nullopt;
      return Type::kTruth;
    }
    if (t.text.substr(0, 5) == "room.") {
      const auto field = ParseRoomFigureField(t.text.substr(5));
      if (!field) {
        Fail(t, "unknown room figure '" + Shown(t) +
                    "' (request_rate, surge, waiting, active, wait_time, admitted_rate, "
                    "max_active, admit_rate)");
        return std::nullopt;
      }
      Advance();
      auto& read = out_.figures_read_;
      if (std::find(read.begin(), read.end(), *field) == read.end()) read.push_back(*field);
      if (!Emit(Op::kFigure, static_cast<std::uint32_t>(*field))) return std::nullopt;
      return Type::kNumber;
    }
    if (t.text == "known") {
      Advance();
      if (!ExpectOp("(")) return std::nullopt;
      const Token name = current_;
      if (name.kind != Tok::kIdent) {
        Fail(name, "known() takes a signal name");
        return std::nullopt;
      }
      auto index = SignalNamed(name);
      if (!index) return std::nullopt;
      Advance();
      if (!ExpectOp(")")) return std::nullopt;
      NoteSignal(*index);
      if (!Emit(Op::kKnown, static_cast<std::uint32_t>(*index))) return std::nullopt;
      return Type::kTruth;
    }
    if (t.text == "min" || t.text == "max" || t.text == "abs") {
      Advance();
      if (!ExpectOp("(")) return std::nullopt;
      const int arity = t.text == "abs" ? 1 : 2;
      for (int i = 0; i < arity; ++i) {
        if (i > 0 && !ExpectOp(",")) return std::nullopt;
        const Token at = current_;
        auto arg = Sum();
        if (!arg) return std::nullopt;
        if (!Expect(at, *arg, Type::kNumber, std::string(t.text) + "()")) return std::nullopt;
      }
      if (!ExpectOp(")")) return std::nullopt;
      if (!Emit(t.text == "abs" ? Op::kAbs : t.text == "min" ? Op::kMin : Op::kMax)) {
        return std::nullopt;
      }
      return Type::kNumber;
    }
    if (IsWindowStart(t.text)) {
      CalendarWindow window;
      if (!Window(window)) return std::nullopt;
      if (out_.windows_.size() >= 16) {
        Fail(t, "at most 16 calendar windows in one condition");
        return std::nullopt;
      }
      out_.windows_.push_back(std::move(window));
      if (!Emit(Op::kWindow, static_cast<std::uint32_t>(out_.windows_.size() - 1))) {
        return std::nullopt;
      }
      return Type::kTruth;
    }
    if (IsReserved(t.text)) {
      Fail(t, "unexpected '" + Shown(t) + "'");
      return std::nullopt;
    }
    auto index = SignalNamed(t);
    if (!index) return std::nullopt;
    Advance();
    NoteSignal(*index);
    if (!Emit(Op::kSignal, static_cast<std::uint32_t>(*index))) return std::nullopt;
    return Type::kNumber;
  }

  // days HH:MM - HH:MM [zone]
  bool Window(CalendarWindow& window) {
    const Token first = current_;
    if (first.text == "daily") {
      window.days = 0x7f;
      Advance();
    } else if (first.text == "weekdays") {
      window.days = 0x3e;
      Advance();
    } else if (first.text == "weekends") {
      window.days = 0x41;
      Advance();
    } else {
      window.days = 0;
      for (;;) {
        const Token day = current_;
        auto from = day.kind == Tok::kIdent ? DayIndex(day.text) : std::nullopt;
        if (!from) {
          Fail(day, "expected a day (mon, tue, wed, thu, fri, sat, sun)");
          return false;
        }
        Advance();
        int to = *from;
        if (IsOp("-")) {
          Advance();
          const Token end = current_;
          auto last = end.kind == Tok::kIdent ? DayIndex(end.text) : std::nullopt;
          if (!last) {
            Fail(end, "expected a day after '-'");
            return false;
          }
          Advance();
          to = *last;
        }
        for (int d = *from;; d = (d + 1) % 7) {
          window.days = static_cast<std::uint8_t>(window.days | (1 << d));
          if (d == to) break;
        }
        if (!IsOp(",")) break;
        Advance();
      }
    }
    const Token start = current_;
    if (start.kind != Tok::kClock) {
      Fail(start, "expected a time of day range such as 09:00-18:00");
      return false;
    }
    Advance();
    if (!ExpectOp("-")) return false;
    const Token end = current_;
    if (end.kind != Tok::kClock) {
      Fail(end, "expected the end of the range (HH:MM)");
      return false;
    }
    if (end.clock_minute == start.clock_minute) {
      Fail(end, "the range is empty: start and end are the same time");
      return false;
    }
    window.start_minute = start.clock_minute;
    window.end_minute = end.clock_minute;
    if (window.start_minute == 1440) {
      Fail(start, "a range starts at 23:59 at the latest");
      return false;
    }
    // The zone is read from the raw text right after the range.
    int line = 0, column = 0;
    const std::string_view zone = lexer_.ScanZone(line, column);
    if (!zone.empty()) {
      std::string problem;
      auto loaded = TimeZone::Load(zone, &problem);
      if (!loaded) {
        error_ = SourceError{line, column, problem};
        return false;
      }
      window.zone = std::move(*loaded);
    }
    Advance();
    return true;
  }

  Lexer lexer_;
  const std::vector<std::string>& signals_;
  const ExpressionLimits& limits_;
  Expression& out_;
  Token current_;
  int depth_ = 0;
  std::optional<SourceError> error_;
};

namespace {

// The largest stack the post-order program needs.
std::size_t StackNeed(const std::vector<Expression::Instruction>& program) {
  using Op = Expression::Op;
  std::size_t depth = 0, most = 0;
  for (const auto& in : program) {
    switch (in.op) {
      case Op::kNumber:
      case Op::kTrue:
      case Op::kFalse:
      case Op::kSignal:
      case Op::kFigure:
      case Op::kKnown:
      case Op::kWindow:
        ++depth;
        break;
      case Op::kNeg:
      case Op::kAbs:
      case Op::kNot:
        break;
      default:
        --depth;
        break;
    }
    most = std::max(most, depth);
  }
  return most;
}

}  // namespace

std::optional<Expression> Expression::Parse(std::string_view text,
                                            const std::vector<std::string>& signals,
                                            SourceError* error, const ExpressionLimits& limits) {
  auto fail = [&](SourceError e) -> std::optional<Expression> {
    if (error != nullptr) *error = std::move(e);
    return std::nullopt;
  };
  if (text.size() > limits.max_text) {
    return fail(
        {1, 1,
         "the condition is too long (at most " + std::to_string(limits.max_text) + " characters)"});
  }
  Expression out;
  out.text_ = std::string(text);
  ExpressionParser parser(out.text_, signals, limits, out);
  if (auto problem = parser.ParseCondition()) return fail(std::move(*problem));
  if (out.program_.empty()) return fail({1, 1, "the condition is empty"});
  out.max_stack_ = StackNeed(out.program_);
  return out;
}

std::optional<CalendarWindow> ParseCalendarWindow(std::string_view text, SourceError* error) {
  Expression scratch;
  ExpressionLimits limits;
  std::vector<std::string> none;
  const std::string copy(text.substr(0, limits.max_text));
  ExpressionParser parser(copy, none, limits, scratch);
  CalendarWindow window;
  if (auto problem = parser.ParseWindowOnly(window)) {
    if (error != nullptr) *error = std::move(*problem);
    return std::nullopt;
  }
  return window;
}

namespace {

// A value on the evaluation stack: a number or a truth, either of which may be unknown.
struct Value {
  double number = 0.0;
  Truth truth = Truth::kUnknown;
  bool known = false;  // for numbers
};

Truth Compare(const Value& a, const Value& b, Expression::Op op) {
  using Op = Expression::Op;
  if (!a.known || !b.known) return Truth::kUnknown;
  bool r = false;
  switch (op) {
    case Op::kLt:
      r = a.number < b.number;
      break;
    case Op::kLe:
      r = a.number <= b.number;
      break;
    case Op::kGt:
      r = a.number > b.number;
      break;
    case Op::kGe:
      r = a.number >= b.number;
      break;
    case Op::kEq:
      r = a.number == b.number;
      break;
    case Op::kNe:
      r = a.number != b.number;
      break;
    default:
      break;
  }
  return r ? Truth::kTrue : Truth::kFalse;
}

}  // namespace

Truth Expression::Evaluate(const EvalInput& input) const {
  // A small fixed stack covers every condition a person writes; larger ones use the heap once.
  Value fixed[32];
  std::vector<Value> heap;
  Value* stack = fixed;
  if (max_stack_ > std::size(fixed)) {
    heap.resize(max_stack_);
    stack = heap.data();
  }
  std::size_t top = 0;
  auto number = [](double v) {
    Value out;
    out.known = std::isfinite(v);
    out.number = out.known ? v : 0.0;
    return out;
  };
  auto truth = [](Truth t) {
    Value out;
    out.truth = t;
    return out;
  };
  for (const Instruction& in : program_) {
    switch (in.op) {
      case Op::kNumber:
        stack[top++] = number(in.number);
        break;
      case Op::kTrue:
        stack[top++] = truth(Truth::kTrue);
        break;
      case Op::kFalse:
        stack[top++] = truth(Truth::kFalse);
        break;
      case Op::kSignal: {
        Value v;
        if (input.signals != nullptr && in.index < input.signals->size()) {
          const SignalReading& r = (*input.signals)[in.index];
          if (r.ok()) v = number(r.value);
        }
        stack[top++] = v;
        break;
      }
      case Op::kKnown: {
        bool ok = input.signals != nullptr && in.index < input.signals->size() &&
                  (*input.signals)[in.index].ok();
        stack[top++] = truth(ok ? Truth::kTrue : Truth::kFalse);
        break;
      }
      case Op::kFigure:
        stack[top++] =
            input.room != nullptr
                ? number(FigureValue(*input.room, static_cast<RoomFigureField>(in.index)))
                : Value{};
        break;
      case Op::kWindow:
        stack[top++] =
            truth(windows_[in.index].Contains(input.wall_now) ? Truth::kTrue : Truth::kFalse);
        break;
      case Op::kNeg:
        if (stack[top - 1].known) stack[top - 1].number = -stack[top - 1].number;
        break;
      case Op::kAbs:
        if (stack[top - 1].known) stack[top - 1].number = std::fabs(stack[top - 1].number);
        break;
      case Op::kNot: {
        Truth& t = stack[top - 1].truth;
        if (t != Truth::kUnknown) t = t == Truth::kTrue ? Truth::kFalse : Truth::kTrue;
        break;
      }
      case Op::kAdd:
      case Op::kSub:
      case Op::kMul:
      case Op::kDiv:
      case Op::kMin:
      case Op::kMax: {
        const Value b = stack[--top];
        Value& a = stack[top - 1];
        if (!a.known || !b.known) {
          a = Value{};
          break;
        }
        double r = 0.0;
        switch (in.op) {
          case Op::kAdd:
            r = a.number + b.number;
            break;
          case Op::kSub:
            r = a.number - b.number;
            break;
          case Op::kMul:
            r = a.number * b.number;
            break;
          case Op::kDiv:
            r = b.number == 0.0 ? NAN : a.number / b.number;
            break;
          case Op::kMin:
            r = std::min(a.number, b.number);
            break;
          default:
            r = std::max(a.number, b.number);
            break;
        }
        a = number(r);
        break;
      }
      case Op::kAnd:
      case Op::kOr: {
        const Truth b = stack[--top].truth;
        Truth& a = stack[top - 1].truth;
        const Truth dominant = in.op == Op::kAnd ? Truth::kFalse : Truth::kTrue;
        if (a == dominant || b == dominant)
          a = dominant;
        else if (a == Truth::kUnknown || b == Truth::kUnknown)
          a = Truth::kUnknown;
        break;
      }
      default: {
        const Value b = stack[--top];
        Value& a = stack[top - 1];
        a = truth(Compare(a, b, in.op));
        break;
      }
    }
  }
  return top == 1 ? stack[0].truth : Truth::kUnknown;
}

}  // namespace vwr::control
