#include "daemon/schedule.h"

#include <gtest/gtest.h>

#include <set>

namespace tiersync {
namespace {

// Chicago, where the Grand Bend sample lives: UTC-5 in May (CDT), UTC-6 in January (CST).
class ScheduleTest : public ::testing::Test {
 protected:
  void SetUp() override { UseTimeZone("America/Chicago"); }

  static int64_t Local(const char* date, int hour, int minute) {
    return FromLocal(*Date::Parse(date), hour * 60 + minute);
  }

  ScheduleConfig schedule_;  // every 30 minutes from 07:00 before 17:00, nightly at 02:00
  SchoolDayPredicate every_day_ = [](Date) { return true; };
};

TEST_F(ScheduleTest, LocalTimeRoundTrip) {
  int64_t start = Local("2022-05-02", 7, 0);
  EXPECT_EQ(start, 1651492800);  // 12:00 UTC
  LocalTime local = ToLocal(start);
  EXPECT_EQ(local.date.ToString(), "2022-05-02");
  EXPECT_EQ(local.minute, 7 * 60);
}

TEST_F(ScheduleTest, BeforeSchoolHoursWaitsForStart) {
  PlannedCycle next = NextCycle(schedule_, Local("2022-05-02", 5, 0), every_day_);
  EXPECT_EQ(next.kind, CycleKind::kIncremental);
  EXPECT_EQ(next.start_unix, Local("2022-05-02", 7, 0));
  EXPECT_FALSE(next.recheck_only);
}

TEST_F(ScheduleTest, DuringSchoolHoursTakesNextInterval) {
  PlannedCycle next = NextCycle(schedule_, Local("2022-05-02", 9, 10), every_day_);
  EXPECT_EQ(next.start_unix, Local("2022-05-02", 9, 30));
  EXPECT_EQ(next.local_minute, 9 * 60 + 30);

  // Exactly at a slot, the next one follows.
  EXPECT_EQ(NextCycle(schedule_, Local("2022-05-02", 9, 30), every_day_).start_unix, Local("2022-05-02", 10, 0));
}

TEST_F(ScheduleTest, LastSlotIsBeforeSchoolDayEnd) {
  PlannedCycle next = NextCycle(schedule_, Local("2022-05-02", 16, 31), every_day_);
  EXPECT_EQ(next.kind, CycleKind::kFull);
  EXPECT_EQ(next.start_unix, Local("2022-05-03", 2, 0));
  EXPECT_EQ(next.local_date.ToString(), "2022-05-03");
}

TEST_F(ScheduleTest, ClosedDaysAreSkipped) {
  // Friday evening; Saturday and Sunday closed.
  std::set<std::string> closed = {"2022-05-07", "2022-05-08"};
  SchoolDayPredicate runs_on = [&](Date date) { return !closed.count(date.ToString()); };
  PlannedCycle next = NextCycle(schedule_, Local("2022-05-06", 18, 0), runs_on);
  EXPECT_EQ(next.kind, CycleKind::kFull);
  EXPECT_EQ(next.start_unix, Local("2022-05-09", 2, 0));

  ScheduleConfig every_day = schedule_;
  every_day.run_on_closed_days = true;
  EXPECT_EQ(NextCycle(every_day, Local("2022-05-06", 18, 0), runs_on).start_unix, Local("2022-05-07", 2, 0));
}

TEST_F(ScheduleTest, NightlyWinsOverIncrementalAtSameMinute) {
  ScheduleConfig schedule = schedule_;
  schedule.nightly_minute = 12 * 60;
  PlannedCycle next = NextCycle(schedule, Local("2022-05-02", 11, 45), every_day_);
  EXPECT_EQ(next.kind, CycleKind::kFull);
  EXPECT_EQ(next.start_unix, Local("2022-05-02", 12, 0));
}

TEST_F(ScheduleTest, NoSchoolDayPlansRecheck) {
  PlannedCycle next = NextCycle(schedule_, Local("2022-05-02", 9, 0), [](Date) { return false; });
  EXPECT_TRUE(next.recheck_only);
  EXPECT_EQ(next.local_date.ToString(), (*Date::Parse("2022-05-02") + 400).ToString());
}

TEST_F(ScheduleTest, DaylightSavingStartKeepsLocalTimes) {
  // Clocks go from 02:00 to 03:00 on 2022-03-13 in Chicago; 02:00 does not exist that day.
  ScheduleConfig schedule = schedule_;
  PlannedCycle nightly = NextCycle(schedule, Local("2022-03-12", 18, 0), every_day_);
  EXPECT_EQ(nightly.kind, CycleKind::kFull);
  EXPECT_EQ(nightly.local_date.ToString(), "2022-03-13");
  EXPECT_EQ(ToLocal(nightly.start_unix).minute, 3 * 60);

  PlannedCycle morning = NextCycle(schedule, nightly.start_unix, every_day_);
  EXPECT_EQ(ToLocal(morning.start_unix).minute, 7 * 60);
  EXPECT_EQ(morning.start_unix, 1647172800);  // 07:00 CDT = 12:00 UTC
}

}  // namespace
}  // namespace tiersync
