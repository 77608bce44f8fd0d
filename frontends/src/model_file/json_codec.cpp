// Strings, floats and op fields <-> JSON for the model file header.
//
// Op fields are never named here: each op struct lists its fields once in
// VisitFields, and one generic encoder/decoder handles every alternative of
// OpParams (a fold over the variant's index sequence finds the op by name).
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <optional>
#include <type_traits>
#include <utility>
#include <variant>

#include "model_file_internal.h"

namespace qualm::frontends::model_file {

namespace {

constexpr char kHexDigits[] = "0123456789abcdef";

std::string ToHex(const std::string& bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kHexDigits[c >> 4]);
    out.push_back(kHexDigits[c & 15]);
  }
  return out;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<std::string> FromHex(const std::string& hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  std::string out(hex.size() / 2, '\0');
  for (std::size_t i = 0; i < out.size(); ++i) {
    const int hi = HexValue(hex[2 * i]), lo = HexValue(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out[i] = static_cast<char>(hi * 16 + lo);
  }
  return out;
}

template <class T>
[[maybe_unused]] inline constexpr bool kAlwaysFalse = false;  // clang: "unused" where no branch fails

// JSON type name for messages.
std::string TypeName(const Json& j) { return j.type_name(); }

template <class T>
std::vector<std::string> FieldNames() {
  T op{};
  std::vector<std::string> names;
  op.VisitFields([&](const char* key, auto&) { names.emplace_back(key); });
  return names;
}

template <class T>
Result<OpParams> DecodeOp(const Json& fields) {
  const std::string what = std::string("op '") + T::kName + "'";
  if (!fields.is_object()) return InvalidArgument(what + ": fields are a JSON " + TypeName(fields) + ", not an object");
  T op{};
  Status st;
  std::size_t seen = 0;
  op.VisitFields([&](const char* key, auto& value) {
    if (!st.ok()) return;
    const std::string where = what + ": field '" + key + "'";
    const auto it = fields.find(key);
    if (it == fields.end()) {
      st = InvalidArgument(what + " is missing field '" + key + "'");
      return;
    }
    ++seen;
    using V = std::decay_t<decltype(value)>;
    if constexpr (std::is_same_v<V, bool>) {
      if (!it->is_boolean()) {
        st = InvalidArgument(where + " must be a boolean, is a " + TypeName(*it));
        return;
      }
      value = it->template get<bool>();
    } else if constexpr (std::is_same_v<V, int>) {
      // nlohmann keeps non-negative integers as unsigned: check both forms.
      bool in_range = false;
      if (it->is_number_unsigned()) {
        const auto u = it->template get<std::uint64_t>();
        in_range = u <= static_cast<std::uint64_t>(std::numeric_limits<int>::max());
        if (in_range) value = static_cast<int>(u);
      } else if (it->is_number_integer()) {
        const auto x = it->template get<std::int64_t>();
        in_range = x >= std::numeric_limits<int>::min() && x <= std::numeric_limits<int>::max();
        if (in_range) value = static_cast<int>(x);
      } else {
        st = InvalidArgument(where + " must be an integer, is a " + TypeName(*it));
        return;
      }
      if (!in_range) st = InvalidArgument(where + " is out of the range of int: " + it->dump());
    } else if constexpr (std::is_same_v<V, float>) {
      auto f = DecodeFloat(*it, where);
      if (!f.ok()) {
        st = f.status();
        return;
      }
      value = *f;
    } else {
      static_assert(kAlwaysFalse<V>, "op field type not supported by the model file: add it to DecodeOp");
    }
  });
  if (!st.ok()) return st;
  if (seen != fields.size()) {
    const auto known = FieldNames<T>();
    for (const auto& item : fields.items()) {
      bool is_known = false;
      for (const auto& k : known) is_known = is_known || k == item.key();
      if (!is_known) return InvalidArgument(what + " has unknown field '" + item.key() + "'");
    }
  }
  return OpParams(std::move(op));
}

template <std::size_t... I>
Result<OpParams> OpFromJsonImpl(const std::string& op_name, const Json& fields, std::index_sequence<I...>) {
  Result<OpParams> result = InvalidArgument("unknown op '" + op_name + "'");
  bool matched = false;
  auto try_one = [&]<class T>() {
    if (!matched && op_name == T::kName) {
      matched = true;
      result = DecodeOp<T>(fields);
    }
  };
  (try_one.template operator()<std::variant_alternative_t<I, OpParams>>(), ...);
  return result;
}

}  // namespace

Json EncodeString(const std::string& s) {
  Json j = s;
  try {
    (void)j.dump();  // throws type_error 316 on invalid UTF-8
    return j;
  } catch (const Json::type_error&) {
    return Json{{"hex", ToHex(s)}};
  }
}

Result<std::string> DecodeString(const Json& j, const std::string& what) {
  if (j.is_string()) return j.get<std::string>();
  if (j.is_object() && j.size() == 1 && j.contains("hex") && j["hex"].is_string()) {
    auto bytes = FromHex(j["hex"].get<std::string>());
    if (!bytes) return InvalidArgument(what + ": bad hex string");
    return *bytes;
  }
  return InvalidArgument(what + " must be a string, is a " + TypeName(j));
}

Json EncodeFloat(float v) {
  if (std::isfinite(v)) return static_cast<double>(v);
  std::uint32_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", static_cast<unsigned>(bits));
  return std::string(buf);
}

Result<float> DecodeFloat(const Json& j, const std::string& what) {
  if (j.is_number()) {
    const double d = j.get<double>();
    const float f = static_cast<float>(d);
    if (!std::isfinite(f)) return InvalidArgument(what + " is out of the range of float: " + j.dump());
    return f;
  }
  if (j.is_string()) {
    const std::string s = j.get<std::string>();
    auto bytes = s.size() == 10 && s[0] == '0' && s[1] == 'x' ? FromHex(s.substr(2)) : std::nullopt;
    if (!bytes) return InvalidArgument(what + " must be a number or a \"0x%08x\" bit pattern, is \"" + s + "\"");
    std::uint32_t bits = 0;
    for (unsigned char c : *bytes) bits = bits << 8 | c;
    float f;
    std::memcpy(&f, &bits, sizeof f);
    return f;
  }
  return InvalidArgument(what + " must be a number, is a " + TypeName(j));
}

Json OpFieldsToJson(const OpParams& op) {
  return std::visit(
      [](const auto& o) {
        auto copy = o;  // VisitFields is non-const
        Json j = Json::object();
        copy.VisitFields([&](const char* key, auto& value) {
          using V = std::decay_t<decltype(value)>;
          if constexpr (std::is_same_v<V, float>) {
            j[key] = EncodeFloat(value);
          } else {
            static_assert(std::is_same_v<V, bool> || std::is_same_v<V, int>,
                          "op field type not supported by the model file: add it to OpFieldsToJson");
            j[key] = value;
          }
        });
        return j;
      },
      op);
}

Result<OpParams> OpFromJson(const std::string& op_name, const Json& fields) {
  return OpFromJsonImpl(op_name, fields, std::make_index_sequence<std::variant_size_v<OpParams>>{});
}

Status CheckKeys(const Json& obj, std::initializer_list<const char*> required,
                 std::initializer_list<const char*> optional, const std::string& what) {
  if (!obj.is_object()) return InvalidArgument(what + " must be a JSON object, is a " + TypeName(obj));
  for (const char* k : required)
    if (!obj.contains(k)) return InvalidArgument(what + " is missing '" + k + "'");
  for (const auto& item : obj.items()) {
    bool known = false;
    for (const char* k : required) known = known || item.key() == k;
    for (const char* k : optional) known = known || item.key() == k;
    if (!known) return InvalidArgument(what + " has unknown key '" + item.key() + "'");
  }
  return Status::Ok();
}

Result<std::int64_t> GetInt(const Json& obj, const char* key, std::int64_t lo, std::int64_t hi,
                            const std::string& what) {
  const auto it = obj.find(key);
  if (it == obj.end()) return InvalidArgument(what + " is missing '" + key + "'");
  const std::string where = what + ": '" + key + "'";
  std::int64_t v = 0;
  if (it->is_number_unsigned()) {
    const auto u = it->get<std::uint64_t>();
    if (hi < 0 || u > static_cast<std::uint64_t>(hi)) return InvalidArgument(where + " is out of range: " + it->dump());
    v = static_cast<std::int64_t>(u);
  } else if (it->is_number_integer()) {
    v = it->get<std::int64_t>();
  } else {
    return InvalidArgument(where + " must be an integer, is a " + TypeName(*it));
  }
  if (v < lo || v > hi) return InvalidArgument(where + " is out of range [" + std::to_string(lo) + ", " +
                                               std::to_string(hi) + "]: " + it->dump());
  return v;
}

}  // namespace qualm::frontends::model_file
