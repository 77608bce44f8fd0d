// The greedy-by-size arena planner and its overlap checker (memory_plan.h).
#include "qualm/engine/memory_plan.h"

#include <algorithm>
#include <numeric>
#include <string>

namespace qualm {
namespace {

std::size_t RoundUp(std::size_t n, std::size_t a) { return (n + a - 1) / a * a; }

bool LifetimesIntersect(const BufferLifetime& a, const BufferLifetime& b) {
  return a.first <= b.last && b.first <= a.last;
}

}  // namespace

Result<MemoryPlan> PlanGreedyBySize(const std::vector<BufferLifetime>& buffers, std::size_t alignment) {
  if (alignment == 0 || (alignment & (alignment - 1)) != 0)
    return InvalidArgument("memory plan: alignment must be a power of two, got " + std::to_string(alignment));
  for (std::size_t i = 0; i < buffers.size(); ++i)
    if (buffers[i].first < 0 || buffers[i].last < buffers[i].first)
      return InvalidArgument(std::string("memory plan: buffer ") + std::to_string(i) + " has lifetime [" +
                             std::to_string(buffers[i].first) + ", " + std::to_string(buffers[i].last) + "]");
  MemoryPlan plan;
  plan.offsets.assign(buffers.size(), 0);
  std::vector<std::size_t> order(buffers.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    if (buffers[a].bytes != buffers[b].bytes) return buffers[a].bytes > buffers[b].bytes;
    return buffers[a].first < buffers[b].first;
  });
  // Placed buffers that are live together with the current one, by offset:
  // the current one goes into the first gap large enough (TFLM's first fit).
  std::vector<std::size_t> placed;
  std::vector<std::pair<std::size_t, std::size_t>> busy;  // [begin, end) of conflicting placements
  for (std::size_t idx : order) {
    const BufferLifetime& b = buffers[idx];
    const std::size_t size = RoundUp(b.bytes, alignment);
    plan.sum_bytes += size;
    busy.clear();
    for (std::size_t p : placed)
      if (LifetimesIntersect(b, buffers[p]))
        busy.emplace_back(plan.offsets[p], plan.offsets[p] + RoundUp(buffers[p].bytes, alignment));
    std::sort(busy.begin(), busy.end());
    std::size_t offset = 0;
    for (const auto& [begin, end] : busy) {
      if (begin >= offset + size) break;  // the gap before this placement fits
      offset = std::max(offset, end);
    }
    plan.offsets[idx] = offset;
    plan.arena_bytes = std::max(plan.arena_bytes, offset + size);
    placed.push_back(idx);
  }
  return plan;
}

Status CheckMemoryPlan(const std::vector<BufferLifetime>& buffers, const MemoryPlan& plan, std::size_t alignment) {
  if (plan.offsets.size() != buffers.size())
    return Internal("memory plan: " + std::to_string(plan.offsets.size()) + " offsets for " +
                    std::to_string(buffers.size()) + " buffers");
  for (std::size_t i = 0; i < buffers.size(); ++i) {
    if (plan.offsets[i] % alignment != 0)
      return Internal(std::string("memory plan: buffer ") + std::to_string(i) + " at unaligned offset " +
                      std::to_string(plan.offsets[i]));
    if (plan.offsets[i] + buffers[i].bytes > plan.arena_bytes)
      return Internal(std::string("memory plan: buffer ") + std::to_string(i) + " ends past the arena (" +
                      std::to_string(plan.offsets[i] + buffers[i].bytes) + " > " + std::to_string(plan.arena_bytes) + ")");
  }
  for (std::size_t i = 0; i < buffers.size(); ++i)
    for (std::size_t j = i + 1; j < buffers.size(); ++j) {
      if (buffers[i].bytes == 0 || buffers[j].bytes == 0 || !LifetimesIntersect(buffers[i], buffers[j])) continue;
      const std::size_t a0 = plan.offsets[i], a1 = a0 + buffers[i].bytes;
      const std::size_t b0 = plan.offsets[j], b1 = b0 + buffers[j].bytes;
      if (a0 < b1 && b0 < a1)
        return Internal(std::string("memory plan: buffers ") + std::to_string(i) + " and " + std::to_string(j) +
                        " are live together and share bytes [" + std::to_string(std::max(a0, b0)) + ", " +
                        std::to_string(std::min(a1, b1)) + ")");
    }
  return Status::Ok();
}

std::vector<BufferLifetime> GraphLifetimes(const std::vector<std::vector<int>>& inputs,
                                           const std::vector<std::size_t>& bytes, const std::vector<int>& keep_to_end) {
  const int n = static_cast<int>(bytes.size());
  std::vector<BufferLifetime> out(bytes.size());
  for (int i = 0; i < n; ++i) out[static_cast<std::size_t>(i)] = {bytes[static_cast<std::size_t>(i)], i, i};
  for (int i = 0; i < n; ++i)
    for (int k : inputs[static_cast<std::size_t>(i)]) {
      auto& life = out[static_cast<std::size_t>(k)];
      life.last = std::max(life.last, i);
    }
  for (int k : keep_to_end) out[static_cast<std::size_t>(k)].last = n - 1;
  return out;
}

}  // namespace qualm
