// ParseConfig and LoadConfigFile: YAML text -> validated Config, or every error found. This file
// checks the document as a whole and hands each section to its reader (config/sections.hpp, one
// file per section); they read values with the diagnostics reader (config/reader.hpp).
//
// The reader walks the YAML tree by hand rather than with yaml-cpp's as<T>() conversions, so
// that it can keep going after a problem and report each one with its dotted key and line:
//
//   for each mapping:  unknown or repeated keys -> error at the key; known keys -> read
//   for each value:    wrong type or impossible value -> error at the key; default kept
//   for each room:     core::ValidatePolicy -> error at the policy key (or the room)
//   across rooms:      repeated ids
//
// A Config comes back only when no error was found. yaml-cpp throws on syntax errors; those
// exceptions (and any other) stop at ParseConfig and become ConfigErrors.

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/parser.h>
#include <yaml-cpp/yaml.h>

#include <array>
#include <cerrno>
#include <exception>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#include "config/config.hpp"
#include "config/reader.hpp"
#include "config/sections.hpp"

namespace vwr::config {
namespace {

using detail::Describe;
using detail::Field;
using detail::Fields;
using detail::JoinNames;
using detail::kBooleans;
using detail::Quote;
using detail::Reader;

// A config file is a few kilobytes; this only stops a wrong path (a log, a device) early.
constexpr std::size_t kMaxFileBytes = 16 * 1024 * 1024;
constexpr std::array<std::string_view, 17> kTopKeys = {
    "server", "store",     "admin",     "secrets", "tokens",   "web",
    "tracer", "log",       "identity",  "rooms",   "demo",     "signals",
    "rules",  "schedules", "operators", "console", "analytics"};

// Finds where each document in the text starts, without building them, so that the reader can
// insist on exactly one. It also guards against a yaml-cpp 0.7 bug (issue #1040): a token that
// starts no node, such as a stray "," at the top level, is never consumed, so every call yields
// another empty document at the same place and YAML::LoadAll loops while eating memory (and
// YAML::Load returns an empty document as if the file were fine). A document starting where the
// previous one started is that case, and is reported as the syntax error it is.
class DocumentStarts final : public YAML::EventHandler {
 public:
  static std::vector<YAML::Mark> Scan(const std::string& text) {
    std::istringstream input(text);
    YAML::Parser parser(input);
    DocumentStarts handler;
    while (parser.HandleNextDocument(handler)) {
      const std::vector<YAML::Mark>& starts = handler.starts_;
      if (starts.size() >= 2 && starts.back().pos == starts[starts.size() - 2].pos) {
        const YAML::Mark at = starts.back();
        std::string message = "unexpected character";
        if (at.pos >= 0 && static_cast<std::size_t>(at.pos) < text.size()) {
          message += " " + Quote(text.substr(static_cast<std::size_t>(at.pos), 1));
        }
        throw YAML::ParserException(at, message);
      }
    }
    return std::move(handler.starts_);
  }

  void OnDocumentStart(const YAML::Mark& mark) override { starts_.push_back(mark); }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}

