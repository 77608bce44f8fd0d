// qualm_runtime_models DIR: writes the runtime tests' fixtures with the full
// engine (never the runtime), so that the runtime is checked against an
// implementation it does not share a build with:
//   DIR/<arch>.int8.qm       every zoo architecture at the study's shapes
//                            (seeded initialization, PTQ int8 calibrated on 16
//                            random samples)
//   DIR/<arch>.input.bin     4 fixed random samples (float images or int32 ids)
//   DIR/<arch>.expected.bin  the engine's float logits for them (Inference,
//                            reference backend: the frozen int8 kernels)
//   DIR/lenet5.float.qm, DIR/lenet5.dynamic.qm   models the runtime declines
// All little-endian raw arrays. Exit status 1 with a message on any error.
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "qualm/engine/inference.h"
#include "qualm/engine/ptq.h"
#include "qualm/engine/random.h"
#include "qualm/engine/zoo.h"
#include "qualm/frontends/model_file.h"

namespace {

using namespace qualm;

constexpr int kSamples = 4;

bool WriteRaw(const std::string& path, const void* data, std::size_t bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(static_cast<const char*>(data), static_cast<std::streamsize>(bytes));
  return static_cast<bool>(f);
}

Status MakeArch(const std::string& arch, const std::string& dir) {
  const bool text = IsTextArchitecture(arch);
  ZooOptions o;
  o.input_shape = text ? std::vector<std::int64_t>{200} : std::vector<std::int64_t>{28, 28, 1};
  o.num_classes = text ? 2 : 10;
  o.vocab = 20000;
  QUALM_ASSIGN_OR_RETURN(Model m, BuildZooModel(arch, o));
  QUALM_RETURN_IF_ERROR(InitializeParameters(m, 42));
  const int calib = 16;
  Dataset d;
  d.name = "random";
  d.sample_type = m.input_type;
  for (auto s : m.input_shape) d.sample_shape.push_back(static_cast<int>(s));
  d.num_classes = m.num_classes;
  d.labels.assign(calib, 0);
  Rng rng(11);
  const std::size_t per = static_cast<std::size_t>(text ? 200 : 28 * 28);
  if (text) {
    d.i32.resize(per * calib);
    for (auto& t : d.i32) t = static_cast<std::int32_t>(rng.Below(20000));
  } else {
    d.f32.resize(per * calib);
    for (auto& v : d.f32) v = rng.Uniform();
  }
  PtqOptions po;
  QUALM_ASSIGN_OR_RETURN(Model q, QuantizeModel(m, &d, po));
  QUALM_RETURN_IF_ERROR(frontends::SaveModel(q, dir + "/" + arch + ".int8.qm"));
  // The inputs: samples 0..3 of the calibration set (they span the calibrated ranges).
  const void* input = text ? static_cast<const void*>(d.i32.data()) : d.f32.data();
  if (!WriteRaw(dir + "/" + arch + ".input.bin", input, per * kSamples * 4)) return IoError("cannot write inputs");
  InferenceOptions io;
  io.max_batch = kSamples;
  io.backend = Backend::kReference;
  QUALM_ASSIGN_OR_RETURN(auto run, Inference::Create(q, io));
  run->Run(input, kSamples);
  if (!WriteRaw(dir + "/" + arch + ".expected.bin", run->logits(),
                static_cast<std::size_t>(kSamples * q.num_classes) * sizeof(float)))
    return IoError("cannot write expected logits");
  if (arch == "lenet5") {
    QUALM_RETURN_IF_ERROR(frontends::SaveModel(m, dir + "/lenet5.float.qm"));
    po.scheme = QuantScheme::kDynamic;
    QUALM_ASSIGN_OR_RETURN(Model dq, QuantizeModel(m, nullptr, po));
    QUALM_RETURN_IF_ERROR(frontends::SaveModel(dq, dir + "/lenet5.dynamic.qm"));
  }
  return Status::Ok();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: qualm_runtime_models DIR\n");
    return 2;
  }
  for (const std::string arch : {"lenet1", "lenet5", "resnet20", "nin", "lstm", "gru"}) {
    Status s = MakeArch(arch, argv[1]);
    if (!s.ok()) {
      std::fprintf(stderr, "%s: %s\n", arch.c_str(), s.ToString().c_str());
      return 1;
    }
  }
  return 0;
}
