// The synergy section, synergy_report sources and the synergy sink in YAML.

#include <gtest/gtest.h>

#include "config/config.h"
#include "tests/support/test_support.h"

namespace tiersync {
namespace {

using testing::SourcePath;
using testing::TempDir;
using testing::WriteText;

// Returns a minimal configuration with a Synergy source and sink. `synergy_extra` adds keys
// to the synergy section and `task_attributes` replaces the task template's attributes.
std::string SynergyYaml(const TempDir& dir, const std::string& synergy_extra = "",
                        const std::string& task_attributes = "{ IDEMPOTENCY_KEY: \"{idempotency_key}\" }") {
  return "store: { path: " + dir.File("s.db") + " }\nplaybook: " + SourcePath("config/playbook.yaml") +
         "\nsynergy:\n  url: https://127.0.0.1:9443\n  user: svc\n  password_file: " + dir.File("pw") + "\n" +
         synergy_extra +
         "sources:\n  - name: sis\n    type: synergy_report\n    reports:\n"
         "      daily_attendance: { report_id: U-ATT, columns: { student_id: SIS_NUMBER, code: CODE } }\n"
         "sink:\n  type: synergy\n  templates:\n    task: { element: T, attributes: " +
         task_attributes +
         " }\n    contact: { element: C, attributes: { K: \"{idempotency_key}\" } }\n"
         "    notice: { element: N, attributes: { K: \"{idempotency_key}\" } }\n"
         "  key_check: { report_id: U-KEYS, options: { KEYS: \"{keys}\" } }\n";
}

TEST(SynergyConfig, ExampleConfigurationLoads) {
  auto config = LoadConfig(SourcePath("config/examples/synergy-simulator.yaml"));
  ASSERT_TRUE(config.ok()) << config.error().message;
  ASSERT_TRUE(config->synergy.has_value());
  EXPECT_EQ(config->synergy->session.credentials.password, "simulator-password");
  EXPECT_TRUE(config->synergy->http.tls.verify);
  EXPECT_EQ(config->synergy->http.tls.ca_file, SourcePath("tests/simulator/certs/ca.pem"));
  ASSERT_TRUE(config->synergy_sink.has_value());
  EXPECT_EQ(config->synergy_sink->templates.size(), 3u);
  ASSERT_EQ(config->sources.size(), 1u);
  const auto& source = std::get<SynergyReportSourceConfig>(config->sources[0]);
  EXPECT_EQ(source.reports.size(), 5u);
}

TEST(SynergyConfig, PasswordComesFromFile) {
  TempDir dir;
  WriteText(dir.File("pw"), "s3cret\n");
  WriteText(dir.File("c.yaml"), SynergyYaml(dir));
  auto config = LoadConfig(dir.File("c.yaml"));
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->synergy->session.credentials.password, "s3cret");
  EXPECT_EQ(config->synergy->session.protocol, synergy::Protocol::kForm);
  EXPECT_EQ(config->synergy->session.min_login_interval.count(), 3000);
  EXPECT_TRUE(config->synergy_sink->check_before_every_send);
}

TEST(SynergyConfig, MissingPasswordFileIsAnError) {
  TempDir dir;
  WriteText(dir.File("c.yaml"), SynergyYaml(dir));
  auto config = LoadConfig(dir.File("c.yaml"));
  ASSERT_FALSE(config.ok());
  EXPECT_NE(config.error().message.find("synergy.password_file"), std::string::npos) << config.error().message;
}

TEST(SynergyConfig, InsecureSkipVerifyIsExplicit) {
  TempDir dir;
  WriteText(dir.File("pw"), "x");
  WriteText(dir.File("c.yaml"), SynergyYaml(dir, "  tls: { insecure_skip_verify: true }\n"));
  auto config = LoadConfig(dir.File("c.yaml"));
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_FALSE(config->synergy->http.tls.verify);
}

TEST(SynergyConfig, TemplateWithoutKeyIsAnError) {
  TempDir dir;
  WriteText(dir.File("pw"), "x");
  WriteText(dir.File("c.yaml"), SynergyYaml(dir, "", "{ SIS_NUMBER: \"{student_id}\" }"));
  auto config = LoadConfig(dir.File("c.yaml"));
  ASSERT_FALSE(config.ok());
  EXPECT_NE(config.error().message.find("{idempotency_key}"), std::string::npos) << config.error().message;
  EXPECT_NE(config.error().message.find("sink.templates.task"), std::string::npos) << config.error().message;
}

TEST(SynergyConfig, ReportSourceNeedsSynergySection) {
  TempDir dir;
  WriteText(dir.File("c.yaml"),
            "store: { path: " + dir.File("s.db") + " }\nplaybook: " + SourcePath("config/playbook.yaml") +
                "\nsources:\n  - name: sis\n    type: synergy_report\n    reports:\n"
                "      calendar: { report_id: U-CAL }\n");
  auto config = LoadConfig(dir.File("c.yaml"));
  ASSERT_FALSE(config.ok());
  EXPECT_NE(config.error().message.find("needs the top-level synergy section"), std::string::npos)
      << config.error().message;
}

TEST(SynergyConfig, UnknownReportFieldIsAnError) {
  TempDir dir;
  WriteText(dir.File("pw"), "x");
  std::string yaml = SynergyYaml(dir);
  yaml.replace(yaml.find("code: CODE"), 10, "color: RED");
  WriteText(dir.File("c.yaml"), yaml);
  auto config = LoadConfig(dir.File("c.yaml"));
  ASSERT_FALSE(config.ok());
  EXPECT_NE(config.error().message.find("unknown field"), std::string::npos) << config.error().message;
}

}  // namespace
}  // namespace tiersync