 private:
  std::vector<YAML::Mark> starts_;
};

std::optional<Config> ReadDocument(Reader& reader, std::string_view text) {
  const std::string owned(text);
  const std::vector<YAML::Mark> starts = DocumentStarts::Scan(owned);
  Config config = DefaultConfig();
  if (starts.empty()) return config;  // empty, or only comments
  if (starts.size() > 1) {
    reader.Error(starts[1], "",
                 "found " + std::to_string(starts.size()) +
                     " YAML documents (separated by \"---\"); the file must hold exactly one");
  }
  const YAML::Node root = YAML::Load(owned);  // the first document
  if (!root.IsNull() && !root.IsMap()) {
    reader.Error(root.Mark(), "",
                 "the file must be a mapping of sections (" + JoinNames(kTopKeys) + "), got " +
                     Describe(root));
    return std::nullopt;
  }
  const std::optional<Fields> sections = reader.ReadMap(Field{"", root.Mark(), root}, kTopKeys);
  if (!sections) return std::nullopt;
  if (const Field* field = sections->Find("server"))
    detail::ReadServer(reader, *field, config.server);
  if (const Field* field = sections->Find("store")) detail::ReadStore(reader, *field, config.store);
  if (const Field* field = sections->Find("admin")) detail::ReadAdmin(reader, *field, config.admin);
  if (const Field* field = sections->Find("secrets"))
    detail::ReadSecrets(reader, *field, config.secrets);
  if (const Field* field = sections->Find("tokens"))
    detail::ReadTokens(reader, *field, config.tokens);
  if (const Field* field = sections->Find("web")) detail::ReadWeb(reader, *field, config.web);
  if (const Field* field = sections->Find("tracer"))
    detail::ReadTracer(reader, *field, config.tracer);
  if (const Field* field = sections->Find("identity")) {
    detail::ReadIdentity(reader, *field, config.identity);
  }
  if (const Field* field = sections->Find("log")) detail::ReadLog(reader, *field, config.log);
  if (const Field* field = sections->Find("analytics")) {
    detail::ReadAnalytics(reader, *field, config.analytics);
  }
  if (const Field* field = sections->Find("rooms")) detail::ReadRooms(reader, *field, config.rooms);
  if (const Field* field = sections->Find("operators")) {
    detail::ReadOperators(reader, *field, config.operators);
  }
  if (const Field* field = sections->Find("console")) {
    detail::ReadConsole(reader, *field, config.console);
  }
  if (const Field* field = sections->Find("signals")) {
    detail::ReadSignals(reader, *field, config.signals);
  }
  if (const Field* field = sections->Find("rules")) detail::ReadRules(reader, *field, config.rules);
  if (const Field* field = sections->Find("schedules")) {
    detail::ReadSchedules(reader, *field, config.schedules);
  }
  detail::CheckControl(reader, *sections, config);
  if (const Field* field = sections->Find("demo")) {
    if (std::optional<std::string> value = reader.ReadChoice(*field, kBooleans)) {
      config.demo = *value == "true";
    }
  }
  return config;
}

ParseResult OneError(std::string message) {
  ParseResult result;
  result.errors.push_back(ConfigError{0, 0, "", std::move(message)});
  return result;
}

}  // namespace

ParseResult ParseConfig(std::string_view yaml_text) {
  try {
    Reader reader;
    reader.source = yaml_text;
    std::optional<Config> config;
    try {
      config = ReadDocument(reader, yaml_text);
    } catch (const YAML::DeepRecursion& e) {
      reader.Error(e.mark, "", "invalid YAML: lists or mappings nested too deeply");
    } catch (const YAML::Exception& e) {
      // Syntax errors (ParserException) carry the position; the message is yaml-cpp's own.
      reader.Error(e.mark, "", "invalid YAML: " + e.msg);
    }
    ParseResult result;
    result.errors = reader.TakeErrors();
    if (result.errors.empty()) {
      if (!config) return OneError("internal error: the configuration could not be read");
      result.config = std::move(config);
    }
    return result;
  } catch (const std::exception& e) {
    return OneError(std::string("cannot read the configuration: ") + e.what());
  } catch (...) {
    return OneError("cannot read the configuration: unknown error");
  }
}

ParseResult LoadConfigFile(const std::string& path) {
  try {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) {
      return OneError("cannot read the file: it is a directory");
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) return OneError("cannot read the file: " + std::generic_category().message(errno));
    // Read in bounded steps rather than by size: the path may name a pipe or a device.
    std::string text;
    std::array<char, 64 * 1024> buffer;
    while (in.read(buffer.data(), buffer.size()) || in.gcount() > 0) {
      text.append(buffer.data(), static_cast<std::size_t>(in.gcount()));
      if (text.size() > kMaxFileBytes) {
        return OneError("cannot read the file: larger than " +
                        std::to_string(kMaxFileBytes / (1024 * 1024)) + " MiB");
      }
    }
    if (in.bad()) return OneError("cannot read the file: read error");
    return ParseConfig(text);
  } catch (const std::exception& e) {
    return OneError(std::string("cannot read the file: ") + e.what());
  } catch (...) {
    return OneError("cannot read the file: unknown error");
  }
}

}  // namespace vwr::config
