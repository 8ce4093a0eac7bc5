// The `service:` section of the configuration.

#include <gtest/gtest.h>

#include "config/config.h"
#include "tests/support/test_support.h"

namespace tiersync {
namespace {

using testing::TempDir;
using testing::WriteText;

// Loads the Grand Bend test configuration with `service_yaml` appended.
Result<Config> LoadWithService(const TempDir& dir, const std::string& service_yaml) {
  std::string path = testing::WriteGrandBendConfig(dir);
  WriteText(path, testing::ReadText(path) + service_yaml);
  return LoadConfig(path);
}

TEST(ServiceConfig, DefaultsWithoutSection) {
  TempDir dir;
  auto config = LoadWithService(dir, "");
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->service.listen_address, "127.0.0.1");
  EXPECT_EQ(config->service.port, 8086);
  EXPECT_EQ(config->service.schedule.interval_minutes, 30);
  EXPECT_EQ(config->service.schedule.school_day_start_minute, 7 * 60);
  EXPECT_EQ(config->service.schedule.school_day_end_minute, 17 * 60);
  EXPECT_EQ(config->service.schedule.nightly_minute, 2 * 60);
  EXPECT_FALSE(config->service.schedule.run_on_closed_days);
  EXPECT_TRUE(config->service.push.token_file.empty());
}

TEST(ServiceConfig, ReadsEveryKey) {
  TempDir dir;
  WriteText(dir.File("token"), "0123456789abcdef0123\n");
  auto config = LoadWithService(dir, "service:\n"
                                     "  listen_address: \"::1\"\n"
                                     "  port: 0\n"
                                     "  port_file: port.txt\n"
                                     "  schedule:\n"
                                     "    interval_minutes: 20\n"
                                     "    school_day_start: \"06:45\"\n"
                                     "    school_day_end: \"16:00\"\n"
                                     "    nightly_reconciliation: \"23:30\"\n"
                                     "    run_on_closed_days: true\n"
                                     "  push:\n"
                                     "    token_file: token\n"
                                     "    date_format: us\n"
                                     "    max_body_bytes: 2048\n");
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->service.listen_address, "::1");
  EXPECT_EQ(config->service.port, 0);
  EXPECT_EQ(config->service.port_file, dir.File("port.txt"));
  EXPECT_EQ(config->service.schedule.interval_minutes, 20);
  EXPECT_EQ(config->service.schedule.school_day_start_minute, 6 * 60 + 45);
  EXPECT_EQ(config->service.schedule.school_day_end_minute, 16 * 60);
  EXPECT_EQ(config->service.schedule.nightly_minute, 23 * 60 + 30);
  EXPECT_TRUE(config->service.schedule.run_on_closed_days);
  EXPECT_EQ(config->service.push.token_file, dir.File("token"));
  EXPECT_EQ(config->service.push.date_format, DateFormat::kUs);
  EXPECT_EQ(config->service.push.max_body_bytes, 2048u);
}

TEST(ServiceConfig, ErrorsNameKeyAndFix) {
  struct Case {
    std::string yaml;
    std::string message;
  };
  std::vector<Case> cases = {
      {"service:\n  listen_address: localhost\n",
       "service.listen_address: 'localhost' is not an IPv4 or IPv6 address; use 127.0.0.1"},
      {"service:\n  port: 70000\n", "service.port: '70000' is not a whole number from 0 to 65535"},
      {"service:\n  schedule:\n    school_day_start: \"7:30\"\n",
       "service.schedule.school_day_start: '7:30' is not a time of day in the form HH:MM, e.g. 07:30"},
      {"service:\n  schedule:\n    school_day_start: \"18:00\"\n",
       "service.schedule.school_day_end: must be later than school_day_start"},
      {"service:\n  schedule:\n    every: 5\n", "service.schedule.every: unknown key"},
      {"service:\n  push:\n    token_file: missing-token\n", "token file "},
      {"service:\n  push:\n    token_credential: push-token\n",
       "CREDENTIALS_DIRECTORY is not set; run under systemd with LoadCredential=push-token:/path/to/token"},
  };
  for (const auto& test_case : cases) {
    TempDir dir;
    auto config = LoadWithService(dir, test_case.yaml);
    ASSERT_FALSE(config) << test_case.yaml;
    EXPECT_NE(config.error().message.find(test_case.message), std::string::npos)
        << "for:\n" << test_case.yaml << "got: " << config.error().message;
  }
}

TEST(ServiceConfig, TokenCredentialUsesCredentialsDirectory) {
  TempDir dir;
  WriteText(dir.File("credentials/push-token"), "0123456789abcdef0123\n");
  setenv("CREDENTIALS_DIRECTORY", dir.File("credentials").c_str(), 1);
  auto config = LoadWithService(dir, "service:\n  push:\n    token_credential: push-token\n");
  unsetenv("CREDENTIALS_DIRECTORY");
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->service.push.token_file, dir.File("credentials/push-token"));
}

}  // namespace
}  // namespace tiersync
