// Secrets (bearer tokens, HMAC keys) come from files, never from the config text or a flag, so
// they do not end up in `ps`, in the journal or in a config someone pastes into a ticket.
//
// Thread-safety: pure functions (one file read).
#pragma once

#include <string>

#include "statewatch/state/status.h"

namespace statewatch::agent {

// The first line of `path` without trailing whitespace (files end with a newline). IOError
// naming `what` and the path when it cannot be read; InvalidArgument when it is empty. The
// secret itself is never part of a message.
Result<std::string> ReadSecretFile(const std::string& path, const std::string& what);

// Compares a presented secret with the expected one in time independent of where they differ
// (only of the presented length), so a token cannot be guessed byte by byte.
bool SecretEquals(const std::string& presented, const std::string& expected);

}  // namespace statewatch::agent
