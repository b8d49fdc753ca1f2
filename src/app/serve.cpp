#include "app/serve.hpp"

#include <pthread.h>

#include <csignal>

#include "app/node.hpp"
#include "util/clock.hpp"

namespace vwr::app {

int Serve(const ConfigSource& source, const config::Config& config) {
  // SIGHUP, SIGINT and SIGTERM go to the control thread only: every thread the node starts
  // inherits this mask, and Run() lets them in on this thread. A signal sent while the node is
  // still starting waits for Run(); none interrupts a worker's system call or is handled on a
  // thread busy with something else.
  sigset_t control_signals;
  sigemptyset(&control_signals);
  for (int signal : {SIGHUP, SIGINT, SIGTERM}) sigaddset(&control_signals, signal);
  pthread_sigmask(SIG_BLOCK, &control_signals, nullptr);
  Node node(source, config, util::SystemClock::Instance());
  if (!node.BuildKeys() || !node.BuildStore() || !node.BuildGuard() || !node.BuildHandlers() ||
      !node.BuildListeners()) {
    return 1;
  }
  pthread_sigmask(SIG_UNBLOCK, &control_signals, nullptr);
  node.Run();
  return 0;
}

}  // namespace vwr::app
