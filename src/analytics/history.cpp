#include "analytics/history.hpp"

namespace vwr::analytics {

std::int64_t SecondsOf(Step step) {
  switch (step) {
    case Step::kSecond:
      return 1;
    case Step::kMinute:
      return 60;
    case Step::kHour:
      return 3600;
  }
  return 60;
}

std::string_view StepName(Step step) {
  switch (step) {
    case Step::kSecond:
      return "1s";
    case Step::kMinute:
      return "1m";
    case Step::kHour:
      return "1h";
  }
  return "1m";
}

}  // namespace vwr::analytics
