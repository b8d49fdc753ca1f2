// server.limits and the store's durability keys: defaults, parsing, and errors with lines.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <string_view>

#include "config/config.hpp"
#include "support/config_test_support.hpp"

namespace vwr::config {
namespace {

using std::chrono::milliseconds;
using testing::Describe;
using testing::ErrorFor;
using ::testing::HasSubstr;
using testing::ParseOk;

// ---- server.limits ----

TEST(ServerLimits, DefaultsAreTheDocumentedValues) {
  const ServerLimits limits = DefaultConfig().server.limits;
  EXPECT_EQ(limits.max_header_bytes, 8192u);
  EXPECT_EQ(limits.max_body_bytes, 65536u);
  EXPECT_EQ(limits.admin_max_body_bytes, 1048576u);
  EXPECT_EQ(limits.header_timeout, milliseconds(10'000));
  EXPECT_EQ(limits.body_timeout, milliseconds(10'000));
  EXPECT_EQ(limits.keepalive_timeout, milliseconds(60'000));
  EXPECT_EQ(limits.max_connections, 10'000u);
  EXPECT_EQ(limits.max_connections_per_ip, 256u);
  EXPECT_EQ(limits.max_requests_per_connection, 10'000u);
}

TEST(ServerLimits, LeftOutOrEmptyTakesTheDefaults) {
  EXPECT_EQ(ParseOk("server:\n  workers: 2\n").server.limits, ServerLimits{});
  EXPECT_EQ(ParseOk("server:\n  limits:\n").server.limits, ServerLimits{});
  EXPECT_EQ(ParseOk("server:\n  limits: {}\n").server.limits, ServerLimits{});
}

TEST(ServerLimits, EveryKeyIsRead) {
  const Config config = ParseOk(R"(server:
  limits:
    max_header_bytes: 16384
    max_body_bytes: 1024
    admin_max_body_bytes: 2097152
    header_timeout: 1s
    body_timeout: 1500ms
    keepalive_timeout: 2m
    max_connections: 5
    max_connections_per_ip: 3
    max_requests_per_connection: 3
)");
  const ServerLimits& limits = config.server.limits;
  EXPECT_EQ(limits.max_header_bytes, 16384u);
  EXPECT_EQ(limits.max_body_bytes, 1024u);
  EXPECT_EQ(limits.admin_max_body_bytes, 2097152u);
  EXPECT_EQ(limits.header_timeout, milliseconds(1'000));
  EXPECT_EQ(limits.body_timeout, milliseconds(1'500));
  EXPECT_EQ(limits.keepalive_timeout, milliseconds(120'000));
  EXPECT_EQ(limits.max_connections, 5u);
  EXPECT_EQ(limits.max_connections_per_ip, 3u);
  EXPECT_EQ(limits.max_requests_per_connection, 3u);
  // Nothing else moved.
  EXPECT_EQ(config.server.listen, DefaultConfig().server.listen);
  EXPECT_EQ(config.store, DefaultConfig().store);
}

TEST(ServerLimits, ZeroMeansNoLimitForTheCounts) {
  const ServerLimits limits = ParseOk(R"(server:
  limits: { max_connections: 0, max_connections_per_ip: 0, max_requests_per_connection: 0 }
)")
                                  .server.limits;
  EXPECT_EQ(limits.max_connections, 0u);
  EXPECT_EQ(limits.max_connections_per_ip, 0u);
  EXPECT_EQ(limits.max_requests_per_connection, 0u);
}

TEST(ServerLimits, BoundsAreInclusive) {
  const ServerLimits low = ParseOk(R"(server:
  limits:
    max_header_bytes: 1024
    max_body_bytes: 1024
    admin_max_body_bytes: 1024
    header_timeout: 100ms
    body_timeout: 100ms
    keepalive_timeout: 100ms
    max_connections: 1
    max_connections_per_ip: 1
    max_requests_per_connection: 1
)")
                               .server.limits;
  EXPECT_EQ(low.max_header_bytes, 1024u);
  EXPECT_EQ(low.header_timeout, milliseconds(100));
  EXPECT_EQ(low.max_requests_per_connection, 1u);
  const ServerLimits high = ParseOk(R"(server:
  limits:
    max_header_bytes: 1048576
    max_body_bytes: 67108864
    admin_max_body_bytes: 67108864
    header_timeout: 10m
    body_timeout: 10m
    keepalive_timeout: 1h
    max_connections: 10000000
    max_connections_per_ip: 10000000
    max_requests_per_connection: 1000000000
)")
                                .server.limits;
  EXPECT_EQ(high.max_body_bytes, 67108864u);
  EXPECT_EQ(high.keepalive_timeout, milliseconds(3'600'000));
  EXPECT_EQ(high.max_connections, 10'000'000u);
}

TEST(ServerLimits, ValuesOutOfRangeNameKeyAndLine) {
  const ParseResult result = ParseConfig(R"(server:
  workers: 2
  limits:
    max_header_bytes: 1023
    max_body_bytes: 67108865
    admin_max_body_bytes: 0
    header_timeout: 99ms
    body_timeout: 11m
    keepalive_timeout: 2h
    max_connections: 10000001
    max_connections_per_ip: -1
    max_requests_per_connection: 1000000001
)");
  EXPECT_FALSE(result.ok());
  EXPECT_EQ(result.errors.size(), 9u) << Describe(result);
  EXPECT_EQ(ErrorFor(result, "server.limits.max_header_bytes").ToString(),
            "line 4, column 5: server.limits.max_header_bytes: must be between 1024 and 1048576");
  EXPECT_EQ(ErrorFor(result, "server.limits.max_body_bytes").line, 5);
  EXPECT_EQ(ErrorFor(result, "server.limits.max_body_bytes").message,
            "must be between 1024 and 67108864");
  EXPECT_EQ(ErrorFor(result, "server.limits.admin_max_body_bytes").line, 6);
  EXPECT_EQ(ErrorFor(result, "server.limits.header_timeout").ToString(),
            "line 7, column 5: server.limits.header_timeout: must be between 100ms and 10m");
  EXPECT_EQ(ErrorFor(result, "server.limits.body_timeout").line, 8);
  EXPECT_EQ(ErrorFor(result, "server.limits.keepalive_timeout").message,
            "must be between 100ms and 1h");
  EXPECT_EQ(ErrorFor(result, "server.limits.keepalive_timeout").line, 9);
  EXPECT_EQ(ErrorFor(result, "server.limits.max_connections").message,
            "must be between 0 (no limit) and 10000000");
  EXPECT_EQ(ErrorFor(result, "server.limits.max_connections").line, 10);
  EXPECT_EQ(ErrorFor(result, "server.limits.max_connections_per_ip").line, 11);
  EXPECT_EQ(ErrorFor(result, "server.limits.max_requests_per_connection").message,
            "must be between 0 (no limit) and 1000000000");
  EXPECT_EQ(ErrorFor(result, "server.limits.max_requests_per_connection").line, 12);
}

TEST(ServerLimits, WrongTypesAndUnknownKeysNameKeyAndLine) {
  const ParseResult result = ParseConfig(R"(server:
  limits:
    max_header_bytes: 8k
    header_timeout: soon
    keepalive_timeout: -1s
    max_connections: [1]
    max_conections: 5
)");
  EXPECT_EQ(ErrorFor(result, "server.limits.max_header_bytes").message,
            "expected an integer, got \"8k\"");
  EXPECT_EQ(ErrorFor(result, "server.limits.max_header_bytes").line, 3);
  EXPECT_THAT(ErrorFor(result, "server.limits.header_timeout").message,
              HasSubstr("expected a duration"));
  EXPECT_EQ(ErrorFor(result, "server.limits.header_timeout").line, 4);
  EXPECT_THAT(ErrorFor(result, "server.limits.keepalive_timeout").message,
              HasSubstr("must not be negative"));
  EXPECT_THAT(ErrorFor(result, "server.limits.max_connections").message, HasSubstr("got a list"));
  const ConfigError unknown = ErrorFor(result, "server.limits.max_conections");
  EXPECT_EQ(unknown.line, 7);
  EXPECT_THAT(unknown.message, HasSubstr("did you mean \"max_connections\"?"));
  EXPECT_EQ(result.errors.size(), 5u) << Describe(result);
}

TEST(ServerLimits, EventStreamsHaveADefaultAndZeroMeansNone) {
  EXPECT_EQ(DefaultConfig().server.limits.max_event_streams, 5'000u);
  EXPECT_EQ(
      ParseOk("server:\n  limits: { max_event_streams: 12 }\n").server.limits.max_event_streams,
      12u);
  EXPECT_EQ(
      ParseOk("server:\n  limits: { max_event_streams: 0 }\n").server.limits.max_event_streams, 0u);
  const ParseResult result = ParseConfig("server:\n  limits:\n    max_event_streams: -3\n");
  EXPECT_EQ(ErrorFor(result, "server.limits.max_event_streams").ToString(),
            "line 3, column 5: server.limits.max_event_streams: must be between 0 (no event "
            "streams: clients poll) and 10000000");
}

TEST(ServerLimits, LimitsMustBeAMapping) {
  const ParseResult result = ParseConfig("server:\n  limits: 100\n");
  ASSERT_EQ(result.errors.size(), 1u) << Describe(result);
  EXPECT_EQ(result.errors[0].key, "server.limits");
  EXPECT_EQ(result.errors[0].line, 2);
  EXPECT_THAT(result.errors[0].message, HasSubstr("expected a mapping"));
}

// ---- store durability ----

TEST(StoreDurability, DefaultsAreTheDocumentedValues) {
  const StoreConfig store = DefaultConfig().store;
  EXPECT_EQ(store.fsync, FsyncMode::kInterval);
  EXPECT_EQ(store.fsync_interval, milliseconds(10));
  EXPECT_EQ(store.snapshot_interval, milliseconds(60'000));
  EXPECT_EQ(FsyncModeName(store.fsync), "interval");
}

TEST(StoreDurability, EveryModeAndIntervalIsRead) {
  for (const FsyncMode mode : {FsyncMode::kAlways, FsyncMode::kInterval, FsyncMode::kNever}) {
    const std::string yaml = "store:\n  fsync: " + std::string(FsyncModeName(mode)) + "\n";
    EXPECT_EQ(ParseOk(yaml).store.fsync, mode) << yaml;
  }
  const StoreConfig store = ParseOk(R"(store:
  data_dir: /var/lib/vwr
  fsync: always
  fsync_interval: 1ms
  snapshot_interval: 1h
)")
                                .store;
  EXPECT_EQ(store.data_dir, "/var/lib/vwr");
  EXPECT_EQ(store.fsync, FsyncMode::kAlways);
  EXPECT_EQ(store.fsync_interval, milliseconds(1));
  EXPECT_EQ(store.snapshot_interval, milliseconds(3'600'000));
  EXPECT_EQ(ParseOk("store: { fsync_interval: 10s, snapshot_interval: 1s }").store.fsync_interval,
            milliseconds(10'000));
}

TEST(StoreDurability, BadValuesNameKeyAndLine) {
  const ParseResult result = ParseConfig(R"(store:
  fsync: sometimes
  fsync_interval: 0ms
  snapshot_interval: 500ms
rooms:
  - id: a
)");
  EXPECT_EQ(ErrorFor(result, "store.fsync").ToString(),
            "line 2, column 3: store.fsync: must be one of always, interval, never; got "
            "\"sometimes\"");
  EXPECT_EQ(ErrorFor(result, "store.fsync_interval").ToString(),
            "line 3, column 3: store.fsync_interval: must be between 1ms and 10s");
  EXPECT_EQ(ErrorFor(result, "store.snapshot_interval").ToString(),
            "line 4, column 3: store.snapshot_interval: must be between 1s and 1h");
  EXPECT_EQ(result.errors.size(), 3u) << Describe(result);

  const ParseResult high = ParseConfig("store:\n  fsync_interval: 11s\n  snapshot_interval: 61m\n");
  EXPECT_EQ(ErrorFor(high, "store.fsync_interval").line, 2);
  EXPECT_EQ(ErrorFor(high, "store.snapshot_interval").line, 3);
  const ParseResult typo = ParseConfig("store:\n  fsync_intervl: 5ms\n  fsync: [always]\n");
  EXPECT_THAT(ErrorFor(typo, "store.fsync_intervl").message,
              HasSubstr("did you mean \"fsync_interval\"?"));
  EXPECT_THAT(ErrorFor(typo, "store.fsync").message, HasSubstr("expected a string, got a list"));
}

}  // namespace
}  // namespace vwr::config
