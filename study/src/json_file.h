// study/src/json_file.h: reading a JSON file of a study folder (cell.json,
// records.json, study.json, probe.json ...), with the path in every error.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "qualm/status.h"

namespace qualm::study {

// NotFound when the file cannot be opened, DataLoss when it is not valid JSON.
Result<nlohmann::json> ReadJsonFile(const std::string& path);

}  // namespace qualm::study
