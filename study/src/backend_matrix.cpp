// The backend disagreement matrix (qualm/study/backend_matrix.h).
#include "qualm/study/backend_matrix.h"

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "qualm/engine/evaluate.h"
#include "qualm/engine/mixed_precision.h"
#include "qualm/engine/ptq.h"
#include "qualm/study/compare.h"

namespace qualm::study {
namespace {

using Clock = std::chrono::steady_clock;

double Accuracy(const std::vector<std::int32_t>& predictions, const Dataset& data) {
  std::size_t correct = 0;
  for (std::size_t i = 0; i < data.size(); ++i) correct += predictions[i] == data.labels[i];
  return data.size() ? static_cast<double>(correct) / static_cast<double>(data.size()) : 0.0;
}

Result<MatrixRow> EvaluateRow(const std::string& label, const Model& model, const Dataset& data, Backend backend,
                              const BackendMatrixOptions& o) {
  if (o.on_row) o.on_row(label);
  EvalOptions eo;
  eo.backend = backend;
  eo.threads = o.threads;
  eo.batch_size = o.batch_size;
  eo.keep_probabilities = false;
  const auto t0 = Clock::now();
  auto r = Evaluate(model, data, eo);
  if (!r.ok()) return r.status().WithContext("row " + label);
  MatrixRow row;
  row.label = label;
  row.path = r->path;
  row.predictions = std::move(r->predictions);
  row.accuracy = r->accuracy;
  row.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  return row;
}

// The QAT model through the mixed-precision executor: every node int8 is its
// QAT forward pass; every node float is its own float weights unquantized
// (the float model the study compares a QAT model's int8 conversion with).
Result<MatrixRow> QatMixedRow(const std::string& label, const Model& qat, const Dataset& data, bool all_int8,
                              const BackendMatrixOptions& o) {
  if (o.on_row) o.on_row(label);
  MixedPrecisionOptions mo;
  mo.max_batch = o.batch_size;
  mo.float_backend = Backend::kReference;  // as qat.h's CompareWithInt8
  mo.int8_backend = Backend::kReference;
  mo.threads = o.threads;
  const auto t0 = Clock::now();
  auto ex = MixedPrecisionExecutor::Create(qat, mo);
  if (!ex.ok()) return ex.status().WithContext("row " + label);
  Status st = (*ex)->SetInt8Prefix(all_int8 ? (*ex)->num_nodes() - 1 : -1);
  if (!st.ok()) return st.WithContext("row " + label);
  auto p = PredictMixed(**ex, data);
  if (!p.ok()) return p.status().WithContext("row " + label);
  MatrixRow row;
  row.label = label;
  row.path = all_int8 ? "QAT forward pass: " : "QAT float weights: ";
  row.path += (*ex)->PathDescription();
  row.predictions = std::move(p).value();
  row.accuracy = Accuracy(row.predictions, data);
  row.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  return row;
}

}  // namespace

Result<std::vector<std::vector<std::size_t>>> DisagreementCounts(const std::vector<MatrixRow>& rows) {
  std::vector<std::vector<std::size_t>> c(rows.size(), std::vector<std::size_t>(rows.size(), 0));
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (rows[i].predictions.size() != rows[0].predictions.size())
      return InvalidArgument("row " + rows[i].label + " has " + std::to_string(rows[i].predictions.size()) +
                             " predictions, row " + rows[0].label + " " + std::to_string(rows[0].predictions.size()));
    for (std::size_t j = i + 1; j < rows.size(); ++j) {
      std::size_t d = 0;
      for (std::size_t k = 0; k < rows[i].predictions.size(); ++k) d += rows[i].predictions[k] != rows[j].predictions[k];
      c[i][j] = c[j][i] = d;
    }
  }
  return c;
}

