#include <gtest/gtest.h>

#include <filesystem>

#include "config/config.h"
#include "tests/support/test_support.h"

namespace tiersync {
namespace {

using testing::SourcePath;
using testing::TempDir;
using testing::WriteText;

TEST(Config, ExampleConfigurationLoads) {
  auto config = LoadConfig(SourcePath("config/examples/grand-bend.yaml"));
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->engine.rules.version, "2024-08-01+2025.1");
  EXPECT_EQ(config->engine.rules.thresholds.size(), 3u);
  EXPECT_EQ(config->engine.rules.thresholds[1].from_percent_units, 10 * kUnitsPerDay);
  EXPECT_EQ(config->sources.size(), 3u);
  ASSERT_TRUE(config->file_sink.has_value());
  EXPECT_EQ(config->store_path, SourcePath("var/grand-bend.db"));
  EXPECT_EQ(config->engine.rules.FindCode("uri://ed-fi.org/AttendanceEventCategoryDescriptor#Partial")->default_amount,
            kUnitsPerDay / 2);
  EXPECT_EQ(config->engine.playbook.rules.size(), 14u);
  EXPECT_EQ(config->engine.playbook.schools.size(), 3u);
  EXPECT_EQ(config->engine.playbook.schools.at("255901107").level, "elementary");
}

TEST(Config, DefaultPlaybookCoversEveryTier) {
  auto playbook = LoadPlaybook(SourcePath("config/playbook.yaml"));
  ASSERT_TRUE(playbook.ok()) << playbook.error().message;
  std::set<std::pair<Trigger, int>> covered;
  for (const auto& rule : playbook->rules) covered.insert({rule.trigger, rule.tier});
  for (int tier = 2; tier <= 4; ++tier) {
    EXPECT_TRUE(covered.count({Trigger::kTierEntered, tier})) << tier;
    EXPECT_TRUE(covered.count({Trigger::kTierLeftDownward, tier})) << tier;
  }
}

// Writes a configuration whose rules section is `rules_yaml` and returns the load error.
std::string LoadError(const TempDir& dir, const std::string& body) {
  WriteText(dir.File("c.yaml"), body);
  auto config = LoadConfig(dir.File("c.yaml"));
  EXPECT_FALSE(config.ok());
  return config.ok() ? std::string() : config.error().message;
}

std::string MinimalConfig(const TempDir& dir, const std::string& rules) {
  WriteText(dir.File("cal.csv"), "school_id,date\n");
  return "store:\n  path: db.sqlite\nplaybook: " + SourcePath("config/playbook.yaml") + "\n" + rules +
         "sources:\n  - name: cal\n    type: csv\n    kind: calendar\n    paths: [cal.csv]\n";
}

TEST(Config, PathsAreAbsoluteHoweverTheConfigurationIsNamed) {
  TempDir dir;
  WriteText(dir.File("c.yaml"), MinimalConfig(dir, ""));
  std::string relative = std::filesystem::relative(dir.File("c.yaml")).string();
  ASSERT_FALSE(std::filesystem::path(relative).is_absolute());
  auto by_absolute = LoadConfig(dir.File("c.yaml"));
  auto by_relative = LoadConfig(relative);
  ASSERT_TRUE(by_absolute.ok()) << by_absolute.error().message;
  ASSERT_TRUE(by_relative.ok()) << by_relative.error().message;
  // Origins are named after these paths, so both spellings must name the same files.
  EXPECT_EQ(by_relative->store_path, dir.File("db.sqlite"));
  EXPECT_EQ(by_absolute->store_path, dir.File("db.sqlite"));
  auto paths = [](const Config& config) { return std::get<CsvSourceConfig>(config.sources.at(0)).paths; };
  EXPECT_EQ(paths(*by_relative), std::vector<std::string>{dir.File("cal.csv")});
  EXPECT_EQ(paths(*by_absolute), paths(*by_relative));
}

TEST(Config, ErrorsNameFileLineKeyAndFix) {
  TempDir dir;
  std::string error = LoadError(dir, MinimalConfig(dir, "rules:\n  version: v1\n  tiers:\n    - { tier: 2, from_percent: 5 }\n    - { tier: 3, from_percent: ten }\n"));
  EXPECT_NE(error.find(dir.File("c.yaml") + ":8:32:"), std::string::npos) << error;
  EXPECT_NE(error.find("rules.tiers[1].from_percent"), std::string::npos) << error;
  EXPECT_NE(error.find("'ten' is not a number"), std::string::npos) << error;
}

TEST(Config, RejectsUnknownKeys) {
  TempDir dir;
  std::string error = LoadError(dir, MinimalConfig(dir, "rules:\n  version: v1\n  min_enroled_days: 10\n"));
  EXPECT_NE(error.find("rules.min_enroled_days: unknown key"), std::string::npos) << error;
}

TEST(Config, RejectsThresholdsOutOfOrder) {
  TempDir dir;
  std::string error = LoadError(
      dir, MinimalConfig(dir, "rules:\n  version: v1\n  tiers:\n    - { tier: 2, from_percent: 10 }\n    - { tier: 3, from_percent: 5 }\n"));
  EXPECT_NE(error.find("must be above the previous tier's from_percent"), std::string::npos) << error;
}

TEST(Config, RejectsMissingSourceFile) {
  TempDir dir;
  WriteText(dir.File("c.yaml"), "store:\n  path: db.sqlite\nplaybook: " + SourcePath("config/playbook.yaml") +
                                    "\nsources:\n  - name: cal\n    type: csv\n    kind: calendar\n    paths: [nowhere.csv]\n");
  auto config = LoadConfig(dir.File("c.yaml"));
  ASSERT_FALSE(config.ok());
  EXPECT_NE(config.error().message.find("sources[0].paths[0]: file " + dir.File("nowhere.csv") + " not found"),
            std::string::npos)
      << config.error().message;
}

TEST(Config, RejectsUnknownCountsAsAndDuplicateCodes) {
  TempDir dir;
  std::string error = LoadError(
      dir, MinimalConfig(dir, "rules:\n  version: v1\n  attendance_codes:\n    EXC: { counts_as: maybe }\n"));
  EXPECT_NE(error.find("'maybe' is not one of: excused, unexcused, not_absent"), std::string::npos) << error;
  error = LoadError(dir, MinimalConfig(dir, "rules:\n  version: v1\n  attendance_codes:\n    EXC: { counts_as: excused }\n    exc: { counts_as: excused }\n"));
  EXPECT_NE(error.find("listed twice"), std::string::npos) << error;
}

TEST(Config, RejectsBadPlaybook) {
  TempDir dir;
  WriteText(dir.File("p.yaml"),
            "version: v\nrules:\n  - when: { entered_tier: 2 }\n    actions:\n      - { id: a, kind: task, role: janitor, due_in_instructional_days: 3, title: T }\n");
  auto playbook = LoadPlaybook(dir.File("p.yaml"));
  ASSERT_FALSE(playbook.ok());
  EXPECT_NE(playbook.error().message.find("rules[0].actions[0].role: 'janitor' is not one of"), std::string::npos)
      << playbook.error().message;
}

TEST(Config, InvalidYamlNamesThePosition) {
  TempDir dir;
  std::string error = LoadError(dir, "store:\n  path: [unclosed\n");
  EXPECT_NE(error.find("invalid YAML"), std::string::npos) << error;
  EXPECT_NE(error.find(dir.File("c.yaml") + ":"), std::string::npos) << error;
}

TEST(Config, MissingFileIsReported) {
  auto config = LoadConfig("/nonexistent/tiersync.yaml");
  ASSERT_FALSE(config.ok());
  EXPECT_NE(config.error().message.find("/nonexistent/tiersync.yaml: file not found"), std::string::npos);
}

TEST(Config, FingerprintChangesWithRules) {
  TempDir dir;
  WriteText(dir.File("a.yaml"), MinimalConfig(dir, "rules:\n  version: v1\n"));
  WriteText(dir.File("b.yaml"), MinimalConfig(dir, "rules:\n  version: v1\n  min_enrolled_days: 12\n"));
  auto a = LoadConfig(dir.File("a.yaml"));
  auto b = LoadConfig(dir.File("b.yaml"));
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok());
  EXPECT_NE(a->engine.rules_fingerprint, b->engine.rules_fingerprint);
  EXPECT_EQ(a->engine.rules_fingerprint, LoadConfig(dir.File("a.yaml"))->engine.rules_fingerprint);
}

}  // namespace
}  // namespace tiersync
