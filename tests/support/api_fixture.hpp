#pragma once

// What the API handlers' tests stand on: rooms in an embedded store on a fake clock, the ticket
// and admission-token machinery, and requests handed to a handler without a network, so that
// time-dependent API behaviour is deterministic.

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/policy.hpp"
#include "http/api_metrics.hpp"
#include "http/http.hpp"
#include "http/room_directory.hpp"
#include "store/embedded_store.hpp"
#include "support/jws_test_keys.hpp"
#include "token/admission_token.hpp"
#include "token/es256.hpp"
#include "token/identity.hpp"
#include "token/key_ring.hpp"
#include "token/ticket_codec.hpp"
#include "token/user_identity.hpp"
#include "util/clock.hpp"

namespace vwr::testing {

using Headers = std::vector<std::pair<std::string, std::string>>;

class EmbeddedApiFixture : public ::testing::Test {
 protected:
  // `max_token_lifetime`: the key ring's (token::KeyRing).
  explicit EmbeddedApiFixture(std::chrono::seconds max_token_lifetime = std::chrono::seconds(30))
      : ring_(clock_, max_token_lifetime) {
    ring_.SetOwnKeys(token::SingleKeySet(token::EcPrivateKey::Generate(), 0));
  }

  // One admitted at a time, ten a second after that, a call held 5 s, a session 30 s.
  static core::Policy OneAtATime() {
    core::Policy p;
    p.max_active = 1;
    p.admit_rate = 10;
    p.burst = 1;
    p.claim_grace = std::chrono::seconds(5);
    p.session_timeout = std::chrono::seconds(30);
    return p;
  }

  // The rooms `ids`, each under `policy`, in store_ and rooms_.
  void MakeRooms(const std::vector<std::string>& ids, const core::Policy& policy) {
    std::vector<store::RoomSpec> specs;
    for (const std::string& id : ids) specs.push_back({id, policy});
    store_ = std::make_unique<store::EmbeddedStore>(std::move(specs), clock_);
    rooms_ = std::make_unique<http::RoomDirectory>(*store_);
  }

  // `handler`'s answer to one request (headers added, not replaced: a name may repeat).
  static http::Response Send(http::Handler& handler, http::verb method, std::string target,
                             std::string body = "", const Headers& headers = {},
                             const http::ConnectionInfo& connection = {}) {
    http::Request req{method, target, 11};
    for (const auto& [name, value] : headers) req.insert(name, value);
    req.body() = std::move(body);
    req.prepare_payload();
    return handler.Handle(req, connection);
  }

  static boost::json::object Json(const http::Response& res) {
    return boost::json::parse(res.body()).as_object();
  }

  // `d` of time in the store's 100 ms ticks.
  void Tick(util::Duration d) {
    for (util::Duration t{0}; t < d; t += std::chrono::milliseconds(100)) {
      clock_.Advance(std::chrono::milliseconds(100));
      store_->Tick();
    }
  }

  // The platform's user tokens (identity.mode signed): a key of the platform, published to
  // `users_`, which a PublicApi takes as PublicApiOptions::user_identity.
  void TrustPlatformKey(token::UserIdentityOptions options = {.audience = "vwr"}) {
    users_ = std::make_unique<token::UserIdentityVerifier>(std::move(options));
    auto keys = token::ParseJwks(boost::json::serialize(
        boost::json::object{{"keys", boost::json::array{platform_key_.Jwk("platform-1")}}}));
    ASSERT_TRUE(keys) << keys.error();
    users_->SetKeys(std::move(*keys));
  }
  // A user token of the platform for `user`, valid for `ttl` from the fake clock's now.
  std::string UserToken(const std::string& user, std::chrono::seconds ttl = std::chrono::hours(1),
                        const std::string& audience = "vwr") const {
    const std::int64_t now =
        std::chrono::duration_cast<std::chrono::seconds>(clock_.WallNow().time_since_epoch())
            .count();
    return platform_key_.Sign(
        boost::json::object{{"alg", "RS256"}, {"kid", "platform-1"}},
        boost::json::object{{"sub", user}, {"aud", audience}, {"exp", now + ttl.count()}}, "RS256");
  }

  util::FakeClock clock_;
  token::SecretKey key_{{1, 2, 3}};
  token::IdentityPseudonyms pseudonyms_{key_};
  token::TicketCodec tickets_{key_};
  token::KeyRing ring_;
  token::AdmissionTokenSigner tokens_{ring_, clock_};
  http::ApiMetrics metrics_;
  std::unique_ptr<store::EmbeddedStore> store_;
  std::unique_ptr<http::RoomDirectory> rooms_;
  JwsTestKey platform_key_{JwsTestKey::Kind::kRsa};
  std::unique_ptr<token::UserIdentityVerifier> users_;
};

}  // namespace vwr::testing
