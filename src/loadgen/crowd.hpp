#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "loadgen/answers.hpp"
#include "loadgen/arrivals.hpp"
#include "loadgen/fairness.hpp"
#include "loadgen/http_client.hpp"
#include "loadgen/spec.hpp"
#include "loadgen/stats.hpp"

namespace vwr::loadgen {

// Everything a run needs, resolved from the command line.
struct Plan {
  std::vector<Target> targets;
  std::string room;
  ArrivalSpec arrivals;
  std::string scenario;  // the preset's name, when one was used
  double scale = 1.0;
  double speed = 1.0;
  Duration duration = std::chrono::seconds(30);
  ProtocolMix protocol;
  DurationDistribution hold;
  AbandonSpec abandon;
  double leave_share = 1.0;   // --session-end
  double reload_share = 0.0;  // --reload
  UserIds user_ids;
  std::optional<Duration> heartbeat;  // --heartbeat; default a third of the session timeout
  Duration tracer_poll = std::chrono::seconds(1);
  std::string tracer_host;       // TRACER's `host` field; default the target's host
  std::string tracer_page_url;   // TRACER's `pageUrl` field
  std::uint64_t max_people = 0;  // --people: the schedule ends after that many (0: no cap)
  std::size_t connections = 64;  // per target, shared by the worker threads
  unsigned threads = 2;
  Duration timeout = std::chrono::seconds(10);
  Duration drain = std::chrono::seconds(10);
  Duration fifo_slack{};
  std::uint64_t seed = 1;
  std::string run_id;  // in every userId / loginId, so that two runs never share identities
};

// What the worker threads share: the fairness trackers and the live figures.
struct Shared {
  FairnessTracker by_ticket;  // people whose ticket shows its number
  FairnessTracker by_call;    // the others (TRACER, opaque tickets): order of first calls
  CallOrder call_order;
  LiveFigures live;
  util::TimePoint start;
};

// One worker thread's share of the crowd: every `count`-th person of the arrival schedule,
// starting with person `index`, each a small state machine driven by its answers and one
// timer heap, over one connection pool per target.
//
// A person (native):   join ─▶ waiting: status every pollAfterMs ─▶ admitted: heartbeat ─▶ leave
//                              │ (abandon: stop, or leave with the ticket)   (or go idle)
//                              └ reload: join again with the kept ticket
// A person (TRACER):   checkBotIp.do ─▶ inputQueue.do every --tracer-poll while `T` ─▶ `F`:
//                      hold ─▶ outQueue.do (or go idle)
//
// Repeated TRACER identities (--user-ids pool:N): the server keeps one place (or session) per
// loginId, so the people who share one are one user's visits. A visit that arrives while an
// earlier visit of its loginId is still open is that user reloading the page: it takes the
// earlier visit over (its place, its wait so far, its session), after the earlier visit's
// request in flight is answered, so that the server sees the identity's calls one at a time
// and the report counts its place once. A loginId whose last visit ended without outQueue.do
// (idle, silent abandonment) may still hold a place or session for a while that the tool cannot
// see: the next visit takes the next generation of that id (a new identity) instead. The people
// sharing a loginId always run on one worker thread.
//
// Open loop: people arrive on schedule whatever the server answers; each person has at most
// one request outstanding, as a browser tab would. Runs on its own io_context; not
// thread-safe, touched only from its thread (Shared is).
class Worker final : public AnswerSink {
 public:
  Worker(unsigned index, unsigned count, const Plan& plan, Shared& shared,
         const util::Clock& clock);
  ~Worker() override;

  // Runs the schedule for plan.duration, then waits up to plan.drain for answers still out.
  void Run();
  const CrowdStats& stats() const { return stats_; }

  void OnAnswer(std::uint64_t cookie, const Answer& answer) override;

 private:
  struct Person;
  enum class Step : std::uint8_t;

  using Time = util::TimePoint;
  Time Now() const { return clock_.Now(); }
  std::size_t SecondOf(Time t) const;

  void Arrive(Time now);
  // A TRACER visit `who` that shares its loginId (--user-ids pool:N): takes over the identity's
  // open visit, now or once that visit's request in flight is answered.
  void JoinIdentity(std::uint32_t who, Time now);
  void TakeOver(std::uint32_t from, std::uint32_t to, Time now);
  bool SharesIdentity(const Person& p) const;
  void Wake(std::uint32_t who, Time now);
  void Schedule(std::uint32_t who, Time due);
  void Act(Person& p, Step step, Time now);
  void Issue(Person& p, Step step, Time now);
  void OnTimer();
  void ArmTimer(Time now);
  void Finish();

  void HandleAnswer(Person& p, const Answer& a);
  void OnTicketAnswer(Person& p, Step step, const Answer& a, Time now);
  void OnTracerAnswer(Person& p, Step step, const Answer& a, Time now);
  // A waiting answer after the first: did the position grow, was someone behind let in first?
  void CheckFairness(Person& p, std::int64_t position);
  // Keeps the answer's estimate, to score against the real wait once the person is admitted.
  void KeepEta(Person& p, const TicketAnswer& answer, Time now);
  void Waiting(Person& p, std::int64_t position, Time now, Duration next_poll);
  void Admitted(Person& p, bool first_answer, Time now);
  void EndWait(Person& p);
  void EndSession(Person& p);
  void ScoreEtas(Person& p, Time admitted);
  void RetryLater(Person& p, Step step, Time now);
  void Done(Person& p);
  std::string UserId(const Person& p) const;
  std::string TracerForm(const Person& p, bool with_identity) const;

  unsigned index_;
  unsigned count_;
  const Plan& plan_;
  Shared& shared_;
  const util::Clock& clock_;
  asio::io_context io_;
  asio::steady_timer timer_;
  Time armed_for_{Time::max()};
  std::vector<std::unique_ptr<ConnectionPool>> pools_;
  std::vector<Person> people_;
  // This worker's share of the --user-ids pool, for TRACER visits: the latest visit of each
  // loginId and the generation of the id it sends.
  struct IdentitySlot {
    std::int64_t latest = -1;
    std::uint32_t generation = 0;
  };
  std::vector<IdentitySlot> identities_;
  // Min-heap of (due, person, generation): each person's next action.
  struct Wakeup {
    Time due;
    std::uint32_t who;
    std::uint32_t generation;
    bool operator>(const Wakeup& o) const { return due > o.due; }
  };
  std::vector<Wakeup> heap_;
  ArrivalSchedule schedule_;
  std::uint64_t schedule_index_ = 0;      // people of the schedule seen so far (all workers')
  std::optional<Duration> next_arrival_;  // offset from the start
  Time end_;
  Time drain_until_;
  Time next_sweep_;
  bool ending_ = false;
  bool finished_ = false;
  std::mt19937_64 rng_;
  std::uniform_real_distribution<double> uniform_{0.0, 1.0};
  CrowdStats stats_;
  std::string paths_[kEndpointCount];  // request paths, with the room
};

}  // namespace vwr::loadgen
