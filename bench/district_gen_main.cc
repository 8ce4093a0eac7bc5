// tiersync-district-gen: writes a synthetic district (see bench/district_generator.h).

#include <CLI/CLI.hpp>

#include <cstdio>

#include "bench/district_generator.h"

int main(int argc, char** argv) {
  CLI::App app{"Write a synthetic school district as CSV (and optionally Ed-Fi XML) files"};
  tiersync::bench::DistrictSpec spec;
  std::string directory;
  std::string playbook = "config/playbook.yaml";
  int days = -1;
  bool edfi = false;
  app.add_option("--students", spec.students, "number of students")->check(CLI::PositiveNumber);
  app.add_option("--seed", spec.seed, "random seed; the same seed writes the same files");
  app.add_option("--out", directory, "directory to write into (created when missing)")->required();
  app.add_option("--days", days, "instructional days of attendance to write (default: all 180)");
  app.add_option("--playbook", playbook, "playbook file the generated tiersync.yaml names");
  app.add_flag("--edfi", edfi, "also write the year's absences as Ed-Fi XML interchange files");
  CLI11_PARSE(app, argc, argv);

  tiersync::bench::District district(spec);
  auto paths = district.WriteCsv(directory, days);
  if (!paths) {
    std::fprintf(stderr, "tiersync-district-gen: %s\n", paths.error().message.c_str());
    return 1;
  }
  auto config = tiersync::bench::WriteDistrictConfig(directory, playbook, *paths);
  if (!config) {
    std::fprintf(stderr, "tiersync-district-gen: %s\n", config.error().message.c_str());
    return 1;
  }
  if (edfi) {
    auto edfi_paths = district.WriteEdFi(directory);
    if (!edfi_paths) {
      std::fprintf(stderr, "tiersync-district-gen: %s\n", edfi_paths.error().message.c_str());
      return 1;
    }
  }
  std::printf("wrote %d students, %d schools, %zu attendance days; configuration %s\n", spec.students,
              district.school_count(), paths->size(), config->c_str());
  return 0;
}
