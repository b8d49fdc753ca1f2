#pragma once

#include <string_view>

namespace vwr::loadgen {

// uPlot's script and style sheet (src/loadgen/report/node_modules, from npm), compiled in by
// embed_report_assets.cmake so that the HTML report works offline. Empty when the build had no
// uPlot (scripts/install-browser-deps installs it): the report then has tables only.
std::string_view UplotJs();
std::string_view UplotCss();

}  // namespace vwr::loadgen
