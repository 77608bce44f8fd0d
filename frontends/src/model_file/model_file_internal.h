// Private pieces of the model file format (see qualm/frontends/model_file.h for
// the layout). One translation unit each:
//   json_codec.cpp   strings, floats and op fields <-> JSON (generic over OpParams)
//   tensor_io.cpp    the table of tensors in the data section (writer) and the
//                    bounds-checking tensor reader
//   header_v1.cpp    Model (+ trainer state) <-> the version-1 JSON header
//   quant_codec.cpp  QuantSpec <-> the "quant" JSON object and its validation
//   header_v2.cpp    the version-2 header: version 1 plus "quant"
//   container.cpp    the binary container (preamble, padding, CRC), the version
//                    dispatch, file I/O and the public API
// Messages produced here carry no file name; the public API prefixes it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "qualm/engine/model.h"
#include "qualm/engine/train.h"
#include "qualm/status.h"

namespace qualm::frontends::model_file {

using Json = nlohmann::json;

// ---- json_codec.cpp -------------------------------------------------------

// A string as a JSON string when it is valid UTF-8, else {"hex": "<bytes>"}.
Json EncodeString(const std::string& s);
Result<std::string> DecodeString(const Json& j, const std::string& what);

// Finite floats as numbers (exact: JSON numbers are printed in the shortest
// form that reads back as the same double), others as "0x7fc00000" bit strings.
Json EncodeFloat(float v);
Result<float> DecodeFloat(const Json& j, const std::string& what);

// {"field": value, ...} from the op's VisitFields.
Json OpFieldsToJson(const OpParams& op);
// The OpParams alternative whose kName is `op_name`, its fields set from
// `fields`, which must hold exactly the op's fields with the right JSON types.
Result<OpParams> OpFromJson(const std::string& op_name, const Json& fields);

// `obj` is an object holding every key of `required`, possibly keys of
// `optional`, and nothing else.
Status CheckKeys(const Json& obj, std::initializer_list<const char*> required,
                 std::initializer_list<const char*> optional, const std::string& what);
// obj[key] is an integer in [lo, hi].
Result<std::int64_t> GetInt(const Json& obj, const char* key, std::int64_t lo, std::int64_t hi,
                            const std::string& what);

// ---- tensor_io.cpp --------------------------------------------------------

Result<DType> DTypeFromName(const std::string& name);
Json ShapeJson(const std::vector<std::int64_t>& dims);
// An array of at most 8 dimensions, each in [0, 2^40].
Result<std::vector<std::int64_t>> DecodeDims(const Json& j, const std::string& what);

// The tensors of the data section in file order, with their offsets.
struct TensorTable {
  std::vector<const Tensor*> tensors;
  std::vector<std::uint64_t> offsets;
  std::uint64_t size = 0;  // data section bytes, a multiple of the alignment
  // Appends `t` and returns its reference {"dtype", "shape", "offset", "bytes"}.
  Json Add(const Tensor& t);
};

// Reads tensor references from the data section; each must start at or after
// the end of the previous one (file order, no overlap), on a 64-byte boundary,
// and its bytes must be exactly dtype size x elements.
class TensorReader {
 public:
  TensorReader(const std::uint8_t* data, std::uint64_t size) : data_(data), size_(size) {}
  std::uint64_t size() const { return size_; }
  // `ref` holds "dtype", "shape", "offset", "bytes" (other keys checked by the caller).
  Result<Tensor> Read(const Json& ref, const std::string& what);

 private:
  const std::uint8_t* data_;
  std::uint64_t size_;
  std::uint64_t next_ = 0;
};

// ---- header_v1.cpp --------------------------------------------------------

struct EncodedHeader {
  Json header;
  TensorTable table;
};

// Optional checkpoint part of the header; both pointers null for a plain model.
struct CheckpointRef {
  const Trainer::State* state = nullptr;
  const std::string* config_json = nullptr;
};

// Checks that `state` is parallel to the model's parameters (see model_file.h).
Status CheckStateFitsModel(const Model& model, const Trainer::State& state);

EncodedHeader EncodeHeaderV1(const Model& model, const CheckpointRef& checkpoint);

struct DecodedHeader {
  Model model;
  bool has_checkpoint = false;
  Trainer::State state;
  std::string config_json;
};

// `reader`: the data section. `checkpoint_flag`: the container's flag. Reads
// the parameters, then the checkpoint slots.
Result<DecodedHeader> DecodeHeaderV1(const Json& header, TensorReader& reader, bool checkpoint_flag);

// ---- quant_codec.cpp ------------------------------------------------------

// The "quant" object of a version-2 header; constants are appended to `table`
// in node order, then constant order. Writes whatever `quant` holds: callers
// that must not write an unloadable file run ValidateQuantSpec first.
Json EncodeQuant(const QuantSpec& quant, TensorTable& table);
// Parses and validates (ValidateQuantSpec) the "quant" object for `model`,
// whose nodes are already decoded; reads the constants from `reader`.
Result<QuantSpec> DecodeQuant(const Json& j, const Model& model, TensorReader& reader);
// The rules every stored QuantSpec obeys (see model_file.h, version 2), for
// `quant` belonging to `model`; the messages name the node and the field.
Status ValidateQuantSpec(const QuantSpec& quant, const Model& model);

// ---- header_v2.cpp --------------------------------------------------------

// The version-1 header plus "quant"; data section: parameters, checkpoint
// slots, quantization constants.
EncodedHeader EncodeHeaderV2(const Model& model, const CheckpointRef& checkpoint);
Result<DecodedHeader> DecodeHeaderV2(const Json& header, TensorReader& reader, bool checkpoint_flag);

}  // namespace qualm::frontends::model_file
