// rooms[].page (the waiting page's template and message) and the top-level demo switch.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "config/config.hpp"
#include "support/config_test_support.hpp"

namespace vwr::config {
namespace {

using testing::Describe;
using testing::ErrorFor;
using ::testing::HasSubstr;
using testing::ParseOk;

// A scratch directory for template files, removed at the end of the test.
class RoomPage : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("vwr-page-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string Write(const std::string& name, const std::string& text) {
    const std::string path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }

  static std::string Room(const std::string& page) {
    return "rooms:\n  - id: sale\n    page:\n" + page;
  }

  std::filesystem::path dir_;
};

TEST_F(RoomPage, DefaultsToTheBuiltInPageAndNoMessage) {
  EXPECT_EQ(DefaultConfig().rooms[0].page, PageConfig{});
  EXPECT_EQ(ParseOk("rooms:\n  - id: sale\n").rooms[0].page, PageConfig{});
  EXPECT_EQ(ParseOk(Room("      message: \"\"\n      template_file: \"\"\n")).rooms[0].page,
            PageConfig{});
}

TEST_F(RoomPage, ReadsTheTemplateAndTheMessage) {
  const std::string html =
      "<h1>{{room_name}}</h1><p>{{ message }}</p><b>{{position}}</b> {{eta}} {{t.wait_heading}}";
  const std::string path = Write("page.html", html);
  const Config config =
      ParseOk(Room("      template_file: " + path +
                   "\n      message: \"오후 2시에 판매를 다시 시작합니다 <b>\"\n"));
  const PageConfig& page = config.rooms[0].page;
  EXPECT_EQ(page.template_file, path);
  EXPECT_EQ(page.template_html, html);
  EXPECT_EQ(page.message, "오후 2시에 판매를 다시 시작합니다 <b>");  // escaped when shown
}

TEST_F(RoomPage, AMissingFileIsAnErrorAtTheKey) {
  const ParseResult result =
      ParseConfig(Room("      template_file: " + (dir_ / "nope.html").string() + "\n"));
  ASSERT_FALSE(result.ok());
  const ConfigError error = ErrorFor(result, "rooms[0].page.template_file");
  EXPECT_EQ(error.line, 4);
  EXPECT_THAT(error.message, HasSubstr("cannot read"));
  EXPECT_THAT(error.message, HasSubstr("nope.html"));
}

TEST_F(RoomPage, ADirectoryIsAnError) {
  const ParseResult result = ParseConfig(Room("      template_file: " + dir_.string() + "\n"));
  EXPECT_THAT(ErrorFor(result, "rooms[0].page.template_file").message, HasSubstr("directory"));
}

TEST_F(RoomPage, OnlyPlainFilesAreRead) {
  const ParseResult result = ParseConfig(Room("      template_file: /dev/zero\n"));
  EXPECT_THAT(ErrorFor(result, "rooms[0].page.template_file").message,
              HasSubstr("not a regular file"));
}

TEST_F(RoomPage, AnOversizedFileIsAnError) {
  const std::string path = Write("big.html", std::string(256 * 1024 + 1, 'x'));
  const ParseResult result = ParseConfig(Room("      template_file: " + path + "\n"));
  EXPECT_THAT(ErrorFor(result, "rooms[0].page.template_file").message,
              HasSubstr("larger than 256 KiB"));
}

TEST_F(RoomPage, ATemplateThatIsNotUtf8IsAnError) {
  const std::string path = Write("latin1.html", "caf\xe9 {{room_name}}");
  const ParseResult result = ParseConfig(Room("      template_file: " + path + "\n"));
  EXPECT_THAT(ErrorFor(result, "rooms[0].page.template_file").message, HasSubstr("not UTF-8"));
}

TEST_F(RoomPage, BadPlaceholdersAreErrorsWithTheirPlaceInTheTemplate) {
  std::string path = Write("typo.html", "<p>\n  {{postion}}</p>");
  ParseResult result = ParseConfig(Room("      template_file: " + path + "\n"));
  std::string message = ErrorFor(result, "rooms[0].page.template_file").message;
  EXPECT_THAT(message, HasSubstr("unknown placeholder {{postion}}"));
  EXPECT_THAT(message, HasSubstr("known: room_id, room_name"));

  path = Write("open.html", "<p>\n  {{position</p>");
  result = ParseConfig(Room("      template_file: " + path + "\n"));
  message = ErrorFor(result, "rooms[0].page.template_file").message;
  EXPECT_THAT(message, HasSubstr("line 2, column 3"));
  EXPECT_THAT(message, HasSubstr("not closed"));
}

TEST_F(RoomPage, EveryDocumentedVariableIsAccepted) {
  std::string html;
  for (std::string_view name : kPageVariables) html += "{{" + std::string(name) + "}}";
  html += "{{t.anything}}";
  const std::string path = Write("all.html", html);
  EXPECT_EQ(ParseOk(Room("      template_file: " + path + "\n")).rooms[0].page.template_html, html);
}

TEST_F(RoomPage, TheMessageIsOneShortLine) {
  ParseResult result = ParseConfig(Room("      message: \"two\\nlines\"\n"));
  EXPECT_THAT(ErrorFor(result, "rooms[0].page.message").message, HasSubstr("one line"));
  result = ParseConfig(Room("      message: \"" + std::string(1001, 'x') + "\"\n"));
  EXPECT_THAT(ErrorFor(result, "rooms[0].page.message").message, HasSubstr("at most 1000 bytes"));
  result = ParseConfig(Room("      mesage: hi\n"));
  EXPECT_THAT(ErrorFor(result, "rooms[0].page.mesage").message,
              HasSubstr("did you mean \"message\""));
}

TEST_F(RoomPage, DemoIsUnsetUnlessWritten) {
  EXPECT_EQ(DefaultConfig().demo, std::nullopt);
  EXPECT_EQ(ParseOk("rooms:\n  - id: sale\n").demo, std::nullopt);
  EXPECT_EQ(ParseOk("demo: true\n").demo, std::optional<bool>(true));
  EXPECT_EQ(ParseOk("demo: false\n").demo, std::optional<bool>(false));
  const ParseResult result = ParseConfig("demo: yes please\n");
  EXPECT_THAT(ErrorFor(result, "demo").message, HasSubstr("must be one of true, false"));
}

}  // namespace
}  // namespace vwr::config
