// qualm/engine/tensor.h: shapes and 64-byte aligned, owning tensors.
//
// A Tensor is a dtype, a shape and a buffer; nothing more (no strides: layouts
// are fixed per op, NHWC for images). Activations and parameters are Tensors.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

namespace qualm {

enum class DType : std::uint8_t { kF32 = 0, kI32 = 1, kI8 = 2, kU8 = 3, kI16 = 4, kF16 = 5, kBF16 = 6 };
std::size_t DTypeSize(DType t);
const char* DTypeName(DType t);

class Shape {
 public:
  Shape() = default;
  Shape(std::initializer_list<std::int64_t> dims) : dims_(dims) {}
  explicit Shape(std::vector<std::int64_t> dims) : dims_(std::move(dims)) {}
  int rank() const { return static_cast<int>(dims_.size()); }
  std::int64_t operator[](int i) const { return dims_[static_cast<std::size_t>(i)]; }
  std::int64_t& operator[](int i) { return dims_[static_cast<std::size_t>(i)]; }
  std::int64_t elements() const {
    std::int64_t n = 1;
    for (auto d : dims_) n *= d;
    return n;
  }
  const std::vector<std::int64_t>& dims() const { return dims_; }
  bool operator==(const Shape& o) const { return dims_ == o.dims_; }
  std::string ToString() const;  // "[128, 28, 28, 1]"

 private:
  std::vector<std::int64_t> dims_;
};

class Tensor {
 public:
  Tensor() = default;
  Tensor(DType dtype, Shape shape);  // zero-filled
  // A non-owning view of `data` (the executors' planned arena, memory_plan.h):
  // `data` must stay valid, and 64-byte aligned, for the view's lifetime.
  // Copying a view copies its bytes into an owning tensor.
  static Tensor View(DType dtype, Shape shape, void* data);
  Tensor(const Tensor& other);
  Tensor& operator=(const Tensor& other);
  Tensor(Tensor&&) noexcept = default;
  Tensor& operator=(Tensor&&) noexcept = default;

  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  std::int64_t elements() const { return shape_.elements(); }
  std::size_t bytes() const { return static_cast<std::size_t>(elements()) * DTypeSize(dtype_); }
  bool empty() const { return elements() == 0 || !data_; }

  void* raw() { return data_.get(); }
  const void* raw() const { return data_.get(); }
  template <typename T> T* data() { return static_cast<T*>(raw()); }
  template <typename T> const T* data() const { return static_cast<const T*>(raw()); }
  float* f32() { return data<float>(); }
  const float* f32() const { return data<float>(); }

  void Fill(float v);  // f32 only
  void Zero();
  // Same dtype and element count; shape replaced (no copy).
  void Reshape(Shape s) { shape_ = std::move(s); }

 private:
  struct Free {
    Free() noexcept : owned(true) {}
    explicit Free(bool own) noexcept : owned(own) {}
    bool owned;  // false: a view (View)
    void operator()(void* p) const;
  };
  DType dtype_ = DType::kF32;
  Shape shape_;
  std::unique_ptr<void, Free> data_;
};

}  // namespace qualm
