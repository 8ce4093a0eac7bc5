// The year's derivation pass on two reading threads, against a real store file: the days it
// hands over match deriving each student alone, and errors on either side end the pass.

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <unordered_set>
#include <vector>

#include "engine/derive_pass.h"
#include "store/store.h"
#include "tests/support/test_support.h"

namespace tiersync {
namespace {

using testing::TempDir;

Date D(const char* text) { return *Date::Parse(text); }

constexpr int kSchoolYear = 2021;

// School A's weekdays from 2021-08-23 to 2021-09-17, five enrolled students with absences
// on some days, and events that must be kept aside.
Snapshot SmallDistrict() {
  Snapshot snapshot;
  snapshot.origin = "test:district";
  snapshot.cursor = "c1";
  for (Date day = D("2021-08-23"); day <= D("2021-09-17"); day = day + 1) {
    if (day.iso_weekday() <= 5) snapshot.calendar_days.push_back({"A", day, kUnitsPerDay});
  }
  for (const char* student : {"S1", "S2", "S3", "S4", "S5"}) {
    snapshot.enrollments.push_back({student, "A", D("2021-08-23"), std::nullopt, "05"});
    for (Date day = D("2021-08-23"); day <= D("2021-09-17"); day = day + 1) {
      if (day.iso_weekday() <= 5) snapshot.events.push_back({student, "A", day, "", "In Attendance", std::nullopt, ""});
    }
  }
  // Absences replace the day's present record of that student.
  auto absent = [&snapshot](const char* student, const char* date, const char* code) {
    for (auto& event : snapshot.events) {
      if (event.student_id == student && event.date == D(date)) event.category = code;
    }
  };
  absent("S1", "2021-08-24", "Unexcused Absence");
  absent("S1", "2021-09-15", "Excused Absence");
  absent("S3", "2021-09-01", "Unexcused Absence");
  absent("S5", "2021-09-16", "Mystery Code");  // kept aside: unknown code
  // Kept aside: a Saturday, and a student with no enrollment.
  snapshot.events.push_back({"S2", "A", D("2021-08-28"), "", "Unexcused Absence", std::nullopt, ""});
  snapshot.events.push_back({"S9", "A", D("2021-09-02"), "", "Unexcused Absence", std::nullopt, ""});
  return snapshot;
}

// A store with `snapshot` applied, and the pass's input over its school year.
struct PassSetup {
  TempDir dir;
  std::unique_ptr<Store> store;
  std::map<std::string, std::vector<Enrollment>> enrollments;
  CalendarSet calendars;
  AttendanceRules rules = AttendanceRules::Defaults();
  DerivePassInput input;

