// The tiersync command line, run as a user would run it.

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "tests/support/test_support.h"

namespace tiersync {
namespace {

using testing::RunCommand;
using testing::TempDir;

std::string Tiersync(const std::string& arguments) { return testing::TiersyncBinary() + " " + arguments; }

class Cli : public ::testing::Test {
 protected:
  void SetUp() override { config_ = testing::WriteGrandBendConfig(dir_); }
  TempDir dir_;
  std::string config_;
};

TEST_F(Cli, SyncPrintsTheSummary) {
  auto result = RunCommand(Tiersync("sync --config " + config_ + " --as-of 2022-05-27 2>/dev/null"));
  EXPECT_EQ(result.status, 0);
  EXPECT_NE(result.output.find("students per tier: 227 students; Tier 1: 131, Tier 2: 52, Tier 3: 44, Tier 4: 0"),
            std::string::npos)
      << result.output;
  EXPECT_NE(result.output.find("records read: 2723"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("records kept aside: 6 events"), std::string::npos) << result.output;

  auto again = RunCommand(Tiersync("sync --config " + config_ + " --as-of 2022-05-27 2>/dev/null"));
  EXPECT_EQ(again.status, 0);
  EXPECT_NE(again.output.find("records changed: 0"), std::string::npos) << again.output;
  EXPECT_NE(again.output.find("students recomputed: 0, evaluated: 0"), std::string::npos) << again.output;
  EXPECT_NE(again.output.find("tasks created: 0"), std::string::npos) << again.output;
}

TEST_F(Cli, TiersCsvHasTheExactColumns) {
  ASSERT_EQ(RunCommand(Tiersync("sync --config " + config_ + " --as-of 2022-05-27 2>/dev/null")).status, 0);
  auto result = RunCommand(Tiersync("tiers --config " + config_ + " --as-of 2022-05-27 --format csv"));
  ASSERT_EQ(result.status, 0);
  EXPECT_EQ(result.output.substr(0, result.output.find('\n')),
            "student_id,school_id,enrolled_days,absent_days,excused_days,unexcused_days,absence_rate,tier");
  EXPECT_NE(result.output.find("\n604822,255901001,169,4,4,0,0.0237,1\n"), std::string::npos);
  EXPECT_NE(result.output.find("\n604842,255901107,169,17,17,0,0.1006,3\n"), std::string::npos);
  EXPECT_NE(result.output.find("\n604877,255901107,169,18,0,18,0.1065,3\n"), std::string::npos);
  EXPECT_EQ(std::count(result.output.begin(), result.output.end(), '\n'), 228);

  // The same store also reports tiers at an earlier date.
  auto october = RunCommand(Tiersync("tiers --config " + config_ + " --as-of 2021-10-01 --format json"));
  ASSERT_EQ(october.status, 0);
  EXPECT_EQ(october.output.front(), '[');
  EXPECT_NE(october.output.find("{\"student_id\":\"604822\",\"school_id\":\"255901001\",\"enrolled_days\":29,"
                                "\"absent_days\":1,\"excused_days\":1,\"unexcused_days\":0,\"absence_rate\":0.0345,"
                                "\"tier\":1}"),
            std::string::npos)
      << october.output.substr(0, 400);
}

TEST_F(Cli, ExplainShowsDaysEventsAndRule) {
  ASSERT_EQ(RunCommand(Tiersync("sync --config " + config_ + " --as-of 2022-05-27 2>/dev/null")).status, 0);
  auto result = RunCommand(Tiersync("explain --config " + config_ + " --student 604822 --as-of 2022-05-27"));
  ASSERT_EQ(result.status, 0);
  EXPECT_NE(result.output.find("school 255901001 from 2021-08-23 to (no exit): 169 instructional days"),
            std::string::npos)
      << result.output;
  EXPECT_NE(result.output.find("2021-12-15  school 255901001  1 day (1 excused, 0 unexcused)"), std::string::npos);
  EXPECT_NE(result.output.find("absent 4 of 169 days enrolled"), std::string::npos);
  EXPECT_NE(result.output.find("Tier at 2022-05-27: 1"), std::string::npos);

  auto unknown = RunCommand(Tiersync("explain --config " + config_ + " --student 999 --as-of 2022-05-27 2>&1"));
  EXPECT_EQ(unknown.status, 1);
  EXPECT_NE(unknown.output.find("student 999 has no enrollment or attendance event"), std::string::npos);
}

TEST_F(Cli, DataQualityListsTheSundayEvents) {
  ASSERT_EQ(RunCommand(Tiersync("sync --config " + config_ + " --as-of 2022-05-27 2>/dev/null")).status, 0);
  auto result = RunCommand(Tiersync("data-quality --config " + config_));
  ASSERT_EQ(result.status, 0);
  EXPECT_NE(result.output.find("Attendance events kept aside (not counted): 6"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("non_instructional_day: 6"), std::string::npos);
  EXPECT_NE(result.output.find("student 604891, 2022-05-15"), std::string::npos);
  EXPECT_NE(result.output.find("declares 81 instructional days, calendar has 81 (matches)"), std::string::npos);
}

TEST_F(Cli, CheckConfigAcceptsGoodAndRejectsBad) {
  auto good = RunCommand(Tiersync("check-config " + config_));
  EXPECT_EQ(good.status, 0);
  EXPECT_NE(good.output.find(": valid"), std::string::npos);

  std::string bad = dir_.File("bad.yaml");
  testing::WriteText(bad, testing::ReadText(config_) + "surprise: 1\n");
  auto result = RunCommand(Tiersync("check-config " + bad + " 2>&1"));
  EXPECT_EQ(result.status, 2);
  EXPECT_NE(result.output.find(bad + ":"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("surprise: unknown key"), std::string::npos) << result.output;
}

TEST_F(Cli, BadConfigurationExitsBeforeAnythingStarts) {
  std::string bad = dir_.File("bad.yaml");
  testing::WriteText(bad, testing::ReadText(config_) + "rules:\n  version: x\n  tiers: 5\n");
  auto result = RunCommand(Tiersync("sync --config " + bad + " --as-of 2022-05-27 2>&1"));
  EXPECT_EQ(result.status, 2);
  EXPECT_FALSE(std::filesystem::exists(dir_.File("tiersync.db")));
}

TEST_F(Cli, BadAsOfDateIsRejected) {
  auto result = RunCommand(Tiersync("sync --config " + config_ + " --as-of 2022-02-30 2>&1"));
  EXPECT_EQ(result.status, 2);
  EXPECT_NE(result.output.find("--as-of '2022-02-30' is not a date; give it as YYYY-MM-DD"), std::string::npos)
      << result.output;
}

TEST_F(Cli, ReportCommandsNeedASyncedStore) {
  auto result = RunCommand(Tiersync("tiers --config " + config_ + " --as-of 2022-05-27 2>&1"));
  EXPECT_EQ(result.status, 1);
  EXPECT_NE(result.output.find("run `tiersync sync` first"), std::string::npos) << result.output;
}

TEST_F(Cli, FileSinkWritesCsvAndImportDataXml) {
  ASSERT_EQ(RunCommand(Tiersync("sync --config " + config_ + " --as-of 2022-05-27 2>/dev/null")).status, 0);
  std::string csv = testing::ReadText(dir_.File("out/tiersync-actions-1-200.csv"));
  std::string xml = testing::ReadText(dir_.File("out/tiersync-actions-1-200.xml"));
  EXPECT_EQ(csv.substr(0, csv.find('\n')),
            "idempotency_key,kind,action_id,student_id,school_id,school_year,role,title,due_date,change_date,from_tier,"
            "to_tier,trigger,reason,rules_version,notice_template,outbox_id");
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 201);
  EXPECT_NE(xml.find("<ROOT>"), std::string::npos);
  EXPECT_EQ(static_cast<size_t>(std::count(xml.begin(), xml.end(), '\n')), 203u);
  EXPECT_NE(xml.find("<TIERSYNC_ACTION IDEMPOTENCY_KEY=\""), std::string::npos);
}

}  // namespace
}  // namespace tiersync
