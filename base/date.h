#pragma once

// Calendar dates as whole days since 1970-01-01, the unit every attendance rule counts in.

#include <compare>
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>

namespace tiersync {

class Date {
 public:
  constexpr Date() = default;
  constexpr explicit Date(int32_t days_since_epoch) : days_(days_since_epoch) {}

  static Date FromYmd(int year, unsigned month, unsigned day);

  // Parses an ISO 8601 calendar date "YYYY-MM-DD"; returns nullopt for anything else,
  // including impossible dates such as 2022-02-30.
  static std::optional<Date> Parse(std::string_view text);

  constexpr int32_t days() const { return days_; }
  int year() const;
  unsigned month() const;
  unsigned day() const;
  // ISO weekday: 1 = Monday ... 7 = Sunday.
  unsigned iso_weekday() const;

  std::string ToString() const;

  constexpr Date operator+(int32_t n) const { return Date(days_ + n); }
  constexpr Date operator-(int32_t n) const { return Date(days_ - n); }
  constexpr auto operator<=>(const Date&) const = default;

 private:
  int32_t days_ = 0;
};

inline std::ostream& operator<<(std::ostream& out, const Date& date) { return out << date.ToString(); }

// A school year named by the calendar year it starts in: 2021 is "2021-2022".
struct SchoolYear {
  int start_year = 0;
  std::string Label() const;
  auto operator<=>(const SchoolYear&) const = default;
};

// The first month and day of every school year, e.g. July 1.
struct SchoolYearStart {
  unsigned month = 7;
  unsigned day = 1;

  SchoolYear YearOf(Date date) const;
  Date FirstDay(SchoolYear year) const;
};

}  // namespace tiersync
