// HELP text for the canonical signals (DESIGN.md, "Canonical signals") as /metrics exports them.
//
// Thread-safety: pure function.
#pragma once

#include <string>
#include <string_view>

namespace statewatch::agent {

// The help line for a collected signal; a generic one for names not in the table.
std::string SignalHelp(std::string_view series);

}  // namespace statewatch::agent
