#include "api/error_log.hpp"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <sstream>

#include "api/errors.hpp"

namespace vwr::api {
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

}  // namespace
}  // namespace vwr::api
