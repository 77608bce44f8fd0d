#include "json_file.h"

#include <fstream>

namespace qualm::study {

Result<nlohmann::json> ReadJsonFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return NotFound(path + ": missing");
  auto j = nlohmann::json::parse(in, nullptr, false);
  if (j.is_discarded()) return DataLoss(path + ": not valid JSON");
  return j;
}

}  // namespace qualm::study
