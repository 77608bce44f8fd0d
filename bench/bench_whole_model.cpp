// Whole-model inference rates of trained model files (issue 11's whole-model
// rows): images per second of qualm::Inference on real Fashion-MNIST test
// images, per model file x backend x thread count x batch. The model files
// come from `qualm train` / `qualm quantize` (bench/model_vs_pytorch.py makes
// them and puts these rows next to PyTorch's); a float file runs the float
// executor, an int8 file the int8 executor.
//
//   bench_whole_model --model=resnet20.int8=r.int8.qm --model=resnet20=r.qm
//       [--backends=fast,onednn] [--threads=1,2] [--batches=1,64] [--fashion_dir=DIR]
//       [--benchmark_format=json ...]
//   bench_whole_model --profile=r.int8.qm [--backends=fast] [--threads=1] [--batches=64]
//
// Rows are named model/<name>/<backend>/threads:<t>/batch:<b>; the label is
// the executor's PathDescription (the kernels that ran). Everything (loading,
// Inference::Create, which validates and packs) happens before the timed loop,
// which runs Inference::Run only. 1-thread rows are timed in CPU time (Google
// Benchmark's default: the calling thread's CPU time, which stays meaningful
// on a shared machine; the kernels then run on that thread only); rows with
// more threads use wall-clock time (UseRealTime), since the work is spread
// over OpenMP threads whose CPU time the main thread's clock does not see.
//
// --profile: no benchmark; for an int8 model file, runs the int8 executor node
// by node (Int8Executor::SetInput / RunNode, exactly the Forward loop) and
// prints each node's share of the forward pass, summed per op kind, as
// Markdown. Per-node timestamps around each RunNode: the thread's CPU time
// with --threads=1 (the default), else wall-clock time; the first pass is a
// warm-up, then passes repeat until 2 s of that clock have elapsed.
// The final dequantize of the logits (a few values) is not included.
//
// Inputs: the first <batch> images of fashion-mnist:test (from --fashion_dir,
// else $QUALM_FASHION_MNIST_DIR, else Debian's folder). A missing file, a bad
// model or an unavailable backend is an error message and exit status 1.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "qualm/engine/inference.h"
#include "qualm/engine/int8_executor.h"
#include "qualm/engine/model.h"
#include "qualm/engine/ops.h"
#include "qualm/frontends/datasets.h"
#include "qualm/frontends/model_file.h"
#include "qualm/kernels/cpu.h"
#include "qualm/kernels/gemm.h"
#include "qualm/kernels/int8_gemm.h"

namespace {

struct Args {
  std::vector<std::pair<std::string, std::string>> models;  // name, path
  std::vector<std::string> backends{"fast"};
  std::vector<int> threads{1};
  std::vector<int> batches{1, 64};
  std::string fashion_dir;
  std::string profile;  // model path
};

std::vector<std::string> SplitComma(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string item; std::getline(ss, item, ',');)
    if (!item.empty()) out.push_back(item);
  return out;
}

bool ParseInts(const std::string& s, std::vector<int>& out) {
  out.clear();
  for (const auto& item : SplitComma(s)) {
    char* end = nullptr;
    const long v = std::strtol(item.c_str(), &end, 10);
    if (*end != '\0' || v < 1 || v > 4096) return false;
    out.push_back(static_cast<int>(v));
  }
  return !out.empty();
}

// Flags left over after benchmark::Initialize took its own.
qualm::Status ParseArgs(int argc, char** argv, Args& a) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const auto eq = arg.find('=');
    const std::string flag = arg.substr(0, eq), v = eq == std::string::npos ? std::string() : arg.substr(eq + 1);
    if (eq == std::string::npos || v.empty())
      return qualm::InvalidArgument(std::string("expected --flag=VALUE, got '") + arg + "'");
    if (flag == "--model") {
      const auto sep = v.find('=');
      if (sep == std::string::npos || sep == 0 || sep + 1 == v.size())
        return qualm::InvalidArgument(std::string("--model wants NAME=PATH, got '") + v + "'");
      a.models.emplace_back(v.substr(0, sep), v.substr(sep + 1));
    } else if (flag == "--backends") {
      a.backends = SplitComma(v);
      if (a.backends.empty()) return qualm::InvalidArgument("--backends is empty");
    } else if (flag == "--threads") {
      if (!ParseInts(v, a.threads)) return qualm::InvalidArgument(std::string("--threads: bad list '") + v + "'");
    } else if (flag == "--batches") {
      if (!ParseInts(v, a.batches)) return qualm::InvalidArgument(std::string("--batches: bad list '") + v + "'");
    } else if (flag == "--fashion_dir") {
      a.fashion_dir = v;
    } else if (flag == "--profile") {
      a.profile = v;
    } else {
      return qualm::InvalidArgument(std::string("unknown argument '") + arg + "'");
    }
  }
  for (const auto& b : a.backends)
    if (auto r = qualm::ParseBackend(b); !r.ok()) return r.status();
  if (a.models.empty() && a.profile.empty()) return qualm::InvalidArgument("give --model=NAME=PATH or --profile=PATH");
  return qualm::Status::Ok();
}

