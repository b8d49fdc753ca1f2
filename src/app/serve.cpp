#include "app/serve.hpp"

#include "app/node.hpp"
#include "util/clock.hpp"

namespace vwr::app {

int Serve(const ConfigSource& source, const config::Config& config) {
  Node node(source, config, util::SystemClock::Instance());
  if (!node.BuildKeys() || !node.BuildStore() || !node.BuildGuard() || !node.BuildHandlers() ||
      !node.BuildListeners()) {
    return 1;
  }
  node.Run();
  return 0;
}

}  // namespace vwr::app
