// SetInputLimit; see qualm/frontends/input_limits.h.
#include "qualm/frontends/input_limits.h"

#include <cstdint>
#include <utility>

namespace qualm::frontends {

Status SetInputLimit(InputLimits& limits, const std::string& name_eq_value) {
  const std::pair<const char*, std::uint64_t*> fields[] = {
      {"max_decompressed_bytes", &limits.max_decompressed_bytes},
      {"max_image_pixels", &limits.max_image_pixels},
      {"max_mail_bytes", &limits.max_mail_bytes},
      {"max_text_file_bytes", &limits.max_text_file_bytes},
  };
  std::string names;
  for (const auto& f : fields) names += std::string(names.empty() ? "" : ", ") + f.first;
  const std::size_t eq = name_eq_value.find('=');
  if (eq == std::string::npos)
    return InvalidArgument("input limit '" + name_eq_value + "' is not NAME=VALUE (names: " + names + ")");
  const std::string name = name_eq_value.substr(0, eq), text = name_eq_value.substr(eq + 1);
  std::uint64_t* target = nullptr;
  for (const auto& f : fields)
    if (name == f.first) target = f.second;
  if (!target) return InvalidArgument("unknown input limit '" + name + "' (names: " + names + ")");
  std::uint64_t v = 0;
  std::size_t i = 0;
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
    if (v > (UINT64_MAX - 9) / 10) return InvalidArgument("input limit " + name + ": '" + text + "' is too large");
    v = v * 10 + static_cast<std::uint64_t>(text[i] - '0');
  }
  int shift = 0;
  if (i + 1 == text.size()) {
    const char s = text[i];
    shift = s == 'K' || s == 'k' ? 10 : s == 'M' || s == 'm' ? 20 : s == 'G' || s == 'g' ? 30 : -1;
    ++i;
  }
  if (i == 0 || i != text.size() || shift < 0 || v == 0)
    return InvalidArgument("input limit " + name + ": '" + text +
                           "' is not a positive integer with an optional K, M or G suffix");
  if (shift > 0 && v > (UINT64_MAX >> shift))
    return InvalidArgument("input limit " + name + ": '" + text + "' is too large");
  *target = v << shift;
  return Status::Ok();
}

}  // namespace qualm::frontends
