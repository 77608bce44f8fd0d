// TEMPORARY shim (not committed)
#include "qualm/study/image_shift.h"
#include "qualm/study/text_shift.h"
#include "qualm/study/recipes.h"
#include "qualm/study/study_spec.h"
namespace qualm::study {
const std::vector<ImageShiftInfo>& ImageShifts() { static std::vector<ImageShiftInfo> v = {{"invert", "x", "x"}}; return v; }
bool IsImageShift(const std::string& n) { return n == "invert"; }
Result<Dataset> ApplyImageShift(const Dataset& clean, const std::string& type, int severity, std::uint64_t) {
  Dataset d = clean; for (auto& x : d.f32) x = 1.0f - x * (1.0f - 0.1f * severity); d.name += "~" + type; return d; }
const std::vector<TextShiftInfo>& TextShifts() { static std::vector<TextShiftInfo> v; return v; }
bool IsTextShift(const std::string&) { return false; }
Result<std::function<std::string(std::string_view, std::size_t)>> TextShiftTransform(const std::string&, int, std::uint64_t) { return InvalidArgument("x"); }
TrainConfig TaskRecipe(const std::string& arch, const std::string&) { return DefaultRecipe(arch); }
Status SetTrainingStrategy(const std::string& s, TrainConfig*) { return s == "standard" ? Status::Ok() : InvalidArgument("tmp"); }
}
