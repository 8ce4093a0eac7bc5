#pragma once

// A synthetic school district for benchmarks and large tests, written as the CSV files
// (and optionally the Ed-Fi XML) that tiersync's sources read.
//
// Everything follows from the seed: the same spec always writes the same bytes, and any
// single day's attendance can be written on its own, because each student-day draws from a
// hash of (seed, student, date) instead of a shared random stream.
//
// The district has one school year of 180 instructional days, elementary schools
// (daily attendance) and secondary schools (daily attendance plus class-period absences),
// late entries, mid-year transfers and withdrawals, and absence rates spread so that about
// one student in four is chronically absent (10% or more of days enrolled).

#include <cstdint>
#include <string>
#include <vector>

#include "base/date.h"
#include "base/result.h"

namespace tiersync::bench {

struct DistrictSpec {
  int students = 10000;
  uint64_t seed = 1;
  int school_year = 2025;          // the school year 2025-2026
  int students_per_school = 700;
  int periods_per_day = 7;         // class periods at secondary schools
};

// One student's enrollment spans and absence propensity, as generated.
struct GeneratedStudent {
  std::string student_id;
  std::string grade;
  bool secondary = false;
  double absence_probability = 0;  // chance that an enrolled day has an absence event
  struct Span {
    int school = 0;
    int first_day = 0;              // index into the district calendar, inclusive
    int last_day = 0;               // inclusive; the year's last day when still enrolled
    bool exited = false;
  };
  std::vector<Span> spans;
};

class District {
 public:
  explicit District(DistrictSpec spec);

  const DistrictSpec& spec() const { return spec_; }
  int school_count() const { return static_cast<int>(schools_.size()); }
  const std::string& SchoolId(int school) const { return schools_[school].id; }
  // The district's instructional days in order; every school has each of them except its
  // own in-service days, and a few are half days.
  const std::vector<Date>& days() const { return days_; }
  const std::vector<GeneratedStudent>& students() const { return students_; }

  // Writes calendar.csv, enrollments.csv and attendance/<date>.csv for the first
  // `attendance_days` instructional days (all of them when negative), and a configuration
  // tiersync.yaml whose store lives in `directory`. Returns the attendance file paths.
  Result<std::vector<std::string>> WriteCsv(const std::string& directory, int attendance_days = -1) const;

  // Writes attendance/<date>.csv for one day (an index into days()) and returns its path.
  Result<std::string> WriteAttendanceDay(const std::string& directory, int day) const;

  // Writes the year's absences and tardies as Ed-Fi interchange files:
  // edfi/StudentSchoolAttendance.xml and edfi/StudentSectionAttendance.xml. Days in
  // attendance are left out, as districts that post only exceptions do.
  Result<std::vector<std::string>> WriteEdFi(const std::string& directory) const;

  // The events of one student-day as CSV rows (student_id,school_id,date,period,code,
  // duration,reason), appended to `out`. Nothing when the student is not enrolled.
  void AppendDayRows(const GeneratedStudent& student, int day, std::string& out) const;

 private:
  struct School {
    std::string id;
    bool secondary = false;
    int in_service_day = -1;        // a district day this school does not hold
  };
  bool SchoolHolds(int school, int day) const;
  bool IsHalfDay(int day) const;

  DistrictSpec spec_;
  std::vector<School> schools_;
  std::vector<Date> days_;
  std::vector<GeneratedStudent> students_;
};

// Writes `directory`/tiersync.yaml: the district's rules (the Ed-Fi attendance codes, 7
// periods a day), the store at `directory`/tiersync.db, the CSV calendar and enrollments,
// and one CSV attendance source listing `attendance_paths`. Returns the file's path.
Result<std::string> WriteDistrictConfig(const std::string& directory, const std::string& playbook_path,
                                        const std::vector<std::string>& attendance_paths);

}  // namespace tiersync::bench
