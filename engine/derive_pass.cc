#include "engine/derive_pass.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <utility>

#include "store/store.h"

namespace tiersync {

namespace {

using DerivedDays = std::vector<std::pair<std::string, StudentAbsences>>;

// Derived student-days handed over together, at most.
constexpr size_t kBatchDays = 2048;
// At most this many batches wait to be written, which bounds the memory of a pass.
constexpr size_t kQueuedBatches = 16;

// Raised inside a reading thread to leave its scan once the writing thread has stopped.
struct PassStopped {};

// Batches from the reading threads to the writing one.
class BatchQueue {
 public:
  explicit BatchQueue(size_t producers) : producers_(producers) {}

  // Waits while the queue is full. Returns false once the consumer has stopped.
  bool Push(DerivedDays&& batch) {
    std::unique_lock lock(mutex_);
    space_.wait(lock, [this] { return stopped_ || batches_.size() < kQueuedBatches; });
    if (stopped_) return false;
    batches_.push_back(std::move(batch));
    ready_.notify_one();
    return true;
  }

  void ProducerDone() {
    std::lock_guard lock(mutex_);
    --producers_;
    ready_.notify_one();
  }

  // Waits for the next batch. Returns nullopt once every producer is done and the queue is empty.
  std::optional<DerivedDays> Pop() {
    std::unique_lock lock(mutex_);
    ready_.wait(lock, [this] { return !batches_.empty() || producers_ == 0; });
    if (batches_.empty()) return std::nullopt;
    DerivedDays batch = std::move(batches_.front());
    batches_.pop_front();
    space_.notify_one();
    return batch;
  }

