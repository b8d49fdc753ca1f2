#include "config/config.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>
#include <string>
#include <string_view>

#include "core/policy.hpp"
#include "support/config_test_support.hpp"

namespace vwr::config {
namespace {

using std::chrono::milliseconds;
using testing::Describe;
using testing::ErrorFor;
using ::testing::HasSubstr;
using testing::ParseOk;

// ---- defaults ----

TEST(DefaultConfig, HasTheDocumentedValues) {
  const Config config = DefaultConfig();
  EXPECT_EQ(config.server.listen, (HostPort{"127.0.0.1", 8080}));
  EXPECT_EQ(config.server.admin_listen, (HostPort{"127.0.0.1", 8081}));
  EXPECT_EQ(config.server.workers, 0);
  EXPECT_EQ(config.store.kind, "embedded");
  EXPECT_EQ(config.store.data_dir, "./data");
  EXPECT_EQ(config.admin.token, "");
  EXPECT_EQ(config.secrets.ticket_key_file, "");
  EXPECT_EQ(config.log.level, "info");
  EXPECT_EQ(config.log.format, "text");
  ASSERT_EQ(config.rooms.size(), 1u);
  const RoomConfig& room = config.rooms[0];
  EXPECT_EQ(room.id, "default");
  EXPECT_EQ(room.name, "default");
  ASSERT_EQ(room.match.size(), 1u);
  EXPECT_EQ(room.match[0].host, "*");
  EXPECT_EQ(room.match[0].path_prefix, "/");
  EXPECT_EQ(room.policy.max_active, 100);
  EXPECT_EQ(room.policy.admit_rate, 10.0);
  EXPECT_EQ(room.policy.burst, 10);
  EXPECT_EQ(room.policy.session_timeout, milliseconds(600'000));
  EXPECT_EQ(room.policy.claim_grace, milliseconds(20'000));
  EXPECT_EQ(room.policy.mode, core::Mode::kFifo);
  EXPECT_EQ(room.policy.queue_limit, 0);
  EXPECT_EQ(room.policy.poll_min, milliseconds(1'000));
  EXPECT_EQ(room.policy.poll_max, milliseconds(30'000));
  EXPECT_TRUE(core::ValidatePolicy(room.policy).empty());
}

TEST(ParseConfig, EmptyTextGivesDefaultConfig) {
  EXPECT_EQ(ParseOk(""), DefaultConfig());
  EXPECT_EQ(ParseOk("# nothing configured yet\n"), DefaultConfig());
  EXPECT_EQ(ParseOk("---\n"), DefaultConfig());
}

TEST(ParseConfig, EmptySectionsTakeDefaults) {
  EXPECT_EQ(ParseOk("server:\n  # listen: 0.0.0.0:80\nstore:\nadmin: {}\nsecrets:\nlog:\n"),
            DefaultConfig());
}

TEST(ParseConfig, MissingKeysTakeDefaults) {
  const Config config = ParseOk(R"(
server:
  workers: 4
rooms:
  - id: shop
    max_active: 500
)");
  EXPECT_EQ(config.server.listen, DefaultConfig().server.listen);
  EXPECT_EQ(config.server.workers, 4);
  ASSERT_EQ(config.rooms.size(), 1u);
  EXPECT_EQ(config.rooms[0].id, "shop");
  EXPECT_EQ(config.rooms[0].name, "shop");  // the name defaults to the id
  EXPECT_EQ(config.rooms[0].match, std::vector<RoomMatch>{RoomMatch{}});
  core::Policy expected;
  expected.max_active = 500;
  expected.abandon_after_polls = 5;  // a room from the file watches for silence; core's is off
  EXPECT_EQ(config.rooms[0].policy, expected);
}

constexpr std::string_view kFullExample = R"(# every key, none at its default
server:
  listen: "0.0.0.0:80"
  admin_listen: "[::1]:9090"
  workers: 8
store:
  kind: embedded
  data_dir: /var/lib/vwr
admin:
  token: "0123456789abcdef-secret"
secrets:
  ticket_key_file: /etc/vwr/ticket.key
log:
  level: debug
  format: json
rooms:
  - id: shop
    name: "Summer sale"
    match:
      - { host: Shop.Example.com, path_prefix: /checkout }
      - host: "*.example.com"
        path_prefix: /
    max_active: 2500
    admit_rate: 12.5
    burst: 50
    session_timeout: 15m
    claim_grace: 45s
    mode: pause
    queue_limit: 100000
    poll: { min: 500ms, max: 10s }
  - id: tickets_2
    match: [ { host: tickets.example.org } ]
    mode: passthrough
)";

TEST(ParseConfig, FullExampleParsesToTheRightValues) {
  const Config config = ParseOk(kFullExample);
  EXPECT_EQ(config.server.listen, (HostPort{"0.0.0.0", 80}));
  EXPECT_EQ(config.server.admin_listen, (HostPort{"::1", 9090}));
  EXPECT_EQ(config.server.workers, 8);
  EXPECT_EQ(config.store.kind, "embedded");
  EXPECT_EQ(config.store.data_dir, "/var/lib/vwr");
  EXPECT_EQ(config.admin.token, "0123456789abcdef-secret");
  EXPECT_EQ(config.secrets.ticket_key_file, "/etc/vwr/ticket.key");
  EXPECT_EQ(config.log.level, "debug");
  EXPECT_EQ(config.log.format, "json");
  ASSERT_EQ(config.rooms.size(), 2u);

  const RoomConfig& shop = config.rooms[0];
  EXPECT_EQ(shop.id, "shop");
  EXPECT_EQ(shop.name, "Summer sale");
  EXPECT_EQ(shop.match,
            (std::vector<RoomMatch>{{"shop.example.com", "/checkout"}, {"*.example.com", "/"}}));
  EXPECT_EQ(shop.policy.max_active, 2500);
  EXPECT_EQ(shop.policy.admit_rate, 12.5);
  EXPECT_EQ(shop.policy.burst, 50);
  EXPECT_EQ(shop.policy.session_timeout, milliseconds(900'000));
  EXPECT_EQ(shop.policy.claim_grace, milliseconds(45'000));
  EXPECT_EQ(shop.policy.mode, core::Mode::kPause);
  EXPECT_EQ(shop.policy.queue_limit, 100'000);
  EXPECT_EQ(shop.policy.poll_min, milliseconds(500));
  EXPECT_EQ(shop.policy.poll_max, milliseconds(10'000));

  const RoomConfig& tickets = config.rooms[1];
  EXPECT_EQ(tickets.id, "tickets_2");
  EXPECT_EQ(tickets.name, "tickets_2");
  EXPECT_EQ(tickets.match, (std::vector<RoomMatch>{{"tickets.example.org", "/"}}));
  EXPECT_EQ(tickets.policy.mode, core::Mode::kPassthrough);
  EXPECT_EQ(tickets.policy.max_active, 100);

  EXPECT_EQ(FindRoom(config, "tickets_2"), &config.rooms[1]);
  EXPECT_EQ(FindRoom(config, "shop"), &config.rooms[0]);
  EXPECT_EQ(FindRoom(config, "Shop"), nullptr);
  EXPECT_EQ(FindRoom(config, "default"), nullptr);
}

TEST(ParseConfig, AcceptsEveryModeAndLogSetting) {
  for (std::string_view mode : {"fifo", "passthrough", "reject", "pause"}) {
    const Config config = ParseOk("rooms:\n  - id: a\n    mode: " + std::string(mode) + "\n");
    EXPECT_EQ(core::ModeName(config.rooms.at(0).policy.mode), mode);
  }
  for (std::string_view level : {"trace", "debug", "info", "warn", "error", "off"}) {
    EXPECT_EQ(ParseOk("log: { level: " + std::string(level) + " }").log.level, level);
  }
}

TEST(ParseConfig, AcceptsNumbersWrittenInOtherValidWays) {
  const Config config = ParseOk(R"(
server: { listen: "0.0.0.0:0", workers: "2" }
rooms:
  - id: a
    admit_rate: 0.5
    max_active: 1000000000
    session_timeout: 600     # bare number: seconds
    claim_grace: "1.5s"
    queue_limit: 0
  - id: b
    match: [ { path_prefix: /b } ]
    admit_rate: 1e3
)");
  EXPECT_EQ(config.server.listen, (HostPort{"0.0.0.0", 0}));
  EXPECT_EQ(config.server.workers, 2);
  EXPECT_EQ(config.rooms.at(0).policy.admit_rate, 0.5);
  EXPECT_EQ(config.rooms.at(0).policy.max_active, 1'000'000'000);
  EXPECT_EQ(config.rooms.at(0).policy.session_timeout, milliseconds(600'000));
  EXPECT_EQ(config.rooms.at(0).policy.claim_grace, milliseconds(1'500));
  EXPECT_EQ(config.rooms.at(1).policy.admit_rate, 1000.0);
}

// ---- errors: unknown keys ----

TEST(ParseConfig, UnknownKeyNamesKeyAndLine) {
  const ParseResult result = ParseConfig("server:\n  listen: 127.0.0.1:8080\n  port: 80\n");
  EXPECT_FALSE(result.ok());
  ASSERT_EQ(result.errors.size(), 1u) << Describe(result);
  const ConfigError& error = result.errors[0];
  EXPECT_EQ(error.key, "server.port");
  EXPECT_EQ(error.line, 3);
  EXPECT_EQ(error.column, 3);
  EXPECT_THAT(error.message, HasSubstr("unknown key"));
}

TEST(ParseConfig, UnknownKeyNestedInARoomNamesFullPathAndLine) {
  const ParseResult result = ParseConfig(R"(rooms:
  - id: a
  - id: b
    match:
      - host: b.example.com
        prefix: /b
    poll:
      min: 1s
      maxx: 5s
    limit: 10
)");
  EXPECT_FALSE(result.ok());
  EXPECT_EQ(ErrorFor(result, "rooms[1].match[0].prefix").line, 6);
  EXPECT_EQ(ErrorFor(result, "rooms[1].poll.maxx").line, 9);
  EXPECT_EQ(ErrorFor(result, "rooms[1].limit").line, 10);
  EXPECT_EQ(result.errors.size(), 3u) << Describe(result);
}

TEST(ParseConfig, UnknownKeySuggestsTheCloseName) {
  const ParseResult result = ParseConfig("rooms:\n  - id: a\n    max_actve: 5\nlogs: {}\n");
  EXPECT_THAT(ErrorFor(result, "rooms[0].max_actve").message,
              HasSubstr("did you mean \"max_active\"?"));
  EXPECT_THAT(ErrorFor(result, "logs").message, HasSubstr("did you mean \"log\"?"));
}

TEST(ParseConfig, DuplicateKeyIsAnError) {
  const ParseResult result = ParseConfig("log:\n  level: info\n  level: debug\n");
  const ConfigError error = ErrorFor(result, "log.level");
  EXPECT_EQ(error.line, 3);
  EXPECT_THAT(error.message, HasSubstr("duplicate key (first given at line 2)"));
}

// ---- errors: wrong types ----

TEST(ParseConfig, WrongTypeNamesKeyAndLine) {
  const ParseResult result = ParseConfig(R"(server:
  - listen: 127.0.0.1:80
store: embedded
rooms:
  - id: a
    max_active: abc
    burst: 1.5
    admit_rate: ten
    session_timeout: [1s]
    claim_grace: { s: 1 }
    name: [x]
    poll: 5s
    match: { host: a }
)");
  EXPECT_FALSE(result.ok());
  EXPECT_THAT(ErrorFor(result, "server").message, HasSubstr("expected a mapping"));
  EXPECT_EQ(ErrorFor(result, "server").line, 1);
  EXPECT_EQ(ErrorFor(result, "store").line, 3);
  const ConfigError max_active = ErrorFor(result, "rooms[0].max_active");
  EXPECT_EQ(max_active.line, 6);
  EXPECT_EQ(max_active.column, 5);
  EXPECT_EQ(max_active.message, "expected an integer, got \"abc\"");
  EXPECT_EQ(ErrorFor(result, "rooms[0].burst").message, "expected an integer, got \"1.5\"");
  EXPECT_EQ(ErrorFor(result, "rooms[0].burst").line, 7);
  EXPECT_EQ(ErrorFor(result, "rooms[0].admit_rate").message, "expected a number, got \"ten\"");
  EXPECT_EQ(ErrorFor(result, "rooms[0].admit_rate").line, 8);
  EXPECT_THAT(ErrorFor(result, "rooms[0].session_timeout").message, HasSubstr("got a list"));
  EXPECT_EQ(ErrorFor(result, "rooms[0].session_timeout").line, 9);
  EXPECT_THAT(ErrorFor(result, "rooms[0].claim_grace").message, HasSubstr("got a mapping"));
  EXPECT_EQ(ErrorFor(result, "rooms[0].name").line, 11);
  EXPECT_EQ(ErrorFor(result, "rooms[0].poll").line, 12);
  EXPECT_EQ(ErrorFor(result, "rooms[0].match").line, 13);
  EXPECT_EQ(result.errors.size(), 10u) << Describe(result);
}

TEST(ParseConfig, MissingValueIsAWrongType) {
  const ParseResult result = ParseConfig("server:\n  workers:\n");
  EXPECT_EQ(ErrorFor(result, "server.workers").message, "expected an integer, got nothing");
  EXPECT_EQ(ErrorFor(result, "server.workers").line, 2);
}

TEST(ParseConfig, NumbersAreParsedStrictly) {
  const ParseResult result = ParseConfig(R"(rooms:
  - id: a
    max_active: 100x
    burst: 0x10
    queue_limit: " 5"
    admit_rate: 10/s
  - id: b
    match: [ { path_prefix: /b } ]
    admit_rate: .inf
    max_active: +5
    burst: 1e3
)");
  for (std::string_view key :
       {"rooms[0].max_active", "rooms[0].burst", "rooms[0].queue_limit", "rooms[0].admit_rate",
        "rooms[1].admit_rate", "rooms[1].max_active", "rooms[1].burst"}) {
    EXPECT_THAT(ErrorFor(result, key).message, HasSubstr("expected a")) << key;
  }
  EXPECT_EQ(result.errors.size(), 7u) << Describe(result);
}

TEST(ParseConfig, IntegersThatDoNotFitInt64AreRejected) {
  const ParseResult result = ParseConfig(
      "rooms:\n  - id: a\n    queue_limit: 9223372036854775808\n    burst: "
      "-9223372036854775809\n    admit_rate: 1e999\n");
  EXPECT_EQ(ErrorFor(result, "rooms[0].queue_limit").message,
            "\"9223372036854775808\" does not fit in a 64-bit integer");
  EXPECT_THAT(ErrorFor(result, "rooms[0].burst").message, HasSubstr("does not fit"));
  EXPECT_THAT(ErrorFor(result, "rooms[0].admit_rate").message, HasSubstr("out of range"));
  EXPECT_EQ(result.errors.size(), 3u) << Describe(result);
}

TEST(ParseConfig, BadDurationsAreRejected) {
  const ParseResult result = ParseConfig(R"(rooms:
  - id: a
    session_timeout: 10 minutes
    claim_grace: -5s
    poll: { min: 0.5ms }
)");
  EXPECT_THAT(ErrorFor(result, "rooms[0].session_timeout").message,
              HasSubstr("expected a duration"));
  EXPECT_THAT(ErrorFor(result, "rooms[0].claim_grace").message, HasSubstr("must not be negative"));
  EXPECT_EQ(ErrorFor(result, "rooms[0].poll.min").line, 5);
  EXPECT_EQ(result.errors.size(), 3u) << Describe(result);
}

// ---- errors: impossible values ----

TEST(ParseConfig, ImpossiblePolicyValueNamesKeyAndLine) {
  const ParseResult result = ParseConfig("rooms:\n  - id: a\n    max_active: 0\n");
  ASSERT_EQ(result.errors.size(), 1u) << Describe(result);
  EXPECT_EQ(result.errors[0].ToString(),
            "line 3, column 5: rooms[0].max_active: must be between 1 and 1000000000");
}

TEST(ParseConfig, EveryPolicyProblemIsReported) {
  const ParseResult result = ParseConfig(R"(rooms:
  - id: a
    max_active: 1000000001
    admit_rate: 0
    burst: 0
    session_timeout: 500ms
    claim_grace: 2h
    queue_limit: -1
    mode: lifo
)");
  EXPECT_EQ(ErrorFor(result, "rooms[0].max_active").line, 3);
  EXPECT_EQ(ErrorFor(result, "rooms[0].admit_rate").line, 4);
  EXPECT_EQ(ErrorFor(result, "rooms[0].burst").line, 5);
  EXPECT_EQ(ErrorFor(result, "rooms[0].session_timeout").line, 6);
  EXPECT_EQ(ErrorFor(result, "rooms[0].claim_grace").line, 7);
  EXPECT_EQ(ErrorFor(result, "rooms[0].queue_limit").line, 8);
  EXPECT_EQ(ErrorFor(result, "rooms[0].mode").message,
            "must be one of fifo, passthrough, reject, pause; got \"lifo\"");
  EXPECT_EQ(result.errors.size(), 7u) << Describe(result);
}

TEST(ParseConfig, PollMaxBelowPollMinIsAnError) {
  const ParseResult result = ParseConfig(R"(rooms:
  - id: a
    poll:
      min: 5s
      max: 2s
)");
  ASSERT_EQ(result.errors.size(), 1u) << Describe(result);
  EXPECT_EQ(result.errors[0].key, "rooms[0].poll.max");
  EXPECT_EQ(result.errors[0].line, 5);
}

TEST(ParseConfig, ProblemWithAKeyNotWrittenPointsAtItsParent) {
  // poll.max keeps its default of 30s, below the configured minimum.
  const ParseResult result = ParseConfig("rooms:\n  - id: a\n    poll:\n      min: 40s\n");
  ASSERT_EQ(result.errors.size(), 1u) << Describe(result);
  EXPECT_EQ(result.errors[0].key, "rooms[0].poll.max");
  EXPECT_EQ(result.errors[0].line, 3);
}

TEST(ParseConfig, ValueWithATypeErrorIsNotReportedTwice) {
  // poll.min falls back to its default; no extra "poll.min out of range" error appears.
  const ParseResult result = ParseConfig("rooms:\n  - id: a\n    poll: { min: soon }\n");
  EXPECT_EQ(result.errors.size(), 1u) << Describe(result);
  EXPECT_EQ(ErrorFor(result, "rooms[0].poll.min").line, 3);
}

TEST(ParseConfig, ServerValuesAreChecked) {
  const ParseResult result = ParseConfig(R"(server:
  workers: 1025
store:
  kind: memcached
  data_dir: ""
admin:
  token: short
log:
  level: verbose
  format: xml
)");
  EXPECT_EQ(ErrorFor(result, "server.workers").line, 2);
  const ConfigError kind = ErrorFor(result, "store.kind");
  EXPECT_EQ(kind.line, 4);
  EXPECT_THAT(kind.message, HasSubstr("must be one of embedded, redis"));
  EXPECT_EQ(ErrorFor(result, "store.data_dir").line, 5);
  const ConfigError token = ErrorFor(result, "admin.token");
  EXPECT_THAT(token.message, HasSubstr("at least 16 characters"));
  EXPECT_THAT(token.message, ::testing::Not(HasSubstr("short")));  // secrets stay out of logs
  EXPECT_EQ(ErrorFor(result, "log.level").message,
            "must be one of trace, debug, info, warn, error, off; got \"verbose\"");
  EXPECT_EQ(ErrorFor(result, "log.format").line, 10);
  EXPECT_EQ(result.errors.size(), 6u) << Describe(result);
}

TEST(ParseConfig, EmptyAdminTokenMeansNotConfigured) {
  EXPECT_EQ(ParseOk("admin:\n  token: \"\"\n").admin.token, "");
  EXPECT_FALSE(ParseConfig("admin:\n  token: \"0123456789 abcdef\"\n").ok());
}

// ---- errors: addresses ----

TEST(ParseConfig, BadListenAddressNamesKeyAndLine) {
  const ParseResult result = ParseConfig(R"(server:
  listen: "127.0.0.1:70000"
  admin_listen: 8081
)");
  const ConfigError listen = ErrorFor(result, "server.listen");
  EXPECT_EQ(listen.line, 2);
  EXPECT_EQ(listen.column, 3);
  EXPECT_THAT(listen.message, HasSubstr("\"127.0.0.1:70000\""));
  EXPECT_EQ(ErrorFor(result, "server.admin_listen").line, 3);
  EXPECT_EQ(result.errors.size(), 2u) << Describe(result);

  for (std::string_view bad : {"8080", "127.0.0.1", ":8080", "::1:8080", "127.0.0.1:-1",
                               "127.0.0.1:abc", "[::1]", "256.0.0.1:80", "local host:80"}) {
    const ParseResult one = ParseConfig("server: { listen: \"" + std::string(bad) + "\" }");
    EXPECT_EQ(ErrorFor(one, "server.listen").line, 1) << bad;
  }
}

TEST(ParseConfig, ListenAcceptsAHostName) {
  EXPECT_EQ(ParseOk("server: { listen: \"localhost:9000\" }").server.listen,
            (HostPort{"localhost", 9000}));
}

TEST(ParseConfig, AdminAndPublicListenersMustDiffer) {
  const ParseResult same = ParseConfig("server:\n  admin_listen: 127.0.0.1:8080\n");
  EXPECT_EQ(ErrorFor(same, "server.admin_listen").line, 2);
  const ParseResult wildcard =
      ParseConfig("server:\n  listen: 0.0.0.0:9000\n  admin_listen: 127.0.0.1:9000\n");
  EXPECT_EQ(ErrorFor(wildcard, "server.admin_listen").line, 3);
  const ParseResult default_admin = ParseConfig("server:\n  listen: 0.0.0.0:8081\n");
  EXPECT_THAT(ErrorFor(default_admin, "server.listen").message,
              HasSubstr("server.admin_listen (127.0.0.1:8081 by default)"));
  ParseOk("server:\n  listen: 127.0.0.1:0\n  admin_listen: 127.0.0.1:0\n");  // both ephemeral
}

// ---- errors: rooms ----

TEST(ParseConfig, EmptyRoomsListIsRejected) {
  for (std::string_view yaml : {"rooms: []\n", "rooms:\n", "rooms: {}\n", "rooms: shop\n"}) {
    const ParseResult result = ParseConfig(yaml);
    EXPECT_FALSE(result.ok()) << yaml;
    EXPECT_EQ(ErrorFor(result, "rooms").line, 1) << yaml;
  }
  EXPECT_THAT(ErrorFor(ParseConfig("rooms: []"), "rooms").message, HasSubstr("at least one room"));
}

TEST(ParseConfig, DuplicateRoomIdsAreRejected) {
  const ParseResult result = ParseConfig(R"(rooms:
  - id: shop
    match: [ { path_prefix: /a } ]
  - id: other
    match: [ { path_prefix: /b } ]
  - id: shop
    match: [ { path_prefix: /c } ]
)");
  ASSERT_EQ(result.errors.size(), 1u) << Describe(result);
  EXPECT_EQ(result.errors[0].key, "rooms[2].id");
  EXPECT_EQ(result.errors[0].line, 6);
  EXPECT_EQ(result.errors[0].message, "duplicate room id \"shop\" (also rooms[0], line 2)");
}

TEST(ParseConfig, BadOrMissingRoomIdIsRejected) {
  const ParseResult result = ParseConfig(R"(rooms:
  - id: "black friday"
    match: [ { path_prefix: /a } ]
  - name: no id
    match: [ { path_prefix: /b } ]
  - id: )" + std::string(65, 'x') + R"(
    match: [ { path_prefix: /c } ]
  - id: ""
)");
  EXPECT_EQ(ErrorFor(result, "rooms[0].id").line, 2);
  EXPECT_THAT(ErrorFor(result, "rooms[0].id").message, HasSubstr("1 to 64 characters"));
  EXPECT_EQ(ErrorFor(result, "rooms[1].id").line, 4);  // the room's line
  EXPECT_THAT(ErrorFor(result, "rooms[1].id").message, HasSubstr("missing"));
  EXPECT_EQ(ErrorFor(result, "rooms[2].id").line, 6);
  EXPECT_EQ(ErrorFor(result, "rooms[3].id").line, 8);
  EXPECT_EQ(result.errors.size(), 4u) << Describe(result);
}

TEST(ParseConfig, RoomMatchIsValidated) {
  const ParseResult result = ParseConfig(R"(rooms:
  - id: a
    match:
      - host: "shop.example.com:443"
      - path_prefix: checkout
      - host: "*example.com"
      - path_prefix: "/a b"
      - []
  - id: b
    match: []
)");
  EXPECT_EQ(ErrorFor(result, "rooms[0].match[0].host").line, 4);
  EXPECT_THAT(ErrorFor(result, "rooms[0].match[1].path_prefix").message,
              HasSubstr("must start with \"/\""));
  EXPECT_EQ(ErrorFor(result, "rooms[0].match[2].host").line, 6);
  EXPECT_EQ(ErrorFor(result, "rooms[0].match[3].path_prefix").line, 7);
  EXPECT_EQ(ErrorFor(result, "rooms[0].match[4]").line, 8);
  EXPECT_EQ(ErrorFor(result, "rooms[1].match").line, 10);
  EXPECT_EQ(result.errors.size(), 6u) << Describe(result);
}

TEST(ParseConfig, RoomsMayShareMatchEntries) {
  // Rooms are addressed by id; match entries are not (yet) used to route, so they may overlap.
  const Config config = ParseOk("rooms:\n  - id: a\n  - id: b\n");
  ASSERT_EQ(config.rooms.size(), 2u);
  EXPECT_EQ(config.rooms[0].match, config.rooms[1].match);
}

// ---- errors: syntax and document shape ----

TEST(ParseConfig, SyntaxErrorGivesItsLine) {
  const ParseResult result = ParseConfig("server:\n  listen: 127.0.0.1:8080\nrooms: [ { id: a }\n");
  ASSERT_EQ(result.errors.size(), 1u) << Describe(result);
  EXPECT_FALSE(result.ok());
  EXPECT_EQ(result.errors[0].key, "");
  EXPECT_GE(result.errors[0].line, 3);
  EXPECT_THAT(result.errors[0].message, HasSubstr("invalid YAML"));

  const ParseResult tab = ParseConfig("server:\n\tworkers: 2\n");
  ASSERT_EQ(tab.errors.size(), 1u) << Describe(tab);
  EXPECT_EQ(tab.errors[0].line, 2);
}

TEST(ParseConfig, StrayCommaIsASyntaxErrorNotAHang) {
  // yaml-cpp 0.7 loops forever in LoadAll on these (its issue #1040); Load sees an empty file.
  for (std::string_view yaml : {",", ",\n", "\n  ,\n", ", !", "---\n,"}) {
    const ParseResult result = ParseConfig(yaml);
    ASSERT_EQ(result.errors.size(), 1u) << Describe(result);
    EXPECT_THAT(result.errors[0].message, HasSubstr("invalid YAML: unexpected character \",\""));
  }
  EXPECT_EQ(ParseConfig("\n  ,\n").errors.at(0).line, 2);
  const ParseResult after_map = ParseConfig("log: {}\n,\n");
  ASSERT_EQ(after_map.errors.size(), 1u) << Describe(after_map);
  EXPECT_THAT(after_map.errors[0].message, HasSubstr("invalid YAML"));
  EXPECT_EQ(after_map.errors[0].line, 2);
}

TEST(ParseConfig, DeepNestingIsRejected) {
  const ParseResult result = ParseConfig("rooms: " + std::string(5000, '['));
  ASSERT_EQ(result.errors.size(), 1u) << Describe(result);
  EXPECT_THAT(result.errors[0].message, HasSubstr("nested too deeply"));
}

TEST(ParseConfig, TheDocumentMustBeOneMapping) {
  EXPECT_THAT(ParseConfig("- server\n").errors.at(0).message,
              HasSubstr("must be a mapping of sections"));
  EXPECT_FALSE(ParseConfig("just text").ok());
  const ParseResult two = ParseConfig("log: {}\n---\nlog: {}\n");
  ASSERT_EQ(two.errors.size(), 1u) << Describe(two);
  EXPECT_THAT(two.errors[0].message, HasSubstr("exactly one"));
}

TEST(ParseConfig, MultipleErrorsAreReportedTogetherInFileOrder) {
  const ParseResult result = ParseConfig(R"(server:
  workers: -1
  listen: nowhere
log:
  level: loud
rooms:
  - id: a
    max_active: 0
    colour: blue
    poll: { min: 10s, max: 1s }
  - id: a
    match: [ { path_prefix: /a } ]
)");
  EXPECT_FALSE(result.ok());
  EXPECT_FALSE(result.config.has_value());
  std::vector<std::string> keys;
  std::vector<int> lines;
  for (const ConfigError& error : result.errors) {
    keys.push_back(error.key);
    lines.push_back(error.line);
  }
  EXPECT_EQ(keys, (std::vector<std::string>{"server.workers", "server.listen", "log.level",
                                            "rooms[0].max_active", "rooms[0].colour",
                                            "rooms[0].poll.max", "rooms[1].id"}))
      << Describe(result);
  EXPECT_EQ(lines, (std::vector<int>{2, 3, 5, 8, 9, 10, 11}));
}

TEST(ParseConfig, NeverThrowsAndAlwaysExplainsAFailure) {
  std::vector<std::string> inputs = {
      "[",
      "{{{",
      "]",
      "\t",
      "*a",
      "&a [*a, *a]",
      "? [a]: b",
      "? {a: 1}\n: 2",
      "!!binary x",
      "rooms: [[]]",
      "rooms: [1, 2]",
      "server: *x",
      "%YAML 9.9\n---\n",
      "\"\\x\"",
      "a: 'b",
      "rooms:\n  - &r {id: a}\n  - *r\n",
      std::string(5000, '['),
      std::string(5000, '{'),
      std::string("\0\x01\xff", 3),
      "rooms:\n  - id: a\n    poll: { min: [1], max: {a: b} }\n",
  };
  std::mt19937 random(12345);  // fixed seed: the same inputs every run
  const std::string alphabet = "ab:-[]{},'\"\n #&*!?|>0123456789.\t\\";
  for (int i = 0; i < 3000; ++i) {
    std::string text;
    const std::size_t length = random() % 60;
    for (std::size_t j = 0; j < length; ++j) text += alphabet[random() % alphabet.size()];
    inputs.push_back(text);
  }
  for (const std::string& text : inputs) {
    ParseResult result;
    EXPECT_NO_THROW(result = ParseConfig(text)) << text;
    EXPECT_NE(result.ok(), !result.errors.empty()) << text;
  }
}

// ---- ConfigError, LoadConfigFile ----

TEST(ConfigError, ToStringLeavesOutWhatIsUnknown) {
  EXPECT_EQ(
      (ConfigError{12, 5, "rooms[0].max_active", "must be between 1 and 1000000000"}).ToString(),
      "line 12, column 5: rooms[0].max_active: must be between 1 and 1000000000");
  EXPECT_EQ((ConfigError{3, 0, "log", "bad"}).ToString(), "line 3: log: bad");
  EXPECT_EQ((ConfigError{0, 0, "", "cannot read"}).ToString(), "cannot read");
}

class TempFile {
 public:
  explicit TempFile(std::string_view text)
      : path_(std::filesystem::temp_directory_path() /
              ("vwr_config_test_" + std::to_string(::getpid()) + ".yaml")) {
    std::ofstream(path_) << text;
  }
  ~TempFile() { std::filesystem::remove(path_); }
  std::string path() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

TEST(LoadConfigFile, ReadsAFile) {
  const TempFile file("rooms:\n  - id: from_file\n");
  const ParseResult result = LoadConfigFile(file.path());
  ASSERT_TRUE(result.ok()) << Describe(result);
  EXPECT_EQ(result.config->rooms.at(0).id, "from_file");
}

TEST(LoadConfigFile, ReportsErrorsWithLines) {
  const TempFile file("log:\n  level: loud\n");
  const ParseResult result = LoadConfigFile(file.path());
  EXPECT_EQ(ErrorFor(result, "log.level").line, 2);
}

TEST(LoadConfigFile, UnreadableFileGivesOneErrorWithoutLine) {
  for (const std::string& path : {std::string("/nonexistent/vwr.yaml"), std::string("/")}) {
    const ParseResult result = LoadConfigFile(path);
    EXPECT_FALSE(result.ok());
    ASSERT_EQ(result.errors.size(), 1u) << Describe(result);
    EXPECT_EQ(result.errors[0].line, 0);
    EXPECT_THAT(result.errors[0].message, HasSubstr("cannot read the file"));
  }
}

TEST(LoadConfigFile, StopsReadingAnEndlessFile) {
  const ParseResult result = LoadConfigFile("/dev/zero");
  ASSERT_EQ(result.errors.size(), 1u) << Describe(result);
  EXPECT_THAT(result.errors[0].message, HasSubstr("larger than"));
}

// ---- HostPort ----

TEST(HostPort, ParsesIpv4HostNamesAndIpv6) {
  EXPECT_EQ(ParseHostPort("127.0.0.1:8080"), (HostPort{"127.0.0.1", 8080}));
  EXPECT_EQ(ParseHostPort("0.0.0.0:0"), (HostPort{"0.0.0.0", 0}));
  EXPECT_EQ(ParseHostPort("[::1]:8080"), (HostPort{"::1", 8080}));
  EXPECT_EQ(ParseHostPort("[::]:65535"), (HostPort{"::", 65535}));
  EXPECT_EQ(ParseHostPort("[2001:db8::7]:443"), (HostPort{"2001:db8::7", 443}));
  EXPECT_EQ(ParseHostPort("localhost:6379"), (HostPort{"localhost", 6379}));
  EXPECT_EQ(ParseHostPort("redis-1.internal:6379"), (HostPort{"redis-1.internal", 6379}));
  EXPECT_EQ(ParseHostPort("127.0.0.1:00080"), (HostPort{"127.0.0.1", 80}));
}

TEST(HostPort, RejectsInvalidPortsAndHosts) {
  for (std::string_view bad : {"127.0.0.1:70000",
                               "127.0.0.1:65536",
                               "127.0.0.1:-1",
                               "127.0.0.1:abc",
                               "127.0.0.1:",
                               "127.0.0.1",
                               "127.0.0.1:+80",
                               "127.0.0.1:8080 ",
                               " 127.0.0.1:8080",
                               "127.0.0.1:999999",
                               ":8080",
                               "",
                               ":",
                               "::1:8080",
                               "[::1]",
                               "[::1]8080",
                               "[::1:8080",
                               "[]:80",
                               "[1.2.3.4]:80",
                               "[::1%eth0]:80",
                               "256.1.1.1:80",
                               "1.2.3:80",
                               "a..b:80",
                               "-a:80",
                               "a b:80",
                               "a_b:80x"}) {
    EXPECT_EQ(ParseHostPort(bad), std::nullopt) << '"' << bad << '"';
  }
}

TEST(HostPort, FormatsWithBracketsForIpv6) {
  EXPECT_EQ((HostPort{"127.0.0.1", 8080}).ToString(), "127.0.0.1:8080");
  EXPECT_EQ((HostPort{"::1", 80}).ToString(), "[::1]:80");
  EXPECT_EQ((HostPort{"localhost", 0}).ToString(), "localhost:0");
  for (std::string_view text : {"127.0.0.1:8080", "[::1]:80", "[2001:db8::7]:443"}) {
    EXPECT_EQ(ParseHostPort(text).value_or(HostPort{}).ToString(), text);
  }
}

}  // namespace
}  // namespace vwr::config
