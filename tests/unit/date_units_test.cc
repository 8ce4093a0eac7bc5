#include <gtest/gtest.h>

#include "base/date.h"
#include "base/units.h"

namespace tiersync {
namespace {

TEST(Date, ParsesAndFormatsIsoDates) {
  auto date = Date::Parse("2022-05-27");
  ASSERT_TRUE(date.has_value());
  EXPECT_EQ(date->ToString(), "2022-05-27");
  EXPECT_EQ(date->year(), 2022);
  EXPECT_EQ(date->month(), 5u);
  EXPECT_EQ(date->day(), 27u);
  EXPECT_EQ(Date::Parse("1970-01-01")->days(), 0);
}

TEST(Date, RejectsMalformedAndImpossibleDates) {
  EXPECT_FALSE(Date::Parse("2022-02-30"));
  EXPECT_FALSE(Date::Parse("2022-13-01"));
  EXPECT_FALSE(Date::Parse("05/27/2022"));
  EXPECT_FALSE(Date::Parse("2022-5-27"));
  EXPECT_FALSE(Date::Parse(""));
  EXPECT_FALSE(Date::Parse("2022-05-27T00:00"));
}

TEST(Date, IsoWeekdayOfKnownSunday) {
  EXPECT_EQ(Date::Parse("2022-05-15")->iso_weekday(), 7u);
  EXPECT_EQ(Date::Parse("2022-05-16")->iso_weekday(), 1u);
}

TEST(SchoolYearStart, AssignsDatesToSchoolYears) {
  SchoolYearStart start{7, 1};
  EXPECT_EQ(start.YearOf(*Date::Parse("2021-08-23")).start_year, 2021);
  EXPECT_EQ(start.YearOf(*Date::Parse("2022-05-27")).start_year, 2021);
  EXPECT_EQ(start.YearOf(*Date::Parse("2022-06-30")).start_year, 2021);
  EXPECT_EQ(start.YearOf(*Date::Parse("2022-07-01")).start_year, 2022);
  EXPECT_EQ(SchoolYear{2021}.Label(), "2021-2022");
}

TEST(DayUnits, ParsesExactDecimals) {
  EXPECT_EQ(ParseDayUnits("1"), kUnitsPerDay);
  EXPECT_EQ(ParseDayUnits("0.5"), kUnitsPerDay / 2);
  EXPECT_EQ(ParseDayUnits(".75"), 7500);
  EXPECT_EQ(ParseDayUnits("0.3333"), 3333);
  EXPECT_EQ(ParseDayUnits("1.00000"), kUnitsPerDay);
}

TEST(DayUnits, RejectsValuesThatCannotBeExact) {
  EXPECT_FALSE(ParseDayUnits("0.33333"));
  EXPECT_FALSE(ParseDayUnits("-1"));
  EXPECT_FALSE(ParseDayUnits("1e0"));
  EXPECT_FALSE(ParseDayUnits("one"));
  EXPECT_FALSE(ParseDayUnits("."));
  EXPECT_FALSE(ParseDayUnits(""));
}

TEST(DayUnits, FormatsShortestDecimal) {
  EXPECT_EQ(FormatDayUnits(kUnitsPerDay), "1");
  EXPECT_EQ(FormatDayUnits(12 * kUnitsPerDay + 5000), "12.5");
  EXPECT_EQ(FormatDayUnits(7500), "0.75");
  EXPECT_EQ(FormatDayUnits(0), "0");
  EXPECT_EQ(FormatDayUnits(1), "0.0001");
}

TEST(DayUnits, FormatsRatiosRoundedHalfUp) {
  EXPECT_EQ(FormatRatio(12, 169, 4), "0.0710");
  EXPECT_EQ(FormatRatio(1, 20, 4), "0.0500");
  EXPECT_EQ(FormatRatio(1, 8, 2), "0.13");
  EXPECT_EQ(FormatRatio(0, 5, 4), "0.0000");
  EXPECT_EQ(FormatRatio(5, 5, 4), "1.0000");
}

}  // namespace
}  // namespace tiersync
