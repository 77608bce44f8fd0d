// TEMPORARY shim (not committed)
#pragma once
#include <functional>
#include <string>
#include <string_view>
#include <vector>
#include "qualm/status.h"
namespace qualm::study {
struct TextShiftInfo { std::string name, description; };
const std::vector<TextShiftInfo>& TextShifts();
bool IsTextShift(const std::string& name);
Result<std::function<std::string(std::string_view, std::size_t)>> TextShiftTransform(const std::string& type, int severity, std::uint64_t seed);
}
