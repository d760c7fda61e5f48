// FilesystemCollector: statvfs of a real directory, and a missing one named.
#include "statewatch/collectors/filesystem.h"

#include <gtest/gtest.h>
#include <sys/statvfs.h>

#include "collectors/samples.h"
#include "embedded-state/test_util.h"
#include "statewatch/collectors/registry.h"

namespace statewatch::collectors {
namespace {

using statewatch::collectors::testing::Find;
using statewatch::testing::TempDir;

TEST(FilesystemCollectorTest, ReportsTheFilesystemOfTheDirectory) {
  TempDir dir;
  auto collector = BuiltinCollectors().Create(
      "filesystem", CollectorParams{"data", "statewatchd", {{"path", dir.path()}}});
  ASSERT_TRUE(collector.ok()) << collector.status().ToString();
  std::vector<rules::Sample> samples;
  ASSERT_SW_OK((*collector)->Collect(7, &samples));
  struct statvfs fs {};
  ASSERT_EQ(::statvfs(dir.path().c_str(), &fs), 0);
  const auto size = Find(samples, "statewatch_filesystem_size_bytes",
                         {{"path", dir.path()}, {"job", "statewatchd"}, {"source", "data"}});
  ASSERT_TRUE(size.has_value());
  EXPECT_EQ(*size, static_cast<double>(fs.f_blocks) * static_cast<double>(fs.f_frsize));
  const auto avail = Find(samples, "statewatch_filesystem_avail_bytes", {{"path", dir.path()}});
  ASSERT_TRUE(avail.has_value());
  EXPECT_GT(*avail, 0);
  EXPECT_LE(*avail, *size);
}

TEST(FilesystemCollectorTest, MissingDirectoryIsNotFoundNamingIt) {
  TempDir dir;
  FilesystemCollector collector("job", "src", dir.Sub("gone"));
  std::vector<rules::Sample> samples;
  const Status s = collector.Collect(1, &samples);
  EXPECT_TRUE(s.IsNotFound()) << s.ToString();
  EXPECT_NE(s.message().find(dir.Sub("gone")), std::string::npos);
  EXPECT_TRUE(samples.empty());
  // And the option is required.
  auto bad = BuiltinCollectors().Create("filesystem", CollectorParams{"data", "j", {}});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("path"), std::string::npos);
}

}  // namespace
}  // namespace statewatch::collectors
