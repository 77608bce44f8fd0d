// qualm/frontends/model_file.h: the versioned binary model file (".qm") and
// training checkpoints.
//
// A model file holds one qualm::Model exactly: graph, op fields, parameters
// (bit-exact), metadata and, from version 2 on, the quantization record
// (Model::quant, qualm/engine/quant_spec.h). A checkpoint is the same container with a flag set and
// the trainer's state (optimizer slots, epochs done, steps, the training
// configuration as JSON) added, so that an interrupted training run resumes
// bit-identically.
//
// ---------------------------------------------------------------------------
// Container layout (all integers little-endian, whatever the host)
// ---------------------------------------------------------------------------
//
//   offset  size  field
//   0       8     magic "QUALMMDL"
//   8       4     u32 format version (kModelFileVersion for files this build writes)
//   12      4     u32 flags: bit 0 = checkpoint (the header has a "checkpoint"
//                 section); every other bit must be zero in versions 1 and 2
//   16      8     u64 total file length in bytes, including the trailing CRC
//   24      8     u64 header length H in bytes
//   32      H     header: UTF-8 JSON text (see below)
//   ...           zero padding up to the next multiple of 64: data_start
//   data_start D  data section: raw tensor bytes, each tensor at an offset (from
//                 data_start) that is a multiple of 64, zero padding between
//                 tensors and after the last one; D is a multiple of 64 and the
//                 header records it as "data_bytes"
//   end - 4 4     u32 CRC-32 (zlib crc32, polynomial 0xEDB88320) of every byte
//                 before it
//
// Versions 1 and 2 share this container; only the header differs.
//
// Tensor bytes are the in-memory element bytes (memcpy), so floats round-trip
// bit-exactly, NaN payloads included. Tensors appear in the data section in
// this order, without overlap: parameters (node by node), checkpoint slot1,
// slot2 (checkpoints only), quantization constants (version 2, node by node);
// a reader can bound its memory by the file size.
//
// ---------------------------------------------------------------------------
// Header (version 1)
// ---------------------------------------------------------------------------
//
//   {
//     "arch": "lenet5",
//     "input_type": "float32" | "int32",
//     "input_shape": [28, 28, 1],
//     "num_classes": 10,
//     "metadata": [["key", "value"], ...],          // Model::metadata, sorted by key
//     "data_bytes": D,
//     "nodes": [
//       { "name": "conv1", "op": "conv2d",
//         "fields": { "out_channels": 6, ..., "has_bias": true },  // from VisitFields
//         "inputs": [0],
//         "params": [ { "name": "weight", "trainable": true, "dtype": "f32",
//                       "shape": [6, 5, 5, 1], "offset": 0, "bytes": 600 }, ... ] },
//       ... ],
//     "sections": {                                  // optional
//       "checkpoint": { "epochs_done": 3, "steps": 1407, "config_json": "{...}",
//                       "slot1": [[tensor|null per param] per node],
//                       "slot2": [[tensor|null per param] per node] } }
//   }
//
// A tensor reference is {"dtype", "shape", "offset", "bytes"}; null stands for
// an empty Tensor() (an unused optimizer slot). Op fields come from each op
// struct's VisitFields, so a new field is saved without touching this code; a
// file whose fields do not match the op struct exactly (missing or unknown
// field, wrong JSON type) is rejected. Floats are JSON numbers (shortest
// round-trip form, exact for every finite float) or, for NaN and infinities,
// strings holding the bit pattern, e.g. "0x7fc00000". A string that is not
// valid UTF-8 (node names, metadata, the config) is stored as {"hex": "..."}.
// Keys the version does not define are rejected: a header is either understood
// completely or not at all (so a version-1 header with "quant" is an error).
//
// ---------------------------------------------------------------------------
// Header (version 2) = the version-1 header + the required key "quant"
// ---------------------------------------------------------------------------
//
//     "quant": {
//       "scheme": "int8",            // QuantSchemeName: float, int8, dynamic,
//                                    //   weight-only-int8, fp16-weights, bf16-weights
//       "mode": "gemmlowp",          // kernels::RequantModeName: gemmlowp, single, fp32
//       "info": [["observer", "minmax"], ...],   // QuantSpec::info, sorted by key
//       "nodes": [                   // parallel to "nodes": one per model node;
//                                    //   empty for scheme "float"
//         { "output": {"scale": 0.0235, "zero_point": -128} | null,  // null: has_output false
//           "cell_exponent": -11,
//           "constants": [ { "name": "weight", "dtype": "i8", "shape": [6, 5, 5, 1],
//                            "offset": 2432, "bytes": 150 }, ... ] },
//         ... ] }
//
// Every key shown is required. A float model is written as {"scheme": "float",
// "mode": "gemmlowp", "info": [], "nodes": []} (mode and info as its QuantSpec
// holds them): "quant" is never omitted in version 2, and "data_bytes" counts
// the constants too. Scales are floats as above (bit-exact; NaN/inf as bit
// patterns so a reader can name them). Constants are tensor references plus a
// name, in the data section after everything else. A reader rejects, naming
// the node and the field:
//   - an unknown scheme or mode; any key not listed above;
//   - "nodes" with entries for scheme "float", or a count other than the
//     model's node count for any other scheme;
//   - an output scale that is not positive and finite, a zero point outside
//     [-128, 127], a cell_exponent outside [-31, 31];
//   - a constant with an empty or duplicate name (within its node), a dtype
//     other than i8, i32, f32, f16, bf16, or bytes that do not hold its shape.
// SaveModel and SaveCheckpoint apply the same rules before writing. Which
// constants an op needs and their shapes are the engine's business
// (quant_spec.h), checked when a quantized model is prepared, not here.
// A NodeQuant with has_output false is stored as null and reads back with the
// default output parameters.
//
// ---------------------------------------------------------------------------
// Versions
// ---------------------------------------------------------------------------
//
// The version is bumped whenever a reader of the previous version could not
// read the new files correctly. Readers reject versions newer than they know,
// with a message naming both versions, and keep reading every older version:
// parsing dispatches on the version after the version-independent preamble
// (magic, version), see ParseModel.
//   version 1  float models only; reads back with Model::quant = QuantSpec{}
//              (scheme "float").
//   version 2  (written by this build) adds "quant"; same container, flags and
//              checkpoint section.
//
// Every error is a Status whose message starts with the file name:
//   "m.qm: not a qualm model file (magic is 'PK\x03\x04...')"
//   "m.qm: file version 3 is newer than this build supports (2)"
//   "m.qm: truncated: header says 48213 bytes, file has 1000"
//   "m.qm: checksum mismatch (stored 0x1234abcd, computed 0x89ab0123)"
//   "m.qm: node 'conv1' (conv2d): parameter 0 is 'weight' [6, 5, 5, 1], expects ..."
//   "m.qm: quant: node 'conv1': output zero_point 200 is outside the int8 range [-128, 127]"
// A load either returns a complete, shape-checked model (qualm::InferShapes) or
// an error; never a half-loaded model. No exception escapes these functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "qualm/engine/model.h"
#include "qualm/engine/train.h"
#include "qualm/status.h"

