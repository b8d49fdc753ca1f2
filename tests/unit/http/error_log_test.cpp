#include "http/error_log.hpp"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <sstream>

#include "http/errors.hpp"

namespace vwr::http {
namespace {

// Captures what the default logger writes while the test runs.
class CapturedLog {
 public:
  CapturedLog() : previous_(spdlog::default_logger()) {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out_);
    sink->set_pattern("%v");
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("test", sink));
  }
  ~CapturedLog() { spdlog::set_default_logger(previous_); }
  std::vector<std::string> Lines() {
    std::vector<std::string> lines;
    std::istringstream in(out_.str());
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
  }

 private:
  std::ostringstream out_;
  std::shared_ptr<spdlog::logger> previous_;
};

TEST(ErrorLog, LogsErrorsWithoutQueryAndLimitsTheRate) {
  CapturedLog log;
  util::FakeClock clock;
  ErrorLog errors(clock, 3);
  Request req{http::verb::get, "/api/v1/rooms/a/status?ticket=SECRET", 11};
  const Response bad = MakeError(ApiError::kInvalidTicket, "nope", 11, true);
  const Response good = MakeJson(http::status::ok, "{}", 11, true);
  errors.Record(req, ConnectionInfo{}, good);
  for (int i = 0; i < 5; ++i) errors.Record(req, ConnectionInfo{}, bad);
  clock.Advance(std::chrono::seconds(1));
  errors.Record(req, ConnectionInfo{}, bad);

  const std::vector<std::string> lines = log.Lines();
  ASSERT_EQ(lines.size(), 4u);
  for (const std::string& line : lines) {
    EXPECT_NE(line.find("GET /api/v1/rooms/a/status 401"), std::string::npos) << line;
    EXPECT_NE(line.find("invalid_ticket"), std::string::npos) << line;
    EXPECT_EQ(line.find("SECRET"), std::string::npos) << "the query is never logged";
  }
  EXPECT_NE(lines[3].find("2 similar lines suppressed"), std::string::npos) << lines[3];
}

TEST(ErrorLog, WhatTheClientSentCannotForgeALine) {
  CapturedLog log;
  util::FakeClock clock;
  ErrorLog errors(clock, 10);
  // A path with a line break, a terminal escape and a right-to-left override (a request the
  // parser would refuse, but an error answer may quote such text too).
  Request req{http::verb::get,
              "/api/v1/rooms/a\n2026-01-01 info admin: forged\x1b[31m\xe2\x80\xae/status", 11};
  errors.Record(req, ConnectionInfo{},
                MakeError(ApiError::kBadRequest, "userId \"eve\n\x1b]0;pwned\x07\"", 11, true));
  const std::vector<std::string> lines = log.Lines();
  ASSERT_EQ(lines.size(), 1u) << "one request, one line";
  EXPECT_EQ(lines[0].find('\x1b'), std::string::npos);
  EXPECT_EQ(lines[0].find("\xe2\x80\xae"), std::string::npos);
  EXPECT_NE(lines[0].find("a\\n2026-01-01"), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find("\\u{202E}"), std::string::npos) << lines[0];
}

}  // namespace
}  // namespace vwr::http
