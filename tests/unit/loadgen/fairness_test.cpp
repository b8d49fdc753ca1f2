#include "loadgen/fairness.hpp"

#include <gtest/gtest.h>

#include "loadgen/answers.hpp"
#include "token/ticket_codec.hpp"

namespace vwr::loadgen {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

TEST(TicketNumber, ReadsTheNumberOfARealTicket) {
  token::SecretKey key{};
  key.bytes.fill(7);
  const token::TicketCodec codec(key);
  for (std::uint64_t n : {1ull, 127ull, 128ull, 300000ull, 1ull << 40}) {
    const std::string ticket = codec.Encode("sale", {0x1234567890abcdefull, n, n / 2});
    EXPECT_EQ(TicketNumber(ticket), n) << ticket;
  }
  EXPECT_EQ(TicketNumber("opaque-ticket-of-another-server"), std::nullopt);
  EXPECT_EQ(TicketNumber(""), std::nullopt);
}

TEST(FairnessTracker, AWaitingAnswerAfterSomeoneBehindWasAdmittedIsAViolation) {
  FairnessTracker t;
  const auto t0 = Clock::now();
  EXPECT_EQ(t.AdmittedMax(), 0u);
  t.RecordAdmitted(10, t0);
  const std::uint64_t seen = t.AdmittedMax();
  EXPECT_EQ(seen, 10u);
  // Ticket 5 polled after 10 was seen admitted and is still waiting.
  EXPECT_TRUE(t.IsViolation(5, seen, t0 + milliseconds(1), {}));
  // Ticket 12 is behind 10: no violation.
  EXPECT_FALSE(t.IsViolation(12, seen, t0 + milliseconds(1), {}));
  // A poll sent before anyone behind was seen admitted proves nothing.
  EXPECT_FALSE(t.IsViolation(5, 0, t0 + milliseconds(1), {}));
}

TEST(FairnessTracker, SlackExcusesAnswersSoonAfterTheFirstAdmissionBehind) {
  FairnessTracker t;
  const auto t0 = Clock::now();
  t.RecordAdmitted(10, t0);
  t.RecordAdmitted(20, t0 + milliseconds(500));
  t.RecordAdmitted(15, t0 + milliseconds(600));  // lower than the maximum: nothing new
  const auto max = t.AdmittedMax();
  EXPECT_EQ(max, 20u);
  // Ticket 12: first passed when 20 was admitted at +500 ms.
  EXPECT_FALSE(t.IsViolation(12, max, t0 + milliseconds(700), milliseconds(300)));
  EXPECT_TRUE(t.IsViolation(12, max, t0 + milliseconds(800), milliseconds(300)));
  // Ticket 5: passed at +0 ms.
  EXPECT_TRUE(t.IsViolation(5, max, t0 + milliseconds(700), milliseconds(300)));
}

TEST(CallOrder, OnlyAnAnswerBeforeAnotherSendOrdersTwoPeople) {
  CallOrder order;
  const auto a_sent = order.AtSend();
  const auto b_sent = order.AtSend();  // B sent before A's answer: they are not ordered
  const auto a_answered = order.OnAnswer();
  const auto c_sent = order.AtSend();  // C sent after A's answer: A is ahead of C
  EXPECT_FALSE(a_answered <= b_sent);
  EXPECT_TRUE(a_answered <= c_sent);
  EXPECT_EQ(a_sent, b_sent);
}

TEST(Answers, NativeTicketAnswer) {
  const auto a = ParseTicketAnswer(
      R"({"room":"sale","status":"waiting","ticket":"AQ","position":7,"initialPosition":9,)"
      R"("queueSize":30,"etaSeconds":12,"etaRange":[8,20],"pollAfterMs":1200})");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->status, TicketAnswer::Status::kWaiting);
  EXPECT_EQ(a->ticket, "AQ");
  EXPECT_EQ(a->position, 7);
  EXPECT_EQ(a->eta_seconds, 12);
  EXPECT_EQ(a->eta_low, 8);
  EXPECT_EQ(a->eta_high, 20);
  EXPECT_EQ(a->poll_after_ms, 1200);

  const auto admitted = ParseTicketAnswer(
      R"({"status":"admitted","ticket":"AQ","position":0,"etaSeconds":0,"pollAfterMs":0,)"
      R"("token":"eyJ","sessionTimeoutSeconds":600,"etaRange":{"low":1,"high":2}})");
  ASSERT_TRUE(admitted);
  EXPECT_EQ(admitted->token, "eyJ");
  EXPECT_EQ(admitted->session_timeout_seconds, 600);
  EXPECT_EQ(admitted->eta_low, 1);

  const auto paused = ParseTicketAnswer(R"({"status":"waiting","etaSeconds":null})");
  ASSERT_TRUE(paused);
  EXPECT_FALSE(paused->eta_seconds);
  EXPECT_FALSE(ParseTicketAnswer("not json"));
  EXPECT_FALSE(ParseTicketAnswer(R"({"error":{"code":"x"}})"));
}

TEST(Answers, TracerAnswerInXmlAndJson) {
  const std::string xml =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Root xmlns=\"x\">\n\t<Parameters>\n"
      "\t<Parameter id=\"isWait\" type=\"String\">T</Parameter>\n"
      "\t<Parameter id=\"waitCnt\" type=\"String\">128</Parameter>\n"
      "\t<Parameter id=\"waitMyCnt\" type=\"String\">240</Parameter>\n\t</Parameters>\n</Root>\n";
  const auto a = ParseTracerAnswer(xml);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->is_wait, "T");
  EXPECT_EQ(a->wait_count, 128);
  EXPECT_EQ(a->wait_my_count, 240);
  const auto j = ParseTracerAnswer(R"({"isWait":"F","waitCnt":"0","waitMyCnt":"3"})");
  ASSERT_TRUE(j);
  EXPECT_EQ(j->is_wait, "F");
  EXPECT_FALSE(ParseTracerAnswer("<html>busy</html>"));
}

TEST(Answers, RoomInfo) {
  const auto r = ParseRoomInfo(
      R"({"room":"sale","mode":"fifo","queueSize":3,"active":1,"maxActive":100,"admitRate":2.5,"etaSeconds":1})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->mode, "fifo");
  EXPECT_EQ(r->max_active, 100);
  EXPECT_EQ(r->admit_rate, 2.5);
}

}  // namespace
}  // namespace vwr::loadgen
