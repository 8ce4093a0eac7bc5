#include "rules/attendance_rules.h"

#include <algorithm>
#include <cctype>

namespace tiersync {

const char* BucketName(AbsenceBucket bucket) {
  switch (bucket) {
    case AbsenceBucket::kExcused:
      return "excused";
    case AbsenceBucket::kUnexcused:
      return "unexcused";
    case AbsenceBucket::kNone:
      break;
  }
  return "not_absent";
}

std::string NormalizeCode(const std::string& category) {
  std::string_view text = category;
  if (auto hash = text.rfind('#'); hash != std::string_view::npos) text.remove_prefix(hash + 1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  std::string normalized(text);
  // ASCII only, as std::tolower does in the "C" locale, without its call per character.
  for (char& c : normalized) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return normalized;
}

int AttendanceRules::PeriodsPerDay(const std::string& school_id) const {
  auto found = periods_per_day_by_school.find(school_id);
  return found == periods_per_day_by_school.end() ? default_periods_per_day : found->second;
}

const AttendanceCode* AttendanceRules::FindCode(const std::string& category) const {
  auto found = codes.find(NormalizeCode(category));
  return found == codes.end() ? nullptr : &found->second;
}

AttendanceRules AttendanceRules::Defaults() {
  AttendanceRules rules;
  rules.version = "default";
  rules.codes = {
      {"excused absence", {AbsenceBucket::kExcused, kUnitsPerDay, true}},
      {"unexcused absence", {AbsenceBucket::kUnexcused, kUnitsPerDay, true}},
      {"partial", {AbsenceBucket::kUnexcused, kUnitsPerDay / 2, true}},
      {"tardy", {AbsenceBucket::kNone, 0, false}},
      {"early departure", {AbsenceBucket::kNone, 0, false}},
      {"in attendance", {AbsenceBucket::kNone, 0, false}},
  };
  rules.thresholds = {{2, 5 * kUnitsPerDay}, {3, 10 * kUnitsPerDay}, {4, 20 * kUnitsPerDay}};
  return rules;
}

}  // namespace tiersync
