// qualm export: a qualm model file -> ONNX (float models as plain ops, int8
// models in QDQ form), checked by onnx::checker::check_model before writing.
//
//   qualm export m.qm -o m.onnx
#include <cstdio>
#include <memory>

#include "commands.h"
#include "qualm/frontends/model_file.h"
#if QUALM_HAVE_ONNX
#include "qualm/frontends/onnx.h"
#endif

namespace qualm::cli {
namespace {

struct ExportArgs {
  std::string model_path, out_path;
};

int RunExport(const ExportArgs& a) {
#if QUALM_HAVE_ONNX
  auto model = frontends::LoadModel(a.model_path);
  if (!model.ok()) return Fail("export", model.status());
  if (Status s = frontends::ExportOnnx(*model, a.out_path); !s.ok()) return Fail("export", s);
  std::printf("%s (%s) -> %s (ONNX opset 14, passed onnx::checker)\n", a.model_path.c_str(), QuantSchemeName(model->quant.scheme),
              a.out_path.c_str());
  return 0;
#else
  return Fail("export", Unimplemented("this build has no ONNX support (install libonnx-dev, libprotobuf-dev)"));
#endif
}

}  // namespace

Runner RegisterExport(CLI::App& app) {
  auto a = std::make_shared<ExportArgs>();
  app.add_option("model", a->model_path, "qualm model file")->required();
  app.add_option("-o,--output", a->out_path, "ONNX file to write")->required();
  return [a] { return RunExport(*a); };
}

}  // namespace qualm::cli
