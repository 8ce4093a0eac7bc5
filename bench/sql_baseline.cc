#include "bench/sql_baseline.h"

namespace tiersync::bench {

std::map<int, long> SqlBaselineTiers(sqlite::Database& db, int school_year, Date as_of, int periods_per_day) {
  // Amounts are day units (10000 = one day). Thresholds: Tier 2 from 5%, Tier 3 from 10%,
  // Tier 4 from 20%, and Tier 1 below 10 days enrolled.
  auto statement = db.Prepare(R"sql(
WITH day_event AS (
  SELECT e.student_id, e.date, c.units,
         MAX(CASE WHEN e.period = '' THEN
               CASE e.category
                 WHEN 'Excused Absence' THEN COALESCE(e.duration, 10000)
                 WHEN 'Unexcused Absence' THEN COALESCE(e.duration, 10000)
                 WHEN 'Partial' THEN COALESCE(e.duration, 5000)
                 ELSE 0 END
             ELSE 0 END) AS daily,
         SUM(CASE WHEN e.period <> '' AND e.category IN ('Excused Absence', 'Unexcused Absence')
             THEN 1 ELSE 0 END) AS periods_absent
  FROM attendance_event e
  JOIN calendar_day c ON c.school_id = e.school_id AND c.date = e.date
  JOIN enrollment en ON en.student_id = e.student_id AND en.school_id = e.school_id
       AND e.date >= en.entry_date AND e.date <= COALESCE(en.exit_date, ?2)
  WHERE e.school_year = ?1 AND e.date <= ?2
  GROUP BY e.student_id, e.date),
absent AS (
  SELECT student_id,
         SUM(MAX(daily, CASE WHEN periods_absent * 2 > ?3 THEN 10000
                             WHEN periods_absent > 0 THEN 5000 ELSE 0 END) * units / 10000) AS amount
  FROM day_event GROUP BY student_id),
enrolled AS (
  SELECT en.student_id, SUM(c.units) AS units
  FROM enrollment en
  JOIN calendar_day c ON c.school_id = en.school_id AND c.date >= en.entry_date
       AND c.date <= MIN(COALESCE(en.exit_date, ?2), ?2)
  WHERE en.school_year = ?1
  GROUP BY en.student_id)
SELECT tier, COUNT(*) FROM (
  SELECT CASE
           WHEN e.units < 100000 THEN 1
           WHEN COALESCE(a.amount, 0) * 100 >= 20 * e.units THEN 4
           WHEN COALESCE(a.amount, 0) * 100 >= 10 * e.units THEN 3
           WHEN COALESCE(a.amount, 0) * 100 >= 5 * e.units THEN 2
           ELSE 1 END AS tier
  FROM enrolled e LEFT JOIN absent a ON a.student_id = e.student_id)
GROUP BY tier ORDER BY tier
)sql");
  statement.Bind(1, school_year).Bind(2, as_of.days()).Bind(3, periods_per_day);
  std::map<int, long> counts;
  while (statement.Step()) counts[static_cast<int>(statement.Int(0))] = static_cast<long>(statement.Int(1));
  return counts;
}

}  // namespace tiersync::bench