struct Loaded {
  qualm::Model model;
  qualm::Dataset images;  // the first max(batches) test images
};

qualm::Result<std::unique_ptr<Loaded>> Load(const std::string& path, const Args& a) {
  auto out = std::make_unique<Loaded>();
  auto m = qualm::frontends::LoadModel(path);
  if (!m.ok()) return m.status();
  out->model = std::move(m).value();
  if (out->model.input_type != qualm::SampleType::kFloat32)
    return qualm::InvalidArgument(path + ": an image model is expected (its input is token ids)");
  qualm::frontends::DataOptions d;
  if (!a.fashion_dir.empty()) {
    d.fashion_mnist_dir = a.fashion_dir;
  } else if (const char* env = std::getenv("QUALM_FASHION_MNIST_DIR")) {
    d.fashion_mnist_dir = env;
  }
  d.limit = static_cast<std::size_t>(*std::max_element(a.batches.begin(), a.batches.end()));
  auto images = qualm::frontends::LoadNamedDataset("fashion-mnist:test", d);
  if (!images.ok()) return images.status();
  out->images = std::move(images).value();
  if (out->images.size() < d.limit) return qualm::InvalidArgument("fewer test images than the largest batch");
  return out;
}

void BM_WholeModel(benchmark::State& state, const Loaded* m, qualm::Backend backend, int threads, int batch) {
  qualm::InferenceOptions io;
  io.max_batch = batch;
  io.backend = backend;
  io.threads = threads;
  auto ex = qualm::Inference::Create(m->model, io);
  if (!ex.ok()) return state.SkipWithError(ex.status().ToString().c_str());
  state.SetLabel((*ex)->PathDescription());
  const float* input = m->images.f32.data();
  for (auto _ : state) {
    (*ex)->Run(input, batch);
    benchmark::DoNotOptimize((*ex)->logits());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * batch);
}

// The profile's op kind: the op name, and for conv2d its kernel size and
// whether it is depthwise (the int8 lowering turns ResNet-20's pre-activation
// batch norms into depthwise 1x1 convs, ptq.h), since those differ in cost.
std::string Kind(const qualm::Node& n) {
  const auto* c = std::get_if<qualm::Conv2dOp>(&n.op);
  if (!c) return qualm::OpName(n.op);
  std::string k = std::string("conv2d ") + std::to_string(c->kernel_h) + "x" + std::to_string(c->kernel_w);
  if (c->groups > 1) k += c->groups == c->out_channels ? " depthwise" : " grouped";
  if (c->stride_h > 1 || c->stride_w > 1) k += " strided";
  return k;
}

