// The version-2 JSON header: the version-1 header (header_v1.cpp) plus the
// required key "quant" (quant_codec.cpp). Layout documented in
// qualm/frontends/model_file.h.
//
// Data section order: parameters, checkpoint slots (version 1's order), then
// the quantization constants, so one TensorReader reads them all in file order.
#include "model_file_internal.h"

namespace qualm::frontends::model_file {

EncodedHeader EncodeHeaderV2(const Model& model, const CheckpointRef& checkpoint) {
  EncodedHeader out = EncodeHeaderV1(model, checkpoint);
  out.header["quant"] = EncodeQuant(model.quant, out.table);
  out.header["data_bytes"] = out.table.size;  // now including the constants
  return out;
}

Result<DecodedHeader> DecodeHeaderV2(const Json& header, TensorReader& reader, bool checkpoint_flag) {
  if (!header.is_object()) return InvalidArgument(std::string("header must be a JSON object, is a ") + header.type_name());
  const auto quant = header.find("quant");
  if (quant == header.end()) return InvalidArgument("header is missing 'quant' (required from version 2 on)");
  // Everything but "quant" is a version-1 header, with the same strictness.
  Json rest = header;
  rest.erase("quant");
  QUALM_ASSIGN_OR_RETURN(DecodedHeader out, DecodeHeaderV1(rest, reader, checkpoint_flag));
  QUALM_ASSIGN_OR_RETURN(out.model.quant, DecodeQuant(*quant, out.model, reader));
  return out;
}

}  // namespace qualm::frontends::model_file
