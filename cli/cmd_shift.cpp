// qualm shift: Fashion-MNIST-C, generated (study/image_shift.h, study/SHIFTS.md).
//
//   qualm shift --list [--json]
//   qualm shift TYPE --severity S [--data fashion-mnist:test] -o DIR [--seed N] [--limit N]
//   qualm shift --contact-sheet FILE.png [--data ...] [--index K] [--zoom Z]
//   qualm shift --severity-table --model M [--data ...] [-o FILE.md]
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "options.h"
#include "progress.h"
#include "qualm/engine/evaluate.h"
#include "qualm/frontends/atomic_file.h"
#include "qualm/frontends/datasets.h"
#include "qualm/frontends/model_file.h"
#include "qualm/study/image_shift.h"
#include "qualm/study/image_shift_io.h"

namespace qualm::cli {
namespace {

struct ShiftArgs {
  std::string type, data = "fashion-mnist:test", output, contact_sheet, model;
  int severity = 0, zoom = 3, threads = 0;
  std::size_t index = 0;
  std::uint64_t seed = 1;
  bool list = false, json = false, table = false, quiet = false;
  Backend backend = Backend::kFast;
  frontends::DataSpecOptions data_args;
};

int Usage(const std::string& message) {
  std::fprintf(stderr, "qualm shift: %s\n", message.c_str());
  return 2;
}

Result<Dataset> LoadImages(const ShiftArgs& a) {
  frontends::DataOptions d;
  if (!a.data_args.fashion_dir.empty()) d.fashion_mnist_dir = a.data_args.fashion_dir;
  d.spam_assassin_dir = a.data_args.spam_dir;
  d.limit = a.data_args.limit;
  QUALM_ASSIGN_OR_RETURN(Dataset data, frontends::LoadNamedDataset(a.data, d));
  PrintLoadNotes("shift", data);
  if (data.sample_type != SampleType::kFloat32 || data.sample_shape.size() != 3)
    return InvalidArgument("'" + a.data + "' is not a set of images; image shifts need images");
  return data;
}

int RunList(const ShiftArgs& a) {
  if (a.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& s : study::ImageShifts())
      out.push_back({{"name", s.name}, {"family", s.family}, {"description", s.description},
                     {"severities", study::kShiftSeverities}});
    std::printf("%s\n", out.dump(2).c_str());
    return 0;
  }
  for (const auto& s : study::ImageShifts())
    std::printf("%s %s %s\n", PadRight(s.name, 15).c_str(), PadRight(s.family, 10).c_str(), s.description.c_str());
  return 0;
}

int RunWrite(const ShiftArgs& a) {
  auto data = LoadImages(a);
  if (!data.ok()) return Fail("shift", data.status());
  const auto t0 = std::chrono::steady_clock::now();
  auto shifted = study::ApplyImageShift(*data, a.type, a.severity, a.seed);
  if (!shifted.ok()) return Fail("shift", shifted.status());
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const nlohmann::json provenance = {{"command", "qualm shift"}, {"version", Version()},      {"data", a.data},
                                     {"type", a.type},           {"severity", a.severity},    {"seed", a.seed},
                                     {"count", shifted->size()}, {"name", shifted->name},
                                     {"hash", study::ImageBytesHash(*shifted)}};
  if (Status st = study::WriteImageFolder(*shifted, a.output, provenance.dump(2) + "\n"); !st.ok())
    return Fail("shift", st);
  if (a.json) {
    nlohmann::json out = provenance;
    out["output"] = a.output;
    out["seconds"] = seconds;
    std::printf("%s\n", out.dump(2).c_str());
  } else {
    std::printf("%s: %zu images (%.2fs) written to %s; read back with --data images:%s\n", shifted->name.c_str(),
                shifted->size(), seconds, a.output.c_str(), a.output.c_str());
  }
  return 0;
}

int RunContactSheet(const ShiftArgs& a) {
  auto data = LoadImages(a);
  if (!data.ok()) return Fail("shift", data.status());
  if (Status st = study::WriteContactSheet(*data, a.index, a.seed, a.zoom, a.contact_sheet); !st.ok())
    return Fail("shift", st);
  if (!a.quiet) std::printf("contact sheet of sample %zu of %s written to %s\n", a.index, a.data.c_str(), a.contact_sheet.c_str());
  return 0;
}

// Float accuracy of a model on every type at every severity: the table of
// study/results/2026-12-03-fashion-mnist-c-severity.md.
int RunSeverityTable(const ShiftArgs& a) {
  auto model = frontends::LoadModel(a.model);
  if (!model.ok()) return Fail("shift", model.status());
  auto data = LoadImages(a);
  if (!data.ok()) return Fail("shift", data.status());
  EvalOptions eo;
  eo.backend = a.backend;
  eo.threads = ResolveThreads(a.threads);
  eo.keep_probabilities = false;
  auto clean = Evaluate(*model, *data, eo);
  if (!clean.ok()) return Fail("shift", clean.status());
  const auto& shifts = study::ImageShifts();
  std::string md;
  char line[512];
  std::snprintf(line, sizeof line, "| type | family | clean | s1 | s2 | s3 | s4 | s5 | falls | generate (s/set) |\n");
  md += line;
  md += "|---|---|---|---|---|---|---|---|---|---|\n";
  ProgressLine progress(!a.quiet);
  double total_gen = 0;
  int flat = 0;
  for (std::size_t t = 0; t < shifts.size(); ++t) {
    double acc[study::kShiftSeverities + 1];
    acc[0] = clean->accuracy;
    double gen = 0;
    for (int s = 1; s <= study::kShiftSeverities; ++s) {
      progress.Update((static_cast<double>(t) * study::kShiftSeverities + s - 1) /
                          (static_cast<double>(shifts.size()) * study::kShiftSeverities),
                      shifts[t].name + "@" + std::to_string(s));
      const auto t0 = std::chrono::steady_clock::now();
      auto shifted = study::ApplyImageShift(*data, shifts[t].name, s, a.seed);
      gen += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if (!shifted.ok()) return Fail("shift", shifted.status());
      auto r = Evaluate(*model, *shifted, eo);
      if (!r.ok()) return Fail("shift", r.status());
      acc[s] = r->accuracy;
    }
    total_gen += gen;
    // "falls": non-increasing from severity 1 to 5 and severity 5 at least 2 points below 1.
    bool falls = acc[study::kShiftSeverities] <= acc[1] - 0.02;
    for (int s = 2; s <= study::kShiftSeverities; ++s) falls = falls && acc[s] <= acc[s - 1];
    flat += !falls;
    std::snprintf(line, sizeof line, "| %s | %s | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %s | %.3f |\n",
                  shifts[t].name.c_str(), shifts[t].family.c_str(), 100 * acc[0], 100 * acc[1], 100 * acc[2],
                  100 * acc[3], 100 * acc[4], 100 * acc[5], falls ? "yes" : "NO", gen / study::kShiftSeverities);
    md += line;
  }
  progress.Finish("");
  std::snprintf(line, sizeof line,
                "\n%zu images of %s, seed %llu, model %s, path %s; %d of %zu types do not fall; generation %.3f s per "
                "set on average.\n",
                data->size(), a.data.c_str(), static_cast<unsigned long long>(a.seed), a.model.c_str(),
                clean->path.c_str(), flat, shifts.size(), total_gen / (shifts.size() * study::kShiftSeverities));
  md += line;
  if (!a.output.empty()) {
    if (Status st = frontends::WriteFileAtomically(a.output, md); !st.ok()) return Fail("shift", st);
  }
  std::printf("%s", md.c_str());
  return 0;
}

int RunShift(const ShiftArgs& a) {
  const int modes = a.list + a.table + !a.contact_sheet.empty() + !a.type.empty();
  if (modes != 1)
    return Usage("give exactly one of: TYPE (with --severity and -o), --list, --contact-sheet FILE, --severity-table");
  if (a.list) return RunList(a);
  if (!a.contact_sheet.empty()) return RunContactSheet(a);
  if (a.table) {
    if (a.model.empty()) return Usage("--severity-table needs --model M");
    if (Status st = CheckOutputIsNotInput(a.output, {a.model}); !st.ok()) return Fail("shift", st);
    return RunSeverityTable(a);
  }
  if (a.severity == 0) return Usage(a.type + ": give --severity 1.." + std::to_string(study::kShiftSeverities));
  if (a.output.empty()) return Usage(a.type + ": give the output folder with -o DIR");
  return RunWrite(a);
}

}  // namespace

