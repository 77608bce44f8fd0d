// cli/options.h: the options several subcommands share, declared once so each
// has one spelling, one meaning and one check everywhere:
//   -o,--output FILE   the file a command writes (never one of its inputs)
//   --threads N        1 .. the hardware threads this process may run on
//   --backend B        kernel path for running models, float and int8 alike:
//                      fast (SIMD, chosen at run time), reference (frozen scalar)
//                      or onednn (conv2d/dense and float lstm/gru through oneDNN; inference only)
//   --limit N          only the first N samples of each data set (N >= 1)
//   --fashion-dir D, --spam-dir D   data folders; defaults from the environment
//                      (QUALM_FASHION_MNIST_DIR, QUALM_DATA_DIR) or the built-in ones
// and the one place where option strings become enums (AddChoiceOption: the
// names are the ones each enum's own layer prints, e.g. BackendName), so the
// command files never parse a string themselves.
// Every check runs while the command line is parsed, before any work starts.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "qualm/engine/executor.h"
#include "qualm/engine/observers.h"
#include "qualm/engine/quant_spec.h"
#include "qualm/engine/train.h"
#include "qualm/frontends/data_spec.h"
#include "qualm/kernels/requant.h"
#include "qualm/status.h"

namespace qualm::cli {

// Hardware threads this process may run on (its CPU affinity mask), >= 1.
int HardwareThreads();

CLI::Option* AddOutputOption(CLI::App& app, std::string& path, const std::string& help);
// --threads; 0 afterwards means "not given" (ResolveThreads picks the default).
CLI::Option* AddThreadsOption(CLI::App& app, int& threads);
int ResolveThreads(int threads);
CLI::Option* AddBackendOption(CLI::App& app, Backend& backend);

// An option whose value is one of `values`, spelled as `name_of` prints it;
// the help lists the choices. option->count() says whether it was given.
template <typename E>
CLI::Option* AddChoiceOption(CLI::App& app, const std::string& flags, E& value, std::initializer_list<E> values,
                             const char* (*name_of)(E), const std::string& help) {
  std::map<std::string, E> names;
  std::string list;
  for (E v : values) {
    names[name_of(v)] = v;
    list += (list.empty() ? "" : ", ") + std::string(name_of(v));
  }
  // CLI11 would describe the mapping itself ("{adam->1,...} OR {1,...}"), which
  // prints uint8_t-based enums as raw characters; the names alone are the interface.
  CLI::Validator choices = CLI::CheckedTransformer(names);
  choices.description("{" + list + "}");
  return app.add_option(flags, value, help + ": " + list)->transform(choices)->type_name("CHOICE")->default_str(name_of(value));
}
// The choices above for the enums the command line sets.
inline constexpr std::initializer_list<kernels::RequantMode> kRequantModes = {
    kernels::RequantMode::kGemmlowp, kernels::RequantMode::kSingle, kernels::RequantMode::kFloat};
// Quantization schemes (float is no quantization).
inline constexpr std::initializer_list<QuantScheme> kQuantSchemes = {
    QuantScheme::kInt8, QuantScheme::kDynamic, QuantScheme::kWeightOnlyInt8, QuantScheme::kFp16Weights,
    QuantScheme::kBf16Weights};
// A comma-separated list of kQuantSchemes names.
Result<std::vector<QuantScheme>> ParseSchemeList(const std::string& list);
// An observer spec (engine/observers.h: "minmax", "percentile:99.99", ...),
// parsed into `value` while the command line is parsed.
CLI::Option* AddObserverOption(CLI::App& app, const std::string& flags, ObserverOptions& value, const std::string& help);
CLI::Option* AddLimitOption(CLI::App& app, std::size_t& limit, const std::string& help = "");
// --fashion-dir and --spam-dir, plus the environment defaults (applied at parse time).
void AddDataDirOptions(CLI::App& app, frontends::DataSpecOptions& options);
// The data set a command runs `model` on: `spec`, or when it is empty the test
// set of the data the model was trained on (spec is then set to it); what the
// loader left out is printed to stderr.
Result<Dataset> LoadDataOption(const char* command, const Model& model, std::string& spec,
                               const frontends::DataSpecOptions& options);
// --text-shift TYPE:SEVERITY and --shift-seed N (study/text_shift.h): read
// text evaluation sets through a synthetic shift. The spec is checked while
// parsing; ApplyTextShift sets options.text_transform (nothing when not given).
struct TextShiftArgs {
  std::string spec;
  std::uint64_t seed = 1;
};
void AddTextShiftOptions(CLI::App& app, TextShiftArgs& args);
Status ApplyTextShift(const TextShiftArgs& args, frontends::DataSpecOptions& options);
// Help text for --data: every spec form the data layer understands.
std::string DataSpecHelp(const std::string& what);

// Validators for integers that must be at least 1.
CLI::Validator AtLeastOne();

// An output file must not be one of the command's inputs: the same path, or
// the same file reached another way (a link, "./m.qm" for "m.qm").
Status CheckOutputIsNotInput(const std::string& output, const std::vector<std::string>& inputs);

}  // namespace qualm::cli
