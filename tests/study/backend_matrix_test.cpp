// The backend disagreement matrix on the committed LeNet-5 and 2,000
// Fashion-MNIST test images: reference and fast int8 paths agree on every
// input in every requantization mode, the matrix is symmetric with a zero
// diagonal, and the modes' disagreements are reported.
#include <doctest/doctest.h>

#include <filesystem>
#include <string>

#include "qualm/frontends/data_spec.h"
#include "qualm/frontends/model_file.h"
#include "qualm/study/backend_matrix.h"

namespace qualm::study {
namespace {

const std::string kModels = std::string(QUALM_SOURCE_DIR) + "/study/results/models-2026-11-25/";

std::size_t Row(const BackendMatrix& m, const std::string& label) {
  for (std::size_t i = 0; i < m.rows.size(); ++i)
    if (m.rows[i].label == label) return i;
  FAIL("no row " << label);
  return 0;
}

// "int8/<mode>/<path>", built with += (GCC 12 -Wrestrict on "a" + b chains).
std::string Int8Label(const char* mode, const char* path) {
  std::string s = "int8/";
  s += mode;
  s += "/";
  s += path;
  return s;
}

TEST_CASE("study: backend matrix of the committed LeNet-5 on 2,000 test images") {
  if (!std::filesystem::exists("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz")) {
    MESSAGE("dataset-fashion-mnist is not installed (scripts/setup.sh installs it); skipping");
    return;
  }
  auto model = frontends::LoadModel(kModels + "lenet5.qm");
  REQUIRE_MESSAGE(model.ok(), model.status().ToString());
  frontends::DataSpecOptions d;
  d.limit = 2000;
  auto data = frontends::LoadEvalData("fashion-mnist:test", *model, d);
  REQUIRE(data.ok());
  d.limit = 100;
  auto calib = frontends::LoadModelTrainingSplit(*model, d);
  REQUIRE(calib.ok());
  BackendMatrixOptions o;
  o.threads = 2;
  auto m = BuildBackendMatrix(*model, *calib, *data, o);
  REQUIRE_MESSAGE(m.ok(), m.status().ToString());
  MESSAGE(FormatBackendMatrix(*m));
  REQUIRE(m->rows.size() == 8);  // float x 2, int8 x 3 modes x 2 paths
  CHECK(m->unavailable.size() == 3);  // oneDNN, per mode
  CHECK(m->samples == 2000);
  for (std::size_t i = 0; i < m->rows.size(); ++i) {
    CHECK(m->counts[i][i] == 0);
    CHECK(m->rows[i].predictions.size() == 2000);
    CHECK(m->rows[i].accuracy > 0.85);
    for (std::size_t j = 0; j < m->rows.size(); ++j) CHECK(m->counts[i][j] == m->counts[j][i]);
  }
  for (const char* mode : {"gemmlowp", "single", "fp32"}) {
    INFO("mode " << mode);
    const std::size_t ref = Row(*m, Int8Label(mode, "reference"));
    const std::size_t fast = Row(*m, Int8Label(mode, "fast"));
    CHECK(m->counts[ref][fast] == 0);  // bit-exact paths
    CHECK(m->counts[ref][Row(*m, "float/reference")] > 0);  // int8 does flip some inputs
  }
  const std::size_t g = Row(*m, "int8/gemmlowp/reference"), s = Row(*m, "int8/single/reference"),
                    f = Row(*m, "int8/fp32/reference");
  const std::size_t modes = m->counts[g][s] + m->counts[g][f] + m->counts[s][f];
  if (modes == 0)
    MESSAGE("the three requantization modes agree on all 2,000 inputs of LeNet-5");
  else
    MESSAGE("requantization modes disagree: gemmlowp/single " << m->counts[g][s] << ", gemmlowp/fp32 " << m->counts[g][f]
                                                              << ", single/fp32 " << m->counts[s][f]);
  // Arithmetic choices alone flip fewer inputs than quantization does.
  CHECK(m->counts[g][s] < m->counts[g][Row(*m, "float/reference")] + 1);
}

TEST_CASE("study: disagreement counts are pairwise and refuse rows of different lengths") {
  // Built with the string constructor: assigning short literals to the
  // labels trips GCC 12's -Wrestrict false positive here.
  std::vector<MatrixRow> rows;
  rows.push_back(MatrixRow{"a", "", {0, 1, 2, 3}, 0.0, 0.0});
  rows.push_back(MatrixRow{"b", "", {0, 1, 0, 0}, 0.0, 0.0});
  rows.push_back(MatrixRow{"c", "", {1, 1, 2, 3}, 0.0, 0.0});
  auto c = DisagreementCounts(rows);
  REQUIRE(c.ok());
  CHECK((*c)[0][1] == 2);
  CHECK((*c)[0][2] == 1);
  CHECK((*c)[1][2] == 3);
  CHECK((*c)[2][1] == 3);
  CHECK((*c)[1][1] == 0);
  rows[2].predictions.pop_back();
  CHECK_FALSE(DisagreementCounts(rows).ok());
}

}  // namespace
}  // namespace qualm::study
