#pragma once

#include <string_view>

// Syntax checks for the addresses and host names in the config. Pure functions, no resolution.
namespace vwr::config {

// A dotted-quad IPv4 address ("127.0.0.1").
bool IsIpv4Address(std::string_view text);

// An IPv6 address without brackets ("::1", "2001:db8::1"); no zone ("%eth0").
bool IsIpv6Address(std::string_view text);

// A DNS host name: dot-separated labels of letters, digits, '-' and '_', each 1..63 characters
// and not starting or ending with '-', at most 253 characters in all. A name made only of digits
// and dots must be a valid IPv4 address ("999.1.1.1" is neither).
bool IsHostName(std::string_view text);

}  // namespace vwr::config
