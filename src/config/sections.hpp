#pragma once

#include <vector>

#include "config/config.hpp"
#include "config/reader.hpp"

// One reader per section of the file (ParseConfig assembles them, config/load.cpp). Each reads
// `field` into `out`, leaving the defaults where a value is missing or wrong, and records every
// problem in `reader` with its key and line. Internal to the config library.
namespace vwr::config::detail {

// read_server.cpp
void ReadServer(Reader& reader, const Field& field, ServerConfig& out);
// read_store.cpp
void ReadStore(Reader& reader, const Field& field, StoreConfig& out);
// read_rooms.cpp (and read_protection.cpp for rooms[].protection)
void ReadRooms(Reader& reader, const Field& field, std::vector<RoomConfig>& out);
void ReadProtection(Reader& reader, const Field& field, ProtectionConfig& out);
// read_other.cpp
void ReadTracer(Reader& reader, const Field& field, TracerConfig& out);
void ReadAdmin(Reader& reader, const Field& field, AdminConfig& out);
void ReadSecrets(Reader& reader, const Field& field, SecretsConfig& out);
void ReadWeb(Reader& reader, const Field& field, WebConfig& out);
void ReadTokens(Reader& reader, const Field& field, TokensConfig& out);
void ReadIdentity(Reader& reader, const Field& field, IdentityConfig& out);
void ReadLog(Reader& reader, const Field& field, LogConfig& out);
// read_operators.cpp
void ReadOperators(Reader& reader, const Field& field, std::vector<OperatorConfig>& out);
void ReadConsole(Reader& reader, const Field& field, ConsoleConfig& out);
// read_control.cpp: signals, rules, schedules, rooms[].control, and the checks across them
// (CheckControl, once every section is read).
void ReadSignals(Reader& reader, const Field& field, std::vector<control::SignalSpec>& out);
void ReadRules(Reader& reader, const Field& field, std::vector<control::RuleSpec>& out);
void ReadSchedules(Reader& reader, const Field& field, std::vector<control::EventSpec>& out);
void ReadRoomControl(Reader& reader, const Field& field, std::optional<control::ControlSpec>& out);
void CheckControl(Reader& reader, const Fields& sections, const Config& config);
// read_analytics.cpp
void ReadAnalytics(Reader& reader, const Field& field, AnalyticsConfig& out);

}  // namespace vwr::config::detail
