#pragma once

// Day amounts in exact fixed-point units, so that tier thresholds never depend on
// floating-point rounding. One day is kUnitsPerDay units; 0.5 day is 5000.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tiersync {

using DayUnits = int64_t;
inline constexpr DayUnits kUnitsPerDay = 10000;
inline constexpr int kUnitDecimals = 4;

// Parses a non-negative decimal such as "1", "0.5" or ".75" into day units. Returns nullopt
// for signs, exponents, other characters, or more than four decimal places, because those
// could not be stored exactly.
std::optional<DayUnits> ParseDayUnits(std::string_view text);

// Formats day units as the shortest exact decimal: 10000 -> "1", 5000 -> "0.5".
std::string FormatDayUnits(DayUnits units);

// Formats numerator / denominator as a decimal fraction rounded half up to `decimals`
// places, e.g. (12, 169, 4) -> "0.0710". The denominator must be positive.
std::string FormatRatio(int64_t numerator, int64_t denominator, int decimals);

}  // namespace tiersync