namespace qualm::frontends {

inline constexpr char kModelFileMagic[8] = {'Q', 'U', 'A', 'L', 'M', 'M', 'D', 'L'};
// The version this build writes, and the newest it reads.
inline constexpr std::uint32_t kModelFileVersion = 2;
inline constexpr std::uint32_t kModelFileFlagCheckpoint = 1u << 0;
inline constexpr std::size_t kModelFileAlignment = 64;

// The whole file in memory (version kModelFileVersion). Deterministic: the same
// model gives the same bytes. Writes what the model holds, unchecked: use
// SaveModel for a file that is guaranteed to load.
std::vector<std::uint8_t> SerializeModel(const Model& model);

// Parses a model file held in memory; `name_for_errors` prefixes every message.
// Accepts checkpoints too (the trainer state is then ignored).
Result<Model> ParseModel(const std::uint8_t* data, std::size_t size, const std::string& name_for_errors);

// Fails, writing nothing, if qualm::InferShapes rejects the model or its
// QuantSpec breaks the version-2 rules above (a file that could not be loaded
// back is never written). Atomic: writes `path`.tmp.<pid>, flushes and fsyncs it, renames it over
// `path`. On any failure the temporary file is removed and an existing file at
// `path` is left untouched.
Status SaveModel(const Model& model, const std::string& path);
Result<Model> LoadModel(const std::string& path);

// The container alone (magic, version, length, CRC) checked, the header not parsed.
struct ModelFileInfo {
  int version = 0;
  std::uint64_t bytes = 0;   // file length
  std::uint32_t crc = 0;     // the stored (and verified) CRC-32
  bool checkpoint = false;   // flag bit 0
};
Result<ModelFileInfo> InspectModelFile(const std::string& path);

// Resumable training: the model plus the trainer's state after an epoch.
// State::slot1/slot2 must be empty or parallel to model.nodes[i].params; a
// non-empty slot tensor must have its parameter's shape.
struct Checkpoint {
  Model model;
  Trainer::State state;
  std::string config_json;
};

// Fails if the state does not fit the model (see above) or the model could not
// be loaded back (InferShapes, QuantSpec rules).
Result<std::vector<std::uint8_t>> SerializeCheckpoint(const Model& model, const Trainer::State& state,
                                                      const std::string& config_json);
Result<Checkpoint> ParseCheckpoint(const std::uint8_t* data, std::size_t size, const std::string& name_for_errors);
// Atomic like SaveModel. Fails (without writing) if the state does not fit the model.
Status SaveCheckpoint(const Model& model, const Trainer::State& state, const std::string& config_json,
                      const std::string& path);
// A plain model file (flag not set) is an error: it has no trainer state.
Result<Checkpoint> LoadCheckpoint(const std::string& path);

}  // namespace qualm::frontends
