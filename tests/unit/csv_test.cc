#include <gtest/gtest.h>

#include "connectors/csv/csv_reader.h"
#include "connectors/csv/csv_source.h"

namespace tiersync {
namespace {

TEST(CsvReader, HandlesQuotesCrlfAndBom) {
  CsvReader reader("\xEF\xBB\xBF" "a,b,c\r\n\"x, y\",\"say \"\"hi\"\"\",\"two\nlines\"\r\n\r\nlast,,\n");
  CsvRow row;
  ASSERT_TRUE(reader.Next(row));
  EXPECT_EQ(row.fields, (std::vector<std::string>{"a", "b", "c"}));
  ASSERT_TRUE(reader.Next(row));
  EXPECT_EQ(row.line, 2u);
  EXPECT_EQ(row.fields, (std::vector<std::string>{"x, y", "say \"hi\"", "two\nlines"}));
  ASSERT_TRUE(reader.Next(row));
  EXPECT_EQ(row.line, 5u);
  EXPECT_EQ(row.fields, (std::vector<std::string>{"last", "", ""}));
  EXPECT_FALSE(reader.Next(row));
  EXPECT_TRUE(reader.error().empty());
}

TEST(CsvReader, ReportsUnclosedQuote) {
  CsvReader reader("a,b\n\"open,1\n");
  CsvRow row;
  ASSERT_TRUE(reader.Next(row));
  EXPECT_FALSE(reader.Next(row));
  EXPECT_NE(reader.error().find("line 2"), std::string::npos);
}

TEST(CsvReader, NumbersDuplicateHeaders) {
  EXPECT_EQ(UniqueHeaderNames({"DATE", "CODE", "DATE", " DATE "}),
            (std::vector<std::string>{"DATE", "CODE", "DATE#2", "DATE#3"}));
}

TEST(CsvSource, MapsColumnsAndRejectsBadRowsWithTheirLine) {
  CsvSourceConfig config;
  config.name = "daily";
  config.kind = CsvKind::kAttendance;
  config.date_format = DateFormat::kUs;
  config.columns = {{"student_id", "SIS_NUMBER"}, {"date", "ABS_DATE"}, {"code", "REASON"}, {"school_id", "SCHOOL"},
                    {"duration", "FTE"}};
  std::string text =
      "SIS_NUMBER,ABS_DATE,REASON,SCHOOL,FTE\n"
      "100,08/24/2021,UNE,A,1\n"
      "101,8/5/2021,EXC,A,\n"
      "102,2021-08-24,EXC,A,1\n"
      ",08/24/2021,EXC,A,1\n"
      "103,08/24/2021,EXC,A,2\n"
      "104,08/24/2021,EXC\n";
  auto snapshot = ParseCsvSnapshot(config, "daily:x.csv", "x.csv", text);
  ASSERT_TRUE(snapshot.ok()) << snapshot.error().message;
  ASSERT_EQ(snapshot->events.size(), 2u);
  EXPECT_EQ(snapshot->events[0].student_id, "100");
  EXPECT_EQ(snapshot->events[0].date, *Date::Parse("2021-08-24"));
  EXPECT_EQ(snapshot->events[0].duration, kUnitsPerDay);
  EXPECT_EQ(snapshot->events[1].date, *Date::Parse("2021-08-05"));
  EXPECT_FALSE(snapshot->events[1].duration.has_value());

  ASSERT_EQ(snapshot->rejected.size(), 4u);
  EXPECT_EQ(snapshot->rejected[0].location, "x.csv:4");
  EXPECT_NE(snapshot->rejected[0].reason.find("'2021-08-24' is not a valid date (expected MM/DD/YYYY)"), std::string::npos);
  EXPECT_EQ(snapshot->rejected[1].location, "x.csv:5");
  EXPECT_NE(snapshot->rejected[1].reason.find("student_id is empty"), std::string::npos);
  EXPECT_EQ(snapshot->rejected[2].location, "x.csv:6");
  EXPECT_NE(snapshot->rejected[2].reason.find("duration '2'"), std::string::npos);
  EXPECT_EQ(snapshot->rejected[3].location, "x.csv:7");
  EXPECT_EQ(snapshot->rejected[3].raw, "104,08/24/2021,EXC");
}

TEST(CsvSource, MissingMappedColumnIsAnErrorNamingTheKey) {
  CsvSourceConfig config;
  config.name = "enrollments";
  config.kind = CsvKind::kEnrollments;
  config.columns = {{"entry_date", "ENTER_DATE"}};
  auto snapshot = ParseCsvSnapshot(config, "o", "e.csv", "student_id,school_id,entry_date\n1,A,2021-08-23\n");
  ASSERT_FALSE(snapshot.ok());
  EXPECT_NE(snapshot.error().message.find("column 'ENTER_DATE' for field 'entry_date'"), std::string::npos);
  EXPECT_NE(snapshot.error().message.find("sources.enrollments.columns.entry_date"), std::string::npos);
}

TEST(CsvSource, EnrollmentExitBeforeEntryIsRejected) {
  CsvSourceConfig config;
  config.name = "enrollments";
  config.kind = CsvKind::kEnrollments;
  auto snapshot = ParseCsvSnapshot(config, "o", "e.csv",
                                   "student_id,school_id,entry_date,exit_date\n1,A,2021-08-23,2021-08-01\n2,A,2021-08-23,\n");
  ASSERT_TRUE(snapshot.ok());
  ASSERT_EQ(snapshot->enrollments.size(), 1u);
  EXPECT_EQ(snapshot->enrollments[0].student_id, "2");
  EXPECT_FALSE(snapshot->enrollments[0].exit_date.has_value());
  ASSERT_EQ(snapshot->rejected.size(), 1u);
  EXPECT_NE(snapshot->rejected[0].reason.find("before entry_date"), std::string::npos);
}

TEST(CsvSource, CalendarSkipsZeroFractionDays) {
  CsvSourceConfig config;
  config.name = "calendar";
  config.kind = CsvKind::kCalendar;
  auto snapshot = ParseCsvSnapshot(config, "o", "c.csv",
                                   "school_id,date,instructional_fraction\nA,2021-08-23,1\nA,2021-08-24,0\nA,2021-08-25,0.5\n");
  ASSERT_TRUE(snapshot.ok());
  ASSERT_EQ(snapshot->calendar_days.size(), 2u);
  EXPECT_EQ(snapshot->calendar_days[1].instructional, kUnitsPerDay / 2);
}

}  // namespace
}  // namespace tiersync
