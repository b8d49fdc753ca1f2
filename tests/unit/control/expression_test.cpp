#include "control/expression.hpp"

#include <gtest/gtest.h>

#include <string>

namespace vwr::control {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

const std::vector<std::string> kSignals = {"origin_latency_ms", "db_connections", "errors"};

Expression Parsed(std::string_view text) {
  SourceError error;
  auto expr = Expression::Parse(text, kSignals, &error);
  EXPECT_TRUE(expr.has_value()) << text << ": " << error.line << ":" << error.column << " "
                                << error.message;
  return expr ? *expr : Expression();
}

SourceError ErrorOf(std::string_view text) {
  SourceError error;
  auto expr = Expression::Parse(text, kSignals, &error);
  EXPECT_FALSE(expr.has_value()) << text << " should not parse";
  return error;
}

std::vector<SignalReading> Readings(std::optional<double> latency, std::optional<double> db,
                                    std::optional<double> errors = 0.0) {
  std::vector<SignalReading> out(3);
  const std::optional<double> values[] = {latency, db, errors};
  for (int i = 0; i < 3; ++i) {
    if (values[i]) {
      out[i].value = *values[i];
      out[i].state = SignalState::kOk;
    }
  }
  return out;
}

Truth Eval(const Expression& e, const std::vector<SignalReading>& signals,
           const RoomFigures* room = nullptr,
           util::WallTime wall = util::WallTime(seconds(1'800'000'000))) {
  return e.Evaluate(EvalInput{&signals, room, wall});
}

TEST(Expression, ComparesSignalsWithArithmeticAndPrecedence) {
  auto e = Parsed("origin_latency_ms > 500 and db_connections / 100 >= 70% or errors > 1 + 2 * 3");
  EXPECT_EQ(Eval(e, Readings(600, 71)), Truth::kTrue);
  EXPECT_EQ(Eval(e, Readings(600, 69)), Truth::kFalse);
  EXPECT_EQ(Eval(e, Readings(100, 90, 7.5)), Truth::kTrue) << "1 + 2 * 3 is 7";
  EXPECT_EQ(Eval(e, Readings(100, 90, 6.5)), Truth::kFalse);
  auto f = Parsed("-(origin_latency_ms - 1000) > 0 and not (errors == 0)");
  EXPECT_EQ(Eval(f, Readings(100, 0, 1)), Truth::kTrue);
  EXPECT_EQ(Eval(f, Readings(100, 0, 0)), Truth::kFalse);
  auto g =
      Parsed("max(origin_latency_ms, db_connections) > 50 and min(1, 2) == 1 and abs(-3) == 3");
  EXPECT_EQ(Eval(g, Readings(10, 60)), Truth::kTrue);
  EXPECT_EQ(Eval(g, Readings(10, 40)), Truth::kFalse);
}

TEST(Expression, UnknownSignalsFollowKleeneLogic) {
  auto e = Parsed("origin_latency_ms > 500 and db_connections > 10");
  EXPECT_EQ(Eval(e, Readings(std::nullopt, 5)), Truth::kFalse) << "false and unknown is false";
  EXPECT_EQ(Eval(e, Readings(std::nullopt, 50)), Truth::kUnknown);
  auto o = Parsed("origin_latency_ms > 500 or db_connections > 10");
  EXPECT_EQ(Eval(o, Readings(std::nullopt, 50)), Truth::kTrue) << "true or unknown is true";
  EXPECT_EQ(Eval(o, Readings(std::nullopt, 5)), Truth::kUnknown);
  auto n = Parsed("not origin_latency_ms > 500");
  EXPECT_EQ(Eval(n, Readings(std::nullopt, 5)), Truth::kUnknown);
  auto k = Parsed("not known(origin_latency_ms)");
  EXPECT_EQ(Eval(k, Readings(std::nullopt, 5)), Truth::kTrue);
  EXPECT_EQ(Eval(k, Readings(3, 5)), Truth::kFalse);
  // A stale or failed reading is not a value, whatever number it still holds.
  auto stale = Readings(900, 5);
  stale[0].state = SignalState::kUnknown;
  EXPECT_EQ(Eval(Parsed("origin_latency_ms > 500"), stale), Truth::kUnknown);
  stale[0].state = SignalState::kError;
  EXPECT_EQ(Eval(Parsed("origin_latency_ms > 500"), stale), Truth::kUnknown);
  EXPECT_EQ(Eval(Parsed("errors / db_connections > 1"), Readings(1, 0, 5)), Truth::kUnknown)
      << "division by zero is unknown, not infinity";
}

TEST(Expression, RoomFigures) {
  auto e = Parsed("room.waiting > 1000 and room.surge >= 3 and room.active < room.max_active");
  RoomFigures room;
  room.waiting = 2000;
  room.surge = 3.5;
  room.active = 10;
  room.max_active = 100;
  const auto none = Readings(1, 1);
  EXPECT_EQ(Eval(e, none, &room), Truth::kTrue);
  room.surge = 2;
  EXPECT_EQ(Eval(e, none, &room), Truth::kFalse);
  EXPECT_EQ(Eval(e, none, nullptr), Truth::kUnknown) << "no figures fed in yet";
  ASSERT_EQ(e.figures_read().size(), 4u);
}

TEST(Expression, CalendarWindowsInTheirZone) {
  // 2027-01-15 is a Friday. 00:30 UTC is 09:30 in Seoul (UTC+9, no daylight saving time).
  const util::WallTime friday_0030_utc(seconds(DaysFromCivil(2027, 1, 15) * 86400 + 1800));
  auto seoul = Parsed("weekdays 09:00-18:00 Asia/Seoul");
  auto utc = Parsed("weekdays 09:00-18:00");
  const auto r = Readings(1, 1);
  EXPECT_EQ(Eval(seoul, r, nullptr, friday_0030_utc), Truth::kTrue);
  EXPECT_EQ(Eval(utc, r, nullptr, friday_0030_utc), Truth::kFalse);
  EXPECT_EQ(Eval(seoul, r, nullptr, friday_0030_utc + hours(9)), Truth::kFalse) << "18:30 KST";
  // Saturday 09:30 KST.
  EXPECT_EQ(Eval(seoul, r, nullptr, friday_0030_utc + hours(24)), Truth::kFalse);
  EXPECT_EQ(Eval(Parsed("weekends 09:00-10:00 UTC+09:00"), r, nullptr, friday_0030_utc + hours(24)),
            Truth::kTrue);
  // Past midnight: Friday 22:00 to Saturday 02:00 belongs to Friday.
  auto night = Parsed("fri 22:00-02:00 Asia/Seoul");
  EXPECT_EQ(Eval(night, r, nullptr, friday_0030_utc + hours(13)), Truth::kTrue) << "Fri 22:30";
  EXPECT_EQ(Eval(night, r, nullptr, friday_0030_utc + hours(16)), Truth::kTrue) << "Sat 01:30";
  EXPECT_EQ(Eval(night, r, nullptr, friday_0030_utc + hours(17)), Truth::kFalse) << "Sat 02:30";
  EXPECT_EQ(Eval(night, r, nullptr, friday_0030_utc - hours(8)), Truth::kFalse) << "Thu 01:30";
  auto list = Parsed("mon-wed,fri 09:00-09:45 Asia/Seoul and origin_latency_ms > 0");
  EXPECT_EQ(Eval(list, r, nullptr, friday_0030_utc), Truth::kTrue);
  EXPECT_EQ(Eval(list, r, nullptr, friday_0030_utc - hours(24)), Truth::kFalse) << "Thursday";
}

TEST(Expression, DaylightSavingTimeFromTheZoneRule) {
  // Europe/Berlin: 12:00 local is 11:00 UTC in winter and 10:00 UTC in summer (2030, past every
  // transition listed in the file, so the POSIX rule at its end decides).
  auto berlin = Parsed("daily 12:00-12:30 Europe/Berlin");
  const auto r = Readings(1, 1);
  const std::int64_t winter = DaysFromCivil(2030, 1, 10) * 86400;
  const std::int64_t summer = DaysFromCivil(2030, 7, 10) * 86400;
  EXPECT_EQ(Eval(berlin, r, nullptr, util::WallTime(seconds(winter + 11 * 3600 + 60))),
            Truth::kTrue);
  EXPECT_EQ(Eval(berlin, r, nullptr, util::WallTime(seconds(summer + 11 * 3600 + 60))),
            Truth::kFalse);
  EXPECT_EQ(Eval(berlin, r, nullptr, util::WallTime(seconds(summer + 10 * 3600 + 60))),
            Truth::kTrue);
  auto rule = TimeZone::ParsePosixRule("CET-1CEST,M3.5.0,M10.5.0/3");
  ASSERT_TRUE(rule.has_value());
  EXPECT_EQ(rule->std_offset, 3600);
  EXPECT_EQ(rule->dst_offset, 7200);
  EXPECT_EQ(rule->end_time, 3 * 3600);
}

TEST(Expression, ErrorsNameLineAndColumn) {
  auto e = ErrorOf("origin_latency_ms > 500 and\n  cpu_load > 80");
  EXPECT_EQ(e.line, 2);
  EXPECT_EQ(e.column, 3);
  EXPECT_EQ(e.message, "unknown signal 'cpu_load'");

  e = ErrorOf("origin_latency_ms > 500 and db_connections");
  EXPECT_EQ(e.column, 29);
  EXPECT_NE(e.message.find("needs a truth"), std::string::npos) << e.message;

  e = ErrorOf("origin_latency_ms + (errors > 1)");
  EXPECT_EQ(e.column, 21);
  EXPECT_NE(e.message.find("needs a number"), std::string::npos) << e.message;

  e = ErrorOf("origin_latency_ms * 2");
  EXPECT_NE(e.message.find("is a number, not a truth"), std::string::npos) << e.message;

  e = ErrorOf("room.queue > 1");
  EXPECT_NE(e.message.find("unknown room figure 'room.queue'"), std::string::npos) << e.message;

  e = ErrorOf("(errors > 1");
  EXPECT_EQ(e.column, 12);
  EXPECT_EQ(e.message, "expected ')' but found 'end of text'");

  e = ErrorOf("1 < errors < 3");
  EXPECT_NE(e.message.find("do not chain"), std::string::npos);

  e = ErrorOf("weekdays 09:00-18:00 Mars/Olympus");
  EXPECT_EQ(e.column, 22);
  EXPECT_NE(e.message.find("unknown time zone"), std::string::npos) << e.message;

  e = ErrorOf("weekdays 25:00-18:00");
  EXPECT_EQ(e.column, 10);
  e = ErrorOf("daily 09:00-09:00");
  EXPECT_NE(e.message.find("empty"), std::string::npos);
  e = ErrorOf("daily 09:00-10:00 Asia/../../etc/passwd");
  EXPECT_NE(e.message.find("not a time zone name"), std::string::npos) << e.message;
  e = ErrorOf("errors > 1 $");
  EXPECT_EQ(e.column, 12);
  e = ErrorOf("");
  EXPECT_EQ(e.message, "the condition ends too early");
}

TEST(Expression, BoundedSizeAndDepth) {
  std::string deep(100, '(');
  deep += "errors > 1";
  deep += std::string(100, ')');
  EXPECT_NE(ErrorOf(deep).message.find("nested too deeply"), std::string::npos);
  std::string nots;
  for (int i = 0; i < 100; ++i) nots += "not ";
  nots += "errors > 1";
  EXPECT_NE(ErrorOf(nots).message.find("nested too deeply"), std::string::npos);
  std::string wide = "errors > 0";
  for (int i = 0; i < 200; ++i) wide += " or errors > " + std::to_string(i);
  EXPECT_NE(ErrorOf(wide).message.find("too large"), std::string::npos);
  EXPECT_NE(ErrorOf(std::string(5000, ' ')).message.find("too long"), std::string::npos);
  // Just inside the limits it parses and evaluates.
  std::string fine = "errors > 0";
  for (int i = 0; i < 60; ++i) fine += " or errors > " + std::to_string(i);
  EXPECT_EQ(Eval(Parsed(fine), Readings(1, 1, 30)), Truth::kTrue);
}

TEST(Expression, CommentsAndLiterals) {
  auto e = Parsed("# protect the database\nerrors > 1.5e0 # more than one and a half\n or false");
  EXPECT_EQ(Eval(e, Readings(0, 0, 2)), Truth::kTrue);
  EXPECT_EQ(Eval(e, Readings(0, 0, 1)), Truth::kFalse);
}

}  // namespace
}  // namespace vwr::control