  // Called by the consumer when it stops early: waiting and later pushes return false.
  void Stop() {
    std::lock_guard lock(mutex_);
    stopped_ = true;
    batches_.clear();
    space_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable ready_;
  std::condition_variable space_;
  std::deque<DerivedDays> batches_;
  size_t producers_;
  bool stopped_ = false;
};

// The findings of one reading thread, besides the days it handed over.
struct PartResult {
  std::vector<char> visited;          // by position in the sorted enrollments
  std::set<std::string> unenrolled;   // students with events and no enrollment in the year
  size_t kept_aside = 0;
  std::exception_ptr error;
};

using EnrollmentEntry = std::map<std::string, std::vector<Enrollment>>::const_iterator;

// Derives the student-days from `first` to `last`, read with `read`, and hands them over in
// batches; `hand_over` returns false when the writer has stopped.
void DerivePart(const DerivePassInput& input, const std::vector<EnrollmentEntry>& enrolled, Date first, Date last,
                const StudentDayReader& read, const std::function<bool(DerivedDays&&)>& hand_over,
                PartResult& result) {
  static const std::vector<Enrollment> kNoEnrollments;
  try {
    result.visited.assign(enrolled.size(), 0);
    // Each date's students come in id order, the order of the enrollments, so a cursor
    // finds a student's enrollments. At the start of each date it searches again.
    size_t cursor = 0;
    std::optional<Date> cursor_date;
    DerivedDays batch;
    read(first, last, [&](std::vector<AttendanceEvent>& events) {
      const std::string& student_id = events.front().student_id;
      if (input.only != nullptr && !input.only->count(student_id)) return;
      if (events.front().date != cursor_date) {
        auto by_id = [](const EnrollmentEntry& entry, const std::string& id) { return entry->first < id; };
        cursor = std::lower_bound(enrolled.begin(), enrolled.end(), student_id, by_id) - enrolled.begin();
        cursor_date = events.front().date;
      }
      while (cursor < enrolled.size() && enrolled[cursor]->first < student_id) ++cursor;
      bool found = cursor < enrolled.size() && enrolled[cursor]->first == student_id;
      if (found) {
        result.visited[cursor] = 1;
      } else {
        result.unenrolled.insert(student_id);
      }
      StudentAbsences absences =
          DeriveAbsences(found ? enrolled[cursor]->second : kNoEnrollments, events, *input.calendars, *input.rules);
      result.kept_aside += absences.kept_aside.size();
      if (absences.days.empty() && absences.kept_aside.empty()) return;
      batch.emplace_back(student_id, std::move(absences));
      if (batch.size() < kBatchDays) return;
      if (!hand_over(std::move(batch))) throw PassStopped{};
      batch.clear();
    });
    if (!batch.empty()) hand_over(std::move(batch));
  } catch (const PassStopped&) {
    // The writing thread failed, and reports its own error.
  } catch (...) {
    result.error = std::current_exception();
  }
}

// Returns the pass's result from the parts' findings, or throws the first part's error.
DerivePassResult Combine(const std::vector<EnrollmentEntry>& enrolled, const std::vector<PartResult>& parts) {
  for (const auto& part : parts) {
    if (part.error) std::rethrow_exception(part.error);
  }
  DerivePassResult result;
  std::set<std::string> students;
  for (const auto& part : parts) {
    result.kept_aside += part.kept_aside;
    students.insert(part.unenrolled.begin(), part.unenrolled.end());
  }
  for (size_t index = 0; index < enrolled.size(); ++index) {
    bool visited = std::any_of(parts.begin(), parts.end(),
                               [index](const PartResult& part) { return part.visited[index] != 0; });
    if (visited) students.insert(students.end(), enrolled[index]->first);
  }
  result.students.assign(students.begin(), students.end());
  return result;
}

}  // namespace

DerivePassResult DeriveStudentDays(const DerivePassInput& input,
                                   const std::function<void(const std::string& student_id,
                                                            const StudentAbsences& absences)>& write) {
  if (input.dates.empty()) return {};
  std::vector<EnrollmentEntry> enrolled;
  enrolled.reserve(input.enrollments->size());
  for (auto entry = input.enrollments->cbegin(); entry != input.enrollments->cend(); ++entry) {
    enrolled.push_back(entry);
  }
  auto write_batch = [&write](DerivedDays&& batch) {
    for (const auto& [student_id, absences] : batch) write(student_id, absences);
    return true;
  };

  if (input.read_here) {
    std::vector<PartResult> part(1);
    DerivePart(input, enrolled, input.dates.front(), input.dates.back(), input.read_here, write_batch, part[0]);
    return Combine(enrolled, part);
  }

  // Two halves of the dates. Each date has about the same events, the district's students.
  std::vector<std::pair<Date, Date>> parts;
  size_t middle = input.dates.size() / 2;
  if (middle > 0) parts.emplace_back(input.dates.front(), input.dates[middle - 1]);
  parts.emplace_back(input.dates[middle], input.dates.back());

  StudentDayReader read_committed = [&input](Date first, Date last,
                                             const std::function<void(std::vector<AttendanceEvent>&)>& visit) {
    Store::VisitCommittedStudentDays(input.store_path, input.school_year, first, last, visit);
  };
  BatchQueue queue(parts.size());
  auto push = [&queue](DerivedDays&& batch) { return queue.Push(std::move(batch)); };
  std::vector<PartResult> part_results(parts.size());
  std::vector<std::thread> threads;
  // Stops and joins the threads however this function ends.
  struct JoinThreads {
    BatchQueue& queue;
    std::vector<std::thread>& threads;
    ~JoinThreads() {
      queue.Stop();
      for (auto& thread : threads) {
        if (thread.joinable()) thread.join();
      }
    }
  } join{queue, threads};
  for (size_t index = 0; index < parts.size(); ++index) {
    threads.emplace_back([&, index] {
      DerivePart(input, enrolled, parts[index].first, parts[index].second, read_committed, push, part_results[index]);
      queue.ProducerDone();
    });
  }
  while (auto batch = queue.Pop()) write_batch(std::move(*batch));
  for (auto& thread : threads) thread.join();
  return Combine(enrolled, part_results);
}

}  // namespace tiersync