Result<BackendMatrix> BuildBackendMatrix(const Model& float_model, const Dataset& calibration, const Dataset& data,
                                         const BackendMatrixOptions& o) {
  if (float_model.quant.quantized())
    return InvalidArgument(std::string("the backend matrix starts from a float model, this one is ") +
                           QuantSchemeName(float_model.quant.scheme));
  if (o.qat_model) {
    if (o.qat_model->quant.scheme != QuantScheme::kInt8)
      return InvalidArgument("the QAT model must be the int8 model QAT wrote, this one is " +
                             std::string(QuantSchemeName(o.qat_model->quant.scheme)));
    QUALM_RETURN_IF_ERROR(CheckComparable(float_model, *o.qat_model).WithContext("QAT model"));
  }
  QUALM_RETURN_IF_ERROR(CheckDataset(float_model, data));
  BackendMatrix m;
  m.data = data.name;
  m.samples = data.size();
  if (o.float_rows)
    for (Backend b : o.float_backends) {
      QUALM_ASSIGN_OR_RETURN(MatrixRow row, EvaluateRow(std::string("float/") + BackendName(b), float_model, data, b, o));
      m.rows.push_back(std::move(row));
    }
  for (kernels::RequantMode mode : o.modes) {
    PtqOptions po;
    po.scheme = QuantScheme::kInt8;
    po.mode = mode;
    po.calibration = o.calibration;
    po.calibration.threads = o.threads;
    const std::string prefix = std::string("int8/") + kernels::RequantModeName(mode) + "/";
    auto q = QuantizeModel(float_model, &calibration, po);
    if (!q.ok()) return q.status().WithContext("quantizing for " + prefix);
    for (Backend b : o.backends) {
      QUALM_ASSIGN_OR_RETURN(MatrixRow row, EvaluateRow(prefix + BackendName(b), *q, data, b, o));
      m.rows.push_back(std::move(row));
    }
    m.unavailable.push_back({prefix + "onednn", "the oneDNN int8 path is not in this build yet (fast-path issue)"});
  }
  if (o.qat_model) {
    QUALM_ASSIGN_OR_RETURN(MatrixRow qf, QatMixedRow("qat/float", *o.qat_model, data, false, o));
    m.rows.push_back(std::move(qf));
    QUALM_ASSIGN_OR_RETURN(MatrixRow row, QatMixedRow("qat/forward", *o.qat_model, data, true, o));
    m.rows.push_back(std::move(row));
    for (Backend b : o.backends) {
      QUALM_ASSIGN_OR_RETURN(MatrixRow r, EvaluateRow(std::string("qat/int8/") + BackendName(b), *o.qat_model, data, b, o));
      m.rows.push_back(std::move(r));
    }
  }
  QUALM_ASSIGN_OR_RETURN(m.counts, DisagreementCounts(m.rows));
  return m;
}

std::string FormatBackendMatrix(const BackendMatrix& m) {
  std::string out;
  char buf[256];
  std::snprintf(buf, sizeof buf, "%s: %zu inputs\n", m.data.c_str(), m.samples);
  out += buf;
  std::size_t width = 4;
  for (const auto& r : m.rows) width = std::max(width, r.label.size());
  const int w = static_cast<int>(width);
  for (std::size_t i = 0; i < m.rows.size(); ++i) {
    std::snprintf(buf, sizeof buf, "  [%2zu] %-*s accuracy %6.2f%%  %s\n", i, w, m.rows[i].label.c_str(),
                  m.rows[i].accuracy * 100.0, m.rows[i].path.c_str());
    out += buf;
  }
  for (const auto& u : m.unavailable) {
    std::snprintf(buf, sizeof buf, "  [--] %-*s unavailable: %s\n", w, u.label.c_str(), u.reason.c_str());
    out += buf;
  }
  out += "disagreements (row x column, by index):\n";
  std::snprintf(buf, sizeof buf, "  %*s", w + 5, "");
  out += buf;
  for (std::size_t j = 0; j < m.rows.size(); ++j) {
    std::snprintf(buf, sizeof buf, "  [%2zu]", j);
    out += buf;
  }
  out += "\n";
  for (std::size_t i = 0; i < m.rows.size(); ++i) {
    std::snprintf(buf, sizeof buf, "  [%2zu] %-*s", i, w, m.rows[i].label.c_str());
    out += buf;
    for (std::size_t j = 0; j < m.rows.size(); ++j) {
      std::snprintf(buf, sizeof buf, " %5zu", m.counts[i][j]);
      out += buf;
    }
    out += "\n";
  }
  return out;
}

}  // namespace qualm::study
