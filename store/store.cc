#include "store/store.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <limits>
#include <string_view>
#include <unordered_map>

#include "store/schema.h"

namespace tiersync {

std::string UtcTimestamp() {
  std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm parts{};
  gmtime_r(&now, &parts);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &parts);
  return buffer;
}

Store::Store(const std::string& path, Mode mode) : db_(path, mode == Mode::kReadWrite) {
  db_.Exec("PRAGMA busy_timeout = 10000");
  db_.Exec("PRAGMA foreign_keys = ON");
  if (mode == Mode::kReadWrite) {
    // Takes effect only when the file is new. Larger pages mean fewer page splits and
    // b-tree levels for the date-ordered attendance tables.
    db_.Exec("PRAGMA page_size = 16384");
    auto journal = db_.Prepare("PRAGMA journal_mode = WAL");
    write_ahead_log_ = journal.Step() && journal.Text(0) == "wal";
    journal.Reset();
    db_.Exec("PRAGMA synchronous = NORMAL");
    checkpointer_.Attach(db_);
  }
  // A district's attendance tables run to gigabytes, and 64 MiB of page cache (SQLite's
  // default is 2 MiB) keeps the b-tree interior pages of a backfill's inserts in memory.
  db_.Exec("PRAGMA cache_size = -65536");
}

Result<std::unique_ptr<Store>> Store::Open(const std::string& path, Mode mode) {
  if (mode == Mode::kReadWrite) {
    std::filesystem::path parent = std::filesystem::path(path).parent_path();
    std::error_code error;
    if (!parent.empty()) std::filesystem::create_directories(parent, error);
    if (error) {
      return Error{"cannot create the store directory " + parent.string() + ": " + error.message() +
                   "; create it or change store.path"};
    }
  }
  try {
    auto store = std::make_unique<Store>(path, mode);
    int version = store->SchemaVersion();
    int latest = static_cast<int>(SchemaMigrations().size());
    if (version > latest) {
      return Error{"store " + path + " has schema version " + std::to_string(version) +
                   ", newer than this tiersync understands (" + std::to_string(latest) +
                   "); run the tiersync release that wrote it, or restore a backup"};
    }
    if (mode == Mode::kReadWrite) {
      store->Migrate();
    } else if (version < latest) {
      return Error{"store " + path + " is at schema version " + std::to_string(version) +
                   " and needs migrating; run `tiersync sync` once to upgrade it"};
    }
    return store;
  } catch (const sqlite::SqliteError& error) {
    std::string hint = mode == Mode::kReadOnly
                           ? "; check store.path in the configuration, or run `tiersync sync` first"
                           : "; check that the directory exists and is writable";
    return Error{std::string(error.what()) + hint};
  }
}

sqlite::Statement& Store::Cached(const char* sql) {
  auto& statement = statements_[sql];
  if (!statement) {
    statement = std::make_unique<sqlite::Statement>(db_.Prepare(sql));
  } else {
    statement->Reset();
  }
  return *statement;
}

int Store::SchemaVersion() {
  auto statement = db_.Prepare("PRAGMA user_version");
  statement.Step();
  return static_cast<int>(statement.Int(0));
}

void Store::Migrate() {
  const auto& migrations = SchemaMigrations();
  for (int version = SchemaVersion(); version < static_cast<int>(migrations.size()); ++version) {
    sqlite::Transaction transaction(db_);
    db_.Exec(migrations[version]);
    db_.Exec("PRAGMA user_version = " + std::to_string(version + 1));
    transaction.Commit();
  }
}

std::optional<std::string> Store::Meta(const std::string& key) {
  auto statement = db_.Prepare("SELECT value FROM meta WHERE key = ?");
  statement.Bind(1, key);
  if (!statement.Step()) return std::nullopt;
  return statement.Text(0);
}

