// Exact-value tests of the attendance rules: thresholds, minimum days enrolled, day
// amounts, period roll-up, transfers, withdrawal and re-entry.

#include <gtest/gtest.h>

#include "rules/absence.h"
#include "rules/playbook.h"
#include "rules/tier.h"

namespace tiersync {
namespace {

constexpr DayUnits kDay = kUnitsPerDay;

Date D(const char* text) { return *Date::Parse(text); }

// Weekdays from `first` to `last` as instructional days of `school`.
void AddWeekdays(CalendarSet& calendars, const std::string& school, const char* first, const char* last) {
  for (Date day = D(first); day <= D(last); day = day + 1) {
    if (day.iso_weekday() <= 5) calendars.For(school).Add(day, kDay);
  }
  calendars.For(school).Sort();
}

AttendanceEvent Event(const char* date, const char* category, const std::string& school = "A",
                      std::optional<DayUnits> duration = std::nullopt, const std::string& period = "") {
  AttendanceEvent event;
  event.student_id = "S1";
  event.school_id = school;
  event.date = D(date);
  event.category = category;
  event.duration = duration;
  event.period = period;
  return event;
}

Enrollment Enroll(const std::string& school, const char* entry, std::optional<const char*> exit = std::nullopt) {
  Enrollment enrollment;
  enrollment.student_id = "S1";
  enrollment.school_id = school;
  enrollment.entry_date = D(entry);
  if (exit) enrollment.exit_date = D(*exit);
  return enrollment;
}

class TierRules : public ::testing::Test {
 protected:
  AttendanceRules rules = AttendanceRules::Defaults();
};

TEST_F(TierRules, ThresholdsAreHalfOpenAndExact) {
  DayUnits enrolled = 100 * kDay;
  EXPECT_EQ(ClassifyTier(0, enrolled, rules), 1);
  EXPECT_EQ(ClassifyTier(5 * kDay - 1, enrolled, rules), 1);   // 4.9999%
  EXPECT_EQ(ClassifyTier(5 * kDay, enrolled, rules), 2);       // exactly 5%
  EXPECT_EQ(ClassifyTier(10 * kDay - 1, enrolled, rules), 2);  // 9.9999%
  EXPECT_EQ(ClassifyTier(10 * kDay, enrolled, rules), 3);      // exactly 10%
  EXPECT_EQ(ClassifyTier(20 * kDay - 1, enrolled, rules), 3);  // 19.9999%
  EXPECT_EQ(ClassifyTier(20 * kDay, enrolled, rules), 4);      // exactly 20%
  EXPECT_EQ(ClassifyTier(100 * kDay, enrolled, rules), 4);
}

TEST_F(TierRules, ThresholdsWithoutFloatingPointError) {
  // 169 days: 8.45 days is exactly 5%, 16.9 exactly 10%, 33.8 exactly 20%.
  DayUnits enrolled = 169 * kDay;
  EXPECT_EQ(ClassifyTier(84500, enrolled, rules), 2);
  EXPECT_EQ(ClassifyTier(84499, enrolled, rules), 1);
  EXPECT_EQ(ClassifyTier(169000, enrolled, rules), 3);
  EXPECT_EQ(ClassifyTier(168999, enrolled, rules), 2);
  EXPECT_EQ(ClassifyTier(338000, enrolled, rules), 4);
  EXPECT_EQ(ClassifyTier(337999, enrolled, rules), 3);
  // Nine full days missed out of 169 (5.33%) is Tier 2, 17 (10.06%) is Tier 3.
  EXPECT_EQ(ClassifyTier(9 * kDay, enrolled, rules), 2);
  EXPECT_EQ(ClassifyTier(17 * kDay, enrolled, rules), 3);
}

TEST_F(TierRules, FewerThanTenDaysEnrolledStaysTierOne) {
  EXPECT_EQ(ClassifyTier(5 * kDay, 9 * kDay, rules), 1);   // 55% of 9 days
  EXPECT_EQ(ClassifyTier(2 * kDay, 10 * kDay, rules), 4);  // 20% of 10 days
  EXPECT_EQ(ClassifyTier(1 * kDay, 10 * kDay, rules), 3);  // 10% of 10 days
  EXPECT_EQ(ClassifyTier(kDay / 2, 10 * kDay, rules), 2);  // 5% of 10 days
  EXPECT_EQ(ClassifyTier(9 * kDay, 9 * kDay + 9999, rules), 1);
}

TEST_F(TierRules, HalfDaysCountHalf) {
  CalendarSet calendars;
  AddWeekdays(calendars, "A", "2021-08-23", "2021-09-17");  // 20 days
  std::vector<Enrollment> enrollments = {Enroll("A", "2021-08-23")};
  std::vector<AttendanceEvent> events = {Event("2021-08-24", "Partial"),
                                         Event("2021-08-25", "Unexcused Absence", "A", kDay / 2)};
  auto absences = DeriveAbsences(enrollments, events, calendars, rules);
  ASSERT_EQ(absences.days.size(), 2u);
  EXPECT_EQ(absences.days[0].amount, kDay / 2);
  EXPECT_EQ(absences.days[0].unexcused, kDay / 2);
  EXPECT_EQ(absences.days[1].amount, kDay / 2);

  auto timeline = BuildTimeline(EnrolledDays(enrollments, calendars, D("2021-09-17")), absences.days, rules);
  EXPECT_EQ(timeline.totals.enrolled, 20 * kDay);
  EXPECT_EQ(timeline.totals.absent, kDay);
  EXPECT_EQ(timeline.totals.unexcused, kDay);
  EXPECT_EQ(timeline.tier, 2);  // 1 of 20 days is exactly 5%
}

TEST_F(TierRules, SameDayEventsTakeTheLargestNeverTheSum) {
  CalendarSet calendars;
  AddWeekdays(calendars, "A", "2021-12-13", "2021-12-17");
  std::vector<Enrollment> enrollments = {Enroll("A", "2021-08-23")};
  // The Grand Bend case: an Excused Absence and a Partial on one day.
  std::vector<AttendanceEvent> events = {Event("2021-12-15", "Excused Absence", "A", kDay),
                                         Event("2021-12-15", "Partial"),
                                         Event("2021-12-16", "Partial"),
                                         Event("2021-12-16", "Unexcused Absence", "A", kDay / 4),
                                         Event("2021-12-17", "Unexcused Absence"),
                                         Event("2021-12-17", "Excused Absence")};
  auto absences = DeriveAbsences(enrollments, events, calendars, rules);
  ASSERT_EQ(absences.days.size(), 3u);
  EXPECT_EQ(absences.days[0].amount, kDay);
  EXPECT_EQ(absences.days[0].excused, kDay);
  EXPECT_EQ(absences.days[1].amount, kDay / 2);
  EXPECT_EQ(absences.days[1].unexcused, kDay / 2);
  // Equal amounts: the excused event wins.
  EXPECT_EQ(absences.days[2].amount, kDay);
  EXPECT_EQ(absences.days[2].excused, kDay);
  EXPECT_EQ(absences.days[2].unexcused, 0);
}

TEST_F(TierRules, TardiesAndEventsInAttendanceCountNothing) {
  CalendarSet calendars;
  AddWeekdays(calendars, "A", "2021-12-13", "2021-12-17");
  std::vector<Enrollment> enrollments = {Enroll("A", "2021-08-23")};
  std::vector<AttendanceEvent> events = {Event("2021-12-13", "Tardy"), Event("2021-12-14", "In Attendance"),
                                         Event("2021-12-15", "uri://ed-fi.org/AttendanceEventCategoryDescriptor#Early departure")};
  auto absences = DeriveAbsences(enrollments, events, calendars, rules);
  EXPECT_TRUE(absences.days.empty());
  EXPECT_TRUE(absences.kept_aside.empty());
}

TEST_F(TierRules, PeriodRollUpMoreThanHalfIsFullDay) {
  CalendarSet calendars;
  AddWeekdays(calendars, "A", "2022-03-07", "2022-03-11");
  std::vector<Enrollment> enrollments = {Enroll("A", "2021-08-23")};
  std::vector<AttendanceEvent> events;
  // Monday: 4 of 7 periods absent -> full day. Tuesday: 3 of 7 -> half day.
  // Wednesday: 1 of 7 -> half day. Thursday: 5 absent, 2 of them unexcused -> full day,
  // 0.5 unexcused. Friday: tardy in every period -> nothing.
  for (int p = 1; p <= 4; ++p) events.push_back(Event("2022-03-07", "Unexcused Absence", "A", std::nullopt, "P" + std::to_string(p)));
  for (int p = 1; p <= 3; ++p) events.push_back(Event("2022-03-08", "Excused Absence", "A", std::nullopt, "P" + std::to_string(p)));
  events.push_back(Event("2022-03-09", "Unexcused Absence", "A", std::nullopt, "P1"));
  for (int p = 1; p <= 2; ++p) events.push_back(Event("2022-03-10", "Unexcused Absence", "A", std::nullopt, "P" + std::to_string(p)));
  for (int p = 3; p <= 5; ++p) events.push_back(Event("2022-03-10", "Excused Absence", "A", std::nullopt, "P" + std::to_string(p)));
  for (int p = 1; p <= 7; ++p) events.push_back(Event("2022-03-11", "Tardy", "A", std::nullopt, "P" + std::to_string(p)));

  auto absences = DeriveAbsences(enrollments, events, calendars, rules);
  ASSERT_EQ(absences.days.size(), 4u);
  EXPECT_EQ(absences.days[0].date, D("2022-03-07"));
  EXPECT_EQ(absences.days[0].amount, kDay);
  EXPECT_EQ(absences.days[0].unexcused, kDay);
  EXPECT_EQ(absences.days[1].amount, kDay / 2);
  EXPECT_EQ(absences.days[1].excused, kDay / 2);
  EXPECT_EQ(absences.days[2].amount, kDay / 2);
  EXPECT_EQ(absences.days[2].unexcused, kDay / 2);
  EXPECT_EQ(absences.days[3].amount, kDay);
  EXPECT_EQ(absences.days[3].unexcused, kDay / 2);
  EXPECT_EQ(absences.days[3].excused, kDay / 2);
}

TEST_F(TierRules, PeriodRollUpUsesSchoolPeriodCount) {
  rules.periods_per_day_by_school["A"] = 4;
  CalendarSet calendars;
  AddWeekdays(calendars, "A", "2022-03-07", "2022-03-07");
  std::vector<Enrollment> enrollments = {Enroll("A", "2021-08-23")};
  // 2 of 4 periods is exactly half: a half day, not a full one.
  std::vector<AttendanceEvent> events = {Event("2022-03-07", "Unexcused Absence", "A", std::nullopt, "P1"),
                                         Event("2022-03-07", "Unexcused Absence", "A", std::nullopt, "P2")};
  auto absences = DeriveAbsences(enrollments, events, calendars, rules);
  ASSERT_EQ(absences.days.size(), 1u);
  EXPECT_EQ(absences.days[0].amount, kDay / 2);
}

TEST_F(TierRules, DailyEventAndPeriodRollUpTakeTheLarger) {
  CalendarSet calendars;
  AddWeekdays(calendars, "A", "2022-03-07", "2022-03-07");
  std::vector<Enrollment> enrollments = {Enroll("A", "2021-08-23")};
  std::vector<AttendanceEvent> events = {Event("2022-03-07", "Partial"),
                                         Event("2022-03-07", "Excused Absence", "A", std::nullopt, "P1"),
                                         Event("2022-03-07", "Excused Absence", "A", std::nullopt, "P2"),
                                         Event("2022-03-07", "Excused Absence", "A", std::nullopt, "P3"),
                                         Event("2022-03-07", "Excused Absence", "A", std::nullopt, "P4")};
  auto absences = DeriveAbsences(enrollments, events, calendars, rules);
  ASSERT_EQ(absences.days.size(), 1u);
  EXPECT_EQ(absences.days[0].amount, kDay);
  EXPECT_EQ(absences.days[0].excused, kDay);
}

TEST_F(TierRules, TransferBetweenSchoolsFollowsTheStudent) {
  CalendarSet calendars;
  AddWeekdays(calendars, "A", "2021-08-23", "2021-12-17");
  AddWeekdays(calendars, "B", "2021-08-23", "2021-12-17");
  // At A for 10 days (Aug 23 - Sep 3), then at B from Sep 6 (10 more days to Sep 17).
  std::vector<Enrollment> enrollments = {Enroll("A", "2021-08-23", "2021-09-03"), Enroll("B", "2021-09-06")};
  std::vector<AttendanceEvent> events = {Event("2021-08-24", "Unexcused Absence", "A"),
                                         Event("2021-09-07", "Excused Absence", "B"),
                                         // At A after the transfer: outside that enrollment.
                                         Event("2021-09-08", "Unexcused Absence", "A")};
  auto absences = DeriveAbsences(enrollments, events, calendars, rules);
  ASSERT_EQ(absences.days.size(), 2u);
  ASSERT_EQ(absences.kept_aside.size(), 1u);
  EXPECT_EQ(absences.kept_aside[0].reason, KeptAsideReason::kOutsideEnrollment);

  auto days = EnrolledDays(enrollments, calendars, D("2021-09-17"));
  EXPECT_EQ(days.size(), 20u);
  EXPECT_EQ(days.front().school_id, "A");
  EXPECT_EQ(days.back().school_id, "B");
  auto timeline = BuildTimeline(days, absences.days, rules);
  EXPECT_EQ(timeline.totals.enrolled, 20 * kDay);
  EXPECT_EQ(timeline.totals.absent, 2 * kDay);
  EXPECT_EQ(timeline.totals.excused, kDay);
  EXPECT_EQ(timeline.totals.unexcused, kDay);
  EXPECT_EQ(timeline.tier, 3);  // 2 of 20 days: 10%
  EXPECT_EQ(EnrollmentOn(enrollments, D("2021-09-17"))->school_id, "B");
}

TEST_F(TierRules, TransferOnOneDayCountsTheDayOnce) {
  CalendarSet calendars;
  AddWeekdays(calendars, "A", "2021-08-23", "2021-09-03");
  AddWeekdays(calendars, "B", "2021-08-23", "2021-09-03");
  // Exit from A and entry at B on the same date: both enrollments include it.
  std::vector<Enrollment> enrollments = {Enroll("A", "2021-08-23", "2021-08-27"), Enroll("B", "2021-08-27")};
  auto days = EnrolledDays(enrollments, calendars, D("2021-09-03"));
  EXPECT_EQ(days.size(), 10u);
  for (const auto& day : days) {
    if (day.date == D("2021-08-27")) {
      EXPECT_EQ(day.school_id, "B");
    }
  }
}

TEST_F(TierRules, WithdrawalAndReEntryCountOnlyEnrolledDays) {
  CalendarSet calendars;
  AddWeekdays(calendars, "A", "2021-08-23", "2021-10-29");
  // Enrolled Aug 23 - Sep 3 (10 days), withdrawn, re-entered Oct 4 - Oct 29 (20 days).
  std::vector<Enrollment> enrollments = {Enroll("A", "2021-08-23", "2021-09-03"), Enroll("A", "2021-10-04")};
  std::vector<AttendanceEvent> events = {Event("2021-08-30", "Unexcused Absence"),
                                         Event("2021-09-15", "Unexcused Absence"),  // while withdrawn
                                         Event("2021-10-05", "Excused Absence")};
  auto absences = DeriveAbsences(enrollments, events, calendars, rules);
  ASSERT_EQ(absences.days.size(), 2u);
  ASSERT_EQ(absences.kept_aside.size(), 1u);
  EXPECT_EQ(absences.kept_aside[0].reason, KeptAsideReason::kOutsideEnrollment);
  EXPECT_EQ(absences.kept_aside[0].event.date, D("2021-09-15"));

  auto during_gap = BuildTimeline(EnrolledDays(enrollments, calendars, D("2021-09-30")), absences.days, rules);
  EXPECT_EQ(during_gap.totals.enrolled, 10 * kDay);
  EXPECT_EQ(during_gap.tier, 3);  // 1 of 10 days
  EXPECT_EQ(EnrollmentOn(enrollments, D("2021-09-30")), nullptr);

  auto after = BuildTimeline(EnrolledDays(enrollments, calendars, D("2021-10-29")), absences.days, rules);
  EXPECT_EQ(after.totals.enrolled, 30 * kDay);
  EXPECT_EQ(after.totals.absent, 2 * kDay);
  EXPECT_EQ(after.tier, 2);  // 6.67%
}

TEST_F(TierRules, BadEventsAreKeptAsideWithReason) {
  CalendarSet calendars;
  AddWeekdays(calendars, "A", "2022-05-09", "2022-05-20");
  std::vector<Enrollment> enrollments = {Enroll("A", "2021-08-23")};
  std::vector<AttendanceEvent> events = {Event("2022-05-15", "Unexcused Absence"),  // Sunday
                                         Event("2022-05-16", "Field Trip"),
                                         Event("2022-05-17", "Unexcused Absence", "Z")};
  auto absences = DeriveAbsences(enrollments, events, calendars, rules);
  EXPECT_TRUE(absences.days.empty());
  ASSERT_EQ(absences.kept_aside.size(), 3u);
  EXPECT_EQ(absences.kept_aside[0].reason, KeptAsideReason::kNonInstructionalDay);
  EXPECT_EQ(absences.kept_aside[1].reason, KeptAsideReason::kUnknownCode);
  EXPECT_EQ(absences.kept_aside[2].reason, KeptAsideReason::kNoCalendar);

  auto unknown = DeriveAbsences({}, {Event("2022-05-16", "Unexcused Absence")}, calendars, rules);
  ASSERT_EQ(unknown.kept_aside.size(), 1u);
  EXPECT_EQ(unknown.kept_aside[0].reason, KeptAsideReason::kUnknownStudent);
}

TEST_F(TierRules, HalfInstructionalDayScalesTheAbsence) {
  CalendarSet calendars;
  calendars.For("A").Add(D("2021-11-24"), kDay / 2);
  calendars.For("A").Sort();
  std::vector<Enrollment> enrollments = {Enroll("A", "2021-08-23")};
  auto absences = DeriveAbsences(enrollments, {Event("2021-11-24", "Unexcused Absence")}, calendars, rules);
  ASSERT_EQ(absences.days.size(), 1u);
  EXPECT_EQ(absences.days[0].amount, kDay / 2);
}

TEST_F(TierRules, TimelineNumbersRepeatedTransitions) {
  CalendarSet calendars;
  AddWeekdays(calendars, "A", "2021-08-23", "2021-12-17");
  std::vector<Enrollment> enrollments = {Enroll("A", "2021-08-23")};
  // One absence on day 1: Tier 3 at day 10 (10%), Tier 2 at day 11 (9.09%), Tier 1 at
  // day 21 (4.76%).
  // Another absence on day 30 (2 of 30 = 6.67%): back into Tier 2.
  std::vector<AttendanceEvent> events = {Event("2021-08-23", "Unexcused Absence"),
                                         Event("2021-10-01", "Unexcused Absence")};
  auto absences = DeriveAbsences(enrollments, events, calendars, rules);
  auto timeline = BuildTimeline(EnrolledDays(enrollments, calendars, D("2021-10-01")), absences.days, rules);
  ASSERT_EQ(timeline.changes.size(), 4u);
  EXPECT_EQ(timeline.changes[0].date, D("2021-09-03"));
  EXPECT_EQ(timeline.changes[0].to_tier, 3);
  EXPECT_EQ(timeline.changes[1].date, D("2021-09-06"));
  EXPECT_EQ(timeline.changes[1].to_tier, 2);
  EXPECT_EQ(timeline.changes[1].occurrence, 1);
  EXPECT_EQ(timeline.changes[2].date, D("2021-09-20"));
  EXPECT_EQ(timeline.changes[2].to_tier, 1);
  EXPECT_EQ(timeline.changes[3].date, D("2021-10-01"));
  EXPECT_EQ(timeline.changes[3].from_tier, 1);
  EXPECT_EQ(timeline.changes[3].to_tier, 2);
  EXPECT_EQ(timeline.changes[3].occurrence, 1);  // first upward entry into Tier 2
  EXPECT_EQ(timeline.tier, 2);
}

TEST(Playbook, ActionKeysAreDeterministicAndDistinct) {
  std::string key = ActionKey("604822", SchoolYear{2021}, Trigger::kTierEntered, 2, 1, "tier2-outreach-contact");
  EXPECT_EQ(key.size(), 32u);
  EXPECT_EQ(key, ActionKey("604822", SchoolYear{2021}, Trigger::kTierEntered, 2, 1, "tier2-outreach-contact"));
  EXPECT_NE(key, ActionKey("604822", SchoolYear{2021}, Trigger::kTierEntered, 2, 2, "tier2-outreach-contact"));
  EXPECT_NE(key, ActionKey("604822", SchoolYear{2022}, Trigger::kTierEntered, 2, 1, "tier2-outreach-contact"));
  EXPECT_NE(key, ActionKey("604823", SchoolYear{2021}, Trigger::kTierEntered, 2, 1, "tier2-outreach-contact"));
}

TEST(Playbook, DueDatesCountInstructionalDays) {
  CalendarSet calendars;
  AddWeekdays(calendars, "A", "2021-11-22", "2021-11-23");
  AddWeekdays(calendars, "A", "2021-11-29", "2021-12-17");  // Thanksgiving week closed after Tuesday
  const SchoolCalendar* calendar = calendars.Find("A");
  EXPECT_EQ(AddInstructionalDays(calendar, D("2021-11-22"), 1), D("2021-11-23"));
  EXPECT_EQ(AddInstructionalDays(calendar, D("2021-11-22"), 2), D("2021-11-29"));
  EXPECT_EQ(AddInstructionalDays(calendar, D("2021-11-22"), 0), D("2021-11-22"));
  // Past the calendar's end (Friday Dec 17): weekdays.
  EXPECT_EQ(AddInstructionalDays(calendar, D("2021-12-16"), 3), D("2021-12-21"));
}

TEST(Playbook, PlansActionsForEnteredAndLeftTiers) {
  Playbook playbook;
  playbook.version = "t";
  playbook.rules.push_back({Trigger::kTierEntered, 3, {{"t3-notice", ActionKind::kNotice, "attendance_clerk", 2, "Notice", "t3"}}});
  playbook.rules.push_back({Trigger::kTierLeftDownward, 3, {{"t3-review", ActionKind::kTask, "counselor", 5, "Review", ""}}});
  CalendarSet calendars;
  AddWeekdays(calendars, "A", "2021-08-23", "2021-12-17");

  TierChange up{D("2021-09-03"), 1, 3, 1, {}};
  auto entered = PlanActions(playbook, "S1", SchoolYear{2021}, up, "A", D("2021-09-03"), calendars.Find("A"), "why");
  ASSERT_EQ(entered.size(), 1u);
  EXPECT_EQ(entered[0].action_id, "t3-notice");
  EXPECT_EQ(entered[0].due_date, D("2021-09-07"));
  EXPECT_EQ(entered[0].kind, ActionKind::kNotice);

  TierChange down{D("2021-09-07"), 3, 2, 1, {}};
  auto left = PlanActions(playbook, "S1", SchoolYear{2021}, down, "A", D("2021-09-07"), calendars.Find("A"), "why");
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].action_id, "t3-review");
  EXPECT_EQ(left[0].due_date, D("2021-09-14"));
}

}  // namespace
}  // namespace tiersync
