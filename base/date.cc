#include "base/date.h"

#include <chrono>
#include <cstdio>

namespace tiersync {

namespace {

std::chrono::year_month_day ToYmd(Date date) {
  return std::chrono::year_month_day{std::chrono::sys_days{std::chrono::days{date.days()}}};
}

bool ParseDigits(std::string_view text, int& out) {
  if (text.empty()) return false;
  int value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + (c - '0');
  }
  out = value;
  return true;
}

}  // namespace

Date Date::FromYmd(int year, unsigned month, unsigned day) {
  std::chrono::year_month_day ymd{std::chrono::year{year}, std::chrono::month{month},
                                  std::chrono::day{day}};
  return Date(static_cast<int32_t>(std::chrono::sys_days{ymd}.time_since_epoch().count()));
}

std::optional<Date> Date::Parse(std::string_view text) {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return std::nullopt;
  int year = 0;
  int month = 0;
  int day = 0;
  if (!ParseDigits(text.substr(0, 4), year) || !ParseDigits(text.substr(5, 2), month) ||
      !ParseDigits(text.substr(8, 2), day)) {
    return std::nullopt;
  }
  std::chrono::year_month_day ymd{std::chrono::year{year},
                                  std::chrono::month{static_cast<unsigned>(month)},
                                  std::chrono::day{static_cast<unsigned>(day)}};
  if (!ymd.ok()) return std::nullopt;
  return FromYmd(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
}

int Date::year() const { return static_cast<int>(ToYmd(*this).year()); }
unsigned Date::month() const { return static_cast<unsigned>(ToYmd(*this).month()); }
unsigned Date::day() const { return static_cast<unsigned>(ToYmd(*this).day()); }

unsigned Date::iso_weekday() const {
  return std::chrono::weekday{std::chrono::sys_days{std::chrono::days{days_}}}.iso_encoding();
}

std::string Date::ToString() const {
  auto ymd = ToYmd(*this);
  char buffer[16];
  std::snprintf(buffer, sizeof buffer, "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
  return buffer;
}

std::string SchoolYear::Label() const {
  return std::to_string(start_year) + "-" + std::to_string(start_year + 1);
}

SchoolYear SchoolYearStart::YearOf(Date date) const {
  int year = date.year();
  bool before_start = date.month() < month || (date.month() == month && date.day() < day);
  return SchoolYear{before_start ? year - 1 : year};
}

Date SchoolYearStart::FirstDay(SchoolYear year) const {
  return Date::FromYmd(year.start_year, month, day);
}

}  // namespace tiersync
