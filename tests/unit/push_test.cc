#include "daemon/push.h"

#include <gtest/gtest.h>

#include "daemon/metrics.h"

namespace tiersync {
namespace {

AttendanceRules Rules() {
  AttendanceRules rules = AttendanceRules::Defaults();
  return rules;
}

TEST(PushBatch, CsvReportsEachRecord) {
  std::string body =
      "student_id,date,code,duration\n"
      "1001,2022-05-02,Excused Absence,\n"
      ",2022-05-02,Excused Absence,\n"
      "1002,2022-05-02,Excused Absence,1.5\n"
      "1003,2022-05-02\n"
      "1004,2022-05-03,Partial,0.25\n";
  auto batch = ParsePushBatch("text/csv; charset=utf-8", body, "b1", Rules(), DateFormat::kIso);
  ASSERT_TRUE(batch) << batch.error().message;
  EXPECT_EQ(batch->snapshot.origin, "push:b1");
  EXPECT_EQ(batch->stored, 2u);
  EXPECT_EQ(batch->rejected, 3u);
  ASSERT_EQ(batch->results.size(), 5u);
  EXPECT_TRUE(batch->results[0].stored);
  EXPECT_EQ(batch->results[1].reason, "student_id is missing or empty");
  EXPECT_EQ(batch->results[2].reason, "duration '1.5' is not a number from 0 to 1 with at most 4 decimals");
  EXPECT_EQ(batch->results[3].reason, "row has 2 fields but the header has 4");
  EXPECT_EQ(batch->results[3].location, "line 5");
  ASSERT_EQ(batch->snapshot.events.size(), 2u);
  EXPECT_EQ(batch->snapshot.events[1].student_id, "1004");
  EXPECT_EQ(batch->snapshot.events[1].duration, kUnitsPerDay / 4);
  ASSERT_EQ(batch->snapshot.rejected.size(), 3u);
  EXPECT_EQ(batch->snapshot.rejected[0].location, "push:b1 line 3");
}

TEST(PushBatch, CsvHeaderErrorsRefuseBatch) {
  auto missing = ParsePushBatch("text/csv", "student_id,date\n1,2022-05-02\n", "b", Rules(), DateFormat::kIso);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message, "CSV header lacks the required column 'code'");
  auto unknown = ParsePushBatch("text/csv", "student_id,date,code,name\n", "b", Rules(), DateFormat::kIso);
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().message.find("CSV header column 'name' is not a field"), std::string::npos);
}

TEST(PushBatch, JsonArrayAndUsDates) {
  std::string body = R"([{"student_id": 42, "date": "5/2/2022", "code": "Unexcused Absence", "period": "3"},
                         {"student_id": "43", "date": "2022-05-02", "code": "Unexcused Absence"},
                         "not an object"])";
  auto batch = ParsePushBatch("application/json", body, "b2", Rules(), DateFormat::kUs);
  ASSERT_TRUE(batch) << batch.error().message;
  EXPECT_EQ(batch->stored, 1u);
  EXPECT_EQ(batch->snapshot.events[0].student_id, "42");
  EXPECT_EQ(batch->snapshot.events[0].date.ToString(), "2022-05-02");
  EXPECT_EQ(batch->snapshot.events[0].period, "3");
  EXPECT_EQ(batch->results[1].reason, "date '2022-05-02' is not a valid date (expected MM/DD/YYYY)");
  EXPECT_EQ(batch->results[2].reason, "record is not a JSON object");
  EXPECT_EQ(batch->results[2].location, "records[2]");
}

TEST(PushBatch, UnsupportedContentType) {
  auto batch = ParsePushBatch("application/xml", "<a/>", "b", Rules(), DateFormat::kIso);
  ASSERT_FALSE(batch);
  EXPECT_EQ(batch.error().message,
            "Content-Type 'application/xml' is not supported; send text/csv or application/json");
}

TEST(PushBatch, BatchIdFromHeaderOrDigest) {
  EXPECT_EQ(*ResolveBatchId("etl-2022.05.02_a", "x"), "etl-2022.05.02_a");
  EXPECT_EQ(ResolveBatchId("", "same body")->size(), 32u);
  EXPECT_EQ(*ResolveBatchId("", "same body"), *ResolveBatchId("", "same body"));
  EXPECT_FALSE(ResolveBatchId("a/b", "x"));
  EXPECT_FALSE(ResolveBatchId(std::string(129, 'a'), "x"));
}

TEST(Metrics, RendersCyclesAndOutbox) {
  Metrics metrics;
  LastCycle cycle;
  cycle.number = 1;
  cycle.kind = CycleKind::kFull;
  cycle.duration_seconds = 1.5;
  cycle.students_per_tier = {{1, 10}, {2, 3}};
  CycleSummary summary;
  summary.delivery.failed = 4;
  summary.delivery.dead_lettered = 1;
  metrics.RecordCycle(cycle, &summary);
  metrics.RecordOverrun();
  std::string text = metrics.RenderPrometheus({{"pending", 7}, {"dead", 1}}, true);
  EXPECT_NE(text.find("tiersync_cycles_total{kind=\"full\",outcome=\"succeeded\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("tiersync_cycle_overruns_total 1\n"), std::string::npos);
  EXPECT_NE(text.find("tiersync_cycle_duration_seconds_sum 1.5\n"), std::string::npos);
  EXPECT_NE(text.find("tiersync_students{tier=\"2\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("tiersync_outbox_entries{status=\"pending\"} 7\n"), std::string::npos);
  EXPECT_NE(text.find("tiersync_delivery_retries_total 4\n"), std::string::npos);
  EXPECT_NE(text.find("tiersync_dead_letters_total 1\n"), std::string::npos);
  EXPECT_NE(text.find("# TYPE tiersync_cycles_total counter\n"), std::string::npos);
}

}  // namespace
}  // namespace tiersync
