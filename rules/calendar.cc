#include "rules/calendar.h"

#include <algorithm>

namespace tiersync {

void SchoolCalendar::Add(Date date, DayUnits units) { days_.push_back({date, units}); }

void SchoolCalendar::Sort() {
  std::sort(days_.begin(), days_.end(),
            [](const InstructionalDay& a, const InstructionalDay& b) { return a.date < b.date; });
}

std::optional<DayUnits> SchoolCalendar::Find(Date date) const {
  auto it = std::lower_bound(days_.begin(), days_.end(), date,
                             [](const InstructionalDay& day, Date d) { return day.date < d; });
  if (it == days_.end() || it->date != date) return std::nullopt;
  return it->units;
}

std::pair<const InstructionalDay*, const InstructionalDay*> SchoolCalendar::Range(Date first,
                                                                                    Date last) const {
  auto begin = std::lower_bound(days_.begin(), days_.end(), first,
                                [](const InstructionalDay& day, Date d) { return day.date < d; });
  auto end = std::upper_bound(begin, days_.end(), last,
                              [](Date d, const InstructionalDay& day) { return d < day.date; });
  return {days_.data() + (begin - days_.begin()), days_.data() + (end - days_.begin())};
}

std::optional<Date> SchoolCalendar::NthDayAfter(Date date, int count) const {
  auto it = std::upper_bound(days_.begin(), days_.end(), date,
                             [](Date d, const InstructionalDay& day) { return d < day.date; });
  auto remaining = days_.end() - it;
  if (count < 1 || remaining < count) return std::nullopt;
  return (it + (count - 1))->date;
}

const SchoolCalendar* CalendarSet::Find(const std::string& school_id) const {
  auto found = by_school_.find(school_id);
  return found == by_school_.end() ? nullptr : &found->second;
}

void CalendarSet::SortAll() {
  for (auto& [school, calendar] : by_school_) calendar.Sort();
}

std::vector<EnrolledDay> EnrolledDays(const std::vector<Enrollment>& enrollments,
                                      const CalendarSet& calendars, Date as_of) {
  // Later entries go last, so after a stable sort by date the later enrollment's day is
  // the last of each run of equal dates.
  std::vector<const Enrollment*> ordered;
  for (const auto& enrollment : enrollments) ordered.push_back(&enrollment);
  std::stable_sort(ordered.begin(), ordered.end(), [](const Enrollment* a, const Enrollment* b) {
    return a->entry_date < b->entry_date;
  });

  std::vector<EnrolledDay> days;
  size_t total = 0;
  for (const Enrollment* enrollment : ordered) {
    if (const SchoolCalendar* calendar = calendars.Find(enrollment->school_id)) total += calendar->days().size();
  }
  days.reserve(total);
  for (const Enrollment* enrollment : ordered) {
    const SchoolCalendar* calendar = calendars.Find(enrollment->school_id);
    if (calendar == nullptr) continue;
    Date last = enrollment->exit_date ? std::min(*enrollment->exit_date, as_of) : as_of;
    if (last < enrollment->entry_date) continue;
    auto [begin, end] = calendar->Range(enrollment->entry_date, last);
    for (auto* day = begin; day != end; ++day) {
      days.push_back({day->date, enrollment->school_id, day->units});
    }
  }

  // Enrollments that do not overlap, the usual case, give days already in strict order.
  bool strictly_ascending = std::adjacent_find(days.begin(), days.end(), [](const EnrolledDay& a, const EnrolledDay& b) {
                              return !(a.date < b.date);
                            }) == days.end();
  if (strictly_ascending) return days;
  std::stable_sort(days.begin(), days.end(),
                   [](const EnrolledDay& a, const EnrolledDay& b) { return a.date < b.date; });
  std::vector<EnrolledDay> unique;
  unique.reserve(days.size());
  for (auto& day : days) {
    if (!unique.empty() && unique.back().date == day.date) {
      unique.back() = std::move(day);
    } else {
      unique.push_back(std::move(day));
    }
  }
  return unique;
}

const Enrollment* EnrollmentOn(const std::vector<Enrollment>& enrollments, Date date,
                               const std::string& school_id) {
  const Enrollment* best = nullptr;
  for (const auto& enrollment : enrollments) {
    if (!school_id.empty() && enrollment.school_id != school_id) continue;
    if (date < enrollment.entry_date) continue;
    if (enrollment.exit_date && *enrollment.exit_date < date) continue;
    if (best == nullptr || best->entry_date < enrollment.entry_date) best = &enrollment;
  }
  return best;
}

}  // namespace tiersync
