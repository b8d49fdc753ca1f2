// Linked into every unit-test binary: spdlog's registry is built here, on the main thread,
// before any test starts a thread. Otherwise a test run alone may first log from two threads
// at once (two Redis client threads connecting), and ThreadSanitizer, which cannot see the
// uninstrumented libspdlog's one-time initialisation, reports that as a race.
#include <spdlog/spdlog.h>

namespace {
[[maybe_unused]] const bool kLoggingReady = spdlog::default_logger_raw() != nullptr;
}  // namespace
