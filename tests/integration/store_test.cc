// The SQLite store on a real file: migrations, idempotent snapshot upserts, deletions,
// cursors, and the incremental engine's recompute counts.

#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "daemon/cycle.h"
#include "engine/tier_engine.h"
#include "store/schema.h"
#include "store/store.h"
#include "tests/support/test_support.h"

namespace tiersync {
namespace {

using testing::TempDir;

Date D(const char* text) { return *Date::Parse(text); }

Snapshot SmallSnapshot() {
  Snapshot snapshot;
  snapshot.origin = "test:small";
  snapshot.cursor = "c1";
  for (Date day = D("2021-08-23"); day <= D("2021-09-17"); day = day + 1) {
    if (day.iso_weekday() <= 5) snapshot.calendar_days.push_back({"A", day, kUnitsPerDay});
  }
  snapshot.enrollments.push_back({"S1", "A", D("2021-08-23"), std::nullopt, "05"});
  snapshot.enrollments.push_back({"S2", "A", D("2021-08-23"), std::nullopt, "05"});
  snapshot.events.push_back({"S1", "A", D("2021-08-24"), "", "Unexcused Absence", std::nullopt, ""});
  snapshot.events.push_back({"S2", "A", D("2021-08-25"), "", "Excused Absence", kUnitsPerDay, "sick"});
  return snapshot;
}

// Creates store.db in `dir` at an older schema version and runs `rows` on it.
void CreateStoreAtVersion(const TempDir& dir, int version, const std::string& rows) {
  sqlite::Database db(dir.File("store.db"), true);
  for (int applied = 0; applied < version; ++applied) db.Exec(SchemaMigrations()[applied]);
  db.Exec("PRAGMA user_version = " + std::to_string(version));
  db.Exec(rows);
}

// The first column of the first row of `sql`, a count.
int64_t CountRows(Store& store, const std::string& sql) {
  auto statement = store.db().Prepare(sql);
  return statement.Step() ? statement.Int(0) : -1;
}

std::unique_ptr<Store> OpenStore(const TempDir& dir) {
  auto store = Store::Open(dir.File("store.db"));
  EXPECT_TRUE(store.ok()) << store.error().message;
  return std::move(*store);
}

TEST(Store, CreatesSchemaAndReopens) {
  TempDir dir;
  { OpenStore(dir); }
  auto store = OpenStore(dir);
  EXPECT_EQ(store->SchemaVersion(), static_cast<int>(SchemaMigrations().size()));
  EXPECT_TRUE(store->write_ahead_log());
  auto reader = Store::Open(dir.File("store.db"), Store::Mode::kReadOnly);
  EXPECT_TRUE(reader.ok());
}

TEST(Store, ReadOnlyOpenOfMissingFileExplainsWhatToDo) {
  TempDir dir;
  auto store = Store::Open(dir.File("missing.db"), Store::Mode::kReadOnly);
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.error().message.find("run `tiersync sync` first"), std::string::npos) << store.error().message;
}

TEST(Store, ApplyingTheSameSnapshotTwiceChangesNothing) {
  TempDir dir;
  auto store = OpenStore(dir);
  SchoolYearStart year_start;
  ApplyStats first = store->ApplySnapshot(SmallSnapshot(), year_start);
  EXPECT_EQ(first.inserted, 20u + 2u + 2u);
  EXPECT_EQ(store->DirtyStudents().size(), 2u);
  EXPECT_EQ(store->Cursor("test:small"), "c1");

  store->ClearDirty(store->DirtyStudents());
  ApplyStats second = store->ApplySnapshot(SmallSnapshot(), year_start);
  EXPECT_EQ(second.read, 24u);
  EXPECT_EQ(second.changed(), 0u);
  EXPECT_TRUE(store->DirtyStudents().empty());
}

TEST(Store, SnapshotDiffUpdatesAndDeletesOnlyWhatChanged) {
  TempDir dir;
  auto store = OpenStore(dir);
  SchoolYearStart year_start;
  store->ApplySnapshot(SmallSnapshot(), year_start);
  store->ClearDirty(store->DirtyStudents());

  Snapshot changed = SmallSnapshot();
  changed.cursor = "c2";
  changed.events[0].category = "Excused Absence";  // a new natural key: one insert, one delete
  changed.events.pop_back();                       // S2's event disappears from the origin
  ApplyStats stats = store->ApplySnapshot(changed, year_start);
  EXPECT_EQ(stats.inserted, 1u);
  EXPECT_EQ(stats.updated, 0u);
  EXPECT_EQ(stats.deleted, 2u);
  ASSERT_EQ(store->DirtyStudents().size(), 2u);
  EXPECT_EQ(store->LoadEvents("S2", 2021).size(), 0u);
  ASSERT_EQ(store->LoadEvents("S1", 2021).size(), 1u);
  EXPECT_EQ(store->LoadEvents("S1", 2021)[0].category, "Excused Absence");
  EXPECT_EQ(store->Cursor("test:small"), "c2");
}

TEST(Store, ConflictingDuplicatesAreKeptAside) {
  TempDir dir;
  auto store = OpenStore(dir);
  Snapshot snapshot = SmallSnapshot();
  auto duplicate = snapshot.events[1];
  duplicate.reason = "different";
  snapshot.events.push_back(duplicate);
  ApplyStats stats = store->ApplySnapshot(snapshot, SchoolYearStart{});
  EXPECT_EQ(stats.rejected, 1u);
  auto rejected = store->ListRejected();
  ASSERT_EQ(rejected.size(), 1u);
  EXPECT_NE(rejected[0].reason.find("appears twice"), std::string::npos);
}

TEST(Store, UnchangedSnapshotIsSkipped) {
  TempDir dir;
  auto store = OpenStore(dir);
  Snapshot unchanged;
  unchanged.origin = "test:small";
  unchanged.unchanged = true;
  ApplyStats stats = store->ApplySnapshot(unchanged, SchoolYearStart{});
  EXPECT_TRUE(stats.skipped);
  EXPECT_EQ(stats.changed(), 0u);
}

TEST(Store, FailedTransactionLeavesNoRowsAndNoCursor) {
  TempDir dir;
  auto store = OpenStore(dir);
  // A trigger that fails the insert of S2's event makes SQLite abort mid-snapshot.
  store->db().Exec(
      "CREATE TRIGGER fail_s2 BEFORE INSERT ON attendance_event WHEN NEW.student_id = 'S2' "
      "BEGIN SELECT RAISE(ABORT, 'injected failure'); END");
  EXPECT_THROW(store->ApplySnapshot(SmallSnapshot(), SchoolYearStart{}), sqlite::SqliteError);
  EXPECT_FALSE(store->Cursor("test:small").has_value());
  EXPECT_TRUE(store->LoadEvents("S1", 2021).empty());
  EXPECT_TRUE(store->DirtyStudents().empty());
}

// An invalid as-of date in meta is logged and ignored: the run evaluates every student, as
// a first run does, and writes valid dates back.
TEST(Engine, InvalidDateMetaIsIgnored) {
  TempDir dir;
  auto store = OpenStore(dir);
  SchoolYearStart year_start;
  store->ApplySnapshot(SmallSnapshot(), year_start);
  EngineSettings settings{AttendanceRules::Defaults(), Playbook{}, year_start, "fingerprint-1"};
  TierEngine engine(*store, settings);
  EXPECT_EQ(engine.Run(D("2021-09-16")).evaluated, 2u);

  store->SetMeta("last_as_of:2021", "not a date");
  store->SetMeta("recorded_through:2021", "not a date");
  EngineStats later = engine.Run(D("2021-09-17"));
  EXPECT_EQ(later.evaluated, 2u);
  EXPECT_EQ(later.extended, 0u);
  EXPECT_EQ(store->Meta("last_as_of:2021"), std::to_string(D("2021-09-17").days()));
  EXPECT_EQ(store->Meta("recorded_through:2021"), std::to_string(D("2021-09-17").days()));
}

TEST(Engine, RecomputesOnlyTheStudentWhoseRecordsChanged) {
  TempDir dir;
  auto store = OpenStore(dir);
  SchoolYearStart year_start;
  Snapshot snapshot = SmallSnapshot();
  for (int i = 3; i <= 50; ++i) snapshot.enrollments.push_back({"S" + std::to_string(i), "A", D("2021-08-23"), std::nullopt, ""});
  store->ApplySnapshot(snapshot, year_start);

  EngineSettings settings{AttendanceRules::Defaults(), Playbook{}, year_start, "fingerprint-1"};
  TierEngine engine(*store, settings);
  EngineStats first = engine.Run(D("2021-09-17"));
  EXPECT_EQ(first.recomputed, 50u);
  EXPECT_EQ(first.evaluated, 50u);
  EXPECT_EQ(first.students_per_tier[2], 2u);  // S1 and S2: 1 of 20 days is 5%
  EXPECT_EQ(first.students_per_tier[1], 48u);

  EngineStats again = engine.Run(D("2021-09-17"));
  EXPECT_EQ(again.recomputed, 0u);
  EXPECT_EQ(again.evaluated, 0u);

  // One more absence for S7 only.
  snapshot.cursor = "c2";
  snapshot.events.push_back({"S7", "A", D("2021-09-01"), "", "Unexcused Absence", std::nullopt, ""});
  ApplyStats stats = store->ApplySnapshot(snapshot, year_start);
  EXPECT_EQ(stats.changed(), 1u);
  EngineStats incremental = engine.Run(D("2021-09-17"));
  EXPECT_EQ(incremental.recomputed, 1u);
  EXPECT_EQ(incremental.evaluated, 1u);
  EXPECT_EQ(incremental.students_per_tier[2], 3u);
  EXPECT_EQ(incremental.students_per_tier[1], 47u);
}

// A correction derived by a run for another school year must not be lost when its own
// year's next run moves steady students forward by their enrolled days alone.
TEST(Engine, CorrectionDerivedInAnotherYearIsEvaluated) {
  TempDir dir;
  auto store = OpenStore(dir);
  SchoolYearStart year_start;
  Snapshot snapshot = SmallSnapshot();
  for (Date day = D("2022-08-22"); day <= D("2022-09-16"); day = day + 1) {
    if (day.iso_weekday() <= 5) snapshot.calendar_days.push_back({"A", day, kUnitsPerDay});
  }
  snapshot.enrollments.push_back({"S1", "A", D("2022-08-22"), std::nullopt, "06"});
  store->ApplySnapshot(snapshot, year_start);
  EngineSettings settings{AttendanceRules::Defaults(), Playbook{}, year_start, "fingerprint-1"};
  TierEngine engine(*store, settings);
  engine.Run(D("2021-09-10"));
  ASSERT_EQ(store->LoadTierStates(2021).at("S1").totals.absent, kUnitsPerDay);

  // S1's absence is withdrawn, and the next sync runs in the following school year.
  snapshot.cursor = "c2";
  snapshot.events.erase(snapshot.events.begin());
  ASSERT_EQ(store->ApplySnapshot(snapshot, year_start).deleted, 1u);
  EngineStats next_year = engine.Run(D("2022-09-01"));
  EXPECT_EQ(next_year.recomputed, 2u);  // S1 in 2021-2022, and in 2022-2023 at its first run

  EngineStats later = engine.Run(D("2021-09-17"));
  TierStateRow s1 = store->LoadTierStates(2021).at("S1");
  EXPECT_EQ(s1.totals.absent, 0);
  EXPECT_EQ(s1.totals.enrolled, 20 * kUnitsPerDay);
  EXPECT_EQ(s1.tier, 1);
  EXPECT_EQ(later.evaluated, 1u);  // S1; S2 is moved by its enrolled days alone
  EXPECT_EQ(later.extended, 1u);
}

// A retried dead letter is pending again, and a pending notice may need checking at every
// run, so its student is evaluated in full at the next one.
TEST(Store, RetriedDeadLetterRechecksStudent) {
  TempDir dir;
  auto store = OpenStore(dir);
  store->db().Exec(
      "INSERT INTO tier_change (id, student_id, school_year, change_date, from_tier, to_tier, occurrence, reason, "
      "rules_version, recorded_as_of, recorded_at) VALUES (1, 'S1', 2021, 18900, 1, 3, 1, 'r', 'v', 18900, 'x')");
  store->db().Exec(
      "INSERT INTO outbox (idempotency_key, tier_change_id, kind, action_id, role, title, notice_template, "
      "student_id, school_id, school_year, trigger_name, from_tier, to_tier, change_date, due_date, reason, "
      "rules_version, status, created_at) VALUES ('k1', 1, 'notice', 'letter', 'attendance_clerk', 'Letter', "
      "'letter', 'S1', 'A', 2021, 'tier_entered', 1, 3, 18900, 18905, 'r', 'v', 'dead', 'x')");
  TierStateRow row;
  row.student_id = "S1";
  row.tier = 3;
  row.as_of = D("2021-09-17");
  row.school_id = "A";
  row.recheck_on = D("2021-10-01");
  store->SaveTierState(2021, row);

  EXPECT_EQ(store->RetryDeadLetters({}).size(), 1u);
  EXPECT_EQ(store->LoadTierStates(2021).at("S1").recheck_on, Date());
}

TEST(Engine, RulesChangeRecomputesEveryone) {
  TempDir dir;
  auto store = OpenStore(dir);
  SchoolYearStart year_start;
  store->ApplySnapshot(SmallSnapshot(), year_start);
  EngineSettings settings{AttendanceRules::Defaults(), Playbook{}, year_start, "fingerprint-1"};
  TierEngine(*store, settings).Run(D("2021-09-17"));

  settings.rules.thresholds[0].from_percent_units = 6 * kUnitsPerDay;  // Tier 2 from 6%
  settings.rules_fingerprint = "fingerprint-2";
  EngineStats stats = TierEngine(*store, settings).Run(D("2021-09-17"));
  EXPECT_EQ(stats.recomputed, 2u);
  EXPECT_EQ(stats.students_per_tier[1], 2u);  // 5% is now below Tier 2
}

TEST(Engine, RulesChangeDerivesUnenrolledStudents) {
  TempDir dir;
  auto store = OpenStore(dir);
  SchoolYearStart year_start;
  Snapshot snapshot = SmallSnapshot();
  snapshot.events.push_back({"S9", "A", D("2021-08-26"), "", "Unexcused Absence", std::nullopt, ""});
  store->ApplySnapshot(snapshot, year_start);
  EngineSettings settings{AttendanceRules::Defaults(), Playbook{}, year_start, "fingerprint-1"};
  TierEngine(*store, settings).Run(D("2021-09-17"));
  auto aside = store->ListKeptAside(2021, "S9");
  ASSERT_EQ(aside.size(), 1u);
  EXPECT_EQ(aside[0].reason, "unknown_student");

  // The rules change derives the whole year again, S9 included though it has no enrollment.
  settings.rules_fingerprint = "fingerprint-2";
  EngineStats stats = TierEngine(*store, settings).Run(D("2021-09-17"));
  EXPECT_EQ(stats.recomputed, 3u);  // S1, S2 and S9
  aside = store->ListKeptAside(2021, "S9");
  ASSERT_EQ(aside.size(), 1u);
  EXPECT_EQ(aside[0].date, D("2021-08-26"));
  EXPECT_TRUE(store->DeriveAllYears().empty());
}

TEST(Store, RereadsDirtyStudentsClearedElsewhere) {
  TempDir dir;
  auto ingest = OpenStore(dir);
  SchoolYearStart year_start;
  ingest->ApplySnapshot(SmallSnapshot(), year_start);  // S1 and S2 dirty whole, and remembered

  // Another process (here another connection) derives them and clears their marks.
  auto other = Store::Open(dir.File("store.db"));
  ASSERT_TRUE(other.ok()) << other.error().message;
  EngineSettings settings{AttendanceRules::Defaults(), Playbook{}, year_start, "fingerprint-1"};
  TierEngine(**other, settings).Run(D("2021-09-17"));
  ASSERT_TRUE((*other)->DirtyStudents().empty());

  // A new absence for S1 read by the first process must mark its day, not rely on the
  // whole-student mark that is gone.
  Snapshot more;
  more.origin = "test:more";
  more.cursor = "m1";
  more.events.push_back({"S1", "A", D("2021-09-02"), "", "Unexcused Absence", std::nullopt, ""});
  ingest->ApplySnapshot(more, year_start);
  auto days = ingest->DirtyDays();
  ASSERT_EQ(days.size(), 1u);
  EXPECT_EQ(days.begin()->first.student_id, "S1");
  EXPECT_EQ(days.begin()->second, std::vector<Date>{D("2021-09-02")});
  EngineStats stats = TierEngine(*ingest, settings).Run(D("2021-09-17"));
  EXPECT_EQ(stats.recomputed, 1u);
  EXPECT_EQ(stats.students_per_tier[3], 1u);  // S1: 2 of 20 days is 10%
}

// A calendar change marks for derivation the students with an enrollment or an event at
// that school in that year, for every school changed in one snapshot, and no one else.
TEST(Store, CalendarChangeMarksStudentsOfThoseSchools) {
  TempDir dir;
  auto store = OpenStore(dir);
  SchoolYearStart year_start;
  Snapshot snapshot = SmallSnapshot();
  for (Date day = D("2021-08-23"); day <= D("2021-09-17"); day = day + 1) {
    if (day.iso_weekday() > 5) continue;
    snapshot.calendar_days.push_back({"B", day, kUnitsPerDay});
    snapshot.calendar_days.push_back({"C", day, kUnitsPerDay});
  }
  snapshot.enrollments.push_back({"S3", "B", D("2021-08-23"), std::nullopt, "05"});
  snapshot.enrollments.push_back({"S4", "C", D("2021-08-23"), std::nullopt, "05"});
  // S5 has no enrollment at B, but an event there, kept aside as outside its enrollment.
  snapshot.enrollments.push_back({"S5", "C", D("2021-08-23"), std::nullopt, "05"});
  snapshot.events.push_back({"S5", "B", D("2021-08-26"), "", "Unexcused Absence", std::nullopt, ""});
  store->ApplySnapshot(snapshot, year_start);
  EngineSettings settings{AttendanceRules::Defaults(), Playbook{}, year_start, "fingerprint-1"};
  TierEngine engine(*store, settings);
  engine.Run(D("2021-09-17"));
  ASSERT_TRUE(store->DirtyStudents().empty());

  // Calendars A and B each lose their last day; C is unchanged.
  snapshot.cursor = "c2";
  std::erase_if(snapshot.calendar_days, [](const CalendarDay& day) {
    return day.date == D("2021-09-17") && (day.school_id == "A" || day.school_id == "B");
  });
  ASSERT_EQ(store->ApplySnapshot(snapshot, year_start).deleted, 2u);
  std::set<std::string> marked;
  for (const auto& key : store->DirtyStudents()) marked.insert(key.student_id);
  EXPECT_EQ(marked, (std::set<std::string>{"S1", "S2", "S3", "S5"}));
}

TEST(Store, KeptCalendarsFollowChangesFromAnotherProcess) {
  TempDir dir;
  auto engine_side = OpenStore(dir);
  SchoolYearStart year_start;
  engine_side->ApplySnapshot(SmallSnapshot(), year_start);
  ASSERT_EQ(engine_side->LoadCalendars(2021).Find("A")->days().size(), 20u);
  EXPECT_EQ(engine_side->LoadCalendars(2021).Find("A")->days().size(), 20u);  // kept

  // Another process turns the first Friday into a half day and drops the last Friday.
  auto other = Store::Open(dir.File("store.db"));
  ASSERT_TRUE(other.ok()) << other.error().message;
  Snapshot changed = SmallSnapshot();
  changed.cursor = "c2";
  changed.calendar_days[4].instructional = kUnitsPerDay / 2;
  changed.calendar_days.pop_back();
  (*other)->ApplySnapshot(changed, year_start);

  CalendarSet calendars = engine_side->LoadCalendars(2021);
  ASSERT_EQ(calendars.Find("A")->days().size(), 19u);
  EXPECT_EQ(calendars.Find("A")->Find(D("2021-08-27")), std::optional<DayUnits>(kUnitsPerDay / 2));
}

// tier_state_days.absence_days stores what a later run would read from absence_day. School ids
// with the form's own separators read back whole, and damaged text reads as unknown.
TEST(Store, AbsenceDaysReadBackAsWritten) {
  std::vector<AbsenceDay> days = {
      {D("2021-08-24"), "A", kUnitsPerDay, 0, kUnitsPerDay, ""},
      {D("2021-08-25"), "B,1;2:3", kUnitsPerDay / 2, kUnitsPerDay / 2, 0, ""},
      {D("2021-09-01"), "", kUnitsPerDay, 2500, 7500, ""},
      {D("2021-09-20"), "A", kUnitsPerDay, 0, kUnitsPerDay, ""},  // after the as-of date
  };
  std::string text = EncodeAbsenceDays(days, D("2021-09-17"));
  EXPECT_EQ(text, "18863,10000,0,1:A;18864,5000,5000,7:B,1;2:3;18871,10000,2500,0:;");
  auto decoded = DecodeAbsenceDays(text);
  ASSERT_TRUE(decoded.has_value());
  ASSERT_EQ(decoded->size(), 3u);
  for (size_t i = 0; i < decoded->size(); ++i) {
    EXPECT_EQ((*decoded)[i].date, days[i].date);
    EXPECT_EQ((*decoded)[i].school_id, days[i].school_id);
    EXPECT_EQ((*decoded)[i].amount, days[i].amount);
    EXPECT_EQ((*decoded)[i].excused, days[i].excused);
    EXPECT_EQ((*decoded)[i].unexcused, days[i].unexcused);
  }
  EXPECT_EQ(DecodeAbsenceDays("")->size(), 0u);
  for (const char* damaged : {"18863,10000,0,1:A", "18863,10000,0,2:A;", "18863,10000,20000,1:A;", "18863,0,0,1:A;",
                              "18864,10000,0,1:A;18863,10000,0,1:A;", "18863;", "x,10000,0,1:A;",
                              "4294986159,10000,0,1:A;", "18863,20000,0,1:A;", "18863,10000,0,-1:A;"}) {
    EXPECT_FALSE(DecodeAbsenceDays(damaged).has_value()) << damaged;
  }
}

// A store at schema version 9 kept only the dates of each student's absence days. The
// upgrade drops them and keeps the totals; with the days unknown, the next run that
// evaluates the student reads them in full.
TEST(Store, UpgradeDropsStoredAbsenceDates) {
  TempDir dir;
  CreateStoreAtVersion(dir, 9,
                       "INSERT INTO tier_state (student_id, school_year, as_of, tier, school_id, enrolled, absent, "
                       "excused, unexcused, rules_version, absence_dates) VALUES ('S1', 2021, 18887, 1, 'A', 190000, "
                       "10000, 0, 10000, 'v', '18863')");
  auto store = OpenStore(dir);
  EXPECT_EQ(store->SchemaVersion(), static_cast<int>(SchemaMigrations().size()));
  EXPECT_TRUE(store->write_ahead_log());
  std::optional<TierStateRow> s1 = store->LoadTierState(2021, "S1");
  ASSERT_TRUE(s1.has_value());
  EXPECT_EQ(s1->totals.absent, kUnitsPerDay);
  EXPECT_FALSE(s1->absence_days.has_value());
}

// Schema version 12 moves the stored absence days out of tier_state into tier_state_days.
TEST(Store, UpgradeMovesStoredAbsenceDays) {
  TempDir dir;
  CreateStoreAtVersion(dir, 11,
                       "INSERT INTO tier_state (student_id, school_year, as_of, tier, school_id, enrolled, absent, "
                       "excused, unexcused, rules_version, recheck_on, accruing_school, absence_days) VALUES "
                       "('S1', 2021, 18887, 2, 'A', 190000, 10000, 0, 10000, 'v', 18900, 'A', '18863,10000,0,1:A;'), "
                       "('S2', 2021, 18887, 1, 'A', 190000, 0, 0, 0, 'v', 18901, 'A', NULL)");
  auto store = OpenStore(dir);
  EXPECT_EQ(store->SchemaVersion(), static_cast<int>(SchemaMigrations().size()));
  EXPECT_TRUE(store->write_ahead_log());

  std::optional<TierStateRow> s1 = store->LoadTierState(2021, "S1");
  ASSERT_TRUE(s1.has_value());
  EXPECT_EQ(s1->tier, 2);
  EXPECT_EQ(s1->recheck_on, Date(18900));
  EXPECT_EQ(s1->accruing_school, "A");
  EXPECT_EQ(s1->absence_days, std::optional<std::string>("18863,10000,0,1:A;"));
  EXPECT_EQ(store->LoadStoredAbsenceDays(2021, "S1"), std::optional<std::string>("18863,10000,0,1:A;"));
  std::optional<TierStateRow> s2 = store->LoadTierState(2021, "S2");
  ASSERT_TRUE(s2.has_value());
  EXPECT_EQ(s2->recheck_on, Date(18901));
  EXPECT_FALSE(s2->absence_days.has_value());
  EXPECT_EQ(CountRows(*store, "SELECT COUNT(*) FROM pragma_table_info('tier_state') WHERE name = 'absence_days'"), 0);
}

// The stored absence days follow their tier_state row: saved with it, removed with it, and
// removed when a row is saved without them.
TEST(Store, StoredAbsenceDaysFollowTheirRow) {
  TempDir dir;
  auto store = OpenStore(dir);
  TierStateRow row;
  row.student_id = "S1";
  row.as_of = D("2021-09-17");
  row.school_id = "A";
  row.rules_version = "v";
  row.absence_days = "18863,10000,0,1:A;";
  store->SaveTierState(2021, row);
  EXPECT_EQ(store->LoadStoredAbsenceDays(2021, "S1"), row.absence_days);
  EXPECT_EQ(store->LoadTierStates(2021).at("S1").absence_days, std::nullopt);

  row.absence_days.reset();
  store->SaveTierState(2021, row);
  EXPECT_EQ(store->LoadStoredAbsenceDays(2021, "S1"), std::nullopt);

  row.absence_days = "";
  store->SaveTierState(2021, row);
  EXPECT_EQ(store->LoadStoredAbsenceDays(2021, "S1"), std::optional<std::string>(""));
  store->DeleteTierState(2021, "S1");
  EXPECT_EQ(store->LoadStoredAbsenceDays(2021, "S1"), std::nullopt);

  row.absence_days = "18863,10000,0,1:A;";
  store->SaveTierState(2021, row);
  store->DeleteTierStates(2021);
  EXPECT_EQ(CountRows(*store, "SELECT COUNT(*) FROM tier_state"), 0);
  EXPECT_EQ(CountRows(*store, "SELECT COUNT(*) FROM tier_state_days"), 0);
}

// After a commit takes the write-ahead log past its threshold, the background thread copies
// the log into the database file.
TEST(Store, BackgroundThreadCopiesTheLog) {
  TempDir dir;
  auto store = OpenStore(dir);
  EXPECT_EQ(store->checkpointer().completed(), 0);
  store->db().Exec("CREATE TABLE filler (data BLOB)");
  {
    sqlite::Transaction transaction(store->db());
    // Each row fills a 16 KiB page, so the log passes the threshold.
    auto insert = store->db().Prepare("INSERT INTO filler (data) VALUES (zeroblob(16000))");
    for (int row = 0; row < BackgroundCheckpointer::kWakeAtPages + 100; ++row) insert.Run();
    transaction.Commit();
  }
  store->checkpointer().WaitIdle();
  EXPECT_EQ(store->checkpointer().completed(), 1);

  // The pages are in the database file itself, which held only the schema before.
  EXPECT_GT(std::filesystem::file_size(dir.File("store.db")),
            static_cast<uintmax_t>(BackgroundCheckpointer::kWakeAtPages + 100) * 16000);
  EXPECT_EQ(CountRows(*store, "SELECT COUNT(*) FROM filler"), BackgroundCheckpointer::kWakeAtPages + 100);
}

TEST(Store, MigratesEventsToDateOrder) {
  TempDir dir;
  {
    // A store at schema version 3, the last with events keyed by student.
    sqlite::Database db(dir.File("store.db"), true);
    for (int version = 0; version < 3; ++version) db.Exec(SchemaMigrations()[version]);
    db.Exec("PRAGMA user_version = 3");
    db.Exec("INSERT INTO attendance_event (student_id, date, school_id, period, category, school_year, duration, "
            "reason, origin) VALUES ('S1', 18864, 'A', '', 'Unexcused Absence', 2021, NULL, '', 'test:small'), "
            "('S2', 18865, 'A', '', 'Excused Absence', 2021, 10000, 'sick', 'test:small'), "
            "('S2', 18866, 'A', '3', 'Unexcused Absence', 2021, NULL, '', 'test:other')");
    db.Exec("INSERT INTO absence_day (student_id, school_year, date, school_id, amount, excused, unexcused, basis) "
            "VALUES ('S2', 2021, 18865, 'A', 10000, 10000, 0, 'daily event')");
  }
  auto store = OpenStore(dir);
  EXPECT_EQ(store->SchemaVersion(), static_cast<int>(SchemaMigrations().size()));
  EXPECT_TRUE(store->write_ahead_log());
  auto events = store->LoadEvents("S2", 2021);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].date, Date(18865));
  EXPECT_EQ(events[0].reason, "sick");
  EXPECT_EQ(events[0].duration, std::optional<DayUnits>(kUnitsPerDay));
  EXPECT_EQ(events[1].period, "3");
  EXPECT_EQ(store->EventDates(2021), (std::vector<Date>{Date(18864), Date(18865), Date(18866)}));
  std::set<std::string> only = {"S2"};
  auto inputs = store->LoadStudentInputs(2021, &only);
  ASSERT_EQ(inputs["S2"].absence_days.size(), 1u);
  EXPECT_EQ(inputs["S2"].absence_days[0].excused, kUnitsPerDay);

  // The origin's events are found after the move: the same records again change nothing,
  // and a record missing from the origin now is deleted.
  Snapshot same;
  same.origin = "test:small";
  same.cursor = "c2";
  same.events.push_back({"S1", "A", Date(18864), "", "Unexcused Absence", std::nullopt, ""});
  same.events.push_back({"S2", "A", Date(18865), "", "Excused Absence", kUnitsPerDay, "sick"});
  EXPECT_EQ(store->ApplySnapshot(same, SchoolYearStart{}).changed(), 0u);
  same.cursor = "c3";
  same.events.pop_back();
  ApplyStats stats = store->ApplySnapshot(same, SchoolYearStart{});
  EXPECT_EQ(stats.deleted, 1u);
  EXPECT_EQ(stats.changed(), 1u);
  EXPECT_EQ(store->LoadEvents("S2", 2021).size(), 1u);  // test:other's event stays
}

}  // namespace
}  // namespace tiersync
