#pragma once

#include <boost/asio/ssl/context.hpp>
#include <boost/system/result.hpp>
#include <memory>
#include <string>

namespace vwr::server {

// Why a TLS context could not be made: one line for the log, naming the file at fault.
struct TlsSetupError {
  std::string message;
};

// Lets boost::system::result<T, TlsSetupError>::value() throw; the server never calls it, but
// result needs it to exist.
[[noreturn]] void throw_exception_from_error(const TlsSetupError& error,
                                             const boost::source_location& location);

// The TLS context of a listener that speaks HTTPS: TLS 1.2 and 1.3 only, OpenSSL's default cipher
// suites (kept current by the distribution's OpenSSL), no renegotiation, no compression, and the
// certificate chain and private key read from PEM files. Checks that the files can be read, hold
// a certificate and an unencrypted key, and that the key belongs to the certificate; anything
// else is an error naming the file, never an exception.
//
// Called once at start-up. The context is shared by every worker: OpenSSL makes each
// connection's state from it under its own locks, so it is thread-safe after this returns.
boost::system::result<std::shared_ptr<boost::asio::ssl::context>, TlsSetupError> MakeTlsContext(
    const std::string& cert_file, const std::string& key_file);

}  // namespace vwr::server
