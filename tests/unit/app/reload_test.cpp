#include "app/reload.hpp"

#include <gtest/gtest.h>

#include "support/config_test_support.hpp"

namespace vwr::app {
namespace {

using config::testing::ParseOk;

constexpr const char* kBase = R"(
server:
  listen: 127.0.0.1:9000
log:
  level: info
rooms:
  - id: a
    max_active: 10
  - id: b
    max_active: 20
)";

TEST(PlanReload, RoomsAndPoliciesComeFromTheNewFile) {
  const config::Config running = ParseOk(kBase);
  const config::Config next = ParseOk(R"(
server:
  listen: 127.0.0.1:9000
rooms:
  - id: c
    max_active: 5
  - id: a
    max_active: 11
)");
  const ReloadPlan plan = PlanReload(running, next);
  ASSERT_EQ(plan.rooms.size(), 2u);
  EXPECT_EQ(plan.rooms[0].id, "c");
  EXPECT_EQ(plan.rooms[0].policy.max_active, 5);
  EXPECT_EQ(plan.rooms[1].id, "a");
  EXPECT_EQ(plan.rooms[1].policy.max_active, 11);
  EXPECT_FALSE(plan.log_level.has_value());
  EXPECT_TRUE(plan.need_restart.empty());
}

TEST(PlanReload, LogLevelChangesAtOnce) {
  const config::Config running = ParseOk(kBase);
  config::Config next = running;
  next.log.level = "debug";
  const ReloadPlan plan = PlanReload(running, next);
  EXPECT_EQ(plan.log_level, "debug");
  EXPECT_TRUE(plan.need_restart.empty());
}

TEST(PlanReload, SettingsBoundAtStartAreNamedNotApplied) {
  const config::Config running = ParseOk(kBase);
  config::Config next = running;
  next.server.listen.port = 9100;
  next.server.limits.max_connections = 5;
  next.store.fsync = config::FsyncMode::kAlways;
  next.admin.token = "0123456789abcdef0123";
  next.log.format = "json";
  const ReloadPlan plan = PlanReload(running, next);
  EXPECT_EQ(plan.need_restart, (std::vector<std::string>{"server.listen", "server.limits", "store",
                                                         "admin", "log.format"}));
}

TEST(PlanReload, ANewCertificateIsNamedAsNeedingARestart) {
  const config::Config running = ParseOk(kBase);
  config::Config next = running;
  next.server.tls.cert_file = "/etc/vwr/cert.pem";
  next.server.tls.key_file = "/etc/vwr/key.pem";
  EXPECT_EQ(PlanReload(running, next).need_restart, (std::vector<std::string>{"server.tls"}));
}

TEST(PlanReload, TheDemoSwitchTakesARestartButPagesDoNot) {
  const config::Config running = ParseOk(kBase);
  config::Config next = running;
  next.demo = true;
  next.rooms[0].page.message = "Back at 2pm";
  const ReloadPlan plan = PlanReload(running, next);
  EXPECT_EQ(plan.need_restart, (std::vector<std::string>{"demo"}));
  EXPECT_EQ(plan.rooms.size(), 2u);
}

TEST(PlanReload, TokenSettingsNeedARestartButTokenLifetimesDoNot) {
  const config::Config running = ParseOk(kBase);
  config::Config next = running;
  next.tokens.issuer = "other";
  next.rooms[0].token_lifetime = std::chrono::seconds(60);
  const ReloadPlan plan = PlanReload(running, next);
  EXPECT_EQ(plan.need_restart, (std::vector<std::string>{"tokens"}));
  EXPECT_EQ(plan.rooms.size(), 2u);
}

TEST(PlanReload, WebSettingsNeedARestartButEntryPassesAndMatchRulesDoNot) {
  const config::Config running = ParseOk(kBase);
  config::Config next = running;
  next.web.cookie_secure = true;
  next.rooms[0].entry_pass = std::chrono::minutes(5);
  next.rooms[1].match = {config::RoomMatch{"shop.example.com", "/sale"}};
  const ReloadPlan plan = PlanReload(running, next);
  EXPECT_EQ(plan.need_restart, (std::vector<std::string>{"web"}));
  EXPECT_EQ(plan.rooms.size(), 2u);
}

}  // namespace
}  // namespace vwr::app
