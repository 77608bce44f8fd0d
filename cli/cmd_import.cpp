// qualm import: an ONNX model (float, or QDQ-quantized int8) -> a qualm model
// file. The conversion, its op coverage and what differs: frontends/onnx.h and
// docs/onnx.md.
//
//   qualm import model.onnx -o m.qm [--input-scale 0.00392157] [--input-offset 0]
//                [--fold-bn] [--requant gemmlowp|single|fp32]
#include <cstdio>
#include <memory>

#include "commands.h"
#include "qualm/frontends/model_file.h"
#if QUALM_HAVE_ONNX
#include "qualm/frontends/onnx.h"
#endif

namespace qualm::cli {
namespace {

struct ImportArgs {
  std::string onnx_path, out_path, requant;
  float input_scale = 1.0f / 255.0f;
  float input_offset = 0.0f;
  bool fold_bn = false;
};

int RunImport(const ImportArgs& a) {
#if QUALM_HAVE_ONNX
  frontends::OnnxImportOptions o;
  o.input_scale = a.input_scale;
  o.input_offset = a.input_offset;
  o.fold_batch_norm = a.fold_bn;
  if (!a.requant.empty()) {
    auto mode = kernels::ParseRequantMode(a.requant.c_str());
    if (!mode.ok()) return Fail("import", mode.status());
    o.requant_mode = *mode;
  }
  auto model = frontends::ImportOnnx(a.onnx_path, o);
  if (!model.ok()) return Fail("import", model.status());
  if (Status s = frontends::SaveModel(*model, a.out_path); !s.ok()) return Fail("import", s);
  std::printf("%s: %zu nodes, input %s, %d classes, %s -> %s\n", a.onnx_path.c_str(), model->nodes.size(),
              Shape(model->input_shape).ToString().c_str(), model->num_classes, QuantSchemeName(model->quant.scheme),
              a.out_path.c_str());
  return 0;
#else
  return Fail("import", Unimplemented("this build has no ONNX support (install libonnx-dev, libprotobuf-dev)"));
#endif
}

}  // namespace

Runner RegisterImport(CLI::App& app) {
  auto a = std::make_shared<ImportArgs>();
  app.add_option("model", a->onnx_path, "ONNX model (.onnx)")->required();
  app.add_option("-o,--output", a->out_path, "qualm model file to write")->required();
  app.add_option("--input-scale", a->input_scale,
                 "What the ONNX model expects per raw pixel p: p * scale + offset (default 1/255)");
  app.add_option("--input-offset", a->input_offset, "See --input-scale (default 0)");
  app.add_flag("--fold-bn", a->fold_bn, "Fold BatchNormalization into the preceding Conv / Gemm");
  app.add_option("--requant", a->requant, "Requantization of a QDQ model: gemmlowp, single, fp32");
  return [a] { return RunImport(*a); };
}

}  // namespace qualm::cli
