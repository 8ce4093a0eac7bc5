#include "rules/tier.h"

#include <algorithm>
#include <map>

namespace tiersync {

int ClassifyTier(DayUnits absent, DayUnits enrolled, const AttendanceRules& rules) {
  if (enrolled <= 0 || enrolled < rules.min_enrolled_units) return 1;
  int tier = 1;
  // absent / enrolled >= percent / 100  <=>  absent * 100 * kUnitsPerDay >= percent_units * enrolled.
  // Both sides stay below 10^13 for any school year, far inside 64 bits.
  int64_t scaled_absent = absent * 100 * kUnitsPerDay;
  for (const auto& threshold : rules.thresholds) {
    if (scaled_absent >= threshold.from_percent_units * enrolled) {
      tier = threshold.tier;
    }
  }
  return tier;
}

TierTimeline BuildTimeline(const std::vector<EnrolledDay>& enrolled_days,
                           const std::vector<AbsenceDay>& absence_days,
                           const AttendanceRules& rules) {
  TierTimeline timeline;
  std::map<std::pair<int, bool>, int> occurrences;  // (to_tier, upward) -> count

  auto absence = absence_days.begin();
  for (const auto& day : enrolled_days) {
    // Absences on dates that are not enrolled days were kept aside already; skip any left.
    while (absence != absence_days.end() && absence->date < day.date) ++absence;

    timeline.totals.enrolled += day.units;
    if (absence != absence_days.end() && absence->date == day.date) {
      DayUnits amount = std::min(absence->amount, day.units);
      DayUnits unexcused = std::min(absence->unexcused, amount);
      timeline.totals.absent += amount;
      timeline.totals.unexcused += unexcused;
      timeline.totals.excused += amount - unexcused;
    }

    int tier = ClassifyTier(timeline.totals.absent, timeline.totals.enrolled, rules);
    if (tier != timeline.tier) {
      bool upward = tier > timeline.tier;
      int occurrence = ++occurrences[{tier, upward}];
      timeline.changes.push_back({day.date, timeline.tier, tier, occurrence, timeline.totals});
      timeline.tier = tier;
    }
  }
  return timeline;
}

std::string DescribeChange(const TierChange& change, const AttendanceRules& rules) {
  std::string text = "absent " + FormatDayUnits(change.totals.absent) + " of " +
                     FormatDayUnits(change.totals.enrolled) + " days enrolled (" +
                     FormatRatio(change.totals.absent * 100, change.totals.enrolled, 2) + "%, " +
                     FormatDayUnits(change.totals.unexcused) + " unexcused)";
  if (change.to_tier > change.from_tier) {
    for (const auto& threshold : rules.thresholds) {
      if (threshold.tier == change.to_tier) {
        text += ": Tier " + std::to_string(change.to_tier) + " starts at " +
                FormatDayUnits(threshold.from_percent_units) + "%";
      }
    }
  } else {
    const TierThreshold* from = nullptr;
    for (const auto& threshold : rules.thresholds) {
      if (threshold.tier == change.from_tier) from = &threshold;
    }
    if (change.totals.enrolled < rules.min_enrolled_units) {
      text += ": fewer than " + FormatDayUnits(rules.min_enrolled_units) + " days enrolled";
    } else if (from != nullptr) {
      text += ": below the Tier " + std::to_string(change.from_tier) + " threshold of " +
              FormatDayUnits(from->from_percent_units) + "%";
    }
  }
  return text;
}

}  // namespace tiersync
