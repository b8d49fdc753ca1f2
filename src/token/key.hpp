#pragma once

#include <array>
#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>

namespace vwr::token {

// The process secret from which every MAC and signing key is derived (see DeriveKey). Never log it.
struct SecretKey {
  std::array<std::uint8_t, 32> bytes{};
};

// Content errors of a key file. I/O failures are reported as boost::system::system_category()
// codes (errno) instead.
enum class KeyError {
  kMalformed = 1,       // content is not exactly 64 hex digits (surrounding whitespace allowed)
  kNotRegularFile = 2,  // the path names a directory, FIFO, device, ...
  kUntrusted = 3,       // others could write (or read) it or its directory: see KeyFileError
};

const boost::system::error_category& KeyErrorCategory();
// For boost::system::error_code construction from KeyError (found by ADL, hence the name).
boost::system::error_code make_error_code(KeyError e);

// Why a key file could not be loaded or made.
struct KeyFileError {
  boost::system::error_code code;  // errno (system_category), or a KeyError
  std::string untrusted;           // KeyError::kUntrusted: what is wrong and how to mend it
};

// Loads the secret key stored at `path`, creating it first if the file does not exist.
//
// File format: 64 hex digits (the 32 key bytes), conventionally lowercase followed by "\n";
// surrounding whitespace is ignored on read and either case is accepted.
//
// Creation is crash- and race-safe: missing parent directories are created with mode 0700, the key
// is written to a uniquely named temporary file (mode 0600) in the same directory and fsync'ed,
// then link(2)ed to `path`. link never replaces an existing file, so when several processes race
// to create the key exactly one wins and all of them end up reading the winner's key; a reader
// never sees a partly written file. Requires a filesystem with hard links (any local Linux fs).
//
// `created`, when given, is set to whether this call created the file.
//
// A file that is there is used only when util::OpenPrivateFile trusts it as a secret: owned by
// this user (or root), nobody else may write or read it (root's own: its group may read it) and
// nobody else may write its directory; else KeyError::kUntrusted says what is wrong. Nor is one
// made in a directory others may write.
//
// Blocking (disk I/O): call at start-up, never on a worker thread.
boost::system::result<SecretKey, KeyFileError> LoadOrCreateKeyFile(const std::string& path,
                                                                   bool* created = nullptr);

// A one-line message for logs, e.g. `key file "/var/lib/vwr/key": Permission denied`.
std::string DescribeKeyError(std::string_view path, const KeyFileError& error);

// Domain separation: HMAC-SHA256(master, label). Each use of the master key (ticket MACs, token
// signatures, identity hashing) derives its own key with a distinct label, so that a value
// produced for one purpose can never be replayed as valid for another.
SecretKey DeriveKey(const SecretKey& master, std::string_view label);

}  // namespace vwr::token

namespace boost::system {
template <>
struct is_error_code_enum<vwr::token::KeyError> : std::true_type {};
}  // namespace boost::system
