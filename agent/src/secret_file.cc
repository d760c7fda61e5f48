#include "statewatch/agent/secret_file.h"

#include <cctype>
#include <fstream>

namespace statewatch::agent {

Result<std::string> ReadSecretFile(const std::string& path, const std::string& what) {
  std::ifstream in(path);
  if (!in) return Status::IOError(what + ": cannot read " + path);
  std::string line;
  std::getline(in, line);
  while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) line.pop_back();
  if (line.empty()) return Status::InvalidArgument(what + ": " + path + " is empty");
  return line;
}

bool SecretEquals(const std::string& presented, const std::string& expected) {
  unsigned char diff = presented.size() == expected.size() ? 0 : 1;
  for (size_t i = 0; i < presented.size(); ++i) {
    const unsigned char e =
        expected.empty() ? 0 : static_cast<unsigned char>(expected[i % expected.size()]);
    diff |= static_cast<unsigned char>(presented[i]) ^ e;
  }
  return diff == 0 && !expected.empty();
}

}  // namespace statewatch::agent
