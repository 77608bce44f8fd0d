#include "qualm/engine/zoo.h"

namespace qualm {
namespace {

Conv2dOp Conv(int out, int k, int stride, int pad, bool bias = true) {
  Conv2dOp c;
  c.out_channels = out;
  c.kernel_h = c.kernel_w = k;
  c.stride_h = c.stride_w = stride;
  c.pad_top = c.pad_left = c.pad_bottom = c.pad_right = pad;
  c.has_bias = bias;
  return c;
}

MaxPoolOp MaxPool(int k, int stride, int pad = 0) {
  MaxPoolOp p;
  p.kernel_h = p.kernel_w = k;
  p.stride_h = p.stride_w = stride;
  p.pad_top = p.pad_left = p.pad_bottom = p.pad_right = pad;
  return p;
}

DenseOp Dense(int out) {
  DenseOp d;
  d.out_features = out;
  return d;
}

Model Begin(const std::string& arch, const ZooOptions& o, SampleType type) {
  Model m;
  m.arch = arch;
  m.input_type = type;
  m.input_shape = o.input_shape;
  m.num_classes = o.num_classes;
  m.AddNode("input", InputOp{}, {});
  return m;
}

Model LeNet1(const ZooOptions& o) {
  Model m = Begin("lenet1", o, SampleType::kFloat32);
  int x = m.AddNode("conv1", Conv(4, 5, 1, 0), {0});
  x = m.AddNode("relu1", ReluOp{}, {x});
  x = m.AddNode("pool1", MaxPool(2, 2), {x});
  x = m.AddNode("conv2", Conv(12, 5, 1, 0), {x});
  x = m.AddNode("relu2", ReluOp{}, {x});
  x = m.AddNode("pool2", MaxPool(2, 2), {x});
  m.AddNode("fc", Dense(o.num_classes), {x});
  return m;
}

Model LeNet5(const ZooOptions& o) {
  Model m = Begin("lenet5", o, SampleType::kFloat32);
  int x = m.AddNode("conv1", Conv(6, 5, 1, 2), {0});
  x = m.AddNode("relu1", ReluOp{}, {x});
  x = m.AddNode("pool1", MaxPool(2, 2), {x});
  x = m.AddNode("conv2", Conv(16, 5, 1, 0), {x});
  x = m.AddNode("relu2", ReluOp{}, {x});
  x = m.AddNode("pool2", MaxPool(2, 2), {x});
  x = m.AddNode("fc1", Dense(120), {x});
  x = m.AddNode("relu3", ReluOp{}, {x});
  x = m.AddNode("fc2", Dense(84), {x});
  x = m.AddNode("relu4", ReluOp{}, {x});
  m.AddNode("fc3", Dense(o.num_classes), {x});
  return m;
}

Model ResNet20(const ZooOptions& o) {
  Model m = Begin("resnet20", o, SampleType::kFloat32);
  int x = m.AddNode("conv0", Conv(16, 3, 1, 1, false), {0});
  const int widths[3] = {16, 32, 64};
  int in_c = 16;
  for (int stage = 0; stage < 3; ++stage) {
    for (int block = 0; block < 3; ++block) {
      const std::string pre = "stage" + std::to_string(stage + 1) + ".block" + std::to_string(block + 1) + ".";
      const int out_c = widths[stage];
      const int stride = (stage > 0 && block == 0) ? 2 : 1;
      int a = m.AddNode(pre + "bn1", BatchNormOp{}, {x});
      a = m.AddNode(pre + "relu1", ReluOp{}, {a});
      int shortcut = x;
      if (stride != 1 || in_c != out_c) shortcut = m.AddNode(pre + "proj", Conv(out_c, 1, stride, 0, false), {a});
      int y = m.AddNode(pre + "conv1", Conv(out_c, 3, stride, 1, false), {a});
      y = m.AddNode(pre + "bn2", BatchNormOp{}, {y});
      y = m.AddNode(pre + "relu2", ReluOp{}, {y});
      y = m.AddNode(pre + "conv2", Conv(out_c, 3, 1, 1, false), {y});
      x = m.AddNode(pre + "add", AddOp{}, {y, shortcut});
      in_c = out_c;
    }
  }
  x = m.AddNode("bn_final", BatchNormOp{}, {x});
  x = m.AddNode("relu_final", ReluOp{}, {x});
  x = m.AddNode("gap", GlobalAvgPoolOp{}, {x});
  m.AddNode("fc", Dense(o.num_classes), {x});
  return m;
}

Model NiN(const ZooOptions& o) {
  Model m = Begin("nin", o, SampleType::kFloat32);
  int x = 0;
  struct Block { int k, pad, c1, c2, c3; };
  const Block blocks[3] = {{5, 2, 48, 32, 32}, {5, 2, 64, 64, 64}, {3, 1, 64, 64, o.num_classes}};
  for (int b = 0; b < 3; ++b) {
    const std::string pre = "mlpconv" + std::to_string(b + 1) + ".";
    const Block& bl = blocks[b];
    x = m.AddNode(pre + "conv", Conv(bl.c1, bl.k, 1, bl.pad), {x});
    x = m.AddNode(pre + "bn", BatchNormOp{}, {x});
    x = m.AddNode(pre + "relu0", ReluOp{}, {x});
    x = m.AddNode(pre + "cccp1", Conv(bl.c2, 1, 1, 0), {x});
    x = m.AddNode(pre + "relu1", ReluOp{}, {x});
    x = m.AddNode(pre + "cccp2", Conv(bl.c3, 1, 1, 0), {x});
    if (b < 2) {
      x = m.AddNode(pre + "relu2", ReluOp{}, {x});
      if (b == 0) {
        x = m.AddNode(pre + "pool", MaxPool(3, 2, 1), {x});
      } else {
        AvgPoolOp ap;
        ap.kernel_h = ap.kernel_w = 3;
        ap.stride_h = ap.stride_w = 2;
        ap.pad_top = ap.pad_left = ap.pad_bottom = ap.pad_right = 1;
        x = m.AddNode(pre + "pool", ap, {x});
      }
      DropoutOp d;
      d.rate = 0.3f;
      x = m.AddNode(pre + "dropout", d, {x});
    }
  }
  m.AddNode("gap", GlobalAvgPoolOp{}, {x});
  return m;
}

Model TextRnn(const std::string& arch, const ZooOptions& o) {
  Model m = Begin(arch, o, SampleType::kInt32);
  EmbeddingOp e;
  e.vocab = o.vocab;
  e.dim = 128;
  int x = m.AddNode("embedding", e, {0});
  if (arch == "lstm") {
    LstmOp l;
    l.hidden = 50;
    x = m.AddNode("lstm", l, {x});
  } else {
    GruOp g;
    g.hidden = 75;
    x = m.AddNode("gru", g, {x});
  }
  m.AddNode("fc", Dense(o.num_classes), {x});
  return m;
}

}  // namespace

std::vector<std::string> ZooArchitectures() { return {"lenet1", "lenet5", "resnet20", "nin", "lstm", "gru"}; }

bool IsTextArchitecture(const std::string& arch) { return arch == "lstm" || arch == "gru"; }

Result<Model> BuildZooModel(const std::string& arch, const ZooOptions& o) {
  const bool text = IsTextArchitecture(arch);
  if (o.num_classes < 2) return InvalidArgument("a classifier needs at least 2 classes");
  if (text && o.input_shape.size() != 1)
    return InvalidArgument(arch + " expects a {seq_len} input, got rank " + std::to_string(o.input_shape.size()));
  if (!text && o.input_shape.size() != 3)
    return InvalidArgument(arch + " expects an {H, W, C} image input, got rank " + std::to_string(o.input_shape.size()));
  Model m;
  if (arch == "lenet1") m = LeNet1(o);
  else if (arch == "lenet5") m = LeNet5(o);
  else if (arch == "resnet20") m = ResNet20(o);
  else if (arch == "nin") m = NiN(o);
  else if (text) m = TextRnn(arch, o);
  else return InvalidArgument("unknown architecture '" + arch + "' (known: lenet1, lenet5, resnet20, nin, lstm, gru)");
  auto shapes = InferShapes(m);
  if (!shapes.ok()) return shapes.status().WithContext(arch);
  return m;
}

}  // namespace qualm
