#include "loadgen/report.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <cmath>
#include <string_view>

#include "loadgen/report_assets.hpp"

namespace vwr::loadgen {
namespace json = boost::json;
namespace {

double Round(double v, int digits = 3) {
  const double f = std::pow(10.0, digits);
  return std::round(v * f) / f;
}

json::object LatencyObject(const Histogram& h) {
  json::object o;
  o["count"] = h.count();
  o["p50"] = Round(h.Quantile(0.50) / 1000.0);
  o["p90"] = Round(h.Quantile(0.90) / 1000.0);
  o["p99"] = Round(h.Quantile(0.99) / 1000.0);
  o["p999"] = Round(h.Quantile(0.999) / 1000.0);
  o["max"] = Round(static_cast<double>(h.max()) / 1000.0);
  o["mean"] = Round(h.mean() / 1000.0);
  return o;
}

json::value Optional(std::optional<double> v) {
  if (!v) return nullptr;
  return Round(*v, 4);
}

std::optional<double> EtaMedian(const CrowdStats& s) {
  if (s.eta_scored == 0) return std::nullopt;
  return s.eta_rel_error_permille.Quantile(0.5) / 1000.0;
}

std::optional<double> Share(std::uint64_t part, std::uint64_t whole) {
  if (whole == 0) return std::nullopt;
  return static_cast<double>(part) / static_cast<double>(whole);
}

std::string FailureKey(std::size_t i) { return FailureName(static_cast<Failure>(i)); }

// What --fail-on asked for, in a fixed order.
std::vector<std::string> AskedChecks(const FailOn& f) {
  std::vector<std::string> asked;
  if (f.fifo) asked.emplace_back("fifo");
  if (f.positions) asked.emplace_back("positions");
  if (f.active) asked.emplace_back("active");
  if (f.errors) asked.emplace_back("errors");
  return asked;
}

std::string EscapeHtml(std::string_view text) {
  std::string out;
  for (const char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// The page's verdict, written into it (not by its script), so that it shows in any viewer:
// nothing when no check was asked for.
std::string Verdict(const Results& r) {
  const std::vector<std::string> asked = AskedChecks(r.fail_on);
  if (asked.empty()) return {};
  if (r.failed_checks.empty()) {
    return fmt::format("<div class=\"verdict ok\" id=\"verdict\">PASSED: {}</div>\n",
                       EscapeHtml(fmt::format("{}", fmt::join(asked, ", "))));
  }
  return fmt::format("<div class=\"verdict bad\" id=\"verdict\">FAILED: {}</div>\n",
                     EscapeHtml(fmt::format("{}", fmt::join(r.failed_checks, "; "))));
}

}  // namespace

std::uint64_t Results::Requests() const {
  std::uint64_t n = room_request_sent ? 1 : 0;
  for (const EndpointStats& e : stats.endpoints) n += e.sent;
  return n;
}

std::uint64_t Results::Errors() const { return stats.errors; }

void ApplyFailOn(Results& r) {
  r.failed_checks.clear();
  if (r.fail_on.fifo && r.stats.fifo_violations > 0) {
    r.failed_checks.push_back(fmt::format("fifo: {} FIFO violations", r.stats.fifo_violations));
  }
  if (r.fail_on.positions && r.stats.position_increases > 0) {
    r.failed_checks.push_back(
        fmt::format("positions: {} positions increased", r.stats.position_increases));
  }
  if (r.fail_on.errors && r.Errors() > 0) {
    r.failed_checks.push_back(fmt::format("errors: {} errors", r.Errors()));
  }
  if (r.fail_on.active && r.room && r.room->max_active >= 0 && r.peak_active > r.room->max_active) {
    r.failed_checks.push_back(fmt::format("active: {} sessions held at once, max_active {}",
                                          r.peak_active, r.room->max_active));
  }
}

std::string RenderJson(const Results& r) {
  const Plan& plan = *r.plan;
  const CrowdStats& s = r.stats;
  json::object o;
  o["tool"] = "vwr loadgen";
  o["room"] = plan.room;
  json::array targets;
  for (const Target& t : plan.targets) targets.emplace_back(t.url);
  o["targets"] = std::move(targets);
  o["protocol"] = plan.protocol.text;
  o["arrivals"] = plan.arrivals.text;
  if (!plan.scenario.empty()) o["scenario"] = plan.scenario;
  o["scale"] = plan.scale;
  o["speed"] = plan.speed;
  o["hold"] = plan.hold.ToString();
  o["duration_s"] = Round(std::chrono::duration<double>(plan.duration).count());
  o["elapsed_s"] = Round(r.elapsed_s);
  o["threads"] = plan.threads;
  o["connections_per_target"] = plan.connections;

  const std::uint64_t requests = r.Requests();
  o["requests"] = requests;
  o["rps"] = Round(r.elapsed_s > 0 ? static_cast<double>(requests) / r.elapsed_s : 0, 1);
  json::object by_endpoint, outcomes, latency;
  for (std::size_t i = 0; i < kEndpointCount; ++i) {
    const EndpointStats& e = s.endpoints[i];
    const char* name = EndpointName(static_cast<Endpoint>(i));
    std::uint64_t sent = e.sent;
    if (static_cast<Endpoint>(i) == Endpoint::kRoom && r.room_request_sent) ++sent;
    by_endpoint[name] = sent;
    json::object out;
    for (const auto& [code, n] : e.by_status) out[std::to_string(code)] = n;
    for (std::size_t f = 1; f < e.failures.size(); ++f) {
      if (e.failures[f] > 0) out["error_" + FailureKey(f)] = e.failures[f];
    }
    if (!out.empty()) outcomes[name] = std::move(out);
    if (e.latency_us.count() > 0) latency[name] = LatencyObject(e.latency_us);
  }
  o["by_endpoint"] = std::move(by_endpoint);
  o["outcomes"] = std::move(outcomes);
  o["latency_ms"] = std::move(latency);
  json::object answers;
  for (const auto& [k, n] : s.answers) answers[k] = n;
  o["answers"] = std::move(answers);

  o["arrived"] = s.arrived;
  o["native_people"] = s.native_people;
  o["tracer_people"] = s.tracer_people;
  o["admitted"] = s.admitted;
  o["admitted_at_join"] = s.admitted_at_join;
  o["fail_open"] = s.fail_open;
  o["abandoned"] = s.abandoned;
  o["gave_back"] = s.gave_back;
  o["left"] = s.left;
  o["went_idle"] = s.went_idle;
  o["sessions_lost"] = s.sessions_lost;
  o["expired"] = s.expired;
  o["rejoins"] = s.rejoins;
  o["reloads"] = s.reloads;
  o["reloads_lost_place"] = s.reloads_lost_place;
  o["refused"] = s.refused;
  o["waiting_at_end"] = r.waiting_at_end;
  o["active_at_end"] = r.active_at_end;

  o["errors"] = r.Errors();
  json::object errors_by_kind;
  std::array<std::uint64_t, 5> failures{};
  std::map<int, std::uint64_t> statuses;
  for (const EndpointStats& e : s.endpoints) {
    for (std::size_t f = 0; f < failures.size(); ++f) failures[f] += e.failures[f];
    for (const auto& [code, n] : e.by_status) {
      if (code >= 400) statuses[code] += n;
    }
  }
  for (std::size_t f = 1; f < failures.size(); ++f) errors_by_kind[FailureKey(f)] = failures[f];
  for (const auto& [code, n] : statuses) errors_by_kind["http_" + std::to_string(code)] = n;
  o["errors_by_kind"] = std::move(errors_by_kind);

  o["fifo_violations"] = s.fifo_violations;
  o["fifo_within_slack"] = s.fifo_stale;
  o["position_increases"] = s.position_increases;
  o["polls_checked"] = s.polls_checked;
  o["peak_active"] = r.peak_active;
  o["peak_waiting"] = r.peak_waiting;
  if (r.room && r.room->max_active >= 0) {
    o["max_active"] = r.room->max_active;
  } else {
    o["max_active"] = nullptr;
  }
  if (r.room) {
    o["room_mode"] = r.room->mode;
    o["room_admit_rate"] = r.room->admit_rate;
  }
  o["eta_median_rel_error"] = Optional(EtaMedian(s));
  o["eta_p90_rel_error"] =
      s.eta_scored ? json::value(Round(s.eta_rel_error_permille.Quantile(0.9) / 1000.0, 4))
                   : json::value(nullptr);
  o["eta_scored_polls"] = s.eta_scored;
  o["eta_over_share"] = Optional(Share(s.eta_over, s.eta_scored));
  o["eta_range_polls"] = s.eta_range_polls;
  o["eta_range_hit_share"] = Optional(Share(s.eta_range_hits, s.eta_range_polls));

  json::object wait;
  wait["count"] = s.wait_ms.count();
  for (const auto& [name, q] : {std::pair{"p50", 0.5}, {"p90", 0.9}, {"p99", 0.99}}) {
    wait[name] = Round(s.wait_ms.Quantile(q) / 1000.0);
  }
  wait["max"] = Round(static_cast<double>(s.wait_ms.max()) / 1000.0);
  wait["mean"] = Round(s.wait_ms.mean() / 1000.0);
  o["wait_s"] = std::move(wait);
  json::array wait_cdf;  // [percentile, seconds] for the chart
  for (int pct = 0; pct <= 100; pct += 2) {
    wait_cdf.emplace_back(json::array{pct, Round(s.wait_ms.Quantile(pct / 100.0) / 1000.0)});
  }
  o["wait_cdf"] = std::move(wait_cdf);

  json::object pool;
  pool["connections_opened"] = s.connections_opened;
  pool["queue_wait_ms"] = LatencyObject(s.pool_wait_us);
  o["pool"] = std::move(pool);

  // Per-second series, for the charts and for anyone plotting them again.
  const std::size_t n = std::max(s.seconds.size(), r.waiting_series.size());
  json::array t, rps, admissions, arrivals, errs, waiting, active, p50, p99;
  std::array<json::array, 4> outcome_series;
  json::object per_endpoint;
  std::array<json::array, kEndpointCount> ep_series;
  for (std::size_t i = 0; i < n; ++i) {
    t.emplace_back(i);
    const SecondStats* sec = i < s.seconds.size() ? &s.seconds[i] : nullptr;
    std::uint64_t total = 0;
    for (std::size_t e = 0; e < kEndpointCount; ++e) {
      const std::uint64_t v = sec ? sec->requests[e] : 0;
      total += v;
      ep_series[e].emplace_back(v);
    }
    rps.emplace_back(total);
    admissions.emplace_back(sec ? sec->admissions : 0);
    arrivals.emplace_back(sec ? sec->arrivals : 0);
    errs.emplace_back(sec ? sec->errors : 0);
    for (std::size_t k = 0; k < outcome_series.size(); ++k) {
      outcome_series[k].emplace_back(sec ? sec->outcomes[k] : 0);
    }
    waiting.emplace_back(i < r.waiting_series.size() ? r.waiting_series[i] : 0);
    active.emplace_back(i < r.active_series.size() ? r.active_series[i] : 0);
    if (sec && sec->latency_us.count() > 0) {
      p50.emplace_back(Round(sec->latency_us.Quantile(0.5) / 1000.0));
      p99.emplace_back(Round(sec->latency_us.Quantile(0.99) / 1000.0));
    } else {
      p50.emplace_back(nullptr);
      p99.emplace_back(nullptr);
    }
  }
  for (std::size_t e = 0; e < kEndpointCount; ++e) {
    per_endpoint[EndpointName(static_cast<Endpoint>(e))] = std::move(ep_series[e]);
  }
  json::object series;
  series["t"] = std::move(t);
  series["rps"] = std::move(rps);
  series["by_endpoint"] = std::move(per_endpoint);
  series["admissions"] = std::move(admissions);
  series["arrivals"] = std::move(arrivals);
  series["errors"] = std::move(errs);
  json::object outcomes_per_second;
  static constexpr const char* kOutcomeNames[] = {"ok", "4xx", "5xx", "no_answer"};
  for (std::size_t k = 0; k < outcome_series.size(); ++k) {
    outcomes_per_second[kOutcomeNames[k]] = std::move(outcome_series[k]);
  }
  series["outcomes"] = std::move(outcomes_per_second);
  series["waiting"] = std::move(waiting);
  series["active"] = std::move(active);
  series["latency_p50_ms"] = std::move(p50);
  series["latency_p99_ms"] = std::move(p99);
  o["series"] = std::move(series);

  json::array asked;
  for (const std::string& c : AskedChecks(r.fail_on)) asked.emplace_back(c);
  o["checks"] = std::move(asked);
  json::array checks;
  for (const std::string& c : r.failed_checks) checks.emplace_back(c);
  o["failed_checks"] = std::move(checks);
  o["failed"] = !r.failed_checks.empty();
  return json::serialize(o) + "\n";
}

std::string RenderText(const Results& r) {
  const CrowdStats& s = r.stats;
  std::string out;
  auto line = [&out]<typename... T>(fmt::format_string<T...> f, T&&... args) {
    out += fmt::format(f, std::forward<T>(args)...);
    out += '\n';
  };
  const std::uint64_t requests = r.Requests();
  line("vwr loadgen: room {} on {} target(s), {} arrivals, {:.1f} s", r.plan->room,
       r.plan->targets.size(), r.plan->arrivals.text, r.elapsed_s);
  line("  requests     {} ({:.0f}/s), errors {}", requests,
       r.elapsed_s > 0 ? static_cast<double>(requests) / r.elapsed_s : 0.0, r.Errors());
  line("  {:<17} {:>9} {:>9} {:>9} {:>9} {:>9}", "endpoint", "requests", "p50 ms", "p99 ms",
       "max ms", "errors");
  for (std::size_t i = 0; i < kEndpointCount; ++i) {
    const EndpointStats& e = s.endpoints[i];
    std::uint64_t sent = e.sent;
    if (static_cast<Endpoint>(i) == Endpoint::kRoom && r.room_request_sent) ++sent;
    if (sent == 0 && e.latency_us.count() == 0) continue;
    std::uint64_t errors = 0;
    for (std::size_t f = 1; f < e.failures.size(); ++f) errors += e.failures[f];
    for (const auto& [code, n] : e.by_status) errors += code >= 400 ? n : 0;
    line("  {:<17} {:>9} {:>9.2f} {:>9.2f} {:>9.2f} {:>9}", EndpointName(static_cast<Endpoint>(i)),
         sent, e.latency_us.Quantile(0.5) / 1000, e.latency_us.Quantile(0.99) / 1000,
         static_cast<double>(e.latency_us.max()) / 1000, errors);
  }
  line(
      "  people       {} arrived, {} admitted ({} at once), {} abandoned, {} reloads, {} still "
      "waiting",
      s.arrived, s.admitted, s.admitted_at_join, s.abandoned, s.reloads, r.waiting_at_end);
  line("  wait         p50 {:.1f} s, p90 {:.1f} s, p99 {:.1f} s, max {:.1f} s",
       s.wait_ms.Quantile(0.5) / 1000, s.wait_ms.Quantile(0.9) / 1000,
       s.wait_ms.Quantile(0.99) / 1000, static_cast<double>(s.wait_ms.max()) / 1000);
  line("  sessions     peak {} held at once (max_active {}), peak {} waiting", r.peak_active,
       r.room && r.room->max_active >= 0 ? std::to_string(r.room->max_active) : "unknown",
       r.peak_waiting);
  line("  fairness     {} FIFO violations, {} positions increased ({} polls checked)",
       s.fifo_violations, s.position_increases, s.polls_checked);
  if (s.eta_scored > 0) {
    line("  ETA          median relative error {:.1f} % ({} polls scored, {:.0f} % too high)",
         s.eta_rel_error_permille.Quantile(0.5) / 10, s.eta_scored,
         100.0 * static_cast<double>(s.eta_over) / static_cast<double>(s.eta_scored));
  } else {
    line("  ETA          not scored (nobody who saw an estimate was admitted)");
  }
  if (s.eta_range_polls > 0) {
    line("  ETA range    real wait inside etaRange on {:.1f} % of {} polls",
         100.0 * static_cast<double>(s.eta_range_hits) / static_cast<double>(s.eta_range_polls),
         s.eta_range_polls);
  }
  line("  tool         {} connections opened, pool wait p99 {:.2f} ms", s.connections_opened,
       s.pool_wait_us.Quantile(0.99) / 1000);
  for (const std::string& c : r.failed_checks) line("  FAILED       {}", c);
  return out;
}

std::string RenderHtml(const Results& r) {
  std::string data = RenderJson(r);
  // The data sits in a <script> element: nothing in it may close that element.
  std::string safe;
  safe.reserve(data.size());
  for (std::size_t i = 0; i < data.size(); ++i) {
    if (data[i] == '<') {
      safe += "\\u003c";
    } else {
      safe += data[i];
    }
  }
  std::string page = R"(<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>vwr loadgen report</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
)";
  page += UplotCss();
  page += R"(
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#1d2430;background:#fff}
h1{font-size:20px;margin:0 0 4px} h2{font-size:16px;margin:28px 0 8px}
.meta{color:#5a6475;margin-bottom:16px}
.cards{display:flex;flex-wrap:wrap;gap:12px}
.card{border:1px solid #d8dde6;border-radius:6px;padding:10px 14px;min-width:140px}
.card b{display:block;font-size:20px}
.bad b{color:#b3261e} .ok b{color:#1e7b34}
table{border-collapse:collapse;margin:6px 0} td,th{border-bottom:1px solid #e3e7ee;padding:4px 10px;text-align:right}
th:first-child,td:first-child{text-align:left}
.chart{margin:8px 0 20px} .note{color:#5a6475}
.verdict{font-weight:600;padding:8px 12px;border-radius:6px;margin:0 0 14px}
.verdict.ok{background:#e6f4ea;color:#1e7b34} .verdict.bad{background:#fce8e6;color:#b3261e}
</style></head><body>
<h1>vwr loadgen report</h1>
<div class="meta" id="meta"></div>
)";
  page += Verdict(r);
  page += R"(<div class="cards" id="cards"></div>
<div id="charts"></div>
<h2>Endpoints</h2><table id="endpoints"></table>
<h2>People</h2><table id="people"></table>
<p class="note" id="nochart"></p>
<script type="application/json" id="data">)";
  page += safe;
  page += "</script>\n<script>\n";
  page += UplotJs();
  page += R"(
</script>
<script>
(function () {
  const D = JSON.parse(document.getElementById('data').textContent);
  const $ = (id) => document.getElementById(id);
  const fmt = (v, d) => v === null || v === undefined ? '–' :
      (typeof v === 'number' ? v.toLocaleString('en', {maximumFractionDigits: d === undefined ? 2 : d}) : String(v));
  const text = (el, s) => { el.textContent = s; return el; };
  text($('meta'), 'room ' + D.room + ' · ' + D.targets.join(', ') + ' · arrivals ' + D.arrivals +
      (D.scenario && D.arrivals !== 'scenario:' + D.scenario ? ' (' + D.scenario + ')' : '') + ' · scale ' + D.scale + ' · protocol ' + D.protocol +
      ' · hold ' + D.hold + ' · ' + fmt(D.elapsed_s, 1) + ' s');
  const cards = [
    ['requests', D.requests], ['requests/s', D.rps], ['admitted', D.admitted],
    ['errors', D.errors, D.errors > 0], ['FIFO violations', D.fifo_violations, D.fifo_violations > 0],
    ['positions increased', D.position_increases, D.position_increases > 0],
    ['peak sessions held', D.peak_active + (D.max_active !== null ? ' / ' + D.max_active : ''),
     D.max_active !== null && D.peak_active > D.max_active],
    ['peak waiting', D.peak_waiting],
    ['wait p50 / p99 s', fmt(D.wait_s.p50, 1) + ' / ' + fmt(D.wait_s.p99, 1)],
    ['ETA median error', D.eta_median_rel_error === null ? '–' : fmt(100 * D.eta_median_rel_error, 1) + ' %'],
  ];
  for (const [label, value, bad] of cards) {
    const c = document.createElement('div');
    c.className = 'card ' + (bad === undefined ? '' : bad ? 'bad' : 'ok');
    const b = document.createElement('b');
    text(b, typeof value === 'number' ? fmt(value, 1) : value);
    c.appendChild(b);
    c.appendChild(document.createTextNode(label));
    $('cards').appendChild(c);
  }
  const table = (el, head, rows) => {
    const tr = document.createElement('tr');
    for (const h of head) tr.appendChild(text(document.createElement('th'), h));
    el.appendChild(tr);
    for (const row of rows) {
      const r = document.createElement('tr');
      for (const v of row) r.appendChild(text(document.createElement('td'), typeof v === 'number' ? fmt(v) : v));
      el.appendChild(r);
    }
  };
  table($('endpoints'), ['endpoint', 'requests', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'outcomes'],
      Object.keys(D.by_endpoint).filter((k) => D.by_endpoint[k] > 0).map((k) => {
        const l = D.latency_ms[k] || {};
        const o = D.outcomes[k] || {};
        return [k, D.by_endpoint[k], l.p50, l.p90, l.p99, l.max,
                Object.keys(o).map((c) => c + ': ' + o[c]).join(', ')];
      }));
  table($('people'), ['figure', 'value'], [
    ['arrived', D.arrived], ['admitted', D.admitted], ['admitted at join', D.admitted_at_join],
    ['abandoned', D.abandoned], ['gave their place back', D.gave_back], ['left at the end', D.left],
    ['went idle', D.went_idle], ['expired (called, not claimed)', D.expired], ['reloads', D.reloads],
    ['reloads that lost their place', D.reloads_lost_place], ['refused (full, closed, NE)', D.refused],
    ['still waiting at the end', D.waiting_at_end], ['polls checked for fairness', D.polls_checked],
    ['ETA polls scored', D.eta_scored_polls], ['ETA too high (share)', D.eta_over_share],
    ['real wait inside etaRange (share)', D.eta_range_hit_share],
    ['connections opened', D.pool.connections_opened], ['pool wait p99 ms', D.pool.queue_wait_ms.p99],
  ]);
  if (typeof uPlot === 'undefined') {
    text($('nochart'), 'Charts are missing: this build had no uPlot (run scripts/install-browser-deps and rebuild).');
    return;
  }
  const S = D.series;
  const width = Math.max(600, Math.min(1200, document.body.clientWidth - 48));
  const colors = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];
  // `right`: {label, from}: the series from index `from` on get an axis of their own on the
  // right (sessions held next to a line of thousands waiting).
  const plot = (title, xLabel, yLabel, names, columns, x, right) => {
    const div = document.createElement('div');
    div.className = 'chart';
    $('charts').appendChild(div);
    const onRight = (i) => right !== undefined && i >= right.from;
    new uPlot({
      title, width, height: 240,
      scales: {x: {time: false}, y: {range: (u, min, max) => [0, Math.max(1, max * 1.05)]},
               r: {range: (u, min, max) => [0, Math.max(1, max * 1.05)]}},
      axes: [{label: xLabel}, {label: yLabel, scale: 'y'}].concat(right === undefined ? [] :
          [{label: right.label, scale: 'r', side: 1, grid: {show: false}}]),
      series: [{label: xLabel}].concat(names.map((n, i) => ({label: n, stroke: colors[i % colors.length],
                                                              width: 1.5, scale: onRight(i) ? 'r' : 'y'}))),
    }, [x || S.t].concat(columns), div);
  };
  const eps = Object.keys(S.by_endpoint).filter((k) => S.by_endpoint[k].some((v) => v > 0));
  plot('Requests per second, by endpoint', 's', 'requests/s', eps, eps.map((k) => S.by_endpoint[k]));
  const limit = D.max_active === null ? [] : [S.t.map(() => D.max_active)];
  plot('People waiting and sessions held', 's', 'people waiting',
       ['waiting', 'sessions held'].concat(D.max_active === null ? [] : ['max_active']),
       [S.waiting, S.active].concat(limit), undefined, {label: 'sessions', from: 1});
  plot('Arrivals and admissions per second', 's', 'people/s', ['arrivals', 'admissions'],
       [S.arrivals, S.admissions]);
  plot('Latency (all endpoints)', 's', 'ms', ['p50', 'p99'], [S.latency_p50_ms, S.latency_p99_ms]);
  const outs = Object.keys(S.outcomes);
  plot('Answers per second, by outcome', 's', 'answers/s', outs, outs.map((k) => S.outcomes[k]));
  plot('Wait from arrival to admission (distribution)', 'percentile', 's', ['wait'],
       [D.wait_cdf.map((p) => p[1])], D.wait_cdf.map((p) => p[0]));
})();
</script>
</body></html>
)";
  return page;
}

}  // namespace vwr::loadgen
