// Store::ApplySnapshot: replaces one origin's records with a new snapshot, writing only
// the differences, so re-reading unchanged data changes nothing.

#include <algorithm>
#include <set>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <unordered_set>

#include "store/store.h"

namespace tiersync {

namespace {

constexpr char kSeparator = '\x1f';

std::string JoinKey(std::initializer_list<std::string_view> parts) {
  std::string key;
  for (auto part : parts) {
    key.append(part);
    key.push_back(kSeparator);
  }
  return key;
}

std::string OptionalText(const std::optional<int64_t>& value) {
  return value ? std::to_string(*value) : std::string("-");
}

// Inserts or updates attendance events, many rows per statement. One statement keeps its
// write cursor open from row to row, so rows in the table's key order go to the last leaf
// page without a search from the root. A backfill writes millions of rows.
class EventWriter {
 public:
  EventWriter(sqlite::Database& db, int64_t origin_id)
      : batch_(db.Prepare(Sql(kBatchRows))), single_(db.Prepare(Sql(1))), origin_id_(origin_id) {
    pending_.reserve(kBatchRows);
  }

  // `event` must stay alive until Flush: its text is bound without a copy.
  void Add(const AttendanceEvent& event, int school_year) {
    pending_.emplace_back(&event, school_year);
    if (pending_.size() == kBatchRows) Flush();
  }

  void Flush() {
    if (pending_.size() == kBatchRows) {
      for (size_t row = 0; row < pending_.size(); ++row) Bind(batch_, static_cast<int>(row) * kColumns, pending_[row]);
      batch_.Run();
    } else {
      for (const auto& row : pending_) {
        Bind(single_, 0, row);
        single_.Run();
      }
    }
    pending_.clear();
  }

 private:
  static constexpr size_t kBatchRows = 64;
  static constexpr int kColumns = 9;

  static std::string Sql(size_t rows) {
    std::string sql =
        "INSERT INTO attendance_event (date, student_id, school_id, period, category, school_year, duration, reason, "
        "origin_id) VALUES ";
    for (size_t row = 0; row < rows; ++row) sql += row == 0 ? "(?,?,?,?,?,?,?,?,?)" : ",(?,?,?,?,?,?,?,?,?)";
    sql += " ON CONFLICT (date, student_id, school_id, period, category) DO UPDATE SET duration = excluded.duration, "
           "reason = excluded.reason, origin_id = excluded.origin_id";
    return sql;
  }

  void Bind(sqlite::Statement& statement, int first, const std::pair<const AttendanceEvent*, int>& row) const {
    const AttendanceEvent& event = *row.first;
    statement.Bind(first + 1, event.date.days()).BindBorrowed(first + 2, event.student_id)
        .BindBorrowed(first + 3, event.school_id).BindBorrowed(first + 4, event.period)
        .BindBorrowed(first + 5, event.category).Bind(first + 6, row.second).Bind(first + 7, event.duration)
        .BindBorrowed(first + 8, event.reason).Bind(first + 9, origin_id_);
  }

