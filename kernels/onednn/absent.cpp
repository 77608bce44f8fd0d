// kernels/onednn/absent.cpp: the oneDNN path in a build without oneDNN
// (QUALM_WITH_ONEDNN=OFF, e.g. the `no-onednn` preset for constrained
// targets). onednn.h's contract: Available() is false and every Prepare says
// why, so `--backend onednn` fails at prepare with a message, never later.
#include "qualm/kernels/onednn.h"

namespace qualm::kernels::onednn {

bool Available() { return false; }
std::string Describe() { return "not in this build"; }
const char* S8RequantName(S8Requant r) {
  return r == S8Requant::kQualm ? "qualm-requant" : "onednn-fp32-scales";
}

Result<std::unique_ptr<PreparedF32>> PrepareConv2dF32(const Conv2dParams&, const float*, const float*, int) {
  return Unimplemented(kUnavailableMessage);
}
Result<std::unique_ptr<PreparedF32>> PrepareDenseF32(const DenseParams&, const float*, const float*, int) {
  return Unimplemented(kUnavailableMessage);
}
Result<std::unique_ptr<PreparedS8>> PrepareConv2dS8(const PreparedConv2dS8&, const std::int8_t*, const std::int32_t*,
                                                    S8Requant, int) {
  return Unimplemented(kUnavailableMessage);
}
Result<std::unique_ptr<PreparedS8>> PrepareDenseS8(const PreparedDenseS8&, const std::int8_t*, const std::int32_t*,
                                                   S8Requant, int) {
  return Unimplemented(kUnavailableMessage);
}

Result<std::unique_ptr<PreparedRnnF32>> PrepareLstmF32(const RnnParams&, const LstmWeights&, int) {
  return Unimplemented(kUnavailableMessage);
}
Result<std::unique_ptr<PreparedRnnF32>> PrepareGruF32(const RnnParams&, const GruWeights&, int) {
  return Unimplemented(kUnavailableMessage);
}

}  // namespace qualm::kernels::onednn
