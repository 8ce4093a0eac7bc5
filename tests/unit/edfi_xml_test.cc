#include <gtest/gtest.h>

#include "connectors/edfi/edfi_xml_source.h"
#include "rules/attendance_rules.h"
#include "tests/support/test_support.h"

namespace tiersync {
namespace {

std::string Interchange(const std::string& ns, const std::string& body) {
  return "<?xml version=\"1.0\"?>\n<InterchangeStudentAttendance xmlns=\"" + ns + "\">\n" + body +
         "</InterchangeStudentAttendance>\n";
}

const char* kDailyEvent = R"(<StudentSchoolAttendanceEvent>
  <AttendanceEvent>
    <EventDate>2021-08-31</EventDate>
    <AttendanceEventCategory>uri://ed-fi.org/AttendanceEventCategoryDescriptor#Excused Absence</AttendanceEventCategory>
    <AttendanceEventReason>Absent excused</AttendanceEventReason>
    <EventDuration>0.75</EventDuration>
  </AttendanceEvent>
  <StudentReference><StudentIdentity><StudentUniqueId>604822</StudentUniqueId></StudentIdentity></StudentReference>
  <SchoolReference><SchoolIdentity><SchoolId>255901001</SchoolId></SchoolIdentity></SchoolReference>
</StudentSchoolAttendanceEvent>
)";

TEST(EdFiXml, ReadsTheSameRecordsUnderAnyNamespaceVersion) {
  for (const char* ns : {"http://ed-fi.org/5.1.0", "http://ed-fi.org/5.2.0", "http://ed-fi.org/6.1.0"}) {
    auto snapshot = ParseEdFiXml("o", "a.xml", Interchange(ns, kDailyEvent));
    ASSERT_TRUE(snapshot.ok()) << snapshot.error().message;
    ASSERT_EQ(snapshot->events.size(), 1u) << ns;
    const auto& event = snapshot->events[0];
    EXPECT_EQ(event.student_id, "604822");
    EXPECT_EQ(event.school_id, "255901001");
    EXPECT_EQ(event.date, *Date::Parse("2021-08-31"));
    EXPECT_EQ(event.duration, 7500);
    EXPECT_EQ(event.period, "");
    EXPECT_EQ(NormalizeCode(event.category), "excused absence");
  }
}

TEST(EdFiXml, ReadsPrefixedElements) {
  std::string xml = R"(<?xml version="1.0"?>
<ef:InterchangeStudentAttendance xmlns:ef="http://ed-fi.org/6.1.0">
<ef:StudentSchoolAttendanceEvent>
  <ef:AttendanceEvent><ef:EventDate>2021-09-01</ef:EventDate>
    <ef:AttendanceEventCategory>Unexcused Absence</ef:AttendanceEventCategory></ef:AttendanceEvent>
  <ef:StudentReference><ef:StudentIdentity><ef:StudentUniqueId>7</ef:StudentUniqueId></ef:StudentIdentity></ef:StudentReference>
  <ef:SchoolReference><ef:SchoolIdentity><ef:SchoolId>9</ef:SchoolId></ef:SchoolIdentity></ef:SchoolReference>
</ef:StudentSchoolAttendanceEvent>
</ef:InterchangeStudentAttendance>
)";
  auto snapshot = ParseEdFiXml("o", "p.xml", xml);
  ASSERT_TRUE(snapshot.ok());
  ASSERT_EQ(snapshot->events.size(), 1u);
  EXPECT_EQ(snapshot->events[0].student_id, "7");
  EXPECT_FALSE(snapshot->events[0].duration.has_value());
}

TEST(EdFiXml, RejectsIncompleteRecordsNamingTheLine) {
  std::string body = std::string(kDailyEvent) + R"(<StudentSchoolAttendanceEvent>
  <AttendanceEvent><EventDate>2021-13-01</EventDate>
    <AttendanceEventCategory>Tardy</AttendanceEventCategory></AttendanceEvent>
  <StudentReference><StudentIdentity><StudentUniqueId>1</StudentUniqueId></StudentIdentity></StudentReference>
  <SchoolReference><SchoolIdentity><SchoolId>9</SchoolId></SchoolIdentity></SchoolReference>
</StudentSchoolAttendanceEvent>
)";
  auto snapshot = ParseEdFiXml("o", "bad.xml", Interchange("http://ed-fi.org/5.2.0", body));
  ASSERT_TRUE(snapshot.ok());
  EXPECT_EQ(snapshot->events.size(), 1u);
  ASSERT_EQ(snapshot->rejected.size(), 1u);
  EXPECT_EQ(snapshot->rejected[0].location, "bad.xml:13");
  EXPECT_NE(snapshot->rejected[0].reason.find("EventDate '2021-13-01'"), std::string::npos);
}

TEST(EdFiXml, MalformedXmlIsAnError) {
  auto snapshot = ParseEdFiXml("o", "broken.xml", "<a><b></a>");
  ASSERT_FALSE(snapshot.ok());
  EXPECT_NE(snapshot.error().message.find("broken.xml:1: not well-formed XML"), std::string::npos);
}

TEST(EdFiXml, GrandBendSampleCounts) {
  std::string path = testing::SourcePath("data/grand-bend/StudentSchoolAttendance.xml");
  auto snapshot = ParseEdFiXml("o", path, testing::ReadText(path));
  ASSERT_TRUE(snapshot.ok());
  EXPECT_EQ(snapshot->events.size(), 1917u);
  EXPECT_TRUE(snapshot->rejected.empty());
  size_t without_duration = 0;
  for (const auto& event : snapshot->events) without_duration += event.duration ? 0 : 1;
  EXPECT_EQ(without_duration, 67u);

  std::string sections = testing::SourcePath("data/grand-bend/StudentSectionAttendance-Tardy.xml");
  auto section_snapshot = ParseEdFiXml("o", sections, testing::ReadText(sections));
  ASSERT_TRUE(section_snapshot.ok());
  ASSERT_EQ(section_snapshot->events.size(), 66u);
  EXPECT_EQ(section_snapshot->events[0].period, "25590110702Trad201MATH0322011");
  EXPECT_EQ(section_snapshot->events[0].school_id, "255901107");

  std::string calendar = testing::SourcePath("data/grand-bend/EducationOrgCalendar.xml");
  auto sessions = ParseEdFiXml("o", calendar, testing::ReadText(calendar));
  ASSERT_TRUE(sessions.ok());
  ASSERT_EQ(sessions->sessions.size(), 6u);
  EXPECT_EQ(sessions->sessions[0].total_instructional_days, 81);
}

}  // namespace
}  // namespace tiersync
