// `statewatch check-config FILE`: everything statewatchd would refuse at start, found without
// starting it — YAML errors with FILE:LINE:COLUMN, rules, receivers (their token and secret
// files must be readable) and each source's options as its collector checks them.
//
// Thread-safety: pure function of the file system.
#pragma once

#include <string>

#include "statewatch/state/status.h"

namespace statewatch::agent {

// OK with a one-line summary ("3 sources, 8 rules, 1 receiver") in *summary, or the first error.
// "engine" sources name backends that exist only inside a running application; their options
// are not checked here.
Status CheckConfigFile(const std::string& path, std::string* summary);

}  // namespace statewatch::agent
