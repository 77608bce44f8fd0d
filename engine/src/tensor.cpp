#include "qualm/engine/tensor.h"

#include <cstdlib>
#include <cstring>
#include <new>

namespace qualm {

std::size_t DTypeSize(DType t) {
  switch (t) {
    case DType::kF32: case DType::kI32: return 4;
    case DType::kI8: case DType::kU8: return 1;
    case DType::kI16: case DType::kF16: case DType::kBF16: return 2;
  }
  return 1;
}

const char* DTypeName(DType t) {
  switch (t) {
    case DType::kF32: return "f32";
    case DType::kI32: return "i32";
    case DType::kI8: return "i8";
    case DType::kU8: return "u8";
    case DType::kI16: return "i16";
    case DType::kF16: return "f16";
    case DType::kBF16: return "bf16";
  }
  return "?";
}

std::string Shape::ToString() const {
  std::string s = "[";
  for (std::size_t i = 0; i < dims_.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(dims_[i]);
  }
  return s + "]";
}

void Tensor::Free::operator()(void* p) const {
  if (owned) std::free(p);
}

Tensor Tensor::View(DType dtype, Shape shape, void* data) {
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  t.data_ = std::unique_ptr<void, Free>(data, Free{false});
  return t;
}

Tensor::Tensor(DType dtype, Shape shape) : dtype_(dtype), shape_(std::move(shape)) {
  const std::size_t n = bytes();
  if (n == 0) return;
  // 64-byte alignment for every SIMD width; size rounded up as aligned_alloc requires.
  const std::size_t rounded = (n + 63) / 64 * 64;
  void* p = std::aligned_alloc(64, rounded);
  if (!p) throw std::bad_alloc();
  std::memset(p, 0, rounded);
  data_.reset(p);
}

Tensor::Tensor(const Tensor& other) : dtype_(other.dtype_), shape_(other.shape_) {
  // An empty tensor (no storage, e.g. an unused optimizer slot) copies as empty.
  if (!other.data_) return;
  Tensor fresh(other.dtype_, other.shape_);
  std::memcpy(fresh.raw(), other.raw(), bytes());
  data_ = std::move(fresh.data_);
}

Tensor& Tensor::operator=(const Tensor& other) {
  if (this != &other) {
    Tensor copy(other);
    *this = std::move(copy);
  }
  return *this;
}

void Tensor::Fill(float v) {
  float* p = f32();
  for (std::int64_t i = 0; i < elements(); ++i) p[i] = v;
}

void Tensor::Zero() {
  if (data_) std::memset(raw(), 0, bytes());
}

}  // namespace qualm
