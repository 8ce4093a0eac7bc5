// The incremental fast path against a from-scratch recomputation, on a generated district
// of 10,000 students. A backfill, new days of attendance, a corrected record from weeks
// earlier and a reconciliation must leave the same tiers, totals, absence days and tier
// changes as one sync of all the files into a fresh store.

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "bench/district_generator.h"
#include "config/config.h"
#include "daemon/cycle.h"
#include "engine/tier_engine.h"
#include "tests/support/test_support.h"

namespace tiersync {
namespace {

using testing::TempDir;

// The generated district's first 30 instructional days keep the test to seconds. They
// still cross the 10-day minimum, an in-service day, transfers and withdrawals.
constexpr int kBackfillDays = 28;
constexpr int kStudents = 10000;

struct StoreDump {
  std::vector<std::string> tier_states;
  std::vector<std::string> absence_days;
  std::vector<std::string> kept_aside;
  std::vector<std::string> tier_changes;
};

std::vector<std::string> Rows(Store& store, const std::string& sql, int columns) {
  std::vector<std::string> rows;
  auto statement = store.db().Prepare(sql);
  while (statement.Step()) {
    std::string row;
    for (int i = 0; i < columns; ++i) row += statement.Text(i) + "|";
    rows.push_back(std::move(row));
  }
  return rows;
}

StoreDump Dump(Store& store, const Config& config) {
  StoreDump dump;
  dump.tier_states = testing::TierStateRows(store, config, false);
  dump.absence_days = Rows(store,
                           "SELECT student_id, school_year, date, school_id, amount, excused, unexcused "
                           "FROM absence_day ORDER BY school_year, student_id, date",
                           7);
  dump.kept_aside = Rows(store,
                         "SELECT student_id, school_year, date, school_id, period, category, reason, detail "
                         "FROM kept_aside_event ORDER BY school_year, student_id, date, period, category",
                         8);
  // Only changes that still hold: the fast path may have recorded and then superseded some.
  dump.tier_changes = Rows(store,
                           "SELECT student_id, school_year, change_date, from_tier, to_tier, occurrence "
                           "FROM tier_change WHERE superseded_at IS NULL "
                           "ORDER BY school_year, student_id, change_date",
                           6);
  return dump;
}

Config LoadOrFail(const std::string& path) {
  auto config = LoadConfig(path);
  EXPECT_TRUE(config.ok()) << config.error().message;
  return std::move(*config);
}

CsvSourceConfig& Attendance(Config& config) {
  for (auto& source : config.sources) {
    if (auto* csv = std::get_if<CsvSourceConfig>(&source); csv && csv->name == "attendance") return *csv;
  }
  throw std::logic_error("no attendance source");
}

CycleOptions ReconcileOptions() {
  CycleOptions options;
  options.full_reconciliation = true;
  return options;
}

void SyncOrFail(const Config& config, Store& store, Date as_of, const CycleOptions& options = {}) {
  auto summary = RunCycle(config, store, as_of, 1700000000, options);
  ASSERT_TRUE(summary.ok()) << summary.error().message;
}

TEST(DistrictEquivalence, FastPathMatchesFromScratch) {
  spdlog::level::level_enum saved_level = spdlog::get_level();
  spdlog::set_level(spdlog::level::warn);  // one line per origin would flood the test log
  struct RestoreLevel {
    spdlog::level::level_enum level;
    ~RestoreLevel() { spdlog::set_level(level); }
  } restore{saved_level};
  TempDir dir;
  bench::DistrictSpec spec;
  spec.students = kStudents;
  spec.seed = 7;
  bench::District district(spec);
  auto paths = district.WriteCsv(dir.path(), kBackfillDays);
  ASSERT_TRUE(paths.ok()) << paths.error().message;
  auto config_path = bench::WriteDistrictConfig(dir.path(), testing::SourcePath("config/playbook.yaml"), *paths);
  ASSERT_TRUE(config_path.ok()) << config_path.error().message;
  Config config = LoadOrFail(*config_path);

  // The fast path: a backfill, then two new days, then a corrected record.
  auto fast_store = Store::Open(dir.File("fast.db"));
  ASSERT_TRUE(fast_store.ok()) << fast_store.error().message;
  Store& fast = **fast_store;
  SyncOrFail(config, fast, district.days()[kBackfillDays - 1]);
  for (int day = kBackfillDays; day < kBackfillDays + 2; ++day) {
    auto path = district.WriteAttendanceDay(dir.path(), day);
    ASSERT_TRUE(path.ok()) << path.error().message;
    Attendance(config).paths.push_back(*path);
    SyncOrFail(config, fast, district.days()[day]);
  }
  Date as_of = district.days()[kBackfillDays + 1];

  // A corrected record: an absence excused weeks later, and a day's file rewritten with
  // one student's attendance changed, which goes through the per-origin diff.
  std::string corrections = dir.File("corrections.csv");
  std::string row;
  for (const auto& student : district.students()) {
    row.clear();
    district.AppendDayRows(student, 5, row);
    if (row.find(",Unexcused Absence,") != std::string::npos && row.find(",P") == std::string::npos) break;
  }
  ASSERT_FALSE(row.empty());
  std::string excused = row.substr(0, row.find(",Unexcused Absence,")) + ",Excused Absence,,Doctor's note\n";
  testing::WriteText(corrections, "student_id,school_id,date,period,code,duration,reason\n" + excused);
  Attendance(config).paths.push_back(corrections);
  SyncOrFail(config, fast, as_of);

  std::string day_file = (*paths)[10];
  std::string text = testing::ReadText(day_file);
  auto first_row = text.find('\n') + 1;
  auto code = text.find(",In Attendance,", first_row);
  ASSERT_NE(code, std::string::npos);
  text.replace(code, std::string(",In Attendance,").size(), ",Unexcused Absence,");
  testing::WriteText(day_file, text);
  SyncOrFail(config, fast, as_of);
  SyncOrFail(config, fast, as_of, ReconcileOptions());

  // From scratch: every file into a fresh store in one sync.
  auto scratch_store = Store::Open(dir.File("scratch.db"));
  ASSERT_TRUE(scratch_store.ok()) << scratch_store.error().message;
  Store& scratch = **scratch_store;
  SyncOrFail(config, scratch, as_of);

  StoreDump fast_dump = Dump(fast, config);
  StoreDump scratch_dump = Dump(scratch, config);
  EXPECT_GT(fast_dump.tier_states.size(), static_cast<size_t>(kStudents * 9 / 10));
  EXPECT_GT(fast_dump.absence_days.size(), 0u);
  EXPECT_GT(fast_dump.kept_aside.size(), 0u);
  EXPECT_EQ(fast_dump.tier_states, scratch_dump.tier_states);
  EXPECT_EQ(fast_dump.absence_days, scratch_dump.absence_days);
  EXPECT_EQ(fast_dump.kept_aside, scratch_dump.kept_aside);
  EXPECT_EQ(fast_dump.tier_changes, scratch_dump.tier_changes);

  // The engine's in-memory recomputation from events agrees with both stores.
  TierEngine engine(scratch, config.engine);
  std::map<std::string, int> computed;
  for (const auto& tier : engine.ComputeTiers(as_of)) computed[tier.student_id] = tier.tier;
  auto stored = scratch.LoadTierStates(config.engine.year_start.YearOf(as_of).start_year);
  ASSERT_EQ(computed.size(), stored.size());
  for (const auto& [student_id, state] : stored) EXPECT_EQ(computed[student_id], state.tier) << student_id;

  // About one student in four is chronically absent (10% or more) across the district.
  size_t chronic = 0;
  for (const auto& [student_id, state] : stored) chronic += state.tier >= 3 ? 1 : 0;
  EXPECT_GT(chronic, stored.size() / 6);
  EXPECT_LT(chronic, stored.size() / 3);
}

TEST(DistrictGenerator, SameSeedWritesSameFiles) {
  TempDir first;
  TempDir second;
  bench::DistrictSpec spec;
  spec.students = 300;
  spec.seed = 11;
  ASSERT_TRUE(bench::District(spec).WriteCsv(first.path(), 3).ok());
  ASSERT_TRUE(bench::District(spec).WriteCsv(second.path(), 3).ok());
  for (const char* name : {"calendar.csv", "enrollments.csv"}) {
    EXPECT_EQ(testing::ReadText(first.File(name)), testing::ReadText(second.File(name))) << name;
  }
  bench::District district(spec);
  std::string day = district.days()[2].ToString();
  EXPECT_EQ(testing::ReadText(first.File("attendance/" + day + ".csv")),
            testing::ReadText(second.File("attendance/" + day + ".csv")));
  EXPECT_EQ(district.days().size(), 180u);
}

TEST(DistrictGenerator, EdFiFilesParse) {
  TempDir dir;
  bench::DistrictSpec spec;
  spec.students = 200;
  bench::District district(spec);
  auto paths = district.WriteEdFi(dir.path());
  ASSERT_TRUE(paths.ok()) << paths.error().message;
  size_t events = 0;
  for (const auto& path : *paths) {
    auto snapshot = ParseEdFiXml("edfi:" + path, path, testing::ReadText(path));
    ASSERT_TRUE(snapshot.ok()) << snapshot.error().message;
    EXPECT_TRUE(snapshot->rejected.empty()) << path;
    events += snapshot->events.size();
  }
  EXPECT_GT(events, 200u);
}

}  // namespace
}  // namespace tiersync