  explicit PassSetup(const Snapshot& snapshot) {
    auto opened = Store::Open(dir.File("store.db"));
    if (!opened.ok()) throw std::runtime_error(opened.error().message);
    store = std::move(*opened);
    store->ApplySnapshot(snapshot, SchoolYearStart{});
    enrollments = store->LoadAllEnrollments(kSchoolYear);
    calendars = store->LoadCalendars(kSchoolYear);
    input.store_path = dir.File("store.db");
    input.school_year = kSchoolYear;
    input.dates = store->EventDates(kSchoolYear);
    input.enrollments = &enrollments;
    input.calendars = &calendars;
    input.rules = &rules;
  }
};

struct Derived {
  std::map<std::string, std::vector<Date>> absence_dates;  // by student
  std::map<std::string, size_t> kept_aside;                 // by student
};

// Runs the pass over SmallDistrict on two reading threads, or on the calling thread through
// the store's own connection, and checks the days it hands over.
void CheckSmallDistrict(bool on_calling_thread) {
  PassSetup setup(SmallDistrict());
  Store& store = *setup.store;
  DerivePassInput& input = setup.input;
  ASSERT_EQ(input.dates.size(), 21u);  // 20 weekdays and the Saturday
  if (on_calling_thread) {
    input.read_here = [&store](Date first, Date last,
                               const std::function<void(std::vector<AttendanceEvent>&)>& visit) {
      store.VisitStudentDays(kSchoolYear, first, last, visit);
    };
  }

  Derived pass;
  DerivePassResult result = DeriveStudentDays(input, [&pass](const std::string& student_id,
                                                            const StudentAbsences& absences) {
    for (const auto& day : absences.days) pass.absence_dates[student_id].push_back(day.date);
    pass.kept_aside[student_id] += absences.kept_aside.size();
  });

  EXPECT_EQ(result.students, (std::vector<std::string>{"S1", "S2", "S3", "S4", "S5", "S9"}));
  EXPECT_EQ(result.kept_aside, 3u);
  for (auto& [student_id, dates] : pass.absence_dates) std::sort(dates.begin(), dates.end());
  EXPECT_EQ(pass.absence_dates["S1"], (std::vector<Date>{D("2021-08-24"), D("2021-09-15")}));
  EXPECT_EQ(pass.absence_dates["S3"], (std::vector<Date>{D("2021-09-01")}));
  EXPECT_EQ(pass.absence_dates.count("S4"), 0u);
  EXPECT_EQ(pass.kept_aside["S2"], 1u);
  EXPECT_EQ(pass.kept_aside["S5"], 1u);
  EXPECT_EQ(pass.kept_aside["S9"], 1u);

  // The same as deriving each student's whole year at once.
  for (const auto& student_id : result.students) {
    auto found = setup.enrollments.find(student_id);
    StudentAbsences alone =
        DeriveAbsences(found == setup.enrollments.end() ? std::vector<Enrollment>{} : found->second,
                       store.LoadEvents(student_id, kSchoolYear), setup.calendars, setup.rules);
    std::vector<Date> dates;
    for (const auto& day : alone.days) dates.push_back(day.date);
    EXPECT_EQ(pass.absence_dates[student_id], dates) << student_id;
    EXPECT_EQ(pass.kept_aside[student_id], alone.kept_aside.size()) << student_id;
  }
}

TEST(DerivePass, MatchesDerivingEachStudent) { CheckSmallDistrict(false); }

TEST(DerivePass, CallingThreadMatchesToo) { CheckSmallDistrict(true); }

TEST(DerivePass, OnlyListedStudents) {
  PassSetup setup(SmallDistrict());
  std::unordered_set<std::string> only = {"S3", "S9"};
  setup.input.only = &only;

  std::vector<std::string> written;
  DerivePassResult result = DeriveStudentDays(setup.input, [&written](const std::string& student_id,
                                                                      const StudentAbsences&) {
    written.push_back(student_id);
  });
  std::sort(written.begin(), written.end());
  EXPECT_EQ(written, (std::vector<std::string>{"S3", "S9"}));
  EXPECT_EQ(result.students, (std::vector<std::string>{"S3", "S9"}));
  EXPECT_EQ(result.kept_aside, 1u);
}

TEST(DerivePass, ReadErrorReachesCaller) {
  TempDir dir;
  std::map<std::string, std::vector<Enrollment>> enrollments;
  CalendarSet calendars;
  AttendanceRules rules = AttendanceRules::Defaults();
  DerivePassInput input;
  input.store_path = dir.File("missing.db");  // not created: opening it fails
  input.school_year = kSchoolYear;
  input.dates = {D("2021-08-23"), D("2021-08-24")};
  input.enrollments = &enrollments;
  input.calendars = &calendars;
  input.rules = &rules;
  size_t written = 0;
  EXPECT_THROW(DeriveStudentDays(input, [&written](const std::string&, const StudentAbsences&) { ++written; }),
               sqlite::SqliteError);
  EXPECT_EQ(written, 0u);
}

// Enough absences that the reading threads wait on a full queue when the writer fails.
TEST(DerivePass, WriteErrorStopsReaders) {
  Snapshot snapshot;
  snapshot.origin = "test:absent";
  snapshot.cursor = "c1";
  std::vector<Date> days;
  for (Date day = D("2021-08-23"); day <= D("2022-01-28"); day = day + 1) {
    if (day.iso_weekday() <= 5) days.push_back(day);
  }
  for (Date day : days) snapshot.calendar_days.push_back({"A", day, kUnitsPerDay});
  for (int number = 0; number < 500; ++number) {
    std::string student = "S" + std::to_string(1000 + number);
    snapshot.enrollments.push_back({student, "A", days.front(), std::nullopt, "05"});
    for (Date day : days) snapshot.events.push_back({student, "A", day, "", "Unexcused Absence", std::nullopt, ""});
  }
  PassSetup setup(snapshot);
  ASSERT_GT(days.size() * 500, 40000u);
  size_t written = 0;
  EXPECT_THROW(DeriveStudentDays(setup.input,
                                 [&written](const std::string&, const StudentAbsences&) {
                                   if (++written == 100) throw std::runtime_error("disk full");
                                 }),
               std::runtime_error);
  EXPECT_EQ(written, 100u);
}

}  // namespace
}  // namespace tiersync