// --profile: per-node and per-op-kind time shares of the int8 forward pass.
int Profile(const Args& a) {
  auto loaded = Load(a.profile, a);
  if (!loaded.ok()) {
    std::fprintf(stderr, "bench_whole_model: %s\n", loaded.status().ToString().c_str());
    return 1;
  }
  const qualm::Model& model = (*loaded)->model;
  if (model.quant.scheme != qualm::QuantScheme::kInt8) {
    std::fprintf(stderr, "bench_whole_model: --profile needs an int8 model file (qualm quantize --scheme int8)\n");
    return 1;
  }
  auto backend = qualm::ParseBackend(a.backends.front());
  const int batch = a.batches.back(), threads = a.threads.front();
  qualm::Int8ExecutorOptions o;
  o.backend = *backend;
  o.threads = threads;
  o.plan_memory = true;  // as Inference::Create runs it
  auto ex = qualm::Int8Executor::Create(&model, batch, o);
  if (!ex.ok()) {
    std::fprintf(stderr, "bench_whole_model: %s\n", ex.status().ToString().c_str());
    return 1;
  }
  const int nodes = static_cast<int>(model.nodes.size());
  std::vector<double> seconds(static_cast<std::size_t>(nodes), 0.0);
  // 1 thread: the calling thread's CPU time (the kernels run on it; meaningful
  // on a shared machine); more threads: wall-clock time.
  const clockid_t clock = threads == 1 ? CLOCK_THREAD_CPUTIME_ID : CLOCK_MONOTONIC;
  const auto now = [clock] {
    timespec ts{};
    clock_gettime(clock, &ts);
    return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
  };
  const auto pass = [&](bool record) {
    (*ex)->SetInput((*loaded)->images.f32.data(), batch);
    for (int i = 0; i < nodes; ++i) {
      const double t0 = now();
      (*ex)->RunNode(i, batch);
      if (record) seconds[static_cast<std::size_t>(i)] += now() - t0;
    }
  };
  pass(false);
  int passes = 0;
  const double start = now();
  while (passes < 3 || now() - start < 2.0) {
    pass(true);
    ++passes;
  }
  double total = 0;
  for (double s : seconds) total += s;
  std::map<std::string, std::pair<double, int>> by_kind;  // op kind -> seconds, nodes
  for (int i = 0; i < nodes; ++i) {
    auto& k = by_kind[Kind(model.nodes[static_cast<std::size_t>(i)])];
    k.first += seconds[static_cast<std::size_t>(i)];
    k.second += 1;
  }
  std::vector<std::pair<std::string, std::pair<double, int>>> kinds(by_kind.begin(), by_kind.end());
  std::sort(kinds.begin(), kinds.end(), [](const auto& x, const auto& y) { return x.second.first > y.second.first; });
  std::printf("%s, batch %d, %d passes, %s: %.3f ms per forward pass (%.0f images/s)\n\n",
              (*ex)->PathDescription().c_str(), batch, passes, threads == 1 ? "thread CPU time" : "wall time",
              1e3 * total / passes, batch * passes / total);
  std::printf("| op kind | nodes | ms per pass | share |\n|---|---|---|---|\n");
  for (const auto& [kind, v] : kinds)
    std::printf("| %s | %d | %.3f | %.1f %% |\n", kind.c_str(), v.second, 1e3 * v.first / passes,
                100.0 * v.first / total);
  std::printf("\n| node | op | ms per pass | share |\n|---|---|---|---|\n");
  for (int i = 0; i < nodes; ++i) {
    const auto& n = model.nodes[static_cast<std::size_t>(i)];
    const double s = seconds[static_cast<std::size_t>(i)];
    std::printf("| %s | %s | %.3f | %.1f %% |\n", n.name.c_str(), Kind(n).c_str(), 1e3 * s / passes,
                100.0 * s / total);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  Args a;
  if (auto s = ParseArgs(argc, argv, a); !s.ok()) {
    std::fprintf(stderr, "bench_whole_model: %s\n", s.ToString().c_str());
    return 2;
  }
  if (!a.profile.empty()) return Profile(a);
  std::vector<std::unique_ptr<Loaded>> loaded;
  for (const auto& [name, path] : a.models) {
    auto m = Load(path, a);
    if (!m.ok()) {
      std::fprintf(stderr, "bench_whole_model: %s\n", m.status().ToString().c_str());
      return 1;
    }
    loaded.push_back(std::move(m).value());
    for (const auto& b : a.backends)
      for (int t : a.threads)
        for (int batch : a.batches) {
          const std::string row = "model/" + name + "/" + b + "/threads:" + std::to_string(t) + "/batch:" +
                                  std::to_string(batch);
          auto* bm = benchmark::RegisterBenchmark(row.c_str(), BM_WholeModel, loaded.back().get(),
                                                  *qualm::ParseBackend(b), t, batch);
          bm->Unit(benchmark::kMillisecond);
          if (t > 1) bm->UseRealTime();
        }
  }
  benchmark::AddCustomContext("qualm_cpu", qualm::kernels::DescribeCpu());
  benchmark::AddCustomContext("qualm_gemm_path", qualm::kernels::GemmPathName());
  benchmark::AddCustomContext("qualm_int8_gemm_path", qualm::kernels::Int8GemmPathName());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
