#include "server/tls_context.hpp"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <optional>
#include <stdexcept>
#include <system_error>

namespace vwr::server {
namespace {

namespace ssl = boost::asio::ssl;

// A PEM chain or key is a few kilobytes; this only stops a wrong path (a log, a device) early.
constexpr std::size_t kMaxPemBytes = 1024 * 1024;

// Wipes a file's contents when they are dropped: the key file's are the private key.
class Secret {
 public:
  Secret() = default;
  Secret(const Secret&) = delete;
  Secret& operator=(const Secret&) = delete;
  ~Secret() { OPENSSL_cleanse(text.data(), text.size()); }

  std::string text;
};

// Reads a whole PEM file; on failure, fills `error` with why, naming `what` and `path`.
bool ReadPem(const std::string& what, const std::string& path, Secret& out, std::string& error) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    error = "cannot read the " + what + " " + path + ": it is a directory";
    return false;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = "cannot read the " + what + " " + path + ": " + std::strerror(errno);
    return false;
  }
  std::array<char, 16 * 1024> buffer;
  while (in.read(buffer.data(), buffer.size()) || in.gcount() > 0) {
    out.text.append(buffer.data(), static_cast<std::size_t>(in.gcount()));
    if (out.text.size() > kMaxPemBytes) {
      error = "the " + what + " " + path + " is larger than 1 MiB: not a PEM file";
      return false;
    }
  }
  if (in.bad()) {
    error = "cannot read the " + what + " " + path + ": read error";
    return false;
  }
  return true;
}

}  // namespace

void throw_exception_from_error(const TlsSetupError& error, const boost::source_location&) {
  throw std::runtime_error(error.message);
}

boost::system::result<std::shared_ptr<ssl::context>, TlsSetupError> MakeTlsContext(
    const std::string& cert_file, const std::string& key_file) {
  const auto fail = [](std::string message) { return TlsSetupError{std::move(message)}; };
  Secret cert;
  Secret key;
  std::string error;
  if (!ReadPem("certificate file", cert_file, cert, error)) return fail(std::move(error));
  if (!ReadPem("private key file", key_file, key, error)) return fail(std::move(error));
  // OpenSSL's own word for these cases is "PEM lib" or "no start line"; say what is wrong.
  if (cert.text.find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
    return fail("the certificate file " + cert_file +
                " holds no PEM certificate (no \"-----BEGIN CERTIFICATE-----\" line)");
  }
  if (key.text.find("PRIVATE KEY-----") == std::string::npos) {
    return fail("the private key file " + key_file +
                " holds no PEM private key (no \"-----BEGIN ... PRIVATE KEY-----\" line)");
  }
  // OpenSSL would ask for the passphrase on the terminal (and hang a service); say what to do.
  if (key.text.find("ENCRYPTED") != std::string::npos) {
    return fail("the private key file " + key_file +
                " is encrypted; vwr needs it unencrypted (openssl pkey -in " + key_file +
                " -out plain.pem), readable only by the user vwr runs as");
  }

  std::shared_ptr<ssl::context> context;
  try {
    context = std::make_shared<ssl::context>(ssl::context::tls_server);
  } catch (const std::exception& e) {
    return fail(std::string("cannot make a TLS context: ") + e.what());
  }
  boost::system::error_code ec;
  // TLS 1.2 and 1.3 only: the versions before are broken (POODLE, BEAST) and browsers dropped
  // them. The minimum version says the same as the no_tls* options, the way OpenSSL 3 prefers.
  context->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                           ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                           ssl::context::no_tlsv1_1 | ssl::context::no_compression |
                           ssl::context::single_dh_use,
                       ec);
  SSL_CTX* native = context->native_handle();
  if (ec || SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION) != 1) {
    return fail("cannot restrict the TLS context to TLS 1.2 and later");
  }
  // Client-initiated renegotiation (TLS 1.2) makes the server redo the costly half of a
  // handshake on demand, a cheap way to burn its CPU; nothing a browser needs.
  SSL_CTX_set_options(native, SSL_OP_NO_RENEGOTIATION);
  // Waiting users keep their connections open and idle between polls: let an idle connection
  // give its 2 x 16 KiB record buffers back instead of holding them for minutes.
  SSL_CTX_set_mode(native, SSL_MODE_RELEASE_BUFFERS);
  // Never prompt for a passphrase; an encrypted key fails to load instead.
  context->set_password_callback(
      [](std::size_t, ssl::context::password_purpose) { return std::string(); }, ec);

  context->use_certificate_chain(boost::asio::buffer(cert.text), ec);
  if (ec) {
    return fail("cannot load the certificate chain in " + cert_file + " (OpenSSL: " + ec.message() +
                ")");
  }
  context->use_private_key(boost::asio::buffer(key.text), ssl::context::pem, ec);
  if (ec) {
    // OpenSSL checks the key against the certificate as it loads it.
    const bool mismatch =
        ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == X509_R_KEY_VALUES_MISMATCH;
    if (mismatch) {
      return fail("the private key in " + key_file + " does not belong to the certificate in " +
                  cert_file);
    }
    return fail("cannot load the private key in " + key_file + " (OpenSSL: " + ec.message() + ")");
  }
  // A key of another type than the certificate's (RSA for an EC certificate) loads into another
  // slot without complaint; this catches it.
  if (SSL_CTX_check_private_key(native) != 1) {
    return fail("the private key in " + key_file + " does not belong to the certificate in " +
                cert_file);
  }
  return context;
}

}  // namespace vwr::server
