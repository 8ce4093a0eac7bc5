// File cursors with size-and-time stamps, and CsvSource::ReadEach's checks before applying.

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>

#include "connectors/csv/csv_source.h"
#include "tests/support/test_support.h"

namespace tiersync {
namespace {

using testing::TempDir;

// Moves the file's modification time an hour back, as for a file exported earlier.
void AgeFile(const std::string& path) {
  auto time = std::filesystem::last_write_time(path);
  std::filesystem::last_write_time(path, time - std::chrono::hours(1));
}

TEST(FileCursor, FreshFileHasNoStamp) {
  TempDir dir;
  std::string path = dir.File("a.csv");
  testing::WriteText(path, "x\n");
  std::string cursor = FileCursor(path, "x\n", StampOf(path));
  EXPECT_EQ(cursor, ContentCursor("x\n"));
  EXPECT_FALSE(UnchangedByStamp(path, cursor));
}

TEST(FileCursor, SettledFileIsSkippedByStamp) {
  TempDir dir;
  std::string path = dir.File("a.csv");
  testing::WriteText(path, "x\n");
  AgeFile(path);
  std::string cursor = FileCursor(path, "x\n", StampOf(path));
  EXPECT_NE(cursor, ContentCursor("x\n"));
  EXPECT_TRUE(UnchangedByStamp(path, cursor));
  EXPECT_TRUE(SameContents(cursor, ContentCursor("x\n")));

  // Any write moves the modification time, so the file is read again.
  testing::WriteText(path, "y\n");
  EXPECT_FALSE(UnchangedByStamp(path, cursor));
  EXPECT_FALSE(SameContents(cursor, ContentCursor("y\n")));

  // The reconciliation's lookup drops the stamp, so even an unchanged file is hashed.
  EXPECT_FALSE(UnchangedByStamp(path, WithoutStamp(cursor)));
}

TEST(CsvSource, ReadEachAppliesNothingWhenAFileIsMissing) {
  TempDir dir;
  testing::WriteText(dir.File("a.csv"), "student_id,date,code\nS1,2021-09-01,A\n");
  CsvSourceConfig config;
  config.name = "attendance";
  config.kind = CsvKind::kAttendance;
  config.paths = {dir.File("a.csv"), dir.File("missing.csv")};
  CsvSource source(config);

  size_t applied = 0;
  auto status = source.ReadEach([](const std::string&) { return std::nullopt; },
                                [&](Snapshot&&) { ++applied; });
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().message.find("missing.csv"), std::string::npos) << status.error().message;
  EXPECT_EQ(applied, 0u);
}

TEST(CsvSource, ReadEachAppliesNothingWhenAHeaderLacksAColumn) {
  TempDir dir;
  testing::WriteText(dir.File("a.csv"), "student_id,date,code\r\nS1,2021-09-01,A\r\n");
  testing::WriteText(dir.File("b.csv"), "student_id,day,code\nS1,2021-09-01,A\n");
  CsvSourceConfig config;
  config.name = "attendance";
  config.kind = CsvKind::kAttendance;
  config.paths = {dir.File("a.csv"), dir.File("b.csv")};
  CsvSource source(config);

  size_t applied = 0;
  auto status = source.ReadEach([](const std::string&) { return std::nullopt; },
                                [&](Snapshot&&) { ++applied; });
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().message.find("'date'"), std::string::npos) << status.error().message;
  EXPECT_EQ(applied, 0u);
}

TEST(CsvSource, ReadEachSkipsSettledUnchangedFiles) {
  TempDir dir;
  std::string path = dir.File("a.csv");
  testing::WriteText(path, "student_id,date,code\nS1,2021-09-01,A\n");
  AgeFile(path);
  CsvSourceConfig config;
  config.name = "attendance";
  config.kind = CsvKind::kAttendance;
  config.paths = {path};
  CsvSource source(config);

  std::optional<std::string> stored;
  auto status = source.ReadEach([](const std::string&) { return std::nullopt; },
                                [&](Snapshot&& snapshot) { stored = snapshot.cursor; });
  ASSERT_TRUE(status.ok()) << status.error().message;
  ASSERT_TRUE(stored.has_value());

  std::vector<Snapshot> second;
  status = source.ReadEach([&](const std::string&) { return stored; },
                           [&](Snapshot&& snapshot) { second.push_back(std::move(snapshot)); });
  ASSERT_TRUE(status.ok()) << status.error().message;
  ASSERT_EQ(second.size(), 1u);
  EXPECT_TRUE(second[0].unchanged);
  EXPECT_EQ(second[0].cursor, *stored);
}

}  // namespace
}  // namespace tiersync
