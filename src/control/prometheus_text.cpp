#include "control/prometheus_text.hpp"

#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>

namespace vwr::control {

const std::string* PromSample::Label(std::string_view label) const {
  for (const auto& [k, v] : labels) {
    if (k == label) return &v;
  }
  return nullptr;
}

namespace {

bool IsNameStart(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == ':';
}
bool IsNameChar(char c) { return IsNameStart(c) || std::isdigit(static_cast<unsigned char>(c)); }

void SkipBlanks(std::string_view s, std::size_t& p) {
  while (p < s.size() && (s[p] == ' ' || s[p] == '\t')) ++p;
}

std::optional<double> ParseValue(std::string_view text) {
  if (text == "+Inf" || text == "Inf") return std::numeric_limits<double>::infinity();
  if (text == "-Inf") return -std::numeric_limits<double>::infinity();
  if (text == "NaN") return std::numeric_limits<double>::quiet_NaN();
  double v = 0;
  const char* begin = text.data();
  if (!text.empty() && text[0] == '+') ++begin;
  const auto [end, ec] = std::from_chars(begin, text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return v;
}

// `{label="value",...}` at s[p] == '{'; advances p past '}'.
bool ParseLabels(std::string_view s, std::size_t& p,
                 std::vector<std::pair<std::string, std::string>>& out, bool selector,
                 std::vector<std::pair<std::string, std::string>>* ops = nullptr) {
  ++p;  // '{'
  for (;;) {
    SkipBlanks(s, p);
    if (p < s.size() && s[p] == '}') {
      ++p;
      return true;
    }
    const std::size_t start = p;
    while (p < s.size() && IsNameChar(s[p])) ++p;
    if (p == start) return false;
    std::string label(s.substr(start, p - start));
    SkipBlanks(s, p);
    std::string op;
    if (s.substr(p, 2) == "=~" || s.substr(p, 2) == "!=" || s.substr(p, 2) == "!~") {
      if (!selector) return false;
      op = std::string(s.substr(p, 2));
      p += 2;
    } else if (p < s.size() && s[p] == '=') {
      op = "=";
      ++p;
    } else {
      return false;
    }
    SkipBlanks(s, p);
    if (p >= s.size() || s[p] != '"') return false;
    ++p;
    std::string value;
    for (;;) {
      if (p >= s.size()) return false;
      const char c = s[p++];
      if (c == '"') break;
      if (c == '\\') {
        if (p >= s.size()) return false;
        const char e = s[p++];
        value += e == 'n' ? '\n' : e;
      } else {
        value += c;
      }
      if (value.size() > 4096) return false;
    }
    out.emplace_back(std::move(label), std::move(value));
    if (ops != nullptr) ops->emplace_back(out.back().first, op);
    SkipBlanks(s, p);
    if (p < s.size() && s[p] == ',') {
      ++p;
      continue;
    }
    if (p < s.size() && s[p] == '}') {
      ++p;
      return true;
    }
    return false;
  }
}

}  // namespace

std::vector<PromSample> ParsePrometheusText(std::string_view text, std::size_t* bad_lines,
                                            std::size_t max_samples) {
  std::vector<PromSample> out;
  std::size_t bad = 0;
  std::size_t pos = 0;
  while (pos < text.size() && out.size() < max_samples) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    std::size_t p = 0;
    SkipBlanks(line, p);
    if (p == line.size() || line[p] == '#') continue;
    PromSample sample;
    const std::size_t start = p;
    if (!IsNameStart(line[p])) {
      ++bad;
      continue;
    }
    while (p < line.size() && IsNameChar(line[p])) ++p;
    sample.name = std::string(line.substr(start, p - start));
    if (p < line.size() && line[p] == '{' && !ParseLabels(line, p, sample.labels, false)) {
      ++bad;
      continue;
    }
    SkipBlanks(line, p);
    const std::size_t value_start = p;
    while (p < line.size() && line[p] != ' ' && line[p] != '\t') ++p;
    auto value = ParseValue(line.substr(value_start, p - value_start));
    SkipBlanks(line, p);
    // An optional timestamp follows; anything else makes the line bad.
    if (p < line.size()) {
      const std::size_t ts = p;
      while (p < line.size() &&
             (std::isdigit(static_cast<unsigned char>(line[p])) || line[p] == '-')) {
        ++p;
      }
      SkipBlanks(line, p);
      if (p != line.size() || p == ts) value.reset();
    }
    if (!value) {
      ++bad;
      continue;
    }
    sample.value = *value;
    out.push_back(std::move(sample));
  }
  if (bad_lines != nullptr) *bad_lines = bad;
  return out;
}

std::optional<PromSelector> PromSelector::Parse(std::string_view text, std::string* error) {
  auto fail = [&](std::string message) -> std::optional<PromSelector> {
    if (error != nullptr) *error = std::move(message);
    return std::nullopt;
  };
  PromSelector selector;
  std::size_t p = 0;
  SkipBlanks(text, p);
  const std::size_t start = p;
  if (p >= text.size() || !IsNameStart(text[p]))
    return fail("a selector starts with a metric name");
  while (p < text.size() && IsNameChar(text[p])) ++p;
  selector.name_ = std::string(text.substr(start, p - start));
  SkipBlanks(text, p);
  if (p < text.size() && text[p] == '{') {
    std::vector<std::pair<std::string, std::string>> labels, ops;
    if (!ParseLabels(text, p, labels, true, &ops)) {
      return fail("labels are written {name=\"value\", name=~\"regex\", ...}");
    }
    for (std::size_t i = 0; i < labels.size(); ++i) {
      Matcher m;
      m.label = labels[i].first;
      m.value = labels[i].second;
      const std::string& op = ops[i].second;
      m.op = op == "="    ? Matcher::Op::kEq
             : op == "!=" ? Matcher::Op::kNe
             : op == "=~" ? Matcher::Op::kRe
                          : Matcher::Op::kNre;
      if (m.op == Matcher::Op::kRe || m.op == Matcher::Op::kNre) {
        try {
          m.re = std::regex(m.value, std::regex::ECMAScript);
        } catch (const std::regex_error&) {
          return fail("label " + m.label + ": not a regular expression");
        }
      }
      selector.matchers_.push_back(std::move(m));
    }
  }
  SkipBlanks(text, p);
  if (p != text.size()) return fail("unexpected text after the selector");
  return selector;
}

bool PromSelector::Matches(const PromSample& sample, std::string_view name) const {
  if (sample.name != (name.empty() ? std::string_view(name_) : name)) return false;
  static const std::string kEmpty;
  for (const Matcher& m : matchers_) {
    const std::string* value = sample.Label(m.label);
    const std::string& v = value != nullptr ? *value : kEmpty;
    switch (m.op) {
      case Matcher::Op::kEq:
        if (v != m.value) return false;
        break;
      case Matcher::Op::kNe:
        if (v == m.value) return false;
        break;
      case Matcher::Op::kRe:
        if (!std::regex_match(v, m.re)) return false;
        break;
      case Matcher::Op::kNre:
        if (std::regex_match(v, m.re)) return false;
        break;
    }
  }
  return true;
}

std::optional<double> HistogramQuantile(double q, const std::map<double, double>& cumulative) {
  if (cumulative.empty()) return std::nullopt;
  const double total = cumulative.rbegin()->second;
  if (!(total > 0) || !std::isinf(cumulative.rbegin()->first)) return std::nullopt;
  const double rank = q * total;
  double lower = 0.0, below = 0.0;
  for (const auto& [le, count] : cumulative) {
    if (count >= rank) {
      if (std::isinf(le)) return lower;  // in the +Inf bucket: the highest finite bound
      if (count == below) return le;
      return lower + (le - lower) * (rank - below) / (count - below);
    }
    lower = le;
    below = count;
  }
  return lower;
}

std::optional<double> PromAggregator::Update(const std::vector<PromSample>& samples, double seconds,
                                             std::string* why) {
  auto none = [&](std::string message) -> std::optional<double> {
    if (why != nullptr) *why = std::move(message);
    return std::nullopt;
  };
  if (reading_ == PromReading::kQuantile) {
    std::map<double, double> buckets;
    const std::string bucket_name = selector_.name() + "_bucket";
    for (const auto& s : samples) {
      if (!selector_.Matches(s, bucket_name)) continue;
      const std::string* le = s.Label("le");
      if (le == nullptr) continue;
      auto bound = ParseValue(*le);
      if (!bound || std::isnan(*bound)) continue;
      buckets[*bound] += s.value;
    }
    if (buckets.empty()) return none("no series " + bucket_name + " matches");
    auto previous = std::move(last_buckets_);
    const bool first = !last_seconds_;
    last_buckets_ = buckets;
    last_seconds_ = seconds;
    if (first) return none("first scrape: the quantile needs two");
    std::map<double, double> window;
    for (const auto& [le, count] : buckets) {
      const auto it = previous.find(le);
      const double before = it == previous.end() ? 0.0 : it->second;
      if (count < before) return none("the histogram was reset");
      window[le] = count - before;
    }
    auto q = HistogramQuantile(quantile_, window);
    if (!q) return none("nothing observed since the last scrape");
    return q;
  }
  double sum = 0.0;
  bool any = false;
  for (const auto& s : samples) {
    if (selector_.Matches(s) && std::isfinite(s.value)) {
      sum += s.value;
      any = true;
    }
  }
  if (!any) return none("no series matches " + selector_.name());
  if (reading_ == PromReading::kGauge) return sum;
  const auto previous_seconds = last_seconds_;
  const double previous_sum = last_sum_;
  last_seconds_ = seconds;
  last_sum_ = sum;
  if (!previous_seconds) return none("first scrape: a rate needs two");
  if (sum < previous_sum) return none("the counter was reset");
  const double elapsed = seconds - *previous_seconds;
  if (!(elapsed > 0)) return none("no time passed since the last scrape");
  return (sum - previous_sum) / elapsed;
}

}  // namespace vwr::control