void Store::SetMeta(const std::string& key, const std::string& value) {
  db_.Prepare("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
      .Bind(1, key)
      .Bind(2, value)
      .Run();
}

std::optional<std::string> Store::Cursor(const std::string& origin) {
  auto& statement = Cached("SELECT cursor FROM source_cursor WHERE origin = ?");
  statement.Bind(1, origin);
  std::optional<std::string> cursor;
  if (statement.Step()) cursor = statement.Text(0);
  statement.Reset();  // an unfinished statement would hold its read transaction open
  return cursor;
}

std::unordered_map<std::string, std::string> Store::AllCursors() {
  std::unordered_map<std::string, std::string> cursors;
  auto statement = db_.Prepare("SELECT origin, cursor FROM source_cursor");
  while (statement.Step()) cursors.emplace(statement.Text(0), statement.Text(1));
  return cursors;
}

namespace {

std::string DeriveAllKey(int school_year) { return "derive_all:" + std::to_string(school_year); }

}  // namespace

void Store::MarkAllDirty(int school_year) {
  sqlite::Transaction transaction(db_);
  db_.Prepare(
         "INSERT OR IGNORE INTO dirty_student (student_id, school_year) "
         "SELECT DISTINCT student_id, school_year FROM enrollment WHERE school_year = ?")
      .Bind(1, school_year)
      .Run();
  SetMeta(DeriveAllKey(school_year), "1");
  transaction.Commit();
}

std::vector<int> Store::DeriveAllYears() {
  std::vector<int> years;
  auto statement = db_.Prepare("SELECT key FROM meta WHERE key LIKE 'derive_all:%' ORDER BY key");
  while (statement.Step()) years.push_back(std::stoi(statement.Text(0).substr(std::string("derive_all:").size())));
  return years;
}

void Store::ClearDeriveAll(int school_year) {
  db_.Prepare("DELETE FROM meta WHERE key = ?").Bind(1, DeriveAllKey(school_year)).Run();
}

CalendarSet Store::LoadCalendars(int school_year) {
  // Calendars change rarely and a district's take tens of thousands of rows, so they are
  // kept between calls while meta's calendar_version, bumped with every change, stays put.
  std::string version = Meta("calendar_version").value_or("0");
  if (auto cached = calendar_cache_.find(school_year);
      cached != calendar_cache_.end() && cached->second.first == version) {
    return cached->second.second;
  }
  CalendarSet calendars;
  auto statement = db_.Prepare("SELECT school_id, date, units FROM calendar_day WHERE school_year = ? ORDER BY school_id, date");
  statement.Bind(1, school_year);
  while (statement.Step()) {
    calendars.For(statement.Text(0)).Add(Date(static_cast<int32_t>(statement.Int(1))), statement.Int(2));
  }
  calendars.SortAll();
  calendar_cache_[school_year] = {version, calendars};
  return calendars;
}

std::vector<StudentYear> Store::DirtyStudents() {
  std::vector<StudentYear> keys;
  auto statement = db_.Prepare(
      "SELECT student_id, school_year FROM dirty_student UNION "
      "SELECT DISTINCT student_id, school_year FROM dirty_day UNION "
      "SELECT DISTINCT e.student_id, d.school_year FROM dirty_date d CROSS JOIN attendance_event e "
      "ON e.date = d.date AND e.school_year = d.school_year ORDER BY 2, 1");
  while (statement.Step()) keys.push_back({statement.Text(0), static_cast<int>(statement.Int(1))});
  return keys;
}

std::vector<StudentYear> Store::WholeDirtyStudents() {
  std::vector<StudentYear> keys;
  auto statement = db_.Prepare("SELECT student_id, school_year FROM dirty_student ORDER BY school_year, student_id");
  while (statement.Step()) keys.push_back({statement.Text(0), static_cast<int>(statement.Int(1))});
  return keys;
}

std::map<int, std::vector<Date>> Store::DirtyDates() {
  std::map<int, std::vector<Date>> dates;
  auto statement = db_.Prepare("SELECT school_year, date FROM dirty_date ORDER BY school_year, date");
  while (statement.Step()) {
    dates[static_cast<int>(statement.Int(0))].push_back(Date(static_cast<int32_t>(statement.Int(1))));
  }
  return dates;
}

std::map<StudentYear, std::vector<Date>> Store::DirtyDays() {
  std::map<StudentYear, std::vector<Date>> days;
  auto statement = db_.Prepare("SELECT school_year, student_id, date FROM dirty_day ORDER BY school_year, student_id, date");
  while (statement.Step()) {
    days[{statement.Text(1), static_cast<int>(statement.Int(0))}].push_back(Date(static_cast<int32_t>(statement.Int(2))));
  }
  return days;
}

namespace {

Enrollment ReadEnrollment(const sqlite::Statement& statement) {
  Enrollment enrollment;
  enrollment.student_id = statement.Text(0);
  enrollment.school_id = statement.Text(1);
  enrollment.entry_date = Date(static_cast<int32_t>(statement.Int(2)));
  if (auto exit = statement.OptionalInt(3)) enrollment.exit_date = Date(static_cast<int32_t>(*exit));
  enrollment.grade = statement.Text(4);
  return enrollment;
}

// Returns the day numbers joined by ',', the form of pending_evaluation.changed_dates.
std::string FormatDayList(const std::vector<Date>& dates) {
  std::string text;
  for (Date date : dates) {
    if (!text.empty()) text += ',';
    text += std::to_string(date.days());
  }
  return text;
}

// Returns nullopt for text FormatDayList did not write, so the caller reads every date.
std::optional<std::vector<Date>> ParseDayList(std::string_view text) {
  std::vector<Date> dates;
  while (!text.empty()) {
    size_t comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    int32_t day = 0;
    auto [end, error] = std::from_chars(item.data(), item.data() + item.size(), day);
    if (error != std::errc() || end != item.data() + item.size()) return std::nullopt;
    dates.push_back(Date(day));
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
  }
  return dates;
}

}  // namespace

std::string EncodeAbsenceDays(const std::vector<AbsenceDay>& days, Date up_to) {
  std::string text;
  for (const auto& day : days) {
    if (up_to < day.date) continue;
    text += std::to_string(day.date.days());
    text += ',';
    text += std::to_string(day.amount);
    text += ',';
    text += std::to_string(day.excused);
    text += ',';
    text += std::to_string(day.school_id.size());
    text += ':';
    text += day.school_id;
    text += ';';
  }
  return text;
}

std::optional<std::vector<AbsenceDay>> DecodeAbsenceDays(std::string_view text) {
  std::vector<AbsenceDay> days;
  // Reads a number ended by `end` and moves past both.
  auto number = [&text](char end) -> std::optional<int64_t> {
    int64_t value = 0;
    auto [stop, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || stop == text.data() + text.size() || *stop != end) return std::nullopt;
    text.remove_prefix(static_cast<size_t>(stop - text.data()) + 1);
    return value;
  };
  while (!text.empty()) {
    auto date = number(',');
    auto amount = date ? number(',') : std::nullopt;
    auto excused = amount ? number(',') : std::nullopt;
    auto length = excused ? number(':') : std::nullopt;
    if (!length || *length < 0 || static_cast<size_t>(*length) >= text.size() || text[*length] != ';') {
      return std::nullopt;
    }
    if (*date < std::numeric_limits<int32_t>::min() || *date > std::numeric_limits<int32_t>::max()) return std::nullopt;
    if (*amount <= 0 || *amount > kUnitsPerDay || *excused < 0 || *excused > *amount) return std::nullopt;
    AbsenceDay day;
    day.date = Date(static_cast<int32_t>(*date));
    day.school_id = std::string(text.substr(0, *length));
    day.amount = *amount;
    day.excused = *excused;
    day.unexcused = *amount - *excused;
    if (!days.empty() && !(days.back().date < day.date)) return std::nullopt;
    days.push_back(std::move(day));
    text.remove_prefix(*length + 1);
  }
  return days;
}

namespace {

TierStateRow ReadTierStateRow(const sqlite::Statement& statement) {
  TierStateRow row;
  row.student_id = statement.Text(0);
  row.tier = static_cast<int>(statement.Int(1));
  row.as_of = Date(static_cast<int32_t>(statement.Int(2)));
  row.school_id = statement.Text(3);
  row.totals = {statement.Int(4), statement.Int(5), statement.Int(6), statement.Int(7)};
  row.rules_version = statement.Text(8);
  row.recheck_on = Date(static_cast<int32_t>(statement.Int(9)));
  row.accruing_school = statement.Text(10);
  if (statement.ColumnCount() > 11 && !statement.IsNull(11)) row.absence_days = statement.Text(11);
  return row;
}

AbsenceDay ReadAbsenceDay(const sqlite::Statement& statement, int first) {
  AbsenceDay day;
  day.date = Date(static_cast<int32_t>(statement.Int(first)));
  day.school_id = statement.Text(first + 1);
  day.amount = statement.Int(first + 2);
  day.excused = statement.Int(first + 3);
  day.unexcused = statement.Int(first + 4);
  return day;
}

AttendanceEvent ReadEvent(const sqlite::Statement& statement, int first) {
  AttendanceEvent event;
  event.student_id = statement.Text(first);
  event.date = Date(static_cast<int32_t>(statement.Int(first + 1)));
  event.school_id = statement.Text(first + 2);
  event.period = statement.Text(first + 3);
  event.category = statement.Text(first + 4);
  event.duration = statement.OptionalInt(first + 5);
  event.reason = statement.Text(first + 6);
  return event;
}

}  // namespace

std::vector<Enrollment> Store::LoadEnrollments(const std::string& student_id, int school_year) {
  std::vector<Enrollment> enrollments;
  auto& statement = Cached(
      "SELECT student_id, school_id, entry_date, exit_date, grade FROM enrollment "
      "WHERE student_id = ? AND school_year = ? ORDER BY entry_date");
  statement.Bind(1, student_id).Bind(2, school_year);
  while (statement.Step()) enrollments.push_back(ReadEnrollment(statement));
  return enrollments;
}

std::vector<AttendanceEvent> Store::LoadEvents(const std::string& student_id, int school_year) {
  // Events are stored in date order, so this seeks once per date that has events.
  std::vector<AttendanceEvent> events;
  auto& statement = Cached(
      "SELECT e.student_id, e.date, e.school_id, e.period, e.category, e.duration, e.reason "
      "FROM event_date d CROSS JOIN attendance_event e ON e.date = d.date AND e.student_id = ?2 "
      "WHERE d.school_year = ?1 ORDER BY d.date, e.school_id, e.period, e.category");
  statement.Bind(1, school_year).Bind(2, student_id);
  while (statement.Step()) events.push_back(ReadEvent(statement, 0));
  return events;
}

std::map<std::string, std::vector<Enrollment>> Store::LoadAllEnrollments(int school_year) {
  std::map<std::string, std::vector<Enrollment>> enrollments;
  auto statement = db_.Prepare(
      "SELECT student_id, school_id, entry_date, exit_date, grade FROM enrollment "
      "WHERE school_year = ? ORDER BY student_id, entry_date");
  statement.Bind(1, school_year);
  // The rows come in id order, so each new student goes at the end of the map.
  while (statement.Step()) {
    Enrollment enrollment = ReadEnrollment(statement);
    auto last = enrollments.empty() ? enrollments.end() : std::prev(enrollments.end());
    if (last == enrollments.end() || last->first != enrollment.student_id) {
      last = enrollments.emplace_hint(enrollments.end(), enrollment.student_id, std::vector<Enrollment>{});
    }
    last->second.push_back(std::move(enrollment));
  }
  return enrollments;
}

std::vector<Date> Store::EventDates(int school_year) {
  std::vector<Date> dates;
  auto& statement = Cached("SELECT date FROM event_date WHERE school_year = ? ORDER BY date");
  statement.Bind(1, school_year);
  while (statement.Step()) dates.push_back(Date(static_cast<int32_t>(statement.Int(0))));
  return dates;
}

void Store::ForEachStudentOn(int school_year, Date date,
                             const std::function<void(std::vector<AttendanceEvent>&)>& visit) {
  VisitStudentDays(school_year, date, date, visit);
}

namespace {

void VisitStudentDaysOn(sqlite::Database& db, int school_year, Date first, Date last,
                        const std::function<void(std::vector<AttendanceEvent>&)>& visit) {
  // The primary key's order (date, student, school, period, category) hands over each
  // student-day's events together in one scan of the range.
  auto statement = db.Prepare(
      "SELECT student_id, date, school_id, period, category, duration, reason FROM attendance_event "
      "WHERE date >= ?1 AND date <= ?2 AND school_year = ?3 ORDER BY date, student_id, school_id, period, category");
  statement.Bind(1, first.days()).Bind(2, last.days()).Bind(3, school_year);
  std::vector<AttendanceEvent> events;
  while (statement.Step()) {
    AttendanceEvent event = ReadEvent(statement, 0);
    if (!events.empty() && (events.back().student_id != event.student_id || events.back().date != event.date)) {
      visit(events);
      events.clear();
    }
    events.push_back(std::move(event));
  }
  if (!events.empty()) visit(events);
}

}  // namespace

void Store::VisitStudentDays(int school_year, Date first, Date last,
                             const std::function<void(std::vector<AttendanceEvent>&)>& visit) {
  VisitStudentDaysOn(db_, school_year, first, last, visit);
}

void Store::VisitCommittedStudentDays(const std::string& path, int school_year, Date first, Date last,
                                      const std::function<void(std::vector<AttendanceEvent>&)>& visit) {
  sqlite::Database db(path, false);
  db.Exec("PRAGMA busy_timeout = 10000");
  // One read transaction, so the whole range comes from one committed state.
  db.Exec("BEGIN");
  VisitStudentDaysOn(db, school_year, first, last, visit);
  db.Exec("COMMIT");
}

std::map<StudentYear, std::vector<AttendanceEvent>> Store::LoadDirtyDayEvents() {
  std::map<StudentYear, std::vector<AttendanceEvent>> events;
  auto statement = db_.Prepare(
      "SELECT e.student_id, e.date, e.school_id, e.period, e.category, e.duration, e.reason, d.school_year "
      "FROM dirty_day d CROSS JOIN attendance_event e ON e.date = d.date AND e.student_id = d.student_id "
      "AND e.school_year = d.school_year "
      "ORDER BY d.school_year, d.student_id, d.date, e.school_id, e.period, e.category");
  while (statement.Step()) {
    AttendanceEvent event = ReadEvent(statement, 0);
    events[{event.student_id, static_cast<int>(statement.Int(7))}].push_back(std::move(event));
  }
  return events;
}

std::map<std::string, StudentInputs> Store::LoadStudentInputsFromKnown(
    int school_year, const std::map<std::string, KnownAbsences>& known, Date known_until, Date last) {
  std::map<std::string, StudentInputs> inputs;
  std::vector<Date> new_dates;
  auto& later = Cached("SELECT date FROM event_date WHERE school_year = ? AND date > ? AND date <= ? ORDER BY date");
  later.Bind(1, school_year).Bind(2, known_until.days()).Bind(3, last.days());
  while (later.Step()) new_dates.push_back(Date(static_cast<int32_t>(later.Int(0))));
  later.Reset();

  auto& enrollments = Cached(
      "SELECT student_id, school_id, entry_date, exit_date, grade FROM enrollment "
      "WHERE student_id = ? AND school_year = ? ORDER BY entry_date");
  auto& absence = Cached(
      "SELECT date, school_id, amount, excused, unexcused FROM absence_day "
      "WHERE school_year = ? AND date = ? AND student_id = ?");
  auto read_day = [&](const std::string& student_id, Date date, std::vector<AbsenceDay>& days) {
    absence.Bind(1, school_year).Bind(2, date.days()).Bind(3, student_id);
    if (absence.Step()) days.push_back(ReadAbsenceDay(absence, 0));
    absence.Reset();
  };
  for (const auto& [student_id, student_known] : known) {
    auto& entry = inputs.emplace_hint(inputs.end(), student_id, StudentInputs{})->second;
    enrollments.Bind(1, student_id).Bind(2, school_year);
    while (enrollments.Step()) entry.enrollments.push_back(ReadEnrollment(enrollments));
    enrollments.Reset();
    const std::vector<Date>& changed = student_known.changed_dates;
    for (const auto& day : student_known.days) {
      if (!std::binary_search(changed.begin(), changed.end(), day.date)) entry.absence_days.push_back(day);
    }
    for (Date date : changed) read_day(student_id, date, entry.absence_days);
    if (!changed.empty()) {
      std::sort(entry.absence_days.begin(), entry.absence_days.end(),
                [](const AbsenceDay& a, const AbsenceDay& b) { return a.date < b.date; });
    }
    for (Date date : new_dates) read_day(student_id, date, entry.absence_days);
  }
  return inputs;
}

std::map<std::string, StudentInputs> Store::LoadStudentInputs(int school_year,
                                                              const std::set<std::string>* only) {
  std::map<std::string, StudentInputs> inputs;
  // Each student's absence days take one seek per date of the year, so for many students
  // one pass over the year's rows costs less.
  if (only != nullptr && only->size() < kScanInputsFrom) {
    auto enrollments = db_.Prepare(
        "SELECT student_id, school_id, entry_date, exit_date, grade FROM enrollment "
        "WHERE student_id = ? AND school_year = ? ORDER BY entry_date");
    auto absences = db_.Prepare(
        "SELECT a.date, a.school_id, a.amount, a.excused, a.unexcused "
        "FROM event_date d CROSS JOIN absence_day a ON a.school_year = d.school_year AND a.date = d.date "
        "AND a.student_id = ?2 WHERE d.school_year = ?1 ORDER BY d.date");
    for (const auto& student_id : *only) {
      auto& entry = inputs[student_id];
      enrollments.Bind(1, student_id).Bind(2, school_year);
      while (enrollments.Step()) entry.enrollments.push_back(ReadEnrollment(enrollments));
      enrollments.Reset();
      absences.Bind(1, school_year).Bind(2, student_id);
      while (absences.Step()) entry.absence_days.push_back(ReadAbsenceDay(absences, 0));
      absences.Reset();
    }
    return inputs;
  }

  auto enrollments = db_.Prepare(
      "SELECT student_id, school_id, entry_date, exit_date, grade FROM enrollment "
      "WHERE school_year = ? ORDER BY student_id, entry_date");
  enrollments.Bind(1, school_year);
  // Both the rows and `only` are in id order, so one cursor checks each row's student.
  std::optional<std::set<std::string>::const_iterator> next_only;
  if (only != nullptr) next_only = only->cbegin();
  while (enrollments.Step()) {
    if (next_only) {
      std::string_view student_id = enrollments.TextView(0);
      while (*next_only != only->cend() && std::string_view(**next_only) < student_id) ++*next_only;
      if (*next_only == only->cend() || std::string_view(**next_only) != student_id) continue;
    }
    Enrollment enrollment = ReadEnrollment(enrollments);
    inputs[enrollment.student_id].enrollments.push_back(std::move(enrollment));
  }
  if (only != nullptr) {
    for (const auto& student_id : *only) inputs[student_id];
  }
  // In the table's (date, student) order, each student's days still arrive by date.
  auto absences = db_.Prepare(
      "SELECT student_id, date, school_id, amount, excused, unexcused FROM absence_day "
      "WHERE school_year = ? ORDER BY date, student_id");
  absences.Bind(1, school_year);
  // Within a date the rows come in id order, so each row's student is found by galloping
  // forward from the previous row's in one contiguous sorted array of the ids.
  std::vector<std::string> ids;
  std::vector<StudentInputs*> entries;
  ids.reserve(inputs.size());
  entries.reserve(inputs.size());
  for (auto& [student_id, entry] : inputs) {
    ids.push_back(student_id);
    entries.push_back(&entry);
  }
  size_t cursor = 0;
  int64_t last_date = 0;
  while (absences.Step()) {
    std::string_view student_id = absences.TextView(0);
    int64_t date = absences.Int(1);
    if (date != last_date) cursor = 0;
    last_date = date;
    size_t step = 1;
    size_t low = cursor;
    size_t high = cursor;
    while (high < ids.size() && std::string_view(ids[high]) < student_id) {
      low = high + 1;
      high += step;
      step *= 2;
    }
    auto found = std::lower_bound(ids.begin() + static_cast<std::ptrdiff_t>(low),
                                  ids.begin() + static_cast<std::ptrdiff_t>(std::min(high, ids.size())), student_id,
                                  [](const std::string& id, std::string_view wanted) { return std::string_view(id) < wanted; });
    cursor = static_cast<size_t>(found - ids.begin());
    if (found != ids.end() && *found == student_id) entries[cursor]->absence_days.push_back(ReadAbsenceDay(absences, 1));
  }
  return inputs;
}

void Store::ReplaceDerived(const StudentYear& key, const StudentAbsences& absences) {
  Cached(
      "DELETE FROM absence_day WHERE school_year = ?1 AND student_id = ?2 "
      "AND date IN (SELECT date FROM event_date WHERE school_year = ?1)")
      .Bind(1, key.school_year)
      .Bind(2, key.student_id)
      .Run();
  Cached("DELETE FROM kept_aside_event WHERE school_year = ? AND student_id = ?")
      .Bind(1, key.school_year)
      .Bind(2, key.student_id)
      .Run();
  InsertDerived(key, absences);
}

void Store::InsertDerived(const StudentYear& key, const StudentAbsences& absences) {
  auto& insert_day = Cached(
      "INSERT INTO absence_day (student_id, school_year, date, school_id, amount, excused, unexcused) "
      "VALUES (?, ?, ?, ?, ?, ?, ?)");
  for (const auto& day : absences.days) {
    insert_day.Bind(1, key.student_id)
        .Bind(2, key.school_year)
        .Bind(3, day.date.days())
        .Bind(4, day.school_id)
        .Bind(5, day.amount)
        .Bind(6, day.excused)
        .Bind(7, day.unexcused)
        .Run();
  }

  auto& insert_aside = Cached(
      "INSERT INTO kept_aside_event (student_id, school_year, date, school_id, period, category, reason, detail) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
  for (const auto& aside : absences.kept_aside) {
    insert_aside.Bind(1, key.student_id)
        .Bind(2, key.school_year)
        .Bind(3, aside.event.date.days())
        .Bind(4, aside.event.school_id)
        .Bind(5, aside.event.period)
        .Bind(6, aside.event.category)
        .Bind(7, KeptAsideReasonCode(aside.reason))
        .Bind(8, aside.detail)
        .Run();
  }
}

std::set<StudentYear> Store::ClearDirtyDays() {
  // One statement per dirty day keeps the cost in proportion to the days, not the tables.
  std::set<StudentYear> had_absences;
  auto days = db_.Prepare("SELECT school_year, student_id, date FROM dirty_day");
  auto& remove_day = Cached("DELETE FROM absence_day WHERE school_year = ? AND student_id = ? AND date = ?");
  auto& remove_aside = Cached("DELETE FROM kept_aside_event WHERE school_year = ? AND student_id = ? AND date = ?");
  while (days.Step()) {
    int64_t year = days.Int(0);
    std::string student_id = days.Text(1);
    int64_t date = days.Int(2);
    remove_day.Bind(1, year).Bind(2, student_id).Bind(3, date).Run();
    if (db_.Changes() > 0) had_absences.insert({student_id, static_cast<int>(year)});
    remove_aside.Bind(1, year).Bind(2, student_id).Bind(3, date).Run();
  }
  days.Reset();
  db_.Exec("DELETE FROM dirty_day");
  return had_absences;
}

std::set<std::string> Store::ClearDerivedOfDate(int school_year, Date date) {
  std::set<std::string> had_absences;
  auto select = db_.Prepare("SELECT student_id FROM absence_day WHERE school_year = ? AND date = ?");
  select.Bind(1, school_year).Bind(2, date.days());
  while (select.Step()) had_absences.insert(select.Text(0));
  db_.Prepare("DELETE FROM absence_day WHERE school_year = ? AND date = ?").Bind(1, school_year)
      .Bind(2, date.days()).Run();
  db_.Prepare("DELETE FROM kept_aside_event WHERE school_year = ? AND date = ?").Bind(1, school_year)
      .Bind(2, date.days()).Run();
  db_.Prepare("DELETE FROM dirty_day WHERE school_year = ? AND date = ?").Bind(1, school_year)
      .Bind(2, date.days()).Run();
  return had_absences;
}

void Store::ClearDirtyDates() { db_.Exec("DELETE FROM dirty_date"); }

void Store::ClearDerivedOfYear(int school_year) {
  db_.Prepare("DELETE FROM absence_day WHERE school_year = ?").Bind(1, school_year).Run();
  db_.Prepare("DELETE FROM kept_aside_event WHERE school_year = ?").Bind(1, school_year).Run();
}

void Store::ClearDerivedOfDirtyStudents(int school_year) {
  db_.Prepare(
         "DELETE FROM absence_day WHERE school_year = ?1 "
         "AND student_id IN (SELECT student_id FROM dirty_student WHERE school_year = ?1)")
      .Bind(1, school_year)
      .Run();
  db_.Prepare(
         "DELETE FROM kept_aside_event WHERE school_year = ?1 "
         "AND student_id IN (SELECT student_id FROM dirty_student WHERE school_year = ?1)")
      .Bind(1, school_year)
      .Run();
}

void Store::ClearDirty(const std::vector<StudentYear>& keys) {
  if (keys.empty()) return;
  for (const auto& key : keys) {
    Cached("DELETE FROM dirty_student WHERE student_id = ? AND school_year = ?")
        .Bind(1, key.student_id)
        .Bind(2, key.school_year)
        .Run();
    Cached("DELETE FROM dirty_day WHERE school_year = ? AND student_id = ?")
        .Bind(1, key.school_year)
        .Bind(2, key.student_id)
        .Run();
  }
  // Tells every process that remembers the dirty students (see ApplySnapshot) to read them again.
  db_.Exec("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'dirty_generation'");
  whole_dirty_generation_.reset();
}

std::map<std::string, TierStateRow> Store::LoadTierStates(int school_year) {
  std::map<std::string, TierStateRow> states;
  ForEachTierState(school_year,
                   [&states](const TierStateRow& row) { states.emplace_hint(states.end(), row.student_id, row); });
  return states;
}

void Store::ForEachTierState(int school_year, const std::function<void(const TierStateRow&)>& visit) {
  auto statement = db_.Prepare(
      "SELECT student_id, tier, as_of, school_id, enrolled, absent, excused, unexcused, rules_version, recheck_on, "
      "accruing_school FROM tier_state WHERE school_year = ? ORDER BY student_id");
  statement.Bind(1, school_year);
  while (statement.Step()) visit(ReadTierStateRow(statement));
}

std::optional<std::string> Store::LoadStoredAbsenceDays(int school_year, const std::string& student_id) {
  auto& statement = Cached("SELECT absence_days FROM tier_state_days WHERE school_year = ? AND student_id = ?");
  statement.Bind(1, school_year).Bind(2, student_id);
  std::optional<std::string> days;
  if (statement.Step()) days = statement.Text(0);
  statement.Reset();
  return days;
}

void Store::DeleteTierStates(int school_year) {
  db_.Prepare("DELETE FROM tier_state WHERE school_year = ?").Bind(1, school_year).Run();
  db_.Prepare("DELETE FROM tier_state_days WHERE school_year = ?").Bind(1, school_year).Run();
}

void Store::SaveTierState(int school_year, const TierStateRow& row) {
  Cached(
         "INSERT INTO tier_state (student_id, school_year, as_of, tier, school_id, enrolled, absent, excused, "
         "unexcused, rules_version, recheck_on, accruing_school) "
         "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
         "ON CONFLICT (school_year, student_id) DO UPDATE SET as_of = excluded.as_of, tier = excluded.tier, "
         "school_id = excluded.school_id, enrolled = excluded.enrolled, absent = excluded.absent, "
         "excused = excluded.excused, unexcused = excluded.unexcused, rules_version = excluded.rules_version, "
         "recheck_on = excluded.recheck_on, accruing_school = excluded.accruing_school")
      .Bind(1, row.student_id)
      .Bind(2, school_year)
      .Bind(3, row.as_of.days())
      .Bind(4, row.tier)
      .Bind(5, row.school_id)
      .Bind(6, row.totals.enrolled)
      .Bind(7, row.totals.absent)
      .Bind(8, row.totals.excused)
      .Bind(9, row.totals.unexcused)
      .Bind(10, row.rules_version)
      .Bind(11, row.recheck_on.days())
      .Bind(12, row.accruing_school)
      .Run();
  if (row.absence_days) {
    Cached("INSERT INTO tier_state_days (school_year, student_id, absence_days) VALUES (?, ?, ?) "
           "ON CONFLICT (school_year, student_id) DO UPDATE SET absence_days = excluded.absence_days")
        .Bind(1, school_year)
        .Bind(2, row.student_id)
        .Bind(3, *row.absence_days)
        .Run();
  } else {
    Cached("DELETE FROM tier_state_days WHERE school_year = ? AND student_id = ?")
        .Bind(1, school_year)
        .Bind(2, row.student_id)
        .Run();
  }
}

void Store::RecheckStudent(const std::string& student_id) {
  // No index leads with the student, but a district has only a few school years' rows.
  Cached("UPDATE tier_state SET recheck_on = 0 WHERE school_year IN (SELECT DISTINCT school_year FROM tier_state) "
         "AND student_id = ?")
      .Bind(1, student_id)
      .Run();
}

void Store::MarkPendingEvaluation(const StudentYear& key, const std::optional<std::vector<Date>>* history) {
  // An earlier mark not yet evaluated is merged: unknown dates stay unknown.
  PendingEvaluation merged;
  auto& select = Cached(
      "SELECT history_changed, changed_dates FROM pending_evaluation WHERE school_year = ? AND student_id = ?");
  select.Bind(1, key.school_year).Bind(2, key.student_id);
  if (select.Step() && select.Int(0) != 0) {
    merged.history_changed = true;
    if (!select.IsNull(1)) merged.changed_dates = ParseDayList(select.TextView(1));
  }
  bool earlier_unknown = merged.history_changed && !merged.changed_dates;
  select.Reset();
  if (history != nullptr) {
    if (earlier_unknown || !*history) {
      merged.changed_dates.reset();
    } else {
      std::vector<Date> dates = merged.changed_dates.value_or(std::vector<Date>{});
      dates.insert(dates.end(), (*history)->begin(), (*history)->end());
      std::sort(dates.begin(), dates.end());
      dates.erase(std::unique(dates.begin(), dates.end()), dates.end());
      merged.changed_dates = std::move(dates);
    }
    merged.history_changed = true;
  }
  std::optional<std::string> dates_text;
  if (merged.changed_dates) dates_text = FormatDayList(*merged.changed_dates);
  Cached("INSERT INTO pending_evaluation (school_year, student_id, history_changed, changed_dates) "
         "VALUES (?, ?, ?, ?) ON CONFLICT (school_year, student_id) DO UPDATE SET "
         "history_changed = excluded.history_changed, changed_dates = excluded.changed_dates")
      .Bind(1, key.school_year)
      .Bind(2, key.student_id)
      .Bind(3, merged.history_changed ? 1 : 0)
      .Bind(4, dates_text)
      .Run();
}

std::map<std::string, PendingEvaluation> Store::PendingEvaluations(int school_year) {
  std::map<std::string, PendingEvaluation> pending;
  auto statement = db_.Prepare(
      "SELECT student_id, history_changed, changed_dates FROM pending_evaluation WHERE school_year = ? "
      "ORDER BY student_id");
  statement.Bind(1, school_year);
  while (statement.Step()) {
    PendingEvaluation entry;
    entry.history_changed = statement.Int(1) != 0;
    if (entry.history_changed && !statement.IsNull(2)) entry.changed_dates = ParseDayList(statement.TextView(2));
    pending.emplace_hint(pending.end(), statement.Text(0), std::move(entry));
  }
  return pending;
}

std::optional<TierStateRow> Store::LoadTierState(int school_year, const std::string& student_id) {
  std::optional<TierStateRow> found;
  auto& statement = Cached(
      "SELECT t.student_id, t.tier, t.as_of, t.school_id, t.enrolled, t.absent, t.excused, t.unexcused, "
      "t.rules_version, t.recheck_on, t.accruing_school, d.absence_days FROM tier_state t "
      "LEFT JOIN tier_state_days d ON d.school_year = t.school_year AND d.student_id = t.student_id "
      "WHERE t.school_year = ? AND t.student_id = ?");
  statement.Bind(1, school_year).Bind(2, student_id);
  if (statement.Step()) found = ReadTierStateRow(statement);
  statement.Reset();
  return found;
}

void Store::ClearPendingEvaluations(int school_year) {
  db_.Prepare("DELETE FROM pending_evaluation WHERE school_year = ?").Bind(1, school_year).Run();
}

void Store::RecheckYear(int school_year) {
  db_.Prepare("UPDATE tier_state SET recheck_on = 0 WHERE school_year = ? AND recheck_on != 0")
      .Bind(1, school_year)
      .Run();
}

std::set<std::string> Store::StudentsAbsentBetween(int school_year, Date first, Date last) {
  std::set<std::string> students;
  auto statement = db_.Prepare(
      "SELECT DISTINCT student_id FROM absence_day WHERE school_year = ? AND date BETWEEN ? AND ?");
  statement.Bind(1, school_year).Bind(2, first.days()).Bind(3, last.days());
  while (statement.Step()) students.insert(statement.Text(0));
  return students;
}

std::set<std::string> Store::StudentsEnteringBetween(int school_year, Date first, Date last) {
  std::set<std::string> students;
  auto statement = db_.Prepare(
      "SELECT DISTINCT student_id FROM enrollment WHERE school_year = ? AND entry_date BETWEEN ? AND ?");
  statement.Bind(1, school_year).Bind(2, first.days()).Bind(3, last.days());
  while (statement.Step()) students.insert(statement.Text(0));
  return students;
}

namespace {

TierChangeRow ReadTierChange(const sqlite::Statement& statement, int first) {
  TierChangeRow row;
  row.id = statement.Int(first);
  row.change.date = Date(static_cast<int32_t>(statement.Int(first + 1)));
  row.change.from_tier = static_cast<int>(statement.Int(first + 2));
  row.change.to_tier = static_cast<int>(statement.Int(first + 3));
  row.change.occurrence = static_cast<int>(statement.Int(first + 4));
  row.reason = statement.Text(first + 5);
  row.rules_version = statement.Text(first + 6);
  row.recorded_as_of = Date(static_cast<int32_t>(statement.Int(first + 7)));
  if (!statement.IsNull(first + 8)) row.superseded_at = statement.Text(first + 8);
  return row;
}

}  // namespace

std::vector<TierChangeRow> Store::LoadTierChanges(const std::string& student_id, int school_year,
                                                  bool include_superseded) {
  std::vector<TierChangeRow> rows;
  auto& statement = Cached(
      "SELECT id, change_date, from_tier, to_tier, occurrence, reason, rules_version, recorded_as_of, superseded_at "
      "FROM tier_change WHERE school_year = ? AND student_id = ? ORDER BY change_date, id");
  statement.Bind(1, school_year).Bind(2, student_id);
  while (statement.Step()) {
    if (!include_superseded && !statement.IsNull(8)) continue;
    rows.push_back(ReadTierChange(statement, 0));
  }
  return rows;
}

std::unordered_map<std::string, std::vector<TierChangeRow>> Store::LoadAllTierChanges(
    int school_year, const std::optional<StudentRange>& range) {
  std::unordered_map<std::string, std::vector<TierChangeRow>> rows;
  auto statement = db_.Prepare(
      std::string("SELECT id, change_date, from_tier, to_tier, occurrence, reason, rules_version, recorded_as_of, "
                  "superseded_at, student_id FROM tier_change WHERE school_year = ? ") +
      (range ? "AND student_id BETWEEN ? AND ? " : "") +
      "AND superseded_at IS NULL ORDER BY student_id, change_date, id");
  statement.Bind(1, school_year);
  if (range) statement.Bind(2, range->first).Bind(3, range->last);
  while (statement.Step()) rows[statement.Text(9)].push_back(ReadTierChange(statement, 0));
  return rows;
}

int64_t Store::InsertTierChange(const std::string& student_id, int school_year, const TierChange& change,
                                const std::string& reason, const std::string& rules_version, Date as_of) {
  Cached(
         "INSERT INTO tier_change (student_id, school_year, change_date, from_tier, to_tier, occurrence, reason, "
         "rules_version, recorded_as_of, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
      .Bind(1, student_id)
      .Bind(2, school_year)
      .Bind(3, change.date.days())
      .Bind(4, change.from_tier)
      .Bind(5, change.to_tier)
      .Bind(6, change.occurrence)
      .Bind(7, reason)
      .Bind(8, rules_version)
      .Bind(9, as_of.days())
      .Bind(10, UtcTimestamp())
      .Run();
  return db_.LastInsertRowId();
}

void Store::SupersedeTierChange(int64_t id) {
  db_.Prepare("UPDATE tier_change SET superseded_at = ? WHERE id = ?").Bind(1, UtcTimestamp()).Bind(2, id).Run();
}

std::optional<Date> Store::LatestActiveTierChange(int school_year) {
  auto statement = db_.Prepare(
      "SELECT MAX(change_date) FROM tier_change WHERE school_year = ? AND superseded_at IS NULL");
  statement.Bind(1, school_year);
  if (!statement.Step() || statement.IsNull(0)) return std::nullopt;
  return Date(static_cast<int32_t>(statement.Int(0)));
}

}  // namespace tiersync