Runner RegisterShift(CLI::App& app) {
  auto a = std::make_shared<ShiftArgs>();
  app.add_option("type", a->type, "Shift type (see --list)")
      ->check(CLI::Validator(
          [](std::string& v) -> std::string {
            return study::IsImageShift(v) ? std::string()
                                          : "unknown shift type '" + v + "' (known: " + study::ImageShiftNameList() + ")";
          },
          "TYPE"));
  app.add_option("--severity", a->severity, "Severity 1..5")
      ->check(CLI::Range(1, study::kShiftSeverities).description("1..5"));
  app.add_option("--data", a->data, DataSpecHelp("Image data to shift (default fashion-mnist:test)"));
  app.add_option("-o,--output", a->output,
                 "Output folder of TYPE (an image folder, replaced only if it is an earlier output of qualm shift), "
                 "or the Markdown file of --severity-table");
  app.add_option("--seed", a->seed, "Seed of the random corruptions")->capture_default_str();
  AddLimitOption(app, a->data_args.limit);
  AddDataDirOptions(app, a->data_args);
  app.add_flag("--list", a->list, "List the shift types");
  app.add_flag("--json", a->json, "Machine-readable output (--list, TYPE)");
  app.add_option("--contact-sheet", a->contact_sheet, "Write a PNG: a row per type, a column per severity");
  app.add_option("--index", a->index, "Sample shown on the contact sheet")->capture_default_str();
  app.add_option("--zoom", a->zoom, "Enlargement of the contact sheet's images")
      ->capture_default_str()
      ->check(CLI::Range(1, 16));
  app.add_flag("--severity-table", a->table, "Float accuracy of --model on every type at every severity (Markdown)");
  app.add_option("--model", a->model, "Model file for --severity-table");
  AddBackendOption(app, a->backend);
  AddThreadsOption(app, a->threads);
  app.add_flag("-q,--quiet", a->quiet, "No progress output");
  return [a] { return RunShift(*a); };
}

}  // namespace qualm::cli
