#include "base/units.h"

#include <cstdio>

namespace tiersync {

std::optional<DayUnits> ParseDayUnits(std::string_view text) {
  if (text.empty()) return std::nullopt;

  DayUnits whole = 0;
  size_t i = 0;
  size_t whole_digits = 0;
  for (; i < text.size() && text[i] != '.'; ++i) {
    char c = text[i];
    if (c < '0' || c > '9' || whole_digits >= 9) return std::nullopt;
    whole = whole * 10 + (c - '0');
    ++whole_digits;
  }

  DayUnits fraction = 0;
  int fraction_digits = 0;
  if (i < text.size()) {
    ++i;  // skip '.'
    for (; i < text.size(); ++i) {
      char c = text[i];
      if (c < '0' || c > '9') return std::nullopt;
      if (fraction_digits == kUnitDecimals) {
        if (c != '0') return std::nullopt;  // a fifth significant decimal cannot be exact
        continue;
      }
      fraction = fraction * 10 + (c - '0');
      ++fraction_digits;
    }
  }
  if (whole_digits == 0 && fraction_digits == 0) return std::nullopt;
  for (int d = fraction_digits; d < kUnitDecimals; ++d) fraction *= 10;
  return whole * kUnitsPerDay + fraction;
}

std::string FormatDayUnits(DayUnits units) {
  bool negative = units < 0;
  if (negative) units = -units;
  std::string text = std::to_string(units / kUnitsPerDay);
  DayUnits fraction = units % kUnitsPerDay;
  if (fraction != 0) {
    char digits[8];
    std::snprintf(digits, sizeof digits, "%0*lld", kUnitDecimals, static_cast<long long>(fraction));
    std::string tail = digits;
    while (!tail.empty() && tail.back() == '0') tail.pop_back();
    text += "." + tail;
  }
  return negative ? "-" + text : text;
}

std::string FormatRatio(int64_t numerator, int64_t denominator, int decimals) {
  int64_t scale = 1;
  for (int d = 0; d < decimals; ++d) scale *= 10;
  // Round half up in integers: floor((2 * n * scale + d) / (2 * d)). Day amounts stay far
  // below the range where this product could overflow 64 bits.
  int64_t value = (numerator * scale * 2 + denominator) / (2 * denominator);
  std::string text = std::to_string(value / scale);
  if (decimals > 0) {
    std::string digits = std::to_string(value % scale);
    text += "." + std::string(static_cast<size_t>(decimals) - digits.size(), '0') + digits;
  }
  return text;
}

}  // namespace tiersync