  sqlite::Statement batch_;
  sqlite::Statement single_;
  int64_t origin_id_;
  std::vector<std::pair<const AttendanceEvent*, int>> pending_;
};

// Tracks what one table held from an origin before, and what the snapshot changed.
struct TableDiff {
  std::unordered_map<std::string, std::string> before;  // key -> value
  std::set<std::string> seen;
};

}  // namespace

ApplyStats Store::ApplySnapshot(const Snapshot& snapshot, const SchoolYearStart& year_start) {
  ApplyStats stats;
  if (snapshot.unchanged) {
    stats.skipped = true;
    return stats;
  }
  stats.read = snapshot.RecordCount();

  sqlite::Transaction transaction(db_);
  // The remembered dirty students may include marks of this transaction; forget them all
  // unless it commits.
  struct ForgetUnlessCommitted {
    std::optional<std::string>& generation;
    bool committed = false;
    ~ForgetUnlessCommitted() {
      if (!committed) generation.reset();
    }
  } forget{whole_dirty_generation_};
  std::set<std::pair<std::string, int>> dirty;            // (student, year) to derive whole
  std::vector<std::tuple<std::string, int, int32_t>> dirty_days;  // (student, year, date)
  std::set<std::pair<std::string, int>> dirty_calendars;  // (school, year)
  std::vector<RejectedRecord> duplicates;

  auto note_duplicate = [&](const std::string& what, const std::string& key) {
    std::string raw = key;
    for (char& c : raw) {
      if (c == kSeparator) c = ',';
    }
    duplicates.push_back({snapshot.origin, what + " appears twice in the origin with different values; the first is kept",
                          raw});
  };

  // Calendar days.
  {
    TableDiff diff;
    auto select = db_.Prepare("SELECT school_id, date, units FROM calendar_day WHERE origin = ?");
    select.Bind(1, snapshot.origin);
    while (select.Step()) {
      diff.before[JoinKey({select.Text(0), std::to_string(select.Int(1))})] = std::to_string(select.Int(2));
    }
    auto upsert = db_.Prepare(
        "INSERT INTO calendar_day (school_id, date, school_year, units, origin) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (school_id, date) DO UPDATE SET units = excluded.units, origin = excluded.origin");
    for (const auto& day : snapshot.calendar_days) {
      std::string key = JoinKey({day.school_id, std::to_string(day.date.days())});
      std::string value = std::to_string(day.instructional);
      if (!diff.seen.insert(key).second) {
        note_duplicate("calendar day", key);
        continue;
      }
      auto found = diff.before.find(key);
      if (found != diff.before.end() && found->second == value) continue;
      ++(found == diff.before.end() ? stats.inserted : stats.updated);
      int year = year_start.YearOf(day.date).start_year;
      upsert.Bind(1, day.school_id).Bind(2, day.date.days()).Bind(3, year).Bind(4, day.instructional)
          .Bind(5, snapshot.origin).Run();
      dirty_calendars.insert({day.school_id, year});
    }
    auto remove = db_.Prepare("DELETE FROM calendar_day WHERE school_id = ? AND date = ? AND origin = ?");
    for (const auto& [key, value] : diff.before) {
      if (diff.seen.count(key)) continue;
      auto split = key.find(kSeparator);
      std::string school = key.substr(0, split);
      Date date(std::stoi(key.substr(split + 1)));
      remove.Bind(1, school).Bind(2, date.days()).Bind(3, snapshot.origin).Run();
      dirty_calendars.insert({school, year_start.YearOf(date).start_year});
      ++stats.deleted;
    }
  }

  // Enrollments.
  {
    TableDiff diff;
    auto select = db_.Prepare(
        "SELECT student_id, school_id, entry_date, exit_date, grade, school_year FROM enrollment WHERE origin = ?");
    select.Bind(1, snapshot.origin);
    std::unordered_map<std::string, std::pair<std::string, int>> year_of;
    while (select.Step()) {
      std::string key = JoinKey({select.Text(0), select.Text(1), std::to_string(select.Int(2))});
      diff.before[key] = JoinKey({OptionalText(select.OptionalInt(3)), select.Text(4)});
      year_of[key] = {select.Text(0), static_cast<int>(select.Int(5))};
    }
    auto upsert = db_.Prepare(
        "INSERT INTO enrollment (student_id, school_id, entry_date, exit_date, school_year, grade, origin) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (student_id, school_id, entry_date) DO UPDATE SET "
        "exit_date = excluded.exit_date, grade = excluded.grade, origin = excluded.origin");
    for (const auto& enrollment : snapshot.enrollments) {
      std::string key = JoinKey({enrollment.student_id, enrollment.school_id,
                                 std::to_string(enrollment.entry_date.days())});
      std::optional<int64_t> exit;
      if (enrollment.exit_date) exit = enrollment.exit_date->days();
      std::string value = JoinKey({OptionalText(exit), enrollment.grade});
      if (!diff.seen.insert(key).second) {
        note_duplicate("enrollment", key);
        continue;
      }
      auto found = diff.before.find(key);
      if (found != diff.before.end() && found->second == value) continue;
      ++(found == diff.before.end() ? stats.inserted : stats.updated);
      int year = year_start.YearOf(enrollment.entry_date).start_year;
      upsert.Bind(1, enrollment.student_id).Bind(2, enrollment.school_id).Bind(3, enrollment.entry_date.days())
          .Bind(4, exit).Bind(5, year).Bind(6, enrollment.grade).Bind(7, snapshot.origin).Run();
      dirty.insert({enrollment.student_id, year});
    }
    auto remove = db_.Prepare(
        "DELETE FROM enrollment WHERE student_id = ? AND school_id = ? AND entry_date = ? AND origin = ?");
    for (const auto& [key, value] : diff.before) {
      if (diff.seen.count(key)) continue;
      auto first = key.find(kSeparator);
      auto second = key.find(kSeparator, first + 1);
      remove.Bind(1, key.substr(0, first)).Bind(2, key.substr(first + 1, second - first - 1))
          .Bind(3, static_cast<int64_t>(std::stoll(key.substr(second + 1)))).Bind(4, snapshot.origin).Run();
      dirty.insert(year_of[key]);
      ++stats.deleted;
    }
  }

  // An event change dirties only its day, unless the whole student is dirty already. The
  // dirty students are read once, when first needed, and remembered while no process
  // clears any of them.
  std::string generation = Meta("dirty_generation").value_or("0");
  // Events come in student order within a date, so a student's days are looked up once.
  const std::string* last_student = nullptr;
  int last_year = 0;
  bool last_whole = false;
  auto mark_day = [&](const std::string& student, int year, int32_t date) {
    if (last_student == nullptr || *last_student != student || last_year != year) {
      if (whole_dirty_generation_ != generation) {
        whole_dirty_.clear();
        auto select_whole = db_.Prepare("SELECT student_id, school_year FROM dirty_student");
        while (select_whole.Step()) {
          whole_dirty_.insert({select_whole.Text(0), static_cast<int>(select_whole.Int(1))});
        }
        whole_dirty_generation_ = generation;
      }
      last_whole = whole_dirty_.count(std::pair<std::string_view, int>(student, year)) > 0 ||
                   (!dirty.empty() && dirty.count({student, year}) > 0);
      last_student = &student;
      last_year = year;
    }
    // In a backfill the enrollments mark every enrolled student dirty whole, so few days
    // are left to sort and mark.
    if (!last_whole) dirty_days.emplace_back(student, year, date);
  };

  // Attendance events: the snapshot and the rows held from the origin are both sorted by
  // the table's key and compared in one merge, with no per-event hashing.
  {
    int64_t origin_id = OriginId(snapshot.origin);
    auto key_less = [](const AttendanceEvent& a, const AttendanceEvent& b) {
      return std::tie(a.date, a.student_id, a.school_id, a.period, a.category) <
             std::tie(b.date, b.student_id, b.school_id, b.period, b.category);
    };
    auto same_key = [](const AttendanceEvent& a, const AttendanceEvent& b) {
      return a.date == b.date && a.student_id == b.student_id && a.school_id == b.school_id &&
             a.period == b.period && a.category == b.category;
    };

    std::vector<AttendanceEvent> before;
    auto select = db_.Prepare(
        "SELECT e.student_id, e.school_id, e.date, e.period, e.category, e.duration, e.reason "
        "FROM origin_date o CROSS JOIN attendance_event e ON e.date = o.date "
        "WHERE o.origin_id = ?1 AND e.origin_id = ?1");
    select.Bind(1, origin_id);
    while (select.Step()) {
      before.push_back({select.Text(0), select.Text(1), Date(static_cast<int32_t>(select.Int(2))), select.Text(3),
                        select.Text(4), select.OptionalInt(5), select.Text(6)});
    }
    std::sort(before.begin(), before.end(), key_less);

    // Stable, so that of two events with one key the first in the origin is kept.
    std::vector<const AttendanceEvent*> incoming;
    incoming.reserve(snapshot.events.size());
    for (const auto& event : snapshot.events) incoming.push_back(&event);
    auto pointer_less = [&](const AttendanceEvent* a, const AttendanceEvent* b) { return key_less(*a, *b); };
    // A file written in key order, as the generated ones are, skips the sort. The check costs
    // one comparison per event.
    if (!std::is_sorted(incoming.begin(), incoming.end(), pointer_less)) {
      std::stable_sort(incoming.begin(), incoming.end(), pointer_less);
    }

    EventWriter upsert(db_, origin_id);
    auto remove = db_.Prepare(
        "DELETE FROM attendance_event WHERE date = ? AND student_id = ? AND school_id = ? AND period = ? "
        "AND category = ? AND origin_id = ?");
    auto add_date = db_.Prepare("INSERT OR IGNORE INTO event_date (date, school_year) VALUES (?, ?)");
    auto add_origin_date = db_.Prepare("INSERT OR IGNORE INTO origin_date (origin_id, date) VALUES (?, ?)");
    std::optional<Date> year_date;
    int year = 0;
    auto year_of = [&](Date date) {
      if (date != year_date) {
        year = year_start.YearOf(date).start_year;
        year_date = date;
      }
      return year;
    };
    std::optional<Date> last_written_date;
    auto write = [&](const AttendanceEvent& event) {
      int event_year = year_of(event.date);
      if (event.date != last_written_date) {
        add_date.Bind(1, event.date.days()).Bind(2, event_year).Run();
        add_origin_date.Bind(1, origin_id).Bind(2, event.date.days()).Run();
        last_written_date = event.date;
      }
      upsert.Add(event, event_year);
      mark_day(event.student_id, event_year, event.date.days());
    };
    auto erase = [&](const AttendanceEvent& stored) {
      remove.Bind(1, stored.date.days()).Bind(2, stored.student_id).Bind(3, stored.school_id).Bind(4, stored.period)
          .Bind(5, stored.category).Bind(6, origin_id).Run();
      mark_day(stored.student_id, year_of(stored.date), stored.date.days());
      ++stats.deleted;
    };

    // The merge visits keys in ascending order, so rows are written in the table's order.
    size_t old_index = 0;
    for (size_t index = 0; index < incoming.size(); ++index) {
      const AttendanceEvent& event = *incoming[index];
      if (index > 0 && same_key(*incoming[index - 1], event)) {
        note_duplicate("attendance event", JoinKey({event.student_id, std::to_string(event.date.days()),
                                                    event.school_id, event.period, event.category}));
        continue;
      }
      while (old_index < before.size() && key_less(before[old_index], event)) erase(before[old_index++]);
      if (old_index < before.size() && same_key(before[old_index], event)) {
        const AttendanceEvent& stored = before[old_index++];
        if (stored.duration == event.duration && stored.reason == event.reason) continue;
        ++stats.updated;
      } else {
        ++stats.inserted;
      }
      write(event);
    }
    while (old_index < before.size()) erase(before[old_index++]);
    upsert.Flush();
  }

  // Sessions carry no student data; they are replaced whole, and counted by difference.
  {
    std::set<std::string> before;
    auto select = db_.Prepare(
        "SELECT school_id, name, school_year, begin_date, end_date, total_instructional_days FROM session "
        "WHERE origin = ?");
    select.Bind(1, snapshot.origin);
    while (select.Step()) {
      before.insert(JoinKey({select.Text(0), select.Text(1), select.Text(2), std::to_string(select.Int(3)),
                             std::to_string(select.Int(4)), std::to_string(select.Int(5))}));
    }
    std::set<std::string> after;
    for (const auto& session : snapshot.sessions) {
      after.insert(JoinKey({session.school_id, session.name, session.school_year,
                            std::to_string(session.begin_date.days()), std::to_string(session.end_date.days()),
                            std::to_string(session.total_instructional_days)}));
    }
    for (const auto& key : after) stats.inserted += before.count(key) ? 0 : 1;
    for (const auto& key : before) stats.deleted += after.count(key) ? 0 : 1;
  }
  db_.Prepare("DELETE FROM session WHERE origin = ?").Bind(1, snapshot.origin).Run();
  auto insert_session = db_.Prepare(
      "INSERT INTO session (school_id, name, school_year, begin_date, end_date, total_instructional_days, origin) "
      "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET begin_date = excluded.begin_date, "
      "end_date = excluded.end_date, total_instructional_days = excluded.total_instructional_days, "
      "origin = excluded.origin");
  for (const auto& session : snapshot.sessions) {
    insert_session.Bind(1, session.school_id).Bind(2, session.name).Bind(3, session.school_year)
        .Bind(4, session.begin_date.days()).Bind(5, session.end_date.days())
        .Bind(6, session.total_instructional_days).Bind(7, snapshot.origin).Run();
  }

  ApplyStudentProfiles(snapshot, stats);

  // Rejected records from this origin replace the ones from its last reading.
  db_.Prepare("DELETE FROM rejected_record WHERE origin = ?").Bind(1, snapshot.origin).Run();
  auto insert_rejected = db_.Prepare("INSERT INTO rejected_record (origin, location, reason, raw) VALUES (?, ?, ?, ?)");
  for (const std::vector<RejectedRecord>* list : {&snapshot.rejected, const_cast<const std::vector<RejectedRecord>*>(&duplicates)}) {
    for (const auto& rejected : *list) {
      insert_rejected.Bind(1, snapshot.origin).Bind(2, rejected.location).Bind(3, rejected.reason)
          .Bind(4, rejected.raw).Run();
    }
  }
  stats.rejected = snapshot.rejected.size() + duplicates.size();

  // Mark what must be derived again.
  auto mark = db_.Prepare("INSERT OR IGNORE INTO dirty_student (student_id, school_year) VALUES (?, ?)");
  for (const auto& [student, year] : dirty) mark.Bind(1, student).Bind(2, year).Run();
  if (!dirty_calendars.empty()) {
    // A changed calendar changes every student with an enrollment or an event at that
    // school in that year. Enrollments are found by index. Events have no index by school,
    // so one scan finds them for all the changed calendars together.
    auto mark_enrolled = db_.Prepare(
        "INSERT OR IGNORE INTO dirty_student (student_id, school_year) "
        "SELECT DISTINCT student_id, school_year FROM enrollment WHERE school_year = ? AND school_id = ?");
    db_.Exec("CREATE TEMP TABLE IF NOT EXISTS changed_calendar (school_id TEXT NOT NULL, school_year INTEGER NOT NULL, "
             "PRIMARY KEY (school_id, school_year)) WITHOUT ROWID");
    db_.Exec("DELETE FROM temp.changed_calendar");
    auto add_changed = db_.Prepare("INSERT INTO temp.changed_calendar (school_id, school_year) VALUES (?, ?)");
    for (const auto& [school, year] : dirty_calendars) {
      mark_enrolled.Bind(1, year).Bind(2, school).Run();
      add_changed.Bind(1, school).Bind(2, year).Run();
    }
    db_.Exec(
        "INSERT OR IGNORE INTO dirty_student (student_id, school_year) "
        "SELECT DISTINCT e.student_id, e.school_year FROM attendance_event e WHERE EXISTS "
        "(SELECT 1 FROM temp.changed_calendar c WHERE c.school_id = e.school_id AND c.school_year = e.school_year)");
    db_.Exec("DELETE FROM temp.changed_calendar");
    // Tells every process that keeps calendars in memory (see LoadCalendars) to read them again.
    db_.Exec("INSERT INTO meta (key, value) VALUES ('calendar_version', '1') "
             "ON CONFLICT (key) DO UPDATE SET value = CAST(value AS INTEGER) + 1");
  }

  if (!dirty_days.empty()) {
    std::sort(dirty_days.begin(), dirty_days.end());
    dirty_days.erase(std::unique(dirty_days.begin(), dirty_days.end()), dirty_days.end());
    // A date with many changed students is marked whole instead, as a new day's file does.
    std::map<std::pair<int, int32_t>, size_t> students_per_date;
    for (const auto& [student, year, date] : dirty_days) ++students_per_date[{year, date}];
    auto mark_date = db_.Prepare("INSERT OR IGNORE INTO dirty_date (school_year, date) VALUES (?, ?)");
    for (const auto& [key, students] : students_per_date) {
      if (students >= kDirtyDateFrom) mark_date.Bind(1, key.first).Bind(2, static_cast<int64_t>(key.second)).Run();
    }
    auto insert_day = db_.Prepare("INSERT OR IGNORE INTO dirty_day (school_year, student_id, date) VALUES (?, ?, ?)");
    for (const auto& [student, year, date] : dirty_days) {
      if (students_per_date[{year, date}] >= kDirtyDateFrom) continue;
      insert_day.Bind(1, year).Bind(2, student).Bind(3, static_cast<int64_t>(date)).Run();
    }
  }

  db_.Prepare(
         "INSERT INTO source_cursor (origin, cursor, updated_at) VALUES (?, ?, ?) "
         "ON CONFLICT (origin) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at")
      .Bind(1, snapshot.origin)
      .Bind(2, snapshot.cursor)
      .Bind(3, UtcTimestamp())
      .Run();

  transaction.Commit();
  forget.committed = true;
  // Only committed marks are remembered; the ones marked by school above are not, which
  // costs at most some redundant day marks.
  if (whole_dirty_generation_ == generation) whole_dirty_.insert(dirty.begin(), dirty.end());
  return stats;
}

int64_t Store::OriginId(const std::string& origin) {
  auto& select = Cached("SELECT id FROM origin WHERE name = ?");
  select.Bind(1, origin);
  if (select.Step()) {
    int64_t id = select.Int(0);
    select.Reset();
    return id;
  }
  select.Reset();
  Cached("INSERT INTO origin (name) VALUES (?)").Bind(1, origin).Run();
  return db_.LastInsertRowId();
}

}  // namespace tiersync
