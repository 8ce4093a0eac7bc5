// TierEngine::Explain: the days, events and rule behind one student's tier.

#include <sstream>

#include "engine/tier_engine.h"

namespace tiersync {

std::optional<std::string> TierEngine::Explain(const std::string& student_id, Date as_of) {
  int school_year = settings_.year_start.YearOf(as_of).start_year;
  const CalendarSet& calendars = Calendars(school_year);

  StudentInputs inputs;
  inputs.enrollments = store_.LoadEnrollments(student_id, school_year);
  std::vector<AttendanceEvent> events = store_.LoadEvents(student_id, school_year);
  if (inputs.enrollments.empty() && events.empty()) return std::nullopt;
  StudentAbsences absences = DeriveAbsences(inputs.enrollments, events, calendars, settings_.rules);
  inputs.absence_days = absences.days;

  TierTimeline timeline;
  StudentTier tier = Evaluate(student_id, inputs, as_of, &timeline);
  std::ostringstream out;

  out << "Student " << student_id << ", school year " << SchoolYear{school_year}.Label() << ", as of "
      << as_of.ToString() << " (rules version " << settings_.rules.version << ")\n\n";

  out << "Enrollments:\n";
  if (inputs.enrollments.empty()) out << "  none: every event is kept aside as unknown_student\n";
  std::vector<EnrolledDay> days = EnrolledDays(inputs.enrollments, calendars, as_of);
  for (const auto& enrollment : inputs.enrollments) {
    DayUnits units = 0;
    for (const auto& day : days) {
      if (day.school_id == enrollment.school_id && enrollment.entry_date <= day.date &&
          (!enrollment.exit_date || day.date <= *enrollment.exit_date)) {
        units += day.units;
      }
    }
    out << "  school " << enrollment.school_id << " from " << enrollment.entry_date.ToString() << " to "
        << (enrollment.exit_date ? enrollment.exit_date->ToString() : std::string("(no exit)"))
        << ": " << FormatDayUnits(units) << " instructional days up to " << as_of.ToString() << "\n";
  }

  out << "\nAbsence days up to " << as_of.ToString() << " (events on one day combine by the largest amount):\n";
  for (const auto& day : absences.days) {
    if (as_of < day.date) break;
    out << "  " << day.date.ToString() << "  school " << day.school_id << "  " << FormatDayUnits(day.amount)
        << " day (" << FormatDayUnits(day.excused) << " excused, " << FormatDayUnits(day.unexcused)
        << " unexcused) from " << day.basis << "\n";
    std::string same_day;
    for (const auto& event : events) {
      if (event.date != day.date) continue;
      same_day += (same_day.empty() ? "" : ", ") + NormalizeCode(event.category) +
                  (event.period.empty() ? "" : " in period " + event.period) +
                  (event.duration ? " (duration " + FormatDayUnits(*event.duration) + ")" : "");
    }
    out << "              events that day: " << same_day << "\n";
  }

  out << "\nEvents that do not count an absence:\n";
  size_t not_counted = 0;
  for (const auto& event : events) {
    if (as_of < event.date) continue;
    const AttendanceCode* code = settings_.rules.FindCode(event.category);
    if (code != nullptr && code->bucket == AbsenceBucket::kNone) {
      out << "  " << event.date.ToString() << "  " << NormalizeCode(event.category)
          << (event.period.empty() ? "" : " in period " + event.period) << ": not an absence\n";
      ++not_counted;
    }
  }
  for (const auto& aside : absences.kept_aside) {
    if (as_of < aside.event.date) continue;
    out << "  " << aside.event.date.ToString() << "  " << NormalizeCode(aside.event.category) << ": kept aside ("
        << KeptAsideReasonCode(aside.reason) << ": " << aside.detail << ")\n";
    ++not_counted;
  }
  if (not_counted == 0) out << "  none\n";

  out << "\nTotals: absent " << FormatDayUnits(tier.totals.absent) << " of " << FormatDayUnits(tier.totals.enrolled)
      << " days enrolled (" << FormatDayUnits(tier.totals.excused) << " excused, "
      << FormatDayUnits(tier.totals.unexcused) << " unexcused)";
  if (tier.totals.enrolled > 0) {
    out << ", absence rate " << FormatRatio(tier.totals.absent, tier.totals.enrolled, 4);
  }
  out << "\n";

  out << "Rule: ";
  if (tier.totals.enrolled < settings_.rules.min_enrolled_units) {
    out << "fewer than " << FormatDayUnits(settings_.rules.min_enrolled_units)
        << " days enrolled, so the student stays in Tier 1";
  } else {
    out << "Tier 1 below " << FormatDayUnits(settings_.rules.thresholds.front().from_percent_units) << "%";
    for (const auto& threshold : settings_.rules.thresholds) {
      out << "; Tier " << threshold.tier << " from " << FormatDayUnits(threshold.from_percent_units) << "%";
    }
  }
  out << "\nTier at " << as_of.ToString() << ": " << tier.tier << "\n";

  out << "\nTier changes this school year up to " << as_of.ToString() << ":\n";
  if (timeline.changes.empty()) out << "  none (Tier 1 throughout)\n";
  for (const auto& change : timeline.changes) {
    out << "  " << change.date.ToString() << "  Tier " << change.from_tier << " -> " << change.to_tier << ": "
        << DescribeChange(change, settings_.rules) << "\n";
  }
  return out.str();
}

}  // namespace tiersync
