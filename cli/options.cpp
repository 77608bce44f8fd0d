#include "options.h"

#include <sched.h>

#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <thread>

#include "progress.h"
#include "qualm/frontends/datasets.h"
#include "qualm/study/text_shift.h"

namespace qualm::cli {

int HardwareThreads() {
  // The affinity mask, not the machine's core count: under taskset or a
  // container's cpuset, more threads than CPUs only slow every kernel down.
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    const int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
  const unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}

CLI::Validator AtLeastOne() {
  return CLI::Validator(
      [](std::string& v) -> std::string {
        long long n = 0;
        if (!CLI::detail::lexical_cast(v, n)) return "'" + v + "' is not an integer";
        if (n < 1) return "must be at least 1, got " + v;
        return {};
      },
      "N>=1");
}

CLI::Option* AddOutputOption(CLI::App& app, std::string& path, const std::string& help) {
  return app.add_option("-o,--output", path, help)->required();
}

CLI::Option* AddThreadsOption(CLI::App& app, int& threads) {
  const int hw = HardwareThreads();
  CLI::Validator in_range(
      [hw](std::string& v) -> std::string {
        int n = 0;
        if (!CLI::detail::lexical_cast(v, n)) return "'" + v + "' is not an integer";
        if (n < 1) return "must be at least 1, got " + v;
        if (n > hw)
          return "this process may run on " + std::to_string(hw) +
                 " hardware threads, got " + v + " (more threads than that only slow every kernel down)";
        return {};
      },
      "1.." + std::to_string(hw));
  return app.add_option("--threads", threads,
                        "Worker threads, 1.." + std::to_string(hw) + " (default: all " + std::to_string(hw) + ")")
      ->check(in_range);
}

int ResolveThreads(int threads) { return threads > 0 ? threads : HardwareThreads(); }

CLI::Option* AddBackendOption(CLI::App& app, Backend& backend) {
  return AddChoiceOption(app, "--backend", backend, {Backend::kFast, Backend::kReference, Backend::kOnednn},
                         BackendName,
                         "Kernel path for running models, float and int8 alike: fast (SIMD, chosen at run time; "
                         "int8 bit-identical to the reference), reference (the frozen scalar kernels) or onednn "
                         "(conv2d/dense and float lstm/gru through oneDNN, int8 with qualm's requantization so still "
                         "bit-identical, int8 lstm/gru on qualm's kernels; "
                         "inference only, and only in builds with oneDNN)");
}

Result<std::vector<QuantScheme>> ParseSchemeList(const std::string& list) {
  std::vector<QuantScheme> out;
  std::stringstream ss(list);
  for (std::string s; std::getline(ss, s, ',');) {
    if (s.empty()) continue;
    bool found = false;
    std::string known;
    for (QuantScheme q : kQuantSchemes) {
      known += (known.empty() ? "" : ", ") + std::string(QuantSchemeName(q));
      if (s == QuantSchemeName(q)) {
        out.push_back(q);
        found = true;
      }
    }
    if (!found) return InvalidArgument("unknown quantization scheme '" + s + "' (known: " + known + ")");
  }
  return out;
}

CLI::Option* AddObserverOption(CLI::App& app, const std::string& flags, ObserverOptions& value,
                               const std::string& help) {
  std::string names;
  for (const auto& n : ObserverNames()) names += (names.empty() ? "" : ", ") + n;
  return app
      .add_option_function<std::string>(
          flags, [&value](const std::string& spec) { value = ParseObserver(spec).value(); },
          help + ": " + names + " (parameters as in engine/observers.h, e.g. percentile:99.99)")
      ->check(CLI::Validator(
          [](std::string& v) -> std::string {
            auto ob = ParseObserver(v);
            return ob.ok() ? std::string() : ob.status().message();
          },
          "OBSERVER"))
      ->default_str(ObserverName(value));
}

CLI::Option* AddLimitOption(CLI::App& app, std::size_t& limit, const std::string& help) {
  return app.add_option("--limit", limit, help.empty() ? "Use only the first N samples of each data set" : help)
      ->check(AtLeastOne());
}

void AddDataDirOptions(CLI::App& app, frontends::DataSpecOptions& options) {
  // The environment gives the defaults; a flag on the command line wins.
  if (const char* d = std::getenv("QUALM_FASHION_MNIST_DIR"); d && *d) options.fashion_dir = d;
  if (const char* d = std::getenv("QUALM_DATA_DIR"); d && *d)
    options.spam_dir = (std::filesystem::path(d) / "spam-assassin/package/data").string();
  app.add_option("--fashion-dir", options.fashion_dir,
                 "Fashion-MNIST folder (default: $QUALM_FASHION_MNIST_DIR, else " +
                     std::string(frontends::kDefaultFashionMnistDir) + ")");
  app.add_option("--spam-dir", options.spam_dir,
                 "SpamAssassin data folder (default: $QUALM_DATA_DIR/spam-assassin/package/data, else the "
                 "repository's data/ folder, where scripts/setup.sh puts it)");
  // Raising a parser's resource limit (docs/LIMITS.md); repeatable.
  app.add_option_function<std::vector<std::string>>(
         "--input-limit",
         [&options](const std::vector<std::string>& values) {
           for (const auto& v : values) (void)frontends::SetInputLimit(options.limits, v);  // checked below
         },
         "Raise a data parser's limit, NAME=VALUE (repeatable; names and defaults in docs/LIMITS.md)")
      ->check([](const std::string& v) {
        frontends::InputLimits scratch;
        const Status st = frontends::SetInputLimit(scratch, v);
        return st.ok() ? std::string() : st.message();
      });
}

void AddTextShiftOptions(CLI::App& app, TextShiftArgs& args) {
  std::string types;
  for (const auto& t : study::TextShifts()) types += (types.empty() ? "" : ", ") + t.name;
  app.add_option("--text-shift", args.spec,
                 "Read the text data through a seeded synthetic shift TYPE:SEVERITY (severity 1-5; types: " + types +
                     ")")
      ->check([](const std::string& v) {
        auto parsed = study::ParseTextShiftSpec(v);
        return parsed.ok() ? std::string() : parsed.status().message();
      });
  app.add_option("--shift-seed", args.seed, "Seed of --text-shift")->capture_default_str();
}

Status ApplyTextShift(const TextShiftArgs& args, frontends::DataSpecOptions& options) {
  if (args.spec.empty()) return Status::Ok();
  QUALM_ASSIGN_OR_RETURN(study::TextShiftSpec spec, study::ParseTextShiftSpec(args.spec));
  QUALM_ASSIGN_OR_RETURN(options.text_transform, study::TextShiftTransform(spec.type, spec.severity, args.seed));
  return Status::Ok();
}

Result<Dataset> LoadDataOption(const char* command, const Model& model, std::string& spec,
                               const frontends::DataSpecOptions& options) {
  if (spec.empty()) spec = frontends::DefaultTestData(model);
  QUALM_ASSIGN_OR_RETURN(Dataset data, frontends::LoadEvalData(spec, model, options));
  PrintLoadNotes(command, data);
  return data;
}

std::string DataSpecHelp(const std::string& what) { return what + "; one of:\n" + frontends::NamedDatasetHelp(); }

Status CheckOutputIsNotInput(const std::string& output, const std::vector<std::string>& inputs) {
  namespace fs = std::filesystem;
  std::error_code ec;
  for (const std::string& in : inputs) {
    if (in.empty()) continue;
    bool same = fs::weakly_canonical(output, ec) == fs::weakly_canonical(in, ec);
    if (!same && fs::exists(output, ec) && fs::exists(in, ec)) same = fs::equivalent(output, in, ec);
    if (same)
      return InvalidArgument("the output '" + output + "' is the input '" + in +
                             "'; write to another file (the input is left as it is)");
  }
  return Status::Ok();
}

}  // namespace qualm::cli
